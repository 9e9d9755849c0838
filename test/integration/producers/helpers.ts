/**
 * Helpers for the producer integration tests: unique queues under s3jobs' default key prefix (and
 * their dead-letter queues) cleaned up afterwards, dead-letter records written the way workers
 * write them, and the real CLI run as a child process.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DeadLetterRecord } from '../../../shared/queue/dead-letter.js';
import { deleteKeysWithPrefix, redisUrl, uniqueQueueName } from '../../support/redis.js';

/** s3jobs' default BullMQ prefix (config `prefix`); the CLI uses it unless told otherwise. */
export const PREFIX = '{s3jobs}';

/** Unique queue names whose keys — the queue's and its `-dead` queue's — `cleanup()` deletes. */
export function producerQueues(): { name(prefix?: string): string; cleanup(): Promise<void> } {
  const names: string[] = [];
  return {
    name(prefix = 'prod') {
      const name = uniqueQueueName(prefix);
      names.push(name);
      return name;
    },
    async cleanup() {
      // `<prefix>:<name>` covers `<prefix>:<name>:*` and `<prefix>:<name>-dead:*`; names are unique.
      for (const name of names.splice(0)) await deleteKeysWithPrefix(`${PREFIX}:${name}`);
    },
  };
}

export const copyPayload = {
  kind: 'copy',
  profile: 'default',
  source: { bucket: 'src-bucket', key: 'photos/a.jpg' },
  destination: { bucket: 'dst-bucket', key: 'photos/a.jpg' },
  acl: 'private',
} as const;

/** A dead-letter record as a worker writes it. */
export function deadLetterRecord(queue: string, jobId: string, overrides: Partial<DeadLetterRecord> = {}): DeadLetterRecord {
  const now = Date.now();
  return {
    jobId,
    queue,
    name: 'copy',
    kind: 'copy',
    payload: copyPayload,
    error: { code: 'NoSuchKey', message: 'The specified key does not exist. (src-bucket/photos/a.jpg) [HTTP 404]', retryable: false, status: 404 },
    attemptsMade: 1,
    reason: 'permanent',
    enqueuedAt: now - 60_000,
    failedAt: now - 1_000,
    deadLetteredAt: now,
    ...overrides,
  };
}

/**
 * Writes records into `<queue>-dead` directly with BullMQ, in order, under their job ids (or
 * `options.id`, for a record whose original id BullMQ would refuse as a custom id).
 */
export async function putDeadLetters(connection: Redis, queue: string, records: DeadLetterRecord[], options: { priority?: number; id?: string } = {}): Promise<void> {
  const dlq = new Queue(`${queue}-dead`, { connection, prefix: PREFIX });
  const { id, ...jobOptions } = options;
  try {
    for (const record of records) await dlq.add(record.name, record, { jobId: id ?? record.jobId, attempts: 1, removeOnComplete: false, removeOnFail: false, ...jobOptions });
  } finally {
    await dlq.close();
  }
}

const SHIM = fileURLToPath(new URL('../../../bin/s3jobs.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node bin/s3jobs.js ...args` with REDIS_URL set and no other s3jobs settings inherited from
 * the test's environment (plus `env`).
 */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('S3JOBS_') && !name.startsWith('AWS_')));
  return new Promise((resolve) => {
    execFile(process.execPath, [SHIM, ...args], { cwd: ROOT, env: { ...inherited, REDIS_URL: redisUrl(), ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1;
      resolve({ code, stdout, stderr });
    });
  });
}
