/**
 * The small shared harness every `bench/*.bench.ts` uses: timed rounds with warm-up, median and
 * spread, ops/s, memory sampling, machine notes, results JSON and Markdown tables.
 *
 * Numbers from here are only ever compared with a peer measured in the same run on the same
 * machine: absolute figures move with the machine, ratios much less.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, getPriority, loadavg, release, setPriority, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_DIR = dirname(BENCH_DIR);
export const RESULTS_DIR = join(BENCH_DIR, 'results');

/** One contestant: `run(n)` performs `n` operations (sync or async) and returns when all are done. */
export interface Contestant {
  label: string;
  run(n: number): void | Promise<void>;
}

export interface RoundsOptions {
  /** Operations per timed round. */
  opsPerRound: number;
  /** Timed rounds per contestant. Default 5. */
  rounds?: number;
  /** Untimed rounds first, so the JIT has settled and caches are warm. Default 1. */
  warmupRounds?: number;
  /** Operations per warm-up round. Default `opsPerRound`. */
  warmupOps?: number;
  /**
   * What a round's duration is. `wall` (default): elapsed time. `cpu`: this process's CPU time (user +
   * system, GC threads included) — for CPU-bound work on a shared machine, where elapsed time also
   * counts the slices the OS gave to other processes. On an idle machine the two agree.
   */
  clock?: 'wall' | 'cpu';
}

/** The outcome of timing one contestant over several rounds. */
export interface Measurement {
  label: string;
  opsPerRound: number;
  clock: 'wall' | 'cpu';
  /** Duration of each timed round on `clock`, ms. */
  roundMs: number[];
  /** Wall time of each timed round, ms (same as roundMs when clock is wall). */
  roundWallMs: number[];
  /** ops/s of the median round. */
  opsPerSec: number;
  /** Slowest and fastest round, ops/s. */
  opsPerSecMin: number;
  opsPerSecMax: number;
  /** (fastest − slowest) / median, in percent: how much the rounds disagree. */
  spreadPct: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Turns per-round durations into a Measurement. */
export function summarize(label: string, opsPerRound: number, roundMs: readonly number[], clock: 'wall' | 'cpu' = 'wall', roundWallMs: readonly number[] = roundMs): Measurement {
  const rates = roundMs.map((ms) => (opsPerRound * 1000) / ms);
  const mid = median(rates);
  const min = Math.min(...rates);
  const max = Math.max(...rates);
  return { label, opsPerRound, clock, roundMs: [...roundMs], roundWallMs: [...roundWallMs], opsPerSec: mid, opsPerSecMin: min, opsPerSecMax: max, spreadPct: ((max - min) / mid) * 100 };
}

async function timeOnce(c: Contestant, n: number): Promise<{ wallMs: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const pending = c.run(n);
  if (pending !== undefined) await pending;
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

/**
 * Times every contestant on the same work. Rounds are interleaved (A B C, then B C A, …) so that a
 * noisy neighbour or a thermal change hits every contestant alike rather than the last one.
 */
export async function compareRounds(contestants: readonly Contestant[], options: RoundsOptions): Promise<Measurement[]> {
  const rounds = options.rounds ?? 5;
  const warmup = options.warmupRounds ?? 1;
  const clock = options.clock ?? 'wall';
  for (let w = 0; w < warmup; w++) for (const c of contestants) await timeOnce(c, options.warmupOps ?? options.opsPerRound);
  const wall = contestants.map(() => [] as number[]);
  const cpu = contestants.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < contestants.length; i++) {
      const index = (i + r) % contestants.length;
      collectGarbage();
      const t = await timeOnce(contestants[index]!, options.opsPerRound);
      wall[index]!.push(t.wallMs);
      cpu[index]!.push(t.cpuMs);
    }
  }
  return contestants.map((c, i) => summarize(c.label, options.opsPerRound, clock === 'cpu' ? cpu[i]! : wall[i]!, clock, wall[i]!));
}

/** Runs a full GC when node was started with `--expose-gc`; otherwise does nothing. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) gc();
}

export interface MemoryPeak {
  /** Highest RSS seen by the sampler, bytes. */
  peakRss: number;
  /** Highest V8 heapUsed seen by the sampler, bytes. */
  peakHeapUsed: number;
  /** The OS's own high-water mark of RSS for the whole process lifetime, bytes. */
  maxRss: number;
}

/**
 * Samples `process.memoryUsage()` on a timer (and on demand) and keeps the peaks. The timer is
 * unref'd, and sampling is cheap (~µs) next to any I/O benchmark step.
 */
