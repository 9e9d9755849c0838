/**
 * Shared set-up of the worker integration tests: a unique queue per test, a producer, workers
 * started in-process with their logs captured, and the invariant every test ends with —
 * **every enqueued job is completed or dead-lettered, none left anywhere else**.
 */
import { Job, Queue } from 'bullmq';
import { Writable } from 'node:stream';
import { expect } from 'vitest';
import { buildConfig, type ConfigOverrides, type S3JobsConfig } from '../../../shared/config/config.js';
import type { JobResult } from '../../../shared/jobs/index.js';
import { createLogger } from '../../../shared/log/logger.js';
import type { DeadLetterRecord } from '../../../shared/queue/dead-letter.js';
import { deadLetterJobId, deadLetterQueueName } from '../../../shared/queue/names.js';
import { S3JobsProducer, type EnqueueOptions } from '../../../producers/producer.js';
import { startWorker, type StartWorkerOptions, type WorkerHandle } from '../../../workers/worker.js';
import { deleteKeysWithPrefix, redisUrl, uniqueQueueName } from '../../support/redis.js';
import { s3Target } from '../../support/s3-env.js';

export const PREFIX = '{s3jobs-test}';
export const PROFILE = 'test';
/** Secret key of a profile every test worker has and no job uses. */
export const DECOY_SECRET = 'decoy-SECRET-never-logged-7f3a';

export interface WorkerTestEnv {
  readonly queue: string;
  readonly config: S3JobsConfig;
  readonly producer: S3JobsProducer;
  /** Every log line of every worker started by `startWorker` (JSON strings). */
  readonly logs: string[];
  /** Ids of every job added through `add` / `addRaw`. */
  readonly enqueued: Set<string>;
  /** Config overrides merged over the base of this env (for child processes, say). */
  configWith(overrides: ConfigOverrides): S3JobsConfig;
  startWorker(options?: Partial<StartWorkerOptions> & { overrides?: ConfigOverrides }): Promise<WorkerHandle>;
  add(payload: unknown, options?: EnqueueOptions): Promise<string>;
  /** Adds raw data with BullMQ, bypassing the producer's validation. */
  addRaw(name: string, data: unknown, opts?: { attempts?: number }): Promise<string>;
  /** Records a job id added by other means (a child process, the DLQ admin). */
  track(jobId: string): void;
  deadLetter(jobId: string): Promise<DeadLetterRecord | undefined>;
  /** Waits until every enqueued job is completed or dead-lettered, then checks the invariant. */
  settle(timeoutMs?: number): Promise<Settled>;
  cleanup(): Promise<void>;
}

export interface Settled {
  completed: Map<string, { result: JobResult; attemptsMade: number }>;
  deadLettered: Map<string, DeadLetterRecord>;
}

/** A config for `endpoint` (default the S3 test server), a unique queue, short timings. */
export function testConfig(queue: string, endpoint: string, overrides: ConfigOverrides = {}): S3JobsConfig {
  const target = s3Target();
  return buildConfig({
    overrides: {
      redisUrl: redisUrl(),
      queue,
      prefix: PREFIX,
      logLevel: 'debug',
      ...overrides,
      profiles: {
        [PROFILE]: { endpoint, accessKey: target.accessKey, secretKey: target.secretKey, region: target.region, forcePathStyle: true, provider: target.provider },
        decoy: { endpoint, accessKey: 'DECOYACCESS', secretKey: DECOY_SECRET, sessionToken: `${DECOY_SECRET}-token` },
        ...overrides.profiles,
      },
      worker: { concurrency: 4, jobTimeoutMs: 5_000, shutdownGraceMs: 2_000, lockDurationMs: 5_000, stalledIntervalMs: 1_000, stallTimeoutMs: 10_000, ...overrides.worker },
      retry: { attempts: 3, backoffBaseMs: 50, backoffMaxMs: 200, ...overrides.retry },
    },
  });
}

