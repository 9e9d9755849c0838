/**
 * Copy jobs between two stores through real workers: profile `onprem` is an s3rver child of this
 * file (reached through a proxy that can damage a byte or slow the link), the destination profile
 * the test target — the shared s3rver, or Ceph RGW with `eval "$(test/stores/ceph-rgw.sh env)"`
 * (other credentials than the source's). The crash test needs ListParts, so Ceph.
 */
import { Job } from 'bullmq';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CopyJobResult } from '../../../shared/jobs/index.js';
import { S3Bucket } from '../../../shared/s3/index.js';
import { listParts } from '../../../shared/s3/multipart-upload.js';
import { readCheckpoint } from '../../../shared/s3/transfer-plan.js';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { startCorruptingProxy, type CorruptingProxy } from '../../support/corrupting-proxy.js';
import { s3Target, uniqueBucketName } from '../../support/s3-env.js';
import { startS3rver, type S3rverProcess } from '../../support/s3rver-process.js';
import { startWorkerProcess, workerEnv, type WorkerProcess } from '../../support/worker-process.js';
import { expectNoSecretIn, PROFILE, workerTestEnv, type WorkerTestEnv } from './helpers.js';

const MiB = 1024 * 1024;
let sourceServer: S3rverProcess;
let proxy: CorruptingProxy;
let env: WorkerTestEnv;
let child: WorkerProcess | undefined;
const sourceBuckets: S3Bucket[] = [];
const md5 = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');

/** Worker settings of these tests: 5 MiB parts; anything above 1 MiB is a large transfer (no deadline). */
const streamOverrides = () => ({
  profiles: { onprem: { endpoint: proxy.endpoint, accessKey: sourceServer.accessKey, secretKey: sourceServer.secretKey, region: sourceServer.region, forcePathStyle: true } },
  worker: { streamPartBytes: 5 * MiB, streamConcurrency: 2, largeTransferBytes: MiB },
});

async function sourceBucket(): Promise<S3Bucket> {
  const bucket = new S3Bucket({ name: uniqueBucketName('xs-src'), endpoint: sourceServer.endpoint, accessKey: sourceServer.accessKey, secretKey: sourceServer.secretKey, region: sourceServer.region, forcePathStyle: true });
  await bucket.putBucket();
  sourceBuckets.push(bucket);
  return bucket;
}

beforeAll(async () => {
  sourceServer = await startS3rver();
  proxy = await startCorruptingProxy(sourceServer.endpoint);
}, 30_000);
beforeEach(async () => {
  proxy.setDelay(0);
  env = await workerTestEnv({ overrides: streamOverrides() });
});
afterEach(async () => {
  await child?.stop();
  child = undefined;
  await env.cleanup();
});
afterAll(async () => {
  await cleanupBuckets();
  for (const b of sourceBuckets) await b.deleteBucket({ empty: true }).catch(() => undefined);
  await proxy?.close();
  await sourceServer?.stop();
});