export class MemorySampler {
  #peakRss = 0;
  #peakHeapUsed = 0;
  #timer: NodeJS.Timeout | undefined;

  start(intervalMs = 20): this {
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
    return this;
  }

  sample(): void {
    const m = process.memoryUsage();
    if (m.rss > this.#peakRss) this.#peakRss = m.rss;
    if (m.heapUsed > this.#peakHeapUsed) this.#peakHeapUsed = m.heapUsed;
  }

  stop(): MemoryPeak {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.sample();
    // maxRSS is in kilobytes.
    return { peakRss: this.#peakRss, peakHeapUsed: this.#peakHeapUsed, maxRss: process.resourceUsage().maxRSS * 1024 };
  }
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  totalMemGiB: number;
  node: string;
  os: string;
}

export function machineInfo(): MachineInfo {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line !== undefined) cpuModel = line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // Not Linux: os.cpus() it is.
  }
  return { nproc: availableParallelism(), cpuModel, totalMemGiB: Math.round(totalmem() / 2 ** 30), node: process.version, os: `${process.platform} ${release()}` };
}

export function machineLine(m: MachineInfo): string {
  return `${m.nproc} cores (\`nproc\`), CPU "${m.cpuModel}", ${m.totalMemGiB} GiB RAM, Node ${m.node}, ${m.os}`;
}

/**
 * Raises this process's scheduling priority (nice −10) when allowed (root, or CAP_SYS_NICE), so
 * other work on a shared machine disturbs the measurement less; children spawned meanwhile inherit
 * it. Returns whether it was raised and a function that puts the old priority back.
 */
export function raisePriority(): { raised: boolean; restore: () => void } {
  const before = getPriority();
  try {
    setPriority(Math.min(before, -10));
  } catch {
    return { raised: false, restore: () => undefined };
  }
  return { raised: true, restore: () => setPriority(before) };
}

/** The 1-minute load average, as a sign of other work sharing the machine during a run. */
export function loadAverage(): number {
  return Math.round(loadavg()[0]! * 10) / 10;
}

/** Writes `bench/results/<name>-<timestamp>.json` and `bench/results/<name>.latest.json`; returns the first path. */
export async function writeResults(name: string, data: unknown): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = join(RESULTS_DIR, `${name}-${stamp}.json`);
  const text = `${JSON.stringify(data, null, 2)}\n`;
  await writeFile(file, text);
  await writeFile(join(RESULTS_DIR, `${name}.latest.json`), text);
  return file;
}

// ---------------------------------------------------------------------------------------------
// Formatting

export type Align = 'left' | 'right';

/** A GitHub Markdown table; numbers are right-aligned unless `align` says otherwise. */
export function markdownTable(header: readonly string[], rows: readonly (readonly (string | number)[])[], align?: readonly Align[]): string {
  const cells = rows.map((row) => row.map((c) => (typeof c === 'number' ? formatNumber(c) : c)));
  const aligns = header.map((_, i) => align?.[i] ?? (rows.length > 0 && rows.every((r) => typeof r[i] === 'number') ? 'right' : 'left'));
  const widths = header.map((h, i) => Math.max(3, h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const pad = (s: string, i: number): string => (aligns[i] === 'right' ? s.padStart(widths[i]!) : s.padEnd(widths[i]!));
  const line = (r: readonly string[]): string => `| ${header.map((_, i) => pad(r[i] ?? '', i)).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (aligns[i] === 'right' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header), rule, ...cells.map(line)].join('\n');
}

/** `123456.7` → `123,457`; small numbers keep up to 2 decimals. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2;
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function formatOps(opsPerSec: number): string {
  return formatNumber(opsPerSec);
}

/** `a / b` as `1.62×`. */
export function formatRatio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}×`;
}

export function formatMiB(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

export function formatSpread(m: Measurement): string {
  return `±${(m.spreadPct / 2).toFixed(1)}%`;
}

/**
 * Replaces the text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in `document`
 * (markers included), or appends the section when the markers are absent. Everything else is kept,
 * so each benchmark owns its section and the rest of the file belongs to people.
 */
export function replaceSection(document: string, name: string, body: string): string {
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const section = `${open}\n${body.trim()}\n${close}`;
  const start = document.indexOf(open);
  const end = document.indexOf(close);
  if (start !== -1 && end > start) return document.slice(0, start) + section + document.slice(end + close.length);
  return `${document.replace(/\s*$/, '')}\n\n${section}\n`;
}

/** utime + stime of a process in ms, from /proc (Linux); undefined when unreadable. */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms (USER_HZ = 100)
  } catch {
    return undefined;
  }
}
