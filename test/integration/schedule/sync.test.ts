/**
 * Prefix sync against real Redis and the S3 test server: the worker lists both prefixes and fans
 * out one copy job per missing or changed object; a sync that finds nothing adds nothing; a sync
 * job retried (an S3 failure mid-listing) or recovered from a killed worker adds each copy once;
 * reported as a run, its counters add up. Every test ends with enqueued = completed + dead-lettered,
 * the sync's copies included.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SyncJob } from '../../../shared/jobs/index.js';
import { RunStore } from '../../../shared/runs/index.js';
import type { S3Bucket } from '../../../shared/s3/index.js';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { isCopyRequest, startFaultProxy, type FaultProxy, type ProxyRequest } from '../../support/fault-proxy.js';
import { createRedis } from '../../support/redis.js';
import { s3Target } from '../../support/s3-env.js';
import { startWorkerProcess, workerEnv, type WorkerProcess } from '../../support/worker-process.js';
import { runCli } from '../producers/helpers.js';
import { expectNoSecretIn, PREFIX, PROFILE, workerTestEnv, type WorkerTestEnv } from '../workers/helpers.js';
import { copyJobs, fill, keysOf, syncResult, text, trackAll } from './helpers.js';

const httpTarget = s3Target().endpoint.startsWith('http:');

afterAll(cleanupBuckets);

function syncJob(src: S3Bucket, dst: S3Bucket, over: Partial<SyncJob> = {}): SyncJob {
  return { kind: 'sync', profile: PROFILE, source: { bucket: src.name, prefix: 'in/' }, destination: { bucket: dst.name, prefix: 'backup/' }, acl: 'private', ...over };
}

describe('sync', () => {
  let env: WorkerTestEnv;
  beforeEach(async () => {
    env = await workerTestEnv();
  });
  afterEach(async () => {
    await env.cleanup();
  });

  it('copies everything the first time, then only what changed, then nothing', async () => {
    const src = await freshBucket('sync-src');
    const dst = await freshBucket('sync-dst');
    await src.put('in/a.txt', 'alpha', { mimetype: 'text/plain', headers: { 'cache-control': 'max-age=60' }, metadata: { owner: 'ann' } });
    await src.put('in/b.txt', 'bravo');
    await src.put('in/deep/c.txt', 'charlie');
    await src.put('outside.txt', 'not under the prefix');
    await dst.put('backup/only-here.txt', 'left alone');
    await env.startWorker();

    const first = await syncResult(env, await env.add(syncJob(src, dst)));
    expect(first).toMatchObject({ kind: 'sync', examined: 3, toCopy: 3, enqueued: 3, unchanged: 0, changed: true });
    expect(first.runId).toBeUndefined();
    await trackAll(env);
    await env.settle();
    expect(await keysOf(dst)).toEqual(['backup/a.txt', 'backup/b.txt', 'backup/deep/c.txt', 'backup/only-here.txt']);
    const copied = await dst.head('backup/a.txt');
    expect(copied.metadata).toEqual({ owner: 'ann' });
    expect(copied.contentType).toBe('text/plain');
    expect(copied.headers['cache-control']).toBe('max-age=60');

    // b changes (size and ETag), d is new, c's destination is overwritten with other bytes.
    await src.put('in/b.txt', 'bravo, edited');
    await src.put('in/d.txt', 'delta');
    await dst.put('backup/deep/c.txt', 'tampered');
    const second = await syncResult(env, await env.add(syncJob(src, dst)));
    expect(second).toMatchObject({ examined: 4, toCopy: 3, enqueued: 3, unchanged: 1 });
    await trackAll(env);
    await env.settle();
    expect(await text(dst, 'backup/b.txt')).toBe('bravo, edited');
    expect(await text(dst, 'backup/d.txt')).toBe('delta');
    expect(await text(dst, 'backup/deep/c.txt')).toBe('charlie');
    expect(await text(dst, 'backup/only-here.txt')).toBe('left alone');

    const jobsBefore = (await trackAll(env)).length;
    const third = await syncResult(env, await env.add(syncJob(src, dst)));
    expect(third).toMatchObject({ examined: 4, toCopy: 0, enqueued: 0, unchanged: 4, changed: false });
    // Nothing was added but the sync job itself.
    expect((await trackAll(env)).length).toBe(jobsBefore + 1);

    const { completed } = await env.settle();
    expect([...completed.values()].filter((c) => c.result.kind === 'copy')).toHaveLength(6);
    expectNoSecretIn(env.logs);
  });

  it('passes metadata and mimetype to every copy; an empty prefix syncs the whole bucket', async () => {
    const src = await freshBucket('sync-src');
    const dst = await freshBucket('sync-dst');
    await src.put('x.bin', 'x', { metadata: { old: '1' } });
    await src.put('y/z.bin', 'z');
    await env.startWorker();
    const result = await syncResult(env, await env.add(syncJob(src, dst, { source: { bucket: src.name, prefix: '' }, destination: { bucket: dst.name, prefix: 'mirror/' }, metadata: { synced: 'yes' }, mimetype: 'application/x-test' })));
    expect(result).toMatchObject({ examined: 2, enqueued: 2 });
    await trackAll(env);
    await env.settle();
    for (const key of ['mirror/x.bin', 'mirror/y/z.bin']) {
      const info = await dst.head(key);
      expect(info.metadata).toEqual({ synced: 'yes' });
      expect(info.contentType).toBe('application/x-test');
    }
  });

  it('reported as a run: the run counts the fan-out and every copy once; a sync with nothing to do creates no run', async () => {
    const src = await freshBucket('sync-src');
    const dst = await freshBucket('sync-dst');
    await fill(src, 'in/', 5);
    await env.startWorker();
    const id = await env.add(syncJob(src, dst, { asRun: true }));
    const result = await syncResult(env, id);
    expect(result).toMatchObject({ examined: 5, toCopy: 5, enqueued: 5, runId: `sync-${id}` });
    const copies = await copyJobs(env);
    expect([...copies.values()].map((j) => (j.data as { runId?: string }).runId)).toEqual(Array(5).fill(`sync-${id}`));
    expect(new Set([...copies.values()].map((j) => (j.data as { runSlot?: number }).runSlot))).toEqual(new Set([0, 1, 2, 3, 4]));
    await trackAll(env);
    await env.settle();

    const redis = createRedis();
    try {
      const store = new RunStore(redis, PREFIX, env.queue);
      // Completed by its last copy: nobody had to ask (run show, run report) for it.
      expect(await store.get(`sync-${id}`)).toMatchObject({ kind: 'sync', state: 'completed', listed: 5, matched: 5, enqueued: 5, completed: 5, changed: 5, deadLettered: 0 });
      // The run commands see it: its report lists every copy, and the finished run is completed.
      const out = join(mkdtempSync(join(tmpdir(), 'sync-run-')), 'report.csv');
      const report = await runCli(['run', 'report', `sync-${id}`, '--out', out, '--json'], { S3JOBS_QUEUE: env.queue, S3JOBS_PREFIX: PREFIX });
      expect(report).toMatchObject({ code: 0 });
      expect(JSON.parse(report.stdout)).toMatchObject({ run: { id: `sync-${id}`, kind: 'sync', state: 'completed' }, rowsWritten: 5 });
      const rows = readFileSync(out, 'utf8').trim().split('\n').slice(1);
      // Each row names the source object the sync examined, and says where it was copied.
      expect(rows.map((r) => r.split(',').slice(0, 6).join(',')).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `${src.name},in/0000${i},completed,true,,copied to s3://${dst.name}/backup/0000${i}`));
      const again = await env.add(syncJob(src, dst, { asRun: true }));
      const nothing = await syncResult(env, again);
      expect(nothing).toMatchObject({ examined: 5, toCopy: 0, enqueued: 0, changed: false });
      expect(nothing.runId).toBeUndefined();
      expect(await store.get(`sync-${again}`)).toBeUndefined();
    } finally {
      await redis.quit();
    }
    await env.settle();
  });

  it('objects whose copy gets another ETag (multipart on either side) are copied once, not again by every sync', { timeout: 90_000 }, async (ctx) => {
    const src = await freshBucket('sync-src');
    const dst = await freshBucket('sync-dst');
    const MiB = 1024 * 1024;
    await src.put('in/one-part.bin', Buffer.alloc(11 * MiB, 6));
    // A multipart copy gives this source a multipart ETag (<md5>-3) where the store makes them.
    await src.put('stage/big.bin', Buffer.alloc(11 * MiB, 7));
    await src.copy(`${src.name}/stage/big.bin`, 'in/three-parts.bin', { acl: 'private', multipart: { threshold: 1, partSize: 5 * MiB, concurrency: 2 } });
    await src.put('in/small.txt', 'small');
    // The worker copies in parts of 6 MiB: its copies of both big objects are multipart (-2).
    await env.startWorker({ overrides: { worker: { multipartThresholdBytes: MiB, multipartPartBytes: 6 * MiB } } });

    const first = await syncResult(env, await env.add(syncJob(src, dst, { asRun: true })));
    expect(first).toMatchObject({ examined: 3, toCopy: 3, enqueued: 3 });
    await trackAll(env);
    await env.settle();
    const etags = async (b: S3Bucket, prefix: string) => Promise.all(['one-part.bin', 'three-parts.bin'].map(async (k) => (await b.head(`${prefix}${k}`)).etag));
    const [sourceEtags, copyEtags] = [await etags(src, 'in/'), await etags(dst, 'backup/')];
    if (sourceEtags[0] === copyEtags[0] && sourceEtags[1] === copyEtags[1]) {
      // s3rver gives a multipart object the MD5 of its bytes, like any other: nothing to tell apart there.
      console.info(`[sync] skipped: ${s3Target().endpoint} gives copies made in parts their source's ETag (${copyEtags.join(', ')}); run this on Ceph or AWS`);
      ctx.skip();
    }
    expect(copyEtags[0]).toMatch(/-2"?$/);

    const second = await syncResult(env, await env.add(syncJob(src, dst, { asRun: true })));
    expect(second).toMatchObject({ examined: 3, toCopy: 0, enqueued: 0, unchanged: 3 });

    // A destination overwritten by someone else (same size, other bytes) is copied again.
    await dst.put('backup/three-parts.bin', Buffer.alloc(11 * MiB, 8));
    const third = await syncResult(env, await env.add(syncJob(src, dst)));
    expect(third).toMatchObject({ examined: 3, toCopy: 1, enqueued: 1 });
    await trackAll(env);
    await env.settle();
    expect((await dst.getBuffer('backup/three-parts.bin'))[0]).toBe(7);
    const fourth = await syncResult(env, await env.add(syncJob(src, dst)));
    expect(fourth).toMatchObject({ examined: 3, toCopy: 0 });
  });

  it('a bad sync is refused before it reaches Redis, naming the field', async () => {
    const src = await freshBucket('sync-src');
    await expect(env.add(syncJob(src, src, { source: { bucket: src.name, prefix: 'a/' }, destination: { bucket: src.name, prefix: 'a/copy/' } }))).rejects.toMatchObject({
      code: 'S3JOBS_INVALID_JOB',
      field: 'destination.prefix',
    });
    expect(await env.producer.queue.count()).toBe(0);
  });
});

/** Source ListObjectsV2 requests after the first page (they carry a continuation token). */
const laterSourcePage = (bucket: string) => (r: ProxyRequest) =>
  r.method === 'GET' && r.pathname.replace(/\/$/, '') === `/${bucket}` && r.query.get('list-type') === '2' && r.query.has('continuation-token');

