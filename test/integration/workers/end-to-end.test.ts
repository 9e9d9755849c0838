/**
 * Producer → worker → S3, one test per job kind, against the S3 test server.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BucketJobResult, CopyJobResult, MetadataRewriteJobResult } from '../../../shared/jobs/index.js';
import { bucketClient, cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { uniqueBucketName } from '../../support/s3-env.js';
import { expectNoSecretIn, PROFILE, workerTestEnv, type WorkerTestEnv } from './helpers.js';

let env: WorkerTestEnv;
beforeEach(async () => {
  env = await workerTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});
afterAll(cleanupBuckets);

describe('end to end', () => {
  it('copy: replaces the metadata and keeps the source system headers', async () => {
    const src = await freshBucket('e2e-src');
    const dst = await freshBucket('e2e-dst');
    await src.put('in/photo 1.jpg', 'jpeg bytes', { mimetype: 'image/jpeg', metadata: { owner: 'ann' }, headers: { 'cache-control': 'max-age=600', 'content-disposition': 'inline' } });
    await env.startWorker();

    const id = await env.add({ kind: 'copy', profile: PROFILE, source: { bucket: src.name, key: 'in/photo 1.jpg' }, destination: { bucket: dst.name, key: 'out/photo 1.jpg' }, acl: 'private', metadata: { owner: 'bob', stage: 'copied' } });
    const result = (await env.producer.waitFor(id, { timeoutMs: 10_000 })) as CopyJobResult;
    expect(result).toMatchObject({ kind: 'copy', bytes: 10, multipart: false, largeTransfer: false, changed: true });
    expect(result.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);

    const copied = await dst.head('out/photo 1.jpg');
    expect(copied.metadata).toEqual({ owner: 'bob', stage: 'copied' });
    expect(copied.contentType).toBe('image/jpeg');
    expect(copied.headers['cache-control']).toBe('max-age=600');
    expect(copied.headers['content-disposition']).toBe('inline');
    expect((await dst.getBuffer('out/photo 1.jpg')).toString()).toBe('jpeg bytes');

    const { completed } = await env.settle();
    expect(completed.get(id)?.attemptsMade).toBe(1);
    expectNoSecretIn(env.logs);
  });

  it('metadata-rewrite: changes the metadata in place; a second identical rewrite changes nothing', async () => {
    const bucket = await freshBucket('e2e-rw');
    await bucket.put('doc.txt', 'hello', { mimetype: 'text/plain', metadata: { a: '1', b: '2' }, headers: { 'cache-control': 'no-cache' } });
    await env.startWorker();

    const job = { kind: 'metadata-rewrite', profile: PROFILE, bucket: bucket.name, key: 'doc.txt', set: { b: '3', c: '4' }, remove: ['a'], acl: 'private' } as const;
    const first = (await env.producer.waitFor(await env.add(job), { timeoutMs: 10_000 })) as MetadataRewriteJobResult;
    expect(first).toMatchObject({ kind: 'metadata-rewrite', changed: true, bytes: 5 });
    const info = await bucket.head('doc.txt');
    expect(info.metadata).toEqual({ b: '3', c: '4' });
    expect(info.contentType).toBe('text/plain');
    expect(info.headers['cache-control']).toBe('no-cache');

    const second = (await env.producer.waitFor(await env.add(job), { timeoutMs: 10_000 })) as MetadataRewriteJobResult;
    expect(second).toMatchObject({ changed: false, etag: info.etag, previousEtag: info.etag });

    await env.settle();
    expectNoSecretIn(env.logs);
  });

  it('bucket: creates a bucket (again: unchanged), then deletes it with its objects', async () => {
    const name = uniqueBucketName('e2e-bucket');
    const client = bucketClient(name);
    await env.startWorker();

    const created = (await env.producer.waitFor(await env.add({ kind: 'bucket', profile: PROFILE, action: 'create', bucket: name }), { timeoutMs: 10_000 })) as BucketJobResult;
    expect(created).toMatchObject({ kind: 'bucket', action: 'create', changed: true });
    await client.put('left-over.txt', 'x');
    const again = (await env.producer.waitFor(await env.add({ kind: 'bucket', profile: PROFILE, action: 'create', bucket: name }), { timeoutMs: 10_000 })) as BucketJobResult;
    expect(again.changed).toBe(false);

    const deleted = (await env.producer.waitFor(await env.add({ kind: 'bucket', profile: PROFILE, action: 'delete', bucket: name, empty: true }), { timeoutMs: 10_000 })) as BucketJobResult;
    expect(deleted).toMatchObject({ action: 'delete', changed: true, deletedObjects: 1 });
    await expect(client.head('left-over.txt')).rejects.toMatchObject({ status: 404 });
    await client.close();

    await env.settle();
    expectNoSecretIn(env.logs);
  });

  it('logs one child logger per job, carrying jobId, queue, attempt and kind', async () => {
    const bucket = await freshBucket('e2e-log');
    await bucket.put('k', 'v');
    await env.startWorker();
    const id = await env.add({ kind: 'metadata-rewrite', profile: PROFILE, bucket: bucket.name, key: 'k', set: { x: 'y' }, acl: 'private' });
    await env.producer.waitFor(id, { timeoutMs: 10_000 });
    await env.settle();
    const line = env.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'job completed');
    expect(line).toMatchObject({ jobId: id, queue: env.queue, attempt: 1, kind: 'metadata-rewrite', changed: true });
  });
});
