/**
 * The reliability suite's run harness: a unique queue, a producer, workers (in this process or as
 * child processes), bulk enqueue with deterministic ids, and the one invariant every run ends with:
 *
 *   enqueued = completed + dead-lettered, every job in exactly one of the two, nothing waiting,
 *   active, delayed, prioritized or failed.
 *
 * Unlike the integration helpers (test/integration/workers/helpers.ts), everything here is sized
 * for thousands of jobs: states are read in parallel batches and waiting polls the counts only.
 */
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Writable } from 'node:stream';
import { expect } from 'vitest';
import { buildConfig, type ConfigOverrides, type S3JobsConfig } from '../../../shared/config/config.js';
import type { JobResult } from '../../../shared/jobs/index.js';
import { createLogger } from '../../../shared/log/logger.js';
import type { DeadLetterRecord } from '../../../shared/queue/dead-letter.js';
import { deadLetterJobId } from '../../../shared/queue/names.js';
import { S3JobsProducer, type EnqueueOptions } from '../../../producers/producer.js';
import { startWorker, type StartWorkerOptions, type WorkerHandle } from '../../../workers/worker.js';
import { deleteKeysWithPrefix, redisUrl, uniqueQueueName } from '../../support/redis.js';
import { s3Target } from '../../support/s3-env.js';
import { startWorkerProcess, workerEnv, type WorkerProcess } from '../../support/worker-process.js';

export const PREFIX = '{s3jobs-rel}';
export const PROFILE = 'rel';
/** Secret of a profile every worker has and no job uses: it can only leak from configuration. */
export const DECOY_SECRET = 'decoy-SECRET-rel-9c41e07d';
export const DECOY_TOKEN = 'decoy-TOKEN-rel-5be2aa10';

export interface RunEnvOptions {
  /** S3 endpoint the workers use (a proxy, usually). Default the S3 test server. */
  endpoint?: string;
  /** Default the shared Redis (REDIS_URL or 127.0.0.1:6379). */
  redisUrl?: string;
  overrides?: ConfigOverrides;
  /** Queue name prefix, for reading Redis dumps. */
  name?: string;
}

export interface FinishedJob {
  attemptsMade: number;
  result: JobResult;
  /** Enqueue time (BullMQ `timestamp`). */
  enqueuedAt: number;
  /** Start of the last attempt. */
  processedOn: number;
  finishedOn: number;
}

export interface Settled {
  completed: Map<string, FinishedJob>;
  deadLettered: Map<string, DeadLetterRecord>;
  /** Wall time from the call until everything settled. */
  waitedMs: number;
}

export interface RunEnv {
  readonly queue: string;
  readonly config: S3JobsConfig;
  readonly producer: S3JobsProducer;
  /** Every log line of the in-process workers (JSON strings). */
  readonly logs: string[];
  /** Ids of every job enqueued through `addBulk`. */
  readonly enqueued: Set<string>;
  readonly children: WorkerProcess[];
  configWith(overrides: ConfigOverrides): S3JobsConfig;
  startWorker(options?: Partial<StartWorkerOptions> & { overrides?: ConfigOverrides }): Promise<WorkerHandle>;
  /** A worker in a child process (`workers/main.ts`), ready. */
  startChild(overrides?: ConfigOverrides, extraEnv?: Record<string, string>): Promise<WorkerProcess>;
  /** Validated bulk enqueue in batches of `batch`; records the ids. */
  addBulk(items: readonly { payload: unknown; options?: EnqueueOptions }[], batch?: number): Promise<string[]>;
  /** Adds raw data with BullMQ, bypassing the producer's validation. */
  addRaw(name: string, data: unknown, jobId?: string): Promise<string>;
  /** Queue counts plus `dead` (dead-letter queue size). */
  counts(): Promise<Record<string, number>>;
  /** Waits until every id in `ids` (default: all enqueued) has settled, then checks the invariant. */
  settle(options?: { ids?: ReadonlySet<string>; timeoutMs?: number }): Promise<Settled>;
  cleanup(): Promise<void>;
}

export function relConfig(queue: string, endpoint: string, redis: string, overrides: ConfigOverrides = {}): S3JobsConfig {
  const target = s3Target();
  return buildConfig({
    overrides: {
      redisUrl: redis,
      queue,
      prefix: PREFIX,
      logLevel: 'info',
      ...overrides,
      profiles: {
        [PROFILE]: { endpoint, accessKey: target.accessKey, secretKey: target.secretKey, region: target.region, forcePathStyle: true },
        decoy: { endpoint, accessKey: 'DECOYACCESSREL', secretKey: DECOY_SECRET, sessionToken: DECOY_TOKEN },
        ...overrides.profiles,
      },
      worker: { concurrency: 16, jobTimeoutMs: 5_000, shutdownGraceMs: 2_000, lockDurationMs: 10_000, stalledIntervalMs: 5_000, stallTimeoutMs: 15_000, ...overrides.worker },
      retry: { attempts: 5, backoffBaseMs: 100, backoffMaxMs: 1_000, ...overrides.retry },
      retention: { completedCount: 200_000, completedAgeSeconds: 86_400, ...overrides.retention },
    },
  });
}

/** `items` in parallel, at most `limit` at a time. */
export async function inBatches<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(lanes);
  return out;
}

