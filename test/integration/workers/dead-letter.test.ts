/**
 * The dead-letter move under the conditions it was designed for: jobs failed while no s3jobs worker
 * ran, a move interrupted between its steps, concurrent moves, a record left by an earlier failure.
 */
import { Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../shared/log/logger.js';
import type { DeadLetterRecord } from '../../../shared/queue/dead-letter.js';
import { deadLetterJobId } from '../../../shared/queue/names.js';
import { DeadLetterer } from '../../../workers/dead-letter.js';
import { BULLMQ_STALLED_REASON } from '../../../workers/retry/codes.js';
import { createMultipartUpload, isUploadGone, listParts, md5Of, uploadPart } from '../../../shared/s3/multipart-upload.js';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { redisUrl } from '../../support/redis.js';
import { s3Target } from '../../support/s3-env.js';
import { PREFIX, PROFILE, workerTestEnv, type WorkerTestEnv } from './helpers.js';

let env: WorkerTestEnv;
beforeEach(async () => {
  env = await workerTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});

afterAll(cleanupBuckets);

const payload = (key: string) => ({ kind: 'copy', profile: PROFILE, source: { bucket: 'no-such-src', key }, destination: { bucket: 'no-such-dst', key }, acl: 'private' });
const connection = { url: redisUrl() };

/** Fails `count` jobs with a plain BullMQ worker (no dead-lettering), as a crashed s3jobs worker would leave them. */
async function failWithoutDeadLettering(reasons: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, reason] of reasons.entries()) ids.push(await env.add(payload(`k${i}`), { attempts: 1 }));
  let n = 0;
  const plain = new Worker(
    env.queue,
    async (job) => {
      throw new UnrecoverableError(reasons[Number(job.data.source.key.slice(1))]);
    },
    { connection, prefix: PREFIX },
  );
  plain.on('failed', () => void n++);
  while (n < reasons.length) await new Promise((r) => setTimeout(r, 20));
  await plain.close();
  expect(await env.producer.queue.getFailedCount()).toBe(reasons.length);
  return ids;
}

