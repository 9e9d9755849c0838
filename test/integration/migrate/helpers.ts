/**
 * Set-up of the migration tests: a unique queue and bucket per test, objects uploaded concurrently,
 * workers started in-process, the `s3jobs` CLI run in-process or as a child process (to be
 * killed), every job added to the queue counted (QueueEvents `added`), the CSV report parsed, and
 * the invariant every test ends with — enqueued = completed + dead-lettered (+ cancelled for a
 * stopped run), nothing of the run left in the queue, no job hash of the run left in Redis.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { expect } from 'vitest';
import { runProducerCommand, type CliIo } from '../../../producers/cli/index.js';
import { type ConfigOverrides, type S3JobsConfig } from '../../../shared/config/config.js';
import { createLogger } from '../../../shared/log/logger.js';
import { deadLetterQueueName } from '../../../shared/queue/names.js';
import { RunStore, type RunInfo } from '../../../shared/runs/index.js';
import type { S3Bucket } from '../../../shared/s3/index.js';
import { startWorker, type WorkerHandle } from '../../../workers/worker.js';
import { createRedis, deleteKeysWithPrefix, redisUrl, uniqueQueueName } from '../../support/redis.js';
import { s3Target } from '../../support/s3-env.js';
import { workerEnv } from '../../support/worker-process.js';
import { PREFIX, PROFILE, testConfig } from '../workers/helpers.js';

export { PREFIX, PROFILE };

const SHIM = fileURLToPath(new URL('../../../bin/s3jobs.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Puts `keys` into `bucket`, `concurrency` at a time (s3rver does ~600 puts/s). */
export async function putObjects(
  bucket: S3Bucket,
  keys: readonly string[],
  options: { body?: (key: string) => string; mimetype?: string; metadata?: Record<string, string>; headers?: Record<string, string>; concurrency?: number } = {},
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const key = keys[next++]!;
      await bucket.put(key, options.body?.(key) ?? `body of ${key}`, { mimetype: options.mimetype, metadata: options.metadata, headers: options.headers });
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 32 }, worker));
}

/** `fn` over `items`, `concurrency` at a time, results in order. */
export async function mapConcurrent<T, R>(items: readonly T[], fn: (item: T) => Promise<R>, concurrency = 32): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

export interface ReportRow {
  bucket: string;
  key: string;
  status: string;
  changed: string;
  errorCode: string;
  message: string;
  attempts: string;
  etag: string;
  versionId: string;
}

/** RFC 4180 parsing of the report (quoted fields may hold commas, quotes and newlines). */
export function readReport(path: string): { header: string; rows: ReportRow[] } {
  const text = readFileSync(path, 'utf8');
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += c;
  }
  expect(field === '' && record.length === 0, 'the report ends with a newline').toBe(true);
  const [header, ...rows] = records;
  return {
    header: header!.join(','),
    rows: rows.map((r) => {
      expect(r).toHaveLength(9);
      const [bucket, key, status, changed, errorCode, message, attempts, etag, versionId] = r as [string, string, string, string, string, string, string, string, string];
      return { bucket, key, status, changed, errorCode, message, attempts, etag, versionId };
    }),
  };
}