export async function runEnv(options: RunEnvOptions = {}): Promise<RunEnv> {
  const queue = uniqueQueueName(options.name ?? 'rel');
  const endpoint = options.endpoint ?? s3Target().endpoint;
  const redis = options.redisUrl ?? redisUrl();
  const base = options.overrides ?? {};
  const configWith = (overrides: ConfigOverrides): S3JobsConfig =>
    relConfig(queue, endpoint, redis, {
      ...base,
      ...overrides,
      worker: { ...base.worker, ...overrides.worker },
      retry: { ...base.retry, ...overrides.retry },
      retention: { ...base.retention, ...overrides.retention },
    });
  const config = configWith({});
  const producer = new S3JobsProducer({ config });
  const raw = new Queue(queue, { connection: { url: redis }, prefix: PREFIX });
  // Tests that kill Redis expect these connections to fail for a while: no unhandled-error noise.
  for (const q of [producer.queue, producer.deadLetters, raw]) q.on('error', () => undefined);
  const logs: string[] = [];
  const enqueued = new Set<string>();
  const handles: WorkerHandle[] = [];
  const children: WorkerProcess[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(line);
      done();
    },
  });

  const counts = async (): Promise<Record<string, number>> => {
    const main = await producer.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed', 'waiting-children');
    const dead = await producer.deadLetters.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
    return { ...main, dead: Object.values(dead).reduce((a, b) => a + b, 0) };
  };

  const env: RunEnv = {
    queue,
    config,
    producer,
    logs,
    enqueued,
    children,
    configWith,
    async startWorker(opts = {}) {
      const { overrides, ...rest } = opts;
      const handle = startWorker({
        config: overrides === undefined ? config : configWith(overrides),
        logger: createLogger({ level: (overrides?.logLevel ?? config.logLevel) as 'info' }, sink),
        sweepIntervalMs: 1_000,
        ...rest,
      });
      handles.push(handle);
      await handle.ready;
      return handle;
    },
    async startChild(overrides = {}, extraEnv = {}) {
      const proc = startWorkerProcess({ env: { ...workerEnv(configWith(overrides)), ...extraEnv } });
      children.push(proc);
      await proc.waitForLog((l) => l.msg === 'worker ready', 30_000);
      return proc;
    },
    async addBulk(items, batch = 500) {
      const ids: string[] = [];
      for (let i = 0; i < items.length; i += batch) {
        const added = await producer.addBulk(items.slice(i, i + batch));
        for (const { jobId } of added) {
          enqueued.add(jobId);
          ids.push(jobId);
        }
      }
      return ids;
    },
    async addRaw(name, data, jobId) {
      const job = await raw.add(name, data, { attempts: 3, removeOnFail: false, removeOnComplete: { count: 200_000 }, ...(jobId === undefined ? {} : { jobId }) });
      enqueued.add(job.id!);
      return job.id!;
    },
    counts,
    async settle(opts = {}) {
      const ids = opts.ids ?? enqueued;
      const timeoutMs = opts.timeoutMs ?? 120_000;
      const started = Date.now();
      const deadline = started + timeoutMs;
      // Cheap polling on the counts first; the per-job read below is the proof.
      for (;;) {
        const c = await counts();
        const open = c.waiting! + c.prioritized! + c.delayed! + c.active! + c.failed! + c['waiting-children']!;
        if (open === 0 && c.completed! + c.dead! >= ids.size) break;
        if (Date.now() > deadline) {
          const unsettled: string[] = [];
          for (const id of ids) {
            if (unsettled.length >= 20) break;
            const state = await producer.queue.getJobState(id);
            const dead = await Job.fromId(producer.deadLetters, deadLetterJobId(id));
            if (!((state === 'completed' && dead === undefined) || (state === 'unknown' && dead !== undefined))) unsettled.push(`${id}: ${state}${dead === undefined ? '' : ' + dead-lettered'}`);
          }
          throw new Error(`jobs not settled after ${timeoutMs} ms: ${JSON.stringify(c)} (expected ${ids.size} finished); e.g. ${unsettled.join('; ')}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      const waitedMs = Date.now() - started;
      const completed = new Map<string, FinishedJob>();
      const deadLettered = new Map<string, DeadLetterRecord>();
      const elsewhere: string[] = [];
      await inBatches([...ids], 64, async (id) => {
        const state = await producer.queue.getJobState(id);
        const job = state === 'unknown' ? undefined : await Job.fromId(producer.queue, id);
        const dead = (await Job.fromId<DeadLetterRecord>(producer.deadLetters, deadLetterJobId(id)))?.data;
        if (state === 'completed' && dead === undefined && job !== undefined)
          completed.set(id, { attemptsMade: job.attemptsMade, result: job.returnvalue as JobResult, enqueuedAt: job.timestamp, processedOn: job.processedOn ?? 0, finishedOn: job.finishedOn ?? 0 });
        else if (state === 'unknown' && dead !== undefined) deadLettered.set(id, dead);
        else elsewhere.push(`${id}: ${state}${dead === undefined ? '' : ' + dead-lettered'}`);
      });
      expect(elsewhere, 'jobs neither completed nor dead-lettered (or both)').toEqual([]);
      const c = await counts();
      expect(c).toEqual({ waiting: 0, prioritized: 0, delayed: 0, active: 0, failed: 0, 'waiting-children': 0, completed: completed.size, dead: deadLettered.size });
      expect(completed.size + deadLettered.size).toBe(ids.size);
      return { completed, deadLettered, waitedMs };
    },
    async cleanup() {
      await Promise.allSettled(children.splice(0).map((c) => c.stop()));
      await Promise.allSettled(handles.splice(0).map((h) => h.close(0)));
      await producer.close();
      await raw.close();
      // The queue's keys and its dead-letter queue's (`<queue>-dead`) share this prefix. A private
      // Redis may be gone already (its test stopped it): then there is nothing to delete.
      const client = new Redis(redis, { maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true });
      client.on('error', () => undefined);
      await client
        .connect()
        .then(() => deleteKeysWithPrefix(`${PREFIX}:${queue}`, client))
        .catch(() => undefined)
        .finally(() => client.disconnect());
    },
  };
  return env;
}

/** Nearest-rank percentile of `values` (need not be sorted). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
