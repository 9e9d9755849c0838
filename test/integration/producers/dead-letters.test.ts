/**
 * The dead-letter admin API against real Redis, over records written the way workers write them
 * (a BullMQ job in `<queue>-dead` with the original job's id).
 */
import { Job, UnrecoverableError, Worker } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { DeadLetterNotFoundError, DeadLetters, InvalidDeadLetterPayloadError } from '../../../producers/dead-letters.js';
import { S3JobsProducer } from '../../../producers/producer.js';
import { createRedis } from '../../support/redis.js';
import { copyPayload, deadLetterRecord, PREFIX, producerQueues, putDeadLetters } from './helpers.js';

const queues = producerQueues();
const redis = createRedis();
const producers: S3JobsProducer[] = [];

function setup(): { queue: string; producer: S3JobsProducer; dlq: DeadLetters } {
  const queue = queues.name('dlq');
  const producer = new S3JobsProducer({ connection: redis, queue, prefix: PREFIX });
  producers.push(producer);
  return { queue, producer, dlq: new DeadLetters(producer) };
}

afterAll(async () => {
  for (const p of producers) await p.close();
  await queues.cleanup();
  await redis.quit();
});

describe('DeadLetters', () => {
  it('lists newest first, with a total, paged by limit and offset', async () => {
    const { queue, dlq } = setup();
    const t = Date.now();
    await putDeadLetters(redis, queue, ['a', 'b', 'c'].map((id, i) => deadLetterRecord(queue, `job-${id}`, { deadLetteredAt: t + i })));
    expect(await dlq.count()).toBe(3);
    const first = await dlq.list({ limit: 2 });
    expect(first.total).toBe(3);
    expect(first.items.map((i) => i.jobId)).toEqual(['job-c', 'job-b']);
    expect(first.items[0]).toEqual({ jobId: 'job-c', kind: 'copy', errorCode: 'NoSuchKey', message: expect.stringMatching(/does not exist/), attemptsMade: 1, reason: 'permanent', deadLetteredAt: t + 2 });
    expect((await dlq.list({ limit: 2, offset: 2 })).items.map((i) => i.jobId)).toEqual(['job-a']);
    expect((await dlq.list({ offset: 5 })).items).toEqual([]);
  });

  it('still lists by time when some dead letters were added with a priority', async () => {
    const { queue, dlq } = setup();
    const t = Date.now();
    await putDeadLetters(redis, queue, [deadLetterRecord(queue, 'old', { deadLetteredAt: t - 10 }), deadLetterRecord(queue, 'new', { deadLetteredAt: t })]);
    await putDeadLetters(redis, queue, [deadLetterRecord(queue, 'middle', { deadLetteredAt: t - 5 })], { priority: 1 });
    const page = await dlq.list();
    expect(page.total).toBe(3);
    expect(page.items.map((i) => i.jobId)).toEqual(['new', 'middle', 'old']);
  });

  it('show returns the full record; an unknown id is DeadLetterNotFoundError', async () => {
    const { queue, dlq } = setup();
    const record = deadLetterRecord(queue, 'shown');
    await putDeadLetters(redis, queue, [record]);
    expect(await dlq.show('shown')).toEqual(record);
    await expect(dlq.show('nope')).rejects.toBeInstanceOf(DeadLetterNotFoundError);
    await expect(dlq.show('nope')).rejects.toMatchObject({ code: 'S3JOBS_JOB_NOT_FOUND' });
  });

  it('retry puts the original payload back under the same id with a fresh attempt count, then removes the dead letter', async () => {
    const { queue, producer, dlq } = setup();
    await putDeadLetters(redis, queue, [deadLetterRecord(queue, 'copy-1', { attemptsMade: 5, reason: 'retries-exhausted' })]);
    const outcome = await dlq.retry('copy-1');
    expect(outcome).toEqual({ jobId: 'copy-1', requeuedAs: 'copy-1', kind: 'copy', alreadyQueued: false });
    const job = await Job.fromId(producer.queue, 'copy-1');
    expect(job?.data).toEqual(copyPayload);
    expect(job?.attemptsMade).toBe(0);
    expect(await job?.getState()).toBe('waiting');
    expect(await Job.fromId(producer.deadLetters, 'copy-1')).toBeUndefined();
    expect((await producer.status('copy-1')).state).toBe('waiting');
    await expect(dlq.retry('copy-1')).rejects.toBeInstanceOf(DeadLetterNotFoundError);
  });

  it('a retry interrupted after re-adding can be run again: no duplicate, the dead letter goes', async () => {
    const { queue, producer, dlq } = setup();
    await putDeadLetters(redis, queue, [deadLetterRecord(queue, 'half-done')]);
    // What an interrupted retry leaves: the job back in the main queue, the dead letter still there.
    await producer.add(copyPayload, { jobId: 'half-done', replacesDeadLetter: true });
    const outcome = await dlq.retry('half-done');
    expect(outcome.alreadyQueued).toBe(true);
    expect((await producer.counts()).waiting).toBe(1);
    expect(await dlq.count()).toBe(0);
  });

  it('a dead-lettered id is not enqueued again by add or addBulk (a resumed producer), only by retry', async () => {
    // Found by the reliability suite: a producer killed mid-bulk-enqueue and run again re-added
    // the jobs dead-lettered meanwhile (their ids had left the main queue), which ran them again.
    const { queue, producer, dlq } = setup();
    await putDeadLetters(redis, queue, [deadLetterRecord(queue, 'dead-1'), deadLetterRecord(queue, 'dead-2')]);
    expect(await producer.add(copyPayload, { jobId: 'dead-1' })).toEqual({ jobId: 'dead-1', kind: 'copy' });
    const bulk = await producer.addBulk([
      { payload: copyPayload, options: { jobId: 'fresh-1' } },
      { payload: copyPayload, options: { jobId: 'dead-2' } },
      { payload: copyPayload, options: { jobId: 'fresh-2' } },
      { payload: copyPayload },
    ]);
    expect(bulk.map((j) => j.jobId).slice(0, 3)).toEqual(['fresh-1', 'dead-2', 'fresh-2']);
    expect(bulk[3]!.jobId).toMatch(/^\d+$/);
    expect(await Job.fromId(producer.queue, 'dead-1')).toBeUndefined();
    expect(await Job.fromId(producer.queue, 'dead-2')).toBeUndefined();
    expect((await producer.counts()).waiting).toBe(3);
    expect((await producer.status('dead-2')).state).toBe('dead-lettered');
    expect(await dlq.retry('dead-1')).toMatchObject({ requeuedAs: 'dead-1', alreadyQueued: false });
    expect(await (await Job.fromId(producer.queue, 'dead-1'))?.getState()).toBe('waiting');
  });

  it('a stale failed original left in the main queue is replaced, so the job really runs again', async () => {
    const { queue, producer, dlq } = setup();
    await producer.add(copyPayload, { jobId: 'stale', attempts: 1 });
    const connection = createRedis();
    const worker = new Worker(
      queue,
      async () => {
        throw new UnrecoverableError('NoSuchKey: gone');
      },
      { connection, prefix: PREFIX },
    );
    await new Promise<void>((resolve) => worker.on('failed', () => resolve()));
    await worker.close();
    await connection.quit();
    await putDeadLetters(redis, queue, [deadLetterRecord(queue, 'stale')]);
    expect(await (await Job.fromId(producer.queue, 'stale'))?.getState()).toBe('failed');

    const outcome = await dlq.retry('stale');
    expect(outcome.alreadyQueued).toBe(false);
    const job = await Job.fromId(producer.queue, 'stale');
    expect(await job?.getState()).toBe('waiting');
    expect(job?.attemptsMade).toBe(0);
    expect(await dlq.count()).toBe(0);
  });

  it('an invalid payload is not retried (nothing changes) until a patch fixes it', async () => {
    const { queue, producer, dlq } = setup();
    await putDeadLetters(redis, queue, [deadLetterRecord(queue, 'bad-acl', { payload: { ...copyPayload, acl: 'everyone' }, reason: 'invalid', error: { code: 'S3JOBS_INVALID_JOB', message: 'acl: …', retryable: false } })]);
    const err = await dlq.retry('bad-acl').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidDeadLetterPayloadError);
    expect(err).toMatchObject({ field: 'payload.acl', jobId: 'bad-acl' });
    expect(await dlq.count()).toBe(1);
    expect(await Job.fromId(producer.queue, 'bad-acl')).toBeUndefined();

    await dlq.retry('bad-acl', { payloadPatch: { acl: 'private', metadata: { fixed: 'yes' } } });
    expect((await Job.fromId(producer.queue, 'bad-acl'))?.data).toEqual({ ...copyPayload, acl: 'private', metadata: { fixed: 'yes' } });
    expect(await dlq.count()).toBe(0);
  });

  it('a numeric original id is re-enqueued under a stable derived id (BullMQ refuses numeric custom ids)', async () => {
    const { queue, producer, dlq } = setup();
    // Workers file it under deadLetterJobId('17') = '#17'; the admin finds it by the original id.
    await putDeadLetters(redis, queue, [deadLetterRecord(queue, '17', { deadLetteredAt: 1234 })], { id: '#17' });
    expect((await dlq.show('17')).jobId).toBe('17');
    expect((await dlq.list()).items.map((i) => i.jobId)).toEqual(['17']);
    const outcome = await dlq.retry('17');
    expect(outcome).toMatchObject({ jobId: '17', requeuedAs: 'retry-17-1234' });
    expect((await Job.fromId(producer.queue, 'retry-17-1234'))?.data).toEqual(copyPayload);
    expect(await dlq.count()).toBe(0);
  });

  it('retryAll retries the valid ones and reports the invalid ones, which stay', async () => {
    const { queue, producer, dlq } = setup();
    await putDeadLetters(redis, queue, [
      deadLetterRecord(queue, 'ok-1'),
      deadLetterRecord(queue, 'broken', { payload: { kind: 'copy', profile: 'default' } }),
      deadLetterRecord(queue, 'ok-2', { payload: { ...copyPayload, acl: 'public-read' } }),
    ]);
    const outcome = await dlq.retryAll();
    expect(outcome.retried.map((r) => r.jobId).sort()).toEqual(['ok-1', 'ok-2']);
    expect(outcome.skipped).toEqual([{ jobId: 'broken', field: 'payload.source', message: expect.any(String) }]);
    expect((await producer.counts()).waiting).toBe(2);
    expect((await dlq.list()).items.map((i) => i.jobId)).toEqual(['broken']);
  });

  it('purge deletes one dead letter; purgeAll deletes the rest and counts them', async () => {
    const { queue, dlq } = setup();
    await putDeadLetters(redis, queue, ['p1', 'p2', 'p3'].map((id) => deadLetterRecord(queue, id)));
    await dlq.purge('p2');
    await expect(dlq.purge('p2')).rejects.toBeInstanceOf(DeadLetterNotFoundError);
    expect(await dlq.purgeAll()).toBe(2);
    expect(await dlq.count()).toBe(0);
    expect(await dlq.purgeAll()).toBe(0);
  });
});
