/**
 * Batched migrations end to end (real Redis, real S3, workers in-process): `--batch-size` enqueues
 * `metadata-rewrite-batch` jobs (`<runId>-b<first slot>`), never one job per object, and every
 * object is still rewritten, reported and counted once; an object that fails for good inside a
 * batch is dead-lettered alone, as its own `metadata-rewrite` job `<runId>-<slot>`, which
 * `dlq retry` can run; the window counts a waiting batch as its objects; a stopped run cancels
 * its queued batches object by object, once.
 */
import { join } from 'node:path';
import { Job, Queue } from 'bullmq';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchesOf, runMigration, type MigrationOptions, type MigrationSpec } from '../../../producers/migrate/migration.js';
import { cancelQueuedRunJobs, purgeRunDeadLetters } from '../../../producers/migrate/run-jobs.js';
import { runBatchJobId } from '../../../shared/jobs/index.js';
import type { DeadLetterRecord } from '../../../shared/queue/dead-letter.js';
import { deadLetterQueueName } from '../../../shared/queue/names.js';
import { bucketClient, cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { isCopyRequest, startFaultProxy } from '../../support/fault-proxy.js';
import { createRedis } from '../../support/redis.js';
import { s3Target } from '../../support/s3-env.js';
import { expectEveryKeyOnce, mapConcurrent, migrateTestEnv, PREFIX, PROFILE, putObjects, readReport, repeated, until, type MigrateTestEnv } from './helpers.js';

let env: MigrateTestEnv;
beforeEach(async () => {
  env = await migrateTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});
afterAll(cleanupBuckets);

const keys = (n: number, prefix = 'b/') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}.bin`);

/** The batch job ids a page of `n` objects gets with `batchSize` (page `page`). */
const batchIds = (runId: string, n: number, batchSize: number, page = 0) =>
  batchesOf({ page, items: Array.from({ length: n }, (_, i) => [i, `k${i}`] as [number, string]) }, batchSize).map((b) => runBatchJobId(runId, b[0]!.slot));

/** runMigration with the env's queue and store, listing with a client of its own. */
async function migrate(bucketName: string, spec: MigrationSpec, options: MigrationOptions) {
  const listing = bucketClient(bucketName);
  try {
    return await runMigration({ bucket: listing, queue: env.bullQueue, store: env.store }, spec, { pollMs: 20, backoffMs: 50, ...options });
  } finally {
    await listing.close();
  }
}

describe('batched migrations', () => {
  it('--batch-size 10 over 120 objects: 12 batch jobs, every object rewritten with its headers kept, reported and counted once', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('mig-batch');
    const all = keys(120);
    await putObjects(bucket, all, { mimetype: 'text/x-custom', metadata: { origin: 'upload', stage: 'raw' }, headers: { 'cache-control': 'max-age=60' } });
    await env.startWorker({ worker: { concurrency: 4 } });

    const report = join(env.dir, 'batch.csv');
    const result = await env.cli(['migrate-metadata', '--bucket', bucket.name, '--profile', PROFILE, '--acl', 'private', '--set', 'stage=done', '--batch-size', '10', '--report', report, '--json']);
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.code).toBe(0);
    const runId = (JSON.parse(result.stdout) as { run: { id: string } }).run.id;

    // Every object: the new metadata, its Content-Type and Cache-Control kept.
    const heads = await mapConcurrent(all, (key) => bucket.head(key));
    for (const [i, key] of all.entries()) {
      expect(heads[i]!.metadata, key).toEqual({ origin: 'upload', stage: 'done' });
      expect(heads[i]!.contentType, key).toBe('text/x-custom');
      expect(heads[i]!.headers['cache-control'], key).toBe('max-age=60');
    }

    // The queue held batch jobs only: one per 10 objects, each added and completed once.
    await env.waitForAdded(12);
    const expectedIds = Array.from({ length: 12 }, (_, i) => `${runId}-b${i * 10}`);
    expect([...env.added.keys()].sort()).toEqual([...expectedIds].sort());
    expect(repeated(env.added)).toEqual([]);
    const completions = env.completions();
    expect([...completions.keys()].sort()).toEqual([...expectedIds].sort());
    expect(repeated(completions)).toEqual([]);

    // The report: each object once, completed, changed, with its new ETag.
    const byKey = expectEveryKeyOnce(readReport(report).rows, all);
    for (const [i, key] of all.entries()) expect(byKey.get(key), key).toMatchObject({ bucket: bucket.name, status: 'completed', changed: 'true', errorCode: '', attempts: '1', etag: heads[i]!.etag });

    const run = (await env.store.get(runId))!;
    expect(run).toMatchObject({ state: 'completed', listed: 120, matched: 120, enqueued: 120, completed: 120, changed: 120, deadLettered: 0, cancelled: 0 });
    await env.expectSettled(run, { enqueued: 120 });
  });

  it('an object deleted after listing is dead-lettered alone, as its own metadata-rewrite job; the rest of its batch completes; dlq retry runs it', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('mig-batch-dead');
    const all = keys(30);
    await putObjects(bucket, all, { metadata: { stage: 'raw' } });
    const spec: MigrationSpec = { profile: PROFILE, bucket: bucket.name, set: { stage: 'done' }, acl: 'private' };
    const report = join(env.dir, 'dead.csv');

    // Enqueue everything with no worker running, then delete one object of the middle batch.
    const enqueued = await migrate(bucket.name, spec, { batchSize: 10, reportPath: report, waitForCompletion: false });
    const runId = enqueued.run.id;
    expect(enqueued.run).toMatchObject({ state: 'draining', enqueued: 30, completed: 0 });
    expect(await env.depth()).toBe(3);
    const gone = all[13]!;
    await bucket.delete(gone);

    const handle = await env.startWorker({ worker: { concurrency: 1 } });
    const done = await migrate(bucket.name, spec, { batchSize: 10, reportPath: report });
    const run = done.run;
    expect(run).toMatchObject({ state: 'completed', enqueued: 30, completed: 29, changed: 29, deadLettered: 1, cancelled: 0 });
    await env.expectSettled(run, { enqueued: 30 });

    // The dead letter is the object's own job, not its batch.
    const redis = createRedis();
    const deadLetters = new Queue(deadLetterQueueName(env.queue), { connection: redis, prefix: PREFIX });
    try {
      const ids = (await deadLetters.getJobs(['waiting', 'prioritized', 'delayed'])).map((j) => j.id);
      expect(ids).toEqual([`${runId}-13`]);
      const record = (await Job.fromId<DeadLetterRecord>(deadLetters, `${runId}-13`))!.data;
      expect(record).toMatchObject({ jobId: `${runId}-13`, queue: env.queue, name: 'metadata-rewrite', kind: 'metadata-rewrite', reason: 'permanent', attemptsMade: 1, runId });
      expect(record.error.code).toMatch(/^(NotFound|NoSuchKey)$/);
      expect(record.error.retryable).toBe(false);
      expect(record.payload).toEqual({ kind: 'metadata-rewrite', profile: PROFILE, bucket: bucket.name, key: gone, acl: 'private', set: { stage: 'done' }, runId, runSlot: 13 });

      // The report: that object dead-lettered with the S3 error, every other one completed.
      const byKey = expectEveryKeyOnce(readReport(report).rows, all);
      expect(byKey.get(gone)).toMatchObject({ status: 'dead-lettered', errorCode: record.error.code, attempts: '1' });
      for (const key of all) if (key !== gone) expect(byKey.get(key), key).toMatchObject({ status: 'completed', changed: 'true' });
      for (const key of [all[12]!, all[14]!, all[19]!]) expect((await bucket.head(key)).metadata, key).toEqual({ stage: 'done' });

      // The worker kept running: the object, put back, is rewritten by `dlq retry` of its record.
      expect(handle.fatalError).toBeUndefined();
      expect(handle.worker.isRunning()).toBe(true);
      await bucket.put(gone, 'back again', { metadata: { stage: 'raw' } });
      const retried = await env.cli(['dlq', 'retry', `${runId}-13`]);
      expect(retried.code, retried.stderr).toBe(0);
      await until(async () => ((await bucket.head(gone)).metadata.stage === 'done' ? true : undefined), 15_000, 'the retried object to be rewritten');
      await until(async () => ((await env.bullQueue.getJobCounts('waiting', 'active', 'delayed', 'failed')).active === 0 && (await deadLetters.count()) === 0 ? true : undefined), 10_000, 'the retried job to finish');
      expect(await deadLetters.count()).toBe(0);
      // Completed now: the object moves from dead-lettered to completed in the run, once.
      expect(await env.store.get(runId)).toMatchObject({ completed: 30, changed: 30, deadLettered: 0 });
    } finally {
      await deadLetters.close();
      await redis.quit();
    }
  });

  it.skipIf(!s3Target().endpoint.startsWith('http:'))('a transient failure inside a batch: the next attempt runs that object only; each object is copied and reported once', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('mig-batch-retry');
    const all = keys(30);
    await putObjects(bucket, all, { metadata: { stage: 'raw' } });
    // The first copy of b/0013.bin gets a 500; everything else passes through.
    const target = s3Target();
    let failed = false;
    const proxy = await startFaultProxy({
      upstream: target.endpoint,
      match: isCopyRequest,
      decide: (r) => {
        if (failed || !r.pathname.endsWith('/b/0013.bin')) return undefined;
        failed = true;
        return { type: 'internal' };
      },
    });
    try {
      await env.startWorker({ worker: { concurrency: 1 }, profiles: { [PROFILE]: { endpoint: proxy.endpoint, accessKey: target.accessKey, secretKey: target.secretKey, region: target.region, forcePathStyle: true } } });
      const report = join(env.dir, 'retry.csv');
      const { run } = await migrate(bucket.name, { profile: PROFILE, bucket: bucket.name, set: { stage: 'done' }, acl: 'private' }, { batchSize: 10, reportPath: report });
      expect(failed).toBe(true);
      expect(run).toMatchObject({ state: 'completed', enqueued: 30, completed: 30, deadLettered: 0 });
      await env.expectSettled(run, { enqueued: 30 });

      // One copy per object, two for the one that failed: the retry skipped its batch's finished objects.
      const copies = new Map<string, number>();
      for (const entry of proxy.log) if (isCopyRequest(entry)) copies.set(entry.pathname, (copies.get(entry.pathname) ?? 0) + 1);
      expect(copies.size).toBe(30);
      expect([...copies].filter(([, n]) => n !== 1)).toEqual([[`/${bucket.name}/b/0013.bin`, 2]]);

      const byKey = expectEveryKeyOnce(readReport(report).rows, all);
      for (const key of all) expect(byKey.get(key), key).toMatchObject({ status: 'completed', attempts: key === 'b/0013.bin' ? '2' : '1' });
      for (const key of all) expect((await bucket.head(key)).metadata, key).toEqual({ stage: 'done' });
      // Each batch was added and completed once (b10 on its second attempt).
      await env.waitForAdded(3);
      expect(repeated(env.added)).toEqual([]);
      expect([...env.completions().entries()].sort()).toEqual([`${run.id}-b0`, `${run.id}-b10`, `${run.id}-b20`].map((id) => [id, 1]));
    } finally {
      await proxy.close();
    }
  });

  it('a batch refused whole (an invalid payload) is dead-lettered as one record, and each of its unfinished objects counted once', { timeout: 30_000 }, async () => {
    const runId = 'mig-invalid-batch';
    await env.store.createOrGet(runId, 'metadata-migration', {});
    // Slot 1 was finished before (an earlier attempt): it keeps its outcome.
    await env.store.recordOutcome(runId, 1, { status: 'completed', bucket: 'media-bucket', key: 'b', changed: true, attempts: 1 });
    const payload = { kind: 'metadata-rewrite-batch', profile: PROFILE, runId, bucket: 'media-bucket', acl: 'private', set: { a: '1' }, objects: [{ key: 'a', slot: 0 }, { key: 'b', slot: 1 }, { key: 'bad\u0001key', slot: 2 }] };
    await env.bullQueue.add('metadata-rewrite-batch', payload, { jobId: runBatchJobId(runId, 0), attempts: 3 });
    await env.startWorker();

    const redis = createRedis();
    const deadLetters = new Queue(deadLetterQueueName(env.queue), { connection: redis, prefix: PREFIX });
    try {
      const record = await until(async () => (await Job.fromId<DeadLetterRecord>(deadLetters, `${runId}-b0`))?.data, 15_000, 'the batch to be dead-lettered');
      expect(record).toMatchObject({ jobId: `${runId}-b0`, kind: 'metadata-rewrite-batch', reason: 'invalid', attemptsMade: 1, payload });
      expect(record.error.message).toMatch(/^objects\.2\.key: /);
      const run = await until(async () => {
        const r = await env.store.get(runId);
        return r !== undefined && r.deadLettered > 0 ? r : undefined;
      });
      expect(run).toMatchObject({ completed: 1, deadLettered: 2, cancelled: 0 });
      const { rows } = await env.store.readOutcomes(runId);
      expect(rows.map((row) => row.split(',').slice(1, 5).join(','))).toEqual(['b,completed,true,', 'a,dead-lettered,,S3JOBS_INVALID_JOB', 'bad\u0001key,dead-lettered,,S3JOBS_INVALID_JOB']);
      // The run's dead letters are found by id, batch ones included.
      expect(await purgeRunDeadLetters(deadLetters, runId)).toBe(1);
      expect(await deadLetters.count()).toBe(0);
    } finally {
      await deadLetters.close();
      await redis.quit();
    }
  });

  it('dlq retry of a batch dead-lettered whole: refused naming the bad object, then, patched, its objects run again as their own jobs', { timeout: 45_000 }, async () => {
    const bucket = await freshBucket('mig-batch-retry');
    await putObjects(bucket, ['a.bin', 'c.bin'], { metadata: { stage: 'raw' } });
    const runId = 'mig-retry-batch';
    await env.store.createOrGet(runId, 'metadata-migration', {});
    const payload = { kind: 'metadata-rewrite-batch', profile: PROFILE, runId, bucket: bucket.name, acl: 'private', set: { stage: 'done' }, objects: [{ key: 'a.bin', slot: 0 }, { key: 'c.bin', slot: 1 }, { key: 'bad\u0001key', slot: 2 }] };
    await env.bullQueue.add('metadata-rewrite-batch', payload, { jobId: runBatchJobId(runId, 0), attempts: 3 });
    await env.startWorker();

    const redis = createRedis();
    const deadLetters = new Queue(deadLetterQueueName(env.queue), { connection: redis, prefix: PREFIX });
    try {
      await until(async () => (await Job.fromId<DeadLetterRecord>(deadLetters, `${runId}-b0`))?.data, 15_000, 'the batch to be dead-lettered');
      expect((await bucket.head('a.bin')).metadata).toEqual({ stage: 'raw' });

      // As it is, one of its objects cannot be a job: refused, naming it; nothing changes.
      const refused = await env.cli(['dlq', 'retry', `${runId}-b0`]);
      expect(refused.code, refused.stderr).toBe(2);
      expect(refused.stderr).toMatch(/payload\.objects\.2\.key/);
      expect(await deadLetters.count()).toBe(1);

      // Patched without it: each object is its own job again, and is rewritten.
      const retried = await env.cli(['dlq', 'retry', `${runId}-b0`, '--patch', JSON.stringify({ objects: [{ key: 'a.bin', slot: 0 }, { key: 'c.bin', slot: 1 }] })]);
      expect(retried.code, retried.stderr).toBe(0);
      expect(retried.stdout).toContain(`${runId}-0, ${runId}-1`);
      for (const key of ['a.bin', 'c.bin']) await until(async () => ((await bucket.head(key)).metadata.stage === 'done' ? true : undefined), 15_000, `${key} to be rewritten`);
      await until(async () => ((await env.bullQueue.getJobCounts('waiting', 'active', 'delayed', 'failed')).active === 0 ? true : undefined), 10_000, 'the retried jobs to finish');
      expect(await deadLetters.count()).toBe(0);
    } finally {
      await deadLetters.close();
      await redis.quit();
    }
  });

  it('the window counts a waiting batch as its objects: depth × batch size never exceeds window + one batch; the paused run resumes and completes', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('mig-batch-window');
    const all = keys(120);
    await putObjects(bucket, all);
    const spec: MigrationSpec = { profile: PROFILE, bucket: bucket.name, set: { w: '1' }, acl: 'private' };
    const WINDOW = 35;
    const BATCH = 10;
    const report = join(env.dir, 'window.csv');
    const options: MigrationOptions = { batchSize: BATCH, window: WINDOW, pageSize: 60, reportPath: report };

    // Sample the queue depth (as the window counts it) on a connection of its own, all along.
    const sampler = createRedis();
    const samples: number[] = [];
    let sampling = true;
    const sampled = (async () => {
      while (sampling) {
        const replies = (await sampler.multi().llen(`${PREFIX}:${env.queue}:wait`).zcard(`${PREFIX}:${env.queue}:prioritized`).zcard(`${PREFIX}:${env.queue}:delayed`).exec()) ?? [];
        samples.push(replies.reduce((n, [, count]) => n + Number(count), 0));
      }
    })();

    try {
      // No worker: the producer fills the window, pauses, and is stopped there.
      const stop = new AbortController();
      const phases: string[] = [];
      const paused = await migrate(bucket.name, spec, {
        ...options,
        signal: stop.signal,
        onProgress: (_run, status) => {
          phases.push(status.phase);
          if (status.phase === 'paused') stop.abort();
        },
      });
      expect(paused.interrupted).toBe(true);
      expect(phases).toContain('paused');
      const runId = paused.run.id;
      // 3 batches fit the window of 35, the 4th goes over it by less than a batch; then it waits.
      expect(await env.depth()).toBe(4);
      await env.waitForAdded(4);
      expect([...env.added.keys()]).toEqual(batchIds(runId, 60, BATCH).slice(0, 4));
      const samplesWhileListing = samples.length;
      expect(samplesWhileListing).toBeGreaterThan(10);
      expect(Math.max(...samples) * BATCH).toBeLessThanOrEqual(WINDOW + BATCH);
      expect(Math.max(...samples) * BATCH).toBeGreaterThanOrEqual(WINDOW);
      // The page was saved (and counted) before its first job: the rest of it is replayed on resume.
      expect(paused.run).toMatchObject({ state: 'listing', listed: 60, enqueued: 60, completed: 0, nextPage: 0 });
      expect(await env.store.pendingPage(runId)).toMatchObject({ page: 0, batchSize: BATCH });

      // With a worker, the same run resumes: the saved page's missing batches, then page 1 — in
      // batches too, though the resume does not repeat the batch size: the run keeps its own.
      await env.startWorker({ worker: { concurrency: 2 } });
      const { batchSize: _given, ...resume } = options;
      const done = await migrate(bucket.name, spec, resume);
      expect(done.run.batchSize).toBe(BATCH);
      sampling = false;
      await sampled;
      expect(done.run).toMatchObject({ state: 'completed', listed: 120, matched: 120, enqueued: 120, completed: 120 });
      await env.expectSettled(done.run, { enqueued: 120 });
      expect(Math.max(...samples) * BATCH, `max depth of ${samples.length} samples`).toBeLessThanOrEqual(WINDOW + BATCH);

      await env.waitForAdded(12);
      expect([...env.added.keys()].sort()).toEqual([...batchIds(runId, 60, BATCH, 0), ...batchIds(runId, 60, BATCH, 1)].sort());
      expect(repeated(env.added)).toEqual([]);
      expectEveryKeyOnce(readReport(report).rows, all);
    } finally {
      sampling = false;
      await sampled;
      await sampler.quit();
    }
  });

  it('cancelling queued batches records each of their objects as cancelled once; objects already finished keep their outcome', { timeout: 30_000 }, async () => {
    const bucket = await freshBucket('mig-batch-cancel');
    const all = keys(50);
    await putObjects(bucket, all);
    const spec: MigrationSpec = { profile: PROFILE, bucket: bucket.name, set: { c: '1' }, acl: 'private' };
    const report = join(env.dir, 'cancel.csv');
    const enqueued = await migrate(bucket.name, spec, { batchSize: 10, reportPath: report, waitForCompletion: false });
    const runId = enqueued.run.id;
    expect(await env.depth()).toBe(5);
    // An earlier attempt of two batches finished one object each.
    await env.store.recordOutcome(runId, 3, { status: 'completed', bucket: bucket.name, key: all[3]!, changed: true, attempts: 1 });
    await env.store.recordOutcome(runId, 27, { status: 'completed', bucket: bucket.name, key: all[27]!, changed: true, attempts: 1 });

    expect(await cancelQueuedRunJobs(env.bullQueue, env.store, runId, 'run stopped: by the test')).toBe(5);
    expect(await env.store.get(runId)).toMatchObject({ enqueued: 50, completed: 2, cancelled: 48, deadLettered: 0 });
    // Again: nothing left to cancel, nothing counted twice.
    expect(await cancelQueuedRunJobs(env.bullQueue, env.store, runId, 'run stopped: again')).toBe(0);
    const run = (await env.store.get(runId))!;
    expect(run).toMatchObject({ completed: 2, cancelled: 48 });
    await env.expectSettled(run, { enqueued: 50, cancelled: 48 });

    const drained = await env.cli(['run', 'report', runId]);
    expect(drained.code, drained.stderr).toBe(0);
    const byKey = expectEveryKeyOnce(readReport(report).rows, all);
    for (const [i, key] of all.entries()) {
      if (i === 3 || i === 27) expect(byKey.get(key), key).toMatchObject({ status: 'completed' });
      else expect(byKey.get(key), key).toMatchObject({ status: 'cancelled', errorCode: 'RunStopped', message: 'run stopped: by the test', attempts: '0' });
    }
    // Nothing was rewritten.
    expect((await bucket.head(all[0]!)).metadata).toEqual({});
  });

  it('a run stopped by its failure threshold cancels its queued batches: every object ends completed, dead-lettered or cancelled, once', { timeout: 30_000 }, async () => {
    const bucket = await freshBucket('mig-batch-stop');
    const all = keys(100);
    await putObjects(bucket, all);
    const spec: MigrationSpec = { profile: PROFILE, bucket: bucket.name, set: { s: '1' }, acl: 'private' };
    const report = join(env.dir, 'stop.csv');
    const enqueued = await migrate(bucket.name, spec, { batchSize: 10, reportPath: report, waitForCompletion: false });
    const runId = enqueued.run.id;
    // The first batch's objects are gone: its every object fails for good.
    await Promise.all(all.slice(0, 10).map((key) => bucket.delete(key)));

    // One batch a second: the first batch trips the threshold long before a second one may start.
    await env.startWorker({ worker: { concurrency: 1, rateLimitPerSecond: 1 } });
    const stopped = await migrate(bucket.name, spec, { batchSize: 10, reportPath: report, failureThreshold: { after: 5, ratio: 0.5 } });
    const run = stopped.run;
    console.info(`[migrate] batched run stopped: completed ${run.completed}, dead-lettered ${run.deadLettered}, cancelled ${run.cancelled}`);
    expect(run.state).toBe('stopped');
    expect(run.stopReason).toMatch(/^failure threshold: /);
    expect(run.deadLettered).toBe(10);
    // Whole batches either ran or were cancelled.
    expect(run.completed % 10).toBe(0);
    expect(run.cancelled).toBe(90 - run.completed);
    expect(run.cancelled).toBeGreaterThanOrEqual(70);
    await env.expectSettled(run, { enqueued: 100, cancelled: run.cancelled });

    const byKey = expectEveryKeyOnce(readReport(report).rows, all);
    const statuses = new Map<string, number>();
    for (const row of byKey.values()) statuses.set(row.status, (statuses.get(row.status) ?? 0) + 1);
    expect(Object.fromEntries(statuses)).toEqual({ 'dead-lettered': 10, cancelled: run.cancelled, ...(run.completed > 0 ? { completed: run.completed } : {}) });
    for (const key of all.slice(0, 10)) expect(byKey.get(key)!.status, key).toBe('dead-lettered');
    const cancelledRow = [...byKey.values()].find((row) => row.status === 'cancelled')!;
    expect(cancelledRow).toMatchObject({ errorCode: 'RunStopped', message: `run stopped: ${run.stopReason}` });
    expect(batchIds(runId, 100, 10)).toHaveLength(10);
  });
});