export async function workerTestEnv(options: { endpoint?: string; overrides?: ConfigOverrides } = {}): Promise<WorkerTestEnv> {
  const queue = uniqueQueueName('w');
  const endpoint = options.endpoint ?? s3Target().endpoint;
  const base = options.overrides ?? {};
  const configWith = (overrides: ConfigOverrides): S3JobsConfig =>
    testConfig(queue, endpoint, {
      ...base,
      ...overrides,
      worker: { ...base.worker, ...overrides.worker },
      retry: { ...base.retry, ...overrides.retry },
    });
  const config = configWith({});
  const producer = new S3JobsProducer({ config });
  const raw = new Queue(queue, { connection: { url: redisUrl() }, prefix: PREFIX });
  const logs: string[] = [];
  const enqueued = new Set<string>();
  const handles: WorkerHandle[] = [];

  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      done();
    },
  });

  const deadLetter = async (jobId: string): Promise<DeadLetterRecord | undefined> => (await Job.fromId<DeadLetterRecord>(producer.deadLetters, deadLetterJobId(jobId)))?.data;

  const env: WorkerTestEnv = {
    queue,
    config,
    producer,
    logs,
    enqueued,
    configWith,
    async startWorker(opts = {}) {
      const { overrides, ...rest } = opts;
      const handle = startWorker({
        config: overrides === undefined ? config : configWith(overrides),
        logger: createLogger({ level: 'debug' }, sink),
        sweepIntervalMs: 500,
        ...rest,
      });
      handles.push(handle);
      await handle.ready;
      return handle;
    },
    async add(payload, opts) {
      const { jobId } = await producer.add(payload, opts);
      enqueued.add(jobId);
      return jobId;
    },
    async addRaw(name, data, opts = {}) {
      const job = await raw.add(name, data, { attempts: opts.attempts ?? 3, removeOnFail: false });
      enqueued.add(job.id!);
      return job.id!;
    },
    track(jobId) {
      enqueued.add(jobId);
    },
    deadLetter,
    async settle(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const completed = new Map<string, { result: JobResult; attemptsMade: number }>();
        const deadLettered = new Map<string, DeadLetterRecord>();
        const elsewhere: string[] = [];
        for (const id of enqueued) {
          // State first, then the job: a finished job's fields then match the state read.
          const found = await producer.queue.getJobState(id);
          const state = found === 'unknown' ? 'absent' : found;
          const job = await Job.fromId(producer.queue, id);
          const dead = await deadLetter(id);
          if (state === 'completed' && dead === undefined) completed.set(id, { result: job!.returnvalue as JobResult, attemptsMade: job!.attemptsMade });
          else if (state === 'absent' && dead !== undefined) deadLettered.set(id, dead);
          else elsewhere.push(`${id}: ${state}${dead === undefined ? '' : ' + dead-lettered'}`);
        }
        if (elsewhere.length === 0) {
          await expectInvariant(producer, enqueued.size, completed.size, deadLettered.size);
          return { completed, deadLettered };
        }
        if (Date.now() > deadline) throw new Error(`jobs not settled after ${timeoutMs} ms: ${elsewhere.join('; ')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async cleanup() {
      await Promise.allSettled(handles.map((h) => h.close(0)));
      await producer.close();
      await raw.close();
      // The queue's keys and its dead-letter queue's (`<queue>-dead`) share this prefix.
      await deleteKeysWithPrefix(`${PREFIX}:${queue}`);
    },
  };
  return env;
}

/** enqueued = completed + dead-lettered, and nothing waiting, running, delayed or failed. */
export async function expectInvariant(producer: S3JobsProducer, enqueued: number, completed: number, deadLettered: number): Promise<void> {
  const counts = await producer.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed', 'waiting-children');
  const dead = await producer.deadLetters.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
  expect({ ...counts, dead: Object.values(dead).reduce((a, b) => a + b, 0) }).toEqual({
    waiting: 0,
    prioritized: 0,
    delayed: 0,
    active: 0,
    completed,
    failed: 0,
    'waiting-children': 0,
    dead: deadLettered,
  });
  expect(completed + deadLettered).toBe(enqueued);
}

/**
 * Asserts no log line carries a secret: neither the S3 server's secret key nor the decoy profile's
 * (configured on every test worker, never used for a request, so it could only leak from config).
 */
export function expectNoSecretIn(logs: readonly string[]): void {
  const text = logs.join('\n');
  expect(text.length).toBeGreaterThan(0);
  expect(text).not.toContain(DECOY_SECRET);
  expect(text).not.toContain(s3Target().secretKey);
}

export function dlqName(queue: string): string {
  return deadLetterQueueName(queue);
}

export function logMessages(logs: readonly string[]): { msg: string; [k: string]: unknown }[] {
  return logs.map((l) => JSON.parse(l) as { msg: string });
}