describe.skipIf(!httpTarget)('sync fan-out is exactly once', () => {
  // 1100 objects: two listing pages, so a sync can fail or die between its two batches.
  const COUNT = 1_100;
  let src: S3Bucket;
  let proxy: FaultProxy;
  let env: WorkerTestEnv;
  const children: WorkerProcess[] = [];
  beforeAll(async () => {
    src = await freshBucket('sync-big');
    await fill(src, 'in/', COUNT);
  }, 60_000);
  beforeEach(async () => {
    proxy = await startFaultProxy({ upstream: s3Target().endpoint });
    env = await workerTestEnv({ endpoint: proxy.endpoint, overrides: { worker: { concurrency: 8, lockDurationMs: 2_000, stalledIntervalMs: 1_000 } } });
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.stop()));
    await env.cleanup();
    await proxy.close();
  });

  async function expectEachCopiedOnce(dst: S3Bucket): Promise<void> {
    await trackAll(env);
    const { completed, deadLettered } = await env.settle(60_000);
    expect(deadLettered.size).toBe(0);
    const copies = await copyJobs(env);
    expect(copies.size).toBe(COUNT);
    expect([...completed.values()].filter((c) => c.result.kind === 'copy')).toHaveLength(COUNT);
    // Each object copied by exactly one CopyObject request.
    expect(proxy.log.filter((e) => isCopyRequest(e) && e.status === 200)).toHaveLength(COUNT);
    expect(await keysOf(dst, 'backup/')).toHaveLength(COUNT);
  }

  it('retried after an S3 failure between its batches: the second attempt adds only what the first did not', { timeout: 120_000 }, async () => {
    const dst = await freshBucket('sync-big-dst');
    proxy.setMatch(laterSourcePage(src.name));
    proxy.enqueue({ type: 'internal' });
    await env.startWorker();
    const id = await env.add(syncJob(src, dst));
    const result = await syncResult(env, id, 60_000);
    expect(proxy.faulted()).toHaveLength(1);
    // The second attempt re-listed everything: the first page's objects are either copied by now
    // (unchanged) or their queued copies were found by id; either way nothing was added twice.
    expect(result.examined).toBe(COUNT);
    expect(result.enqueued).toBeLessThanOrEqual(COUNT);
    expect((await env.producer.status(id)).attemptsMade).toBe(2);
    await expectEachCopiedOnce(dst);
    expectNoSecretIn(env.logs);
  });

  it('reported as a run and retried: the retry resumes after the recorded page and the run counts each object once', { timeout: 120_000 }, async () => {
    const dst = await freshBucket('sync-big-dst');
    proxy.setMatch(laterSourcePage(src.name));
    proxy.enqueue({ type: 'internal' });
    await env.startWorker();
    const id = await env.add(syncJob(src, dst, { asRun: true }));
    const result = await syncResult(env, id, 60_000);
    expect(result).toMatchObject({ examined: COUNT, toCopy: COUNT, enqueued: COUNT, runId: `sync-${id}` });
    // The retry listed on from the last recorded key: the first page was not listed again.
    const sourceLists = proxy.log.filter((e) => e.method === 'GET' && e.pathname.replace(/\/$/, '') === `/${src.name}`);
    expect(sourceLists.map((e) => [e.query.has('continuation-token'), e.query.get('start-after'), e.fault])).toEqual([
      [false, null, 'none'],
      [true, null, 'internal'],
      [false, 'in/00999', 'none'],
    ]);
    await expectEachCopiedOnce(dst);
    const redis = createRedis();
    try {
      expect(await new RunStore(redis, PREFIX, env.queue).get(`sync-${id}`)).toMatchObject({ listed: COUNT, matched: COUNT, enqueued: COUNT, completed: COUNT, deadLettered: 0 });
    } finally {
      await redis.quit();
    }
  });

  it('a copy that failed for good is not added again by the next sync while its dead letter is held', { timeout: 60_000 }, async () => {
    const small = await freshBucket('sync-dl-src');
    const dst = await freshBucket('sync-dl-dst');
    await small.put('in/ok.txt', 'ok');
    await small.put('in/denied.txt', 'no');
    // Every copy onto backup/denied.txt is refused for good.
    proxy.setMatch((r) => isCopyRequest(r) && r.pathname.endsWith('/backup/denied.txt'));
    proxy.setDecide(() => ({ type: 'error', status: 403, code: 'AccessDenied', message: 'Access Denied' }));
    await env.startWorker();
    const first = await syncResult(env, await env.add(syncJob(small, dst)));
    expect(first).toMatchObject({ toCopy: 2, enqueued: 2 });
    await trackAll(env);
    const { deadLettered } = await env.settle();
    expect([...deadLettered.values()].map((d) => [d.error.code, (d.payload as { destination: { key: string } }).destination.key])).toEqual([['AccessDenied', 'backup/denied.txt']]);

    // Same state as before: the failed copy's id is the same, and its dead letter is still held.
    const second = await syncResult(env, await env.add(syncJob(small, dst)));
    expect(second).toMatchObject({ examined: 2, toCopy: 1, enqueued: 0, unchanged: 1 });
    expect(proxy.log.filter((e) => isCopyRequest(e) && e.pathname.endsWith('/backup/denied.txt'))).toHaveLength(1);
    await env.settle();
  });

  it('its worker killed between the batches: another worker takes the sync over and adds the rest once', { timeout: 120_000 }, async () => {
    const dst = await freshBucket('sync-big-dst');
    // The second source page never answers: the first worker is stuck there with page one fanned out.
    proxy.setMatch(laterSourcePage(src.name));
    proxy.enqueue({ type: 'stall' });
    // Concurrency 1: the doomed worker is busy with the sync and runs none of the copies.
    const child = startWorkerProcess({ env: workerEnv(env.configWith({ worker: { concurrency: 1 } })) });
    children.push(child);
    await child.waitForLog((l) => l.msg === 'worker ready');
    const id = await env.add(syncJob(src, dst));
    for (const until = Date.now() + 30_000; proxy.faulted().length === 0; ) {
      if (Date.now() > until) throw new Error('the sync never asked for its second page');
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await child.exited;
    const before = await copyJobs(env);
    expect(before.size).toBe(1_000);

    await env.startWorker();
    const result = await syncResult(env, id, 60_000);
    expect(result.examined).toBe(COUNT);
    await expectEachCopiedOnce(dst);
  });
});