describe('copy jobs between two stores', () => {
  it('a copy job with sourceProfile streams the object through the worker, verified end to end', async () => {
    const src = await sourceBucket();
    const dst = await freshBucket('xs-dst');
    const body = randomBytes(12 * MiB + 5);
    await src.put('clip.mp4', body, { mimetype: 'video/mp4', metadata: { camera: 'a7' }, headers: { 'cache-control': 'max-age=3600' } });
    await env.startWorker();

    const id = await env.add({ kind: 'copy', profile: PROFILE, sourceProfile: 'onprem', source: { bucket: src.name, key: 'clip.mp4' }, destination: { bucket: dst.name, key: 'backup/clip.mp4' }, acl: 'private' });
    const result = (await env.producer.waitFor(id, { timeoutMs: 30_000 })) as CopyJobResult;
    expect(result).toMatchObject({ kind: 'copy', bytes: body.length, multipart: true, largeTransfer: true, streamed: { verified: 'md5', partsUploaded: 3, partsResumed: 0 } });
    const copied = await dst.head('backup/clip.mp4');
    expect(copied.contentType).toBe('video/mp4');
    expect(copied.headers['cache-control']).toBe('max-age=3600');
    expect(copied.metadata).toEqual({ camera: 'a7', 's3jobs-source-etag': md5(body) });
    expect(md5(await dst.getBuffer('backup/clip.mp4'))).toBe(md5(body));
    const { completed } = await env.settle();
    expect(completed.get(id)?.attemptsMade).toBe(1);
    expectNoSecretIn(env.logs);
  }, 60_000);

  it('a byte damaged on the way down is detected and the job retried: the second attempt copies it whole', async () => {
    const src = await sourceBucket();
    const dst = await freshBucket('xs-dst');
    const body = randomBytes(3 * MiB);
    await src.put('doc.bin', body);
    proxy.corruptNext({ match: (r) => r.method === 'GET' && r.url.startsWith(`/${src.name}/doc.bin`) && !r.url.includes('tagging'), direction: 'response', offset: 2 * MiB });
    await env.startWorker();

    const id = await env.add({ kind: 'copy', profile: PROFILE, sourceProfile: 'onprem', source: { bucket: src.name, key: 'doc.bin' }, destination: { bucket: dst.name, key: 'doc.bin' }, acl: 'private' });
    const result = (await env.producer.waitFor(id, { timeoutMs: 30_000 })) as CopyJobResult;
    expect(result.streamed?.verified).toBe('md5');
    expect(proxy.corrupted).toBeGreaterThanOrEqual(1);
    expect(md5(await dst.getBuffer('doc.bin'))).toBe(md5(body));
    const { completed } = await env.settle();
    expect(completed.get(id)?.attemptsMade).toBe(2);
    expect(env.logs.some((l) => l.includes('S3JOBS_CHECKSUM_MISMATCH'))).toBe(true);
  }, 60_000);

  it('replicate-source between two stores is dead-lettered with the reason, not retried', async () => {
    const src = await sourceBucket();
    const dst = await freshBucket('xs-dst');
    await src.put('a.txt', 'a');
    await env.startWorker();
    const id = await env.add({ kind: 'copy', profile: PROFILE, sourceProfile: 'onprem', source: { bucket: src.name, key: 'a.txt' }, destination: { bucket: dst.name, key: 'a.txt' }, acl: 'replicate-source' });
    const { deadLettered } = await env.settle();
    expect(deadLettered.get(id)?.error.message).toMatch(/acl: "replicate-source" cannot be used between two stores/);
    expect(deadLettered.get(id)?.attemptsMade).toBe(1);
  }, 30_000);

  it.skipIf(s3Target().kind === 's3rver')('a worker shut down mid-transfer requeues the job and keeps the upload; the next worker resumes it', async () => {
    const src = await sourceBucket();
    const dst = await freshBucket('xs-dst');
    const body = randomBytes(30 * MiB);
    await src.put('shut.bin', body);
    proxy.setDelay(400);
    const first = await env.startWorker({ overrides: { ...streamOverrides(), worker: { ...streamOverrides().worker, streamConcurrency: 1 } } });
    const id = await env.add({ kind: 'copy', profile: PROFILE, sourceProfile: 'onprem', source: { bucket: src.name, key: 'shut.bin' }, destination: { bucket: dst.name, key: 'shut.bin' }, acl: 'private' });
    let uploadId: string | undefined;
    for (let i = 0; i < 300; i++) {
      uploadId = readCheckpoint((await Job.fromId(env.producer.queue, id))?.progress)?.uploadId;
      if (uploadId !== undefined && (await listParts(dst, 'shut.bin', uploadId, {})).length >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(uploadId).toBeDefined();
    await first.close(0); // no grace: the running copy is aborted and its job requeued
    const kept = (await listParts(dst, 'shut.bin', uploadId!, {})).length;
    expect(kept).toBeGreaterThanOrEqual(2);
    expect(env.logs.some((l) => l.includes('requeue'))).toBe(true);

    proxy.setDelay(0);
    await env.startWorker();
    const result = (await env.producer.waitFor(id, { timeoutMs: 60_000 })) as CopyJobResult;
    expect(result.streamed).toMatchObject({ partsResumed: kept, partsUploaded: 6 - kept, verified: 'md5' });
    expect(md5(await dst.getBuffer('shut.bin'))).toBe(md5(body));
    const { completed } = await env.settle(30_000);
    expect(completed.get(id)?.attemptsMade).toBe(1); // a requeue is not an attempt
  }, 120_000);

  it.skipIf(s3Target().kind === 's3rver' && (console.warn('[cross-store] skipping the crash test: s3rver has no ListParts; run with the Ceph target'), true))(
    'a worker killed mid-transfer: the retry resumes from the parts the destination kept',
    async () => {
      const src = await sourceBucket();
      const dst = await freshBucket('xs-dst');
      const body = randomBytes(40 * MiB);
      await src.put('big.bin', body);
      // A slow source link, so that the kill lands mid-transfer; one part at a time.
      proxy.setDelay(400);
      const config = env.configWith({ ...streamOverrides(), worker: { ...streamOverrides().worker, streamConcurrency: 1, lockDurationMs: 3_000, stalledIntervalMs: 1_000 }, logLevel: 'info' });
      child = startWorkerProcess({ env: { ...workerEnv(config), S3JOBS_STREAM_PART_BYTES: String(5 * MiB), S3JOBS_STREAM_CONCURRENCY: '1' } });
      await child.waitForLog((l) => l.msg === 'worker ready', 20_000);

      const id = await env.add({ kind: 'copy', profile: PROFILE, sourceProfile: 'onprem', source: { bucket: src.name, key: 'big.bin' }, destination: { bucket: dst.name, key: 'big.bin' }, acl: 'private' });
      // Wait for the upload to hold at least three parts, then kill the worker outright.
      let uploadId: string | undefined;
      for (let i = 0; i < 300; i++) {
        const job = await Job.fromId(env.producer.queue, id);
        uploadId = readCheckpoint(job?.progress)?.uploadId;
        if (uploadId !== undefined && (await listParts(dst, 'big.bin', uploadId, {})).length >= 3) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(uploadId).toBeDefined();
      child.kill('SIGKILL');
      await child.exited;
      const kept = (await listParts(dst, 'big.bin', uploadId!, {})).length;
      expect(kept).toBeGreaterThanOrEqual(3);
      expect(kept).toBeLessThan(8);

      // Another worker finds the job stalled and runs it again: it uploads only what was missing.
      proxy.setDelay(0);
      await env.startWorker({ overrides: { worker: { lockDurationMs: 3_000, stalledIntervalMs: 1_000 } } });
      const result = (await env.producer.waitFor(id, { timeoutMs: 60_000 })) as CopyJobResult;
      expect(result.streamed?.partsResumed).toBe(kept);
      expect(result.streamed?.partsUploaded).toBe(8 - kept);
      expect(result.streamed?.verified).toBe('md5');
      expect(md5(await dst.getBuffer('big.bin'))).toBe(md5(body));
      await env.settle(30_000);
    },
    120_000,
  );
});

