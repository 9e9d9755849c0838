/**
 * `createFanOut`, how a worker's processor adds jobs to its own queue (real Redis, no S3): payloads
 * validated before anything is added, the default job options, ids that deduplicate, and soft
 * backpressure — a batch waits while the queue is over the window, for a bounded time.
 */
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildConfig } from '../../../shared/config/config.js';
import type { CopyJob } from '../../../shared/jobs/index.js';
import { createLogger } from '../../../shared/log/logger.js';
import { deadLetterQueueName } from '../../../shared/queue/names.js';
import { createFanOut } from '../../../workers/fan-out.js';
import { createRedis, deleteKeysWithPrefix, uniqueQueueName } from '../../support/redis.js';

const PREFIX = '{s3jobs-test}';
const config = buildConfig({ overrides: { retry: { attempts: 4, backoffBaseMs: 100, backoffMaxMs: 1_000 }, retention: { completedCount: 50, completedAgeSeconds: 600 } } });
const logger = createLogger({ level: 'silent' });
const never = new AbortController().signal;

function copy(key: string): CopyJob {
  return { kind: 'copy', profile: 'default', source: { bucket: 'src-bucket', key }, destination: { bucket: 'dst-bucket', key }, acl: 'private' };
}

let queue: Queue;
let name: string;
const redis = createRedis();
beforeEach(() => {
  name = uniqueQueueName('fan');
  queue = new Queue(name, { connection: redis, prefix: PREFIX });
});
afterEach(async () => {
  await queue.close();
  await deleteKeysWithPrefix(`${PREFIX}:${name}`);
});
afterAll(() => redis.quit());

describe('createFanOut', () => {
  it('adds validated jobs with the default options under the given ids; an id already there is not added again', async () => {
    const enqueue = createFanOut({ queue, config, logger });
    expect(await enqueue([{ payload: copy('a'), jobId: 'sync-x.1' }, { payload: copy('b'), jobId: 'sync-x.2' }], { signal: never })).toBe(2);
    await enqueue([{ payload: copy('a'), jobId: 'sync-x.1' }], { signal: never });
    const jobs = await queue.getJobs(['waiting']);
    expect(jobs.map((j) => j.id).sort()).toEqual(['sync-x.1', 'sync-x.2']);
    expect(jobs[0]!.name).toBe('copy');
    expect(jobs[0]!.opts).toMatchObject({ attempts: 4, backoff: { type: 's3jobs', delay: 100 }, removeOnComplete: { count: 50, age: 600 }, removeOnFail: false });
  });

  it('leaves out ids the dead-letter queue holds (they failed for good)', async () => {
    const dlq = new Queue(deadLetterQueueName(name), { connection: redis, prefix: PREFIX });
    try {
      await dlq.add('copy', { jobId: 'd.1' }, { jobId: 'd.1' });
      const enqueue = createFanOut({ queue, deadLetters: { queue: dlq, redis }, config, logger });
      expect(await enqueue([{ payload: copy('a'), jobId: 'd.1' }, { payload: copy('b'), jobId: 'd.2' }], { signal: never })).toBe(1);
      expect((await queue.getJobs(['waiting'])).map((j) => j.id)).toEqual(['d.2']);
      expect(await enqueue([{ payload: copy('a'), jobId: 'd.1' }], { signal: never })).toBe(0);
    } finally {
      await dlq.close();
    }
  });

  it('one invalid payload fails the whole batch before anything is added', async () => {
    const enqueue = createFanOut({ queue, config, logger });
    const bad = { ...copy('c'), destination: { bucket: 'dst-bucket', key: 'x'.repeat(2_000) } };
    await expect(enqueue([{ payload: copy('ok'), jobId: 'j.1' }, { payload: bad, jobId: 'j.2' }], { signal: never })).rejects.toMatchObject({ code: 'S3JOBS_INVALID_JOB', field: 'destination.key' });
    expect(await queue.count()).toBe(0);
  });

  it('waits while the queue is over the window, and adds once there is room', async () => {
    const enqueue = createFanOut({ queue, config, logger, window: 3, maxWaitMs: 10_000, pollMs: 20 });
    await enqueue([1, 2, 3].map((i) => ({ payload: copy(`k${i}`), jobId: `w.${i}` })), { signal: never });
    let added = false;
    const pending = enqueue([{ payload: copy('k4'), jobId: 'w.4' }], { signal: never }).then(() => {
      added = true;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(added).toBe(false);
    await queue.remove('w.1');
    await pending;
    expect(await queue.count()).toBe(3);
  });

  it('gives up waiting after maxWaitMs (a full queue cannot deadlock the worker), or when aborted', async () => {
    const enqueue = createFanOut({ queue, config, logger, window: 1, maxWaitMs: 150, pollMs: 20 });
    await enqueue([{ payload: copy('a'), jobId: 'm.1' }], { signal: never });
    const started = Date.now();
    await enqueue([{ payload: copy('b'), jobId: 'm.2' }], { signal: never });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(await queue.count()).toBe(2);

    const stop = new AbortController();
    const slow = createFanOut({ queue, config, logger, window: 1, maxWaitMs: 60_000, pollMs: 20 });
    const aborted = slow([{ payload: copy('c'), jobId: 'm.3' }], { signal: stop.signal });
    setTimeout(() => stop.abort(new Error('shutdown')), 50);
    await expect(aborted).rejects.toThrow();
    expect(await queue.count()).toBe(2);
  });
});
