/**
 * Headless Chromium for dashboard tests: Debian's `chromium` package driven by playwright-core.
 * Playwright never downloads a browser here; a missing /usr/bin/chromium skips the browser tests
 * with the reason printed (`.ci/run` installs it).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Why browser tests cannot run here, or undefined when they can. */
export function chromiumMissingReason(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `${CHROMIUM_PATH} is missing (apt-get install -y chromium); browser tests skipped`;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A fresh profile (`--user-data-dir` in a new temp folder, removed by `close`). */
export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 's3jobs-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    timeout: 30_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface ImageStats {
  width: number;
  height: number;
  /** Variance of the luma (0..255 scale) over all pixels. */
  lumaVariance: number;
  /** Share of pixels that are not (near) white. */
  nonWhiteShare: number;
  /** Distinct colours, quantised to 4 bits per channel. */
  colours: number;
}

/** Decodes a PNG and measures how much it shows: a blank render has ~0 variance and one colour. */
export function imageStats(png: Buffer): ImageStats {
  const image = PNG.sync.read(png);
  const { width, height, data } = image;
  let sum = 0;
  let sumSq = 0;
  let nonWhite = 0;
  const colours = new Set<number>();
  for (let i = 0; i < data.length; i += 4) {
    const r = data[i]!;
    const g = data[i + 1]!;
    const b = data[i + 2]!;
    const luma = 0.299 * r + 0.587 * g + 0.114 * b;
    sum += luma;
    sumSq += luma * luma;
    if (r < 245 || g < 245 || b < 245) nonWhite++;
    colours.add(((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4));
  }
  const n = width * height;
  const mean = sum / n;
  return { width, height, lumaVariance: sumSq / n - mean * mean, nonWhiteShare: nonWhite / n, colours: colours.size };
}
