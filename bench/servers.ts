/**
 * Servers the queue-level benchmarks (queue, migration, scale, large) share: the fake S3 as a bare
 * `node` child (transpiled by compile.ts, as the client benchmark runs it), s3rver through the test
 * helper, and an s3jobs configuration pointing a worker at either.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildConfig, type S3JobsConfig, type WorkerSettings } from '../shared/config/config.js';
import { compileForNode } from './compile.js';
import { REPO_DIR } from './harness.js';

export const PROFILE = 'bench';
export const ACCESS_KEY = 'S3RVER';
export const SECRET_KEY = 'S3RVER';
export const REGION = 'us-east-1';

export interface FakeS3 {
  endpoint: string;
  pid: number | undefined;
  stop(): void;
}

/**
 * Starts `bench/fake-s3.ts` as a bare-node child; it exits when its stdin closes (or with us).
 * `listedObjects`: how many synthetic keys (`src/…`) its listings hold.
 */
export async function startFakeS3(listedObjects = 0): Promise<FakeS3> {
  const build = await compileForNode();
  const env: NodeJS.ProcessEnv = { ...process.env, FAKE_S3_OBJECTS: String(listedObjects) };
  delete env.NODE_OPTIONS;
  const child: ChildProcess = spawn(process.execPath, [join(build, 'bench', 'fake-s3.js')], { cwd: REPO_DIR, env, stdio: ['pipe', 'pipe', 'inherit'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m !== null) resolve(`http://127.0.0.1:${m[1]}`);
    });
    child.on('exit', (code) => reject(new Error(`fake S3 exited ${code} before listening`)));
  });
  return { endpoint, pid: child.pid, stop: () => void child.stdin?.end() };
}

/** A config whose profile `bench` points at `endpoint` (s3rver's keys unless `keys` says otherwise), quiet logs, no retention surprises. */
export function benchConfig(
  redisUrl: string,
  endpoint: string,
  queue: string,
  worker: Partial<WorkerSettings> = {},
  keys: { accessKey: string; secretKey: string; region: string } = { accessKey: ACCESS_KEY, secretKey: SECRET_KEY, region: REGION },
): S3JobsConfig {
  return buildConfig({
    overrides: {
      redisUrl,
      queue,
      prefix: '{s3jobs}',
      logLevel: 'silent',
      profiles: { [PROFILE]: { endpoint, ...keys, forcePathStyle: true } },
      worker: { concurrency: 32, ...worker },
    },
  });
}

/** Peak RSS of a live process (`VmHWM`), bytes; undefined when it is gone. */
export function peakRssOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}