/** Every key exactly once in the report; returns the rows by key. */
export function expectEveryKeyOnce(rows: readonly ReportRow[], keys: readonly string[]): Map<string, ReportRow> {
  const byKey = new Map<string, ReportRow>();
  const twice: string[] = [];
  for (const row of rows) {
    if (byKey.has(row.key)) twice.push(row.key);
    byKey.set(row.key, row);
  }
  expect(twice, 'keys reported more than once').toEqual([]);
  expect([...byKey.keys()].sort()).toEqual([...keys].sort());
  return byKey;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliChild {
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  kill(signal: NodeJS.Signals): void;
  readonly exited: Promise<CliResult>;
}

export interface MigrateTestEnv {
  readonly queue: string;
  readonly config: S3JobsConfig;
  /** The environment that gives the CLI this config (the producer lists with profile `test`). */
  readonly env: Record<string, string>;
  /** A directory for reports. */
  readonly dir: string;
  readonly store: RunStore;
  readonly bullQueue: Queue;
  /** Job ids added to the queue (QueueEvents `added`), with how many times each. */
  readonly added: Map<string, number>;
  /** Job ids a worker completed (from the workers' logs), with how many times each. */
  completions(): Map<string, number>;
  startWorker(overrides?: ConfigOverrides): Promise<WorkerHandle>;
  /** `s3jobs <command> ...args` in this process, with this env; output captured. */
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** `node bin/s3jobs.js ...args` as a child process (cwd `dir`), with this env. */
  spawnCli(args: string[]): CliChild;
  /** Waits until the `added` count reaches `n`. */
  waitForAdded(n: number, timeoutMs?: number): Promise<void>;
  /** Queue depth as the window counts it (waiting + prioritized + delayed). */
  depth(): Promise<number>;
  /** The run's end state checks: counters add up, nothing of the run in the queue or in Redis. */
  expectSettled(run: RunInfo, expected: { enqueued: number; cancelled?: number }): Promise<void>;
  cleanup(): Promise<void>;
}

export async function migrateTestEnv(options: { overrides?: ConfigOverrides } = {}): Promise<MigrateTestEnv> {
  const queue = uniqueQueueName('mig');
  const config = testConfig(queue, s3Target().endpoint, { logLevel: 'info', ...options.overrides });
  const env = { ...workerEnv(config), S3JOBS_LOG_LEVEL: 'info' };
  const dir = mkdtempSync(join(tmpdir(), 's3jobs-mig-'));
  const redis = createRedis();
  const store = new RunStore(redis, PREFIX, queue);
  const bullQueue = new Queue(queue, { connection: redis, prefix: PREFIX });
  const deadLetters = new Queue(deadLetterQueueName(queue), { connection: redis, prefix: PREFIX });
  const events = new QueueEvents(queue, { connection: { url: redisUrl() }, prefix: PREFIX });
  const added = new Map<string, number>();
  events.on('added', ({ jobId }) => added.set(jobId, (added.get(jobId) ?? 0) + 1));
  await events.waitUntilReady();
  const handles: WorkerHandle[] = [];
  const children: CliChild[] = [];
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      done();
    },
  });

  const testEnv: MigrateTestEnv = {
    queue,
    config,
    env,
    dir,
    store,
    bullQueue,
    added,
    completions() {
      const counts = new Map<string, number>();
      for (const line of logs) {
        const entry = JSON.parse(line) as { msg?: string; jobId?: string };
        if (entry.msg === 'job completed' && entry.jobId !== undefined) counts.set(entry.jobId, (counts.get(entry.jobId) ?? 0) + 1);
      }
      return counts;
    },
    async startWorker(overrides) {
      const handle = startWorker({ config: overrides === undefined ? config : testConfig(queue, s3Target().endpoint, { logLevel: 'info', ...options.overrides, ...overrides }), logger: createLogger({ level: 'info' }, sink), sweepIntervalMs: 300 });
      handles.push(handle);
      await handle.ready;
      return handle;
    },
    async cli(args) {
      let stdout = '';
      let stderr = '';
      const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env };
      const code = await runProducerCommand(args[0]!, args.slice(1), io);
      return { code, stdout, stderr };
    },
    spawnCli(args) {
      const child = spawn(process.execPath, [SHIM, ...args], { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const exited = new Promise<CliResult>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
      const handle: CliChild = { pid: child.pid ?? -1, stdout: () => stdout, stderr: () => stderr, kill: (s) => void child.kill(s), exited };
      children.push(handle);
      return handle;
    },
    async waitForAdded(n, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (sum(added) < n) {
        if (Date.now() > deadline) throw new Error(`only ${sum(added)} of ${n} jobs added after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async depth() {
      const c = await bullQueue.getJobCounts('waiting', 'prioritized', 'delayed');
      return (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0);
    },
    async expectSettled(run, expected) {
      const cancelled = expected.cancelled ?? 0;
      expect({ enqueued: run.enqueued, cancelled: run.cancelled }).toEqual({ enqueued: expected.enqueued, cancelled });
      expect(run.completed + run.deadLettered + run.cancelled, 'enqueued = completed + dead-lettered + cancelled').toBe(run.enqueued);
      // Nothing left anywhere in the queue: run jobs are removed on completion by the workers.
      const counts = await bullQueue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed', 'waiting-children');
      expect(counts).toEqual({ waiting: 0, prioritized: 0, delayed: 0, active: 0, completed: 0, failed: 0, 'waiting-children': 0 });
      const dead = await deadLetters.getJobCounts('waiting', 'prioritized', 'delayed');
      expect(Object.values(dead).reduce((a, b) => a + b, 0), 'dead letters').toBe(run.deadLettered);
      // No job hash of the run in Redis (only its dead letters, under the "-dead" queue).
      const [, jobKeys] = await redis.scan('0', 'MATCH', `${PREFIX}:${queue}:${run.id}-*`, 'COUNT', 100_000);
      expect(jobKeys, 'job hashes of the run left in Redis').toEqual([]);
    },
    async cleanup() {
      for (const c of children) c.kill('SIGKILL');
      await Promise.allSettled(children.map((c) => c.exited));
      await Promise.allSettled(handles.map((h) => h.close(0)));
      await events.close();
      await bullQueue.close();
      await deadLetters.close();
      await deleteKeysWithPrefix(`${PREFIX}:${queue}`, redis);
      await redis.quit();
    },
  };
  return testEnv;
}

export function sum(counts: Map<string, number>): number {
  let n = 0;
  for (const v of counts.values()) n += v;
  return n;
}

/** The keys added more than once, or the ids seen more than once. */
export function repeated(counts: Map<string, number>): string[] {
  return [...counts].filter(([, n]) => n > 1).map(([id]) => id);
}

/** Polls `fn` until it returns a value (not undefined). */
export async function until<T>(fn: () => Promise<T | undefined>, timeoutMs = 20_000, what = 'a condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