describe('dead-lettering', () => {
  it('a worker starting up dead-letters what failed while no s3jobs worker was running', async () => {
    const [s3, stalled, unparsable] = await failWithoutDeadLettering(['NoSuchKey: gone [HTTP 404] [request-id R1]', BULLMQ_STALLED_REASON, 'out of cheese']);
    await env.startWorker();
    const { deadLettered } = await env.settle(5_000);
    expect(deadLettered.get(s3!)).toMatchObject({ reason: 'permanent', attemptsMade: 1, error: { code: 'NoSuchKey', status: 404, requestId: 'R1' } });
    expect(deadLettered.get(stalled!)).toMatchObject({ reason: 'stalled', error: { code: 'S3JOBS_STALLED' } });
    expect(deadLettered.get(unparsable!)).toMatchObject({ reason: 'retries-exhausted', error: { code: 'S3JOBS_UNEXPECTED', message: 'out of cheese' } });
  });

  it("a job BullMQ fails itself for stalling too often is dead-lettered with reason 'stalled'", async () => {
    const id = await env.add(payload('k'));
    // A worker that takes the job and then stops renewing its lock (hung, or gone). Its own stalled
    // check is off: it would throttle the queue's checks to its 30 s default interval.
    const hung = new Worker(env.queue, () => new Promise(() => undefined), { connection, prefix: PREFIX, skipLockRenewal: true, skipStalledCheck: true, lockDuration: 1_000 });
    while ((await env.producer.queue.getJobState(id)) !== 'active') await new Promise((r) => setTimeout(r, 20));
    await hung.close(true);

    // With maxStalledCount 0 the first stall is one too many: BullMQ fails the job.
    await env.startWorker({ maxStalledCount: 0, overrides: { worker: { stalledIntervalMs: 500 } } });
    const { deadLettered } = await env.settle(10_000);
    expect(deadLettered.get(id)).toMatchObject({ reason: 'stalled', kind: 'copy', error: { code: 'S3JOBS_STALLED' } });
    expect(deadLettered.get(id)!.error.message).toContain('job stalled more than allowable limit');
  });

  it.skipIf(s3Target().kind !== 'external')(
    'a copy dead-lettered as stalled with an upload kept for its next attempt: the upload is aborted (s3rver has no ListParts to check it)',
    { timeout: 30_000 },
    async () => {
      const destination = await freshBucket('dl-upload');
      const uploadId = await createMultipartUpload(destination, 'big.bin', {}, {});
      const part = Buffer.alloc(5 * 1024 * 1024, 1);
      await uploadPart(destination, 'big.bin', uploadId, 1, part, md5Of(part), {});
      const id = await env.add({ ...payload('big.bin'), destination: { bucket: destination.name, key: 'big.bin' } });
      // A streamed copy's worker that saved its checkpoint, then hung (killed, in effect).
      const checkpoint = { uploadId, destination: `${destination.name}/big.bin`, sourceEtag: '"e"', size: 12 * 1024 * 1024, partSize: 5 * 1024 * 1024 };
      const hung = new Worker(
        env.queue,
        async (job) => {
          await job.updateProgress({ transfer: checkpoint });
          return new Promise(() => undefined);
        },
        { connection, prefix: PREFIX, skipLockRenewal: true, skipStalledCheck: true, lockDuration: 1_000 },
      );
      while ((await Job.fromId(env.producer.queue, id))?.progress === 0) await new Promise((r) => setTimeout(r, 20));
      await hung.close(true);
      expect(await listParts(destination, 'big.bin', uploadId, {})).toHaveLength(1);

      await env.startWorker({ maxStalledCount: 0, overrides: { worker: { stalledIntervalMs: 500 } } });
      const { deadLettered } = await env.settle(10_000);
      expect(deadLettered.get(id)).toMatchObject({ reason: 'stalled', kind: 'copy' });
      const gone: unknown = await listParts(destination, 'big.bin', uploadId, {}).then(() => 'still there', (err: unknown) => err);
      expect(isUploadGone(gone), String(gone)).toBe(true);
    },
  );

  it('a move interrupted after writing the record finishes without a second record', async () => {
    const [id] = await failWithoutDeadLettering(['NoSuchKey: gone [HTTP 404]']);
    const failed = (await Job.fromId(env.producer.queue, id!))!;
    // What a worker killed between step 1 and step 3 leaves: the record, and the original still failed.
    const record: Partial<DeadLetterRecord> = { jobId: id!, queue: env.queue, failedAt: failed.finishedOn!, deadLetteredAt: 1, reason: 'permanent', payload: failed.data };
    await env.producer.deadLetters.add('copy', record, { jobId: deadLetterJobId(id!) });

    const handle = await env.startWorker();
    const { deadLettered } = await env.settle(5_000);
    expect(deadLettered.get(id!)?.deadLetteredAt).toBe(1); // the record written before the "crash", kept
    expect(await env.producer.deadLetters.getWaitingCount()).toBe(1);
    expect(await handle.sweep()).toEqual({ deadLettered: 0, deferred: 0 });
  });

  it('concurrent moves of the same job record it once', async () => {
    const ids = await failWithoutDeadLettering(['NoSuchKey: a', 'NoSuchKey: b', 'NoSuchKey: c']);
    const logger = createLogger({ level: 'silent' });
    const queues = [0, 1, 2].map(() => ({ queue: new Queue(env.queue, { connection, prefix: PREFIX }), deadLetters: new Queue(`${env.queue}-dead`, { connection, prefix: PREFIX }) }));
    try {
      const movers = queues.map((q) => new DeadLetterer({ ...q, logger }));
      const outcomes = await Promise.all(movers.flatMap((m) => ids.map((id) => m.deadLetter(id))));
      expect(outcomes.filter((o) => o === 'dead-lettered').length).toBeGreaterThanOrEqual(ids.length);
      expect(outcomes.every((o) => o === 'dead-lettered' || o === 'missing' || o === 'not-failed')).toBe(true);
    } finally {
      for (const q of queues) await Promise.all([q.queue.close(), q.deadLetters.close()]);
    }
    await env.settle(5_000);
    expect(await env.producer.deadLetters.getWaitingCount()).toBe(3);
  });

  it("leaves an earlier failure's record alone while a DLQ retry may be removing it, then replaces it", async () => {
    const [id] = await failWithoutDeadLettering(['InternalError: again [HTTP 500]']);
    const old: Partial<DeadLetterRecord> = { jobId: id!, queue: env.queue, failedAt: 5, deadLetteredAt: 6, reason: 'permanent' };
    await env.producer.deadLetters.add('copy', old, { jobId: deadLetterJobId(id!) });
    const logger = createLogger({ level: 'silent' });
    const queue = new Queue(env.queue, { connection, prefix: PREFIX });
    const deadLetters = new Queue(`${env.queue}-dead`, { connection, prefix: PREFIX });
    try {
      const patient = new DeadLetterer({ queue, deadLetters, logger, staleRecordGraceMs: 60_000 });
      expect(await patient.deadLetter(id!)).toBe('deferred');
      expect(await Job.fromId(queue, id!)).toBeDefined(); // the original stays until its record is written

      const late = new DeadLetterer({ queue, deadLetters, logger, staleRecordGraceMs: 0 });
      expect(await late.deadLetter(id!)).toBe('dead-lettered');
    } finally {
      await queue.close();
      await deadLetters.close();
    }
    const { deadLettered } = await env.settle(5_000);
    expect(deadLettered.get(id!)).toMatchObject({ failedAt: expect.any(Number), reason: 'retries-exhausted', error: { code: 'InternalError' } });
    expect(deadLettered.get(id!)!.failedAt).not.toBe(5);
  });
});
