/**
 * The rewrite's guard as the worker reports it: `guarded` in the job result and the completion log
 * line, per the connection profile's store; a job that requires a guard the store does not give is
 * dead-lettered S3JOBS_UNGUARDED at its first attempt, and the object is left alone.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CopyJobResult, MetadataRewriteJobResult } from '../../../shared/jobs/index.js';
import { copyGuard } from '../../../shared/s3/store-profile.js';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { s3Target } from '../../support/s3-env.js';
import { PROFILE, workerTestEnv, type WorkerTestEnv } from './helpers.js';

/** A profile on the same store that says nothing of what the store is: the guard is unverified there. */
const UNPROFILED = 'unprofiled';

let env: WorkerTestEnv;
beforeEach(async () => {
  const target = s3Target();
  env = await workerTestEnv({
    overrides: { profiles: { [UNPROFILED]: { endpoint: target.endpoint, accessKey: target.accessKey, secretKey: target.secretKey, region: target.region, forcePathStyle: true } } },
  });
});
afterEach(async () => {
  await env.cleanup();
});
afterAll(cleanupBuckets);

const storeGuard = () => copyGuard(s3Target().store.copyConditions);

describe('the guard in job results', () => {
  it("metadata-rewrite and a copy with expectedSourceEtag report the store's guard, in the result and the log line", async () => {
    const bucket = await freshBucket('guard-w');
    const { etag } = await bucket.put('a.txt', 'hello', { metadata: { a: '1' } });
    await env.startWorker();
    const rewrite = (await env.producer.waitFor(await env.add({ kind: 'metadata-rewrite', profile: PROFILE, bucket: bucket.name, key: 'a.txt', set: { a: '2' }, acl: 'private' }), { timeoutMs: 10_000 })) as MetadataRewriteJobResult;
    expect(rewrite).toMatchObject({ changed: true, guarded: storeGuard() });
    expect(rewrite.etag).toBe((await bucket.head('a.txt')).etag);

    const current = (await bucket.head('a.txt')).etag;
    const copy = (await env.producer.waitFor(
      await env.add({ kind: 'copy', profile: PROFILE, source: { bucket: bucket.name, key: 'a.txt' }, destination: { bucket: bucket.name, key: 'b.txt' }, acl: 'private', expectedSourceEtag: current.replace(/"/g, '') }),
      { timeoutMs: 10_000 },
    )) as CopyJobResult;
    expect(copy).toMatchObject({ guarded: storeGuard() });
    expect(copy.etag).toBe((await bucket.head('b.txt')).etag);
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);

    const unprofiled = (await env.producer.waitFor(await env.add({ kind: 'metadata-rewrite', profile: UNPROFILED, bucket: bucket.name, key: 'a.txt', set: { a: '3' }, acl: 'private' }), { timeoutMs: 10_000 })) as MetadataRewriteJobResult;
    expect(unprofiled.guarded).toBe('unverified');

    await env.settle();
    const lines = env.logs.map((l) => JSON.parse(l) as { msg?: string; guarded?: unknown; kind?: string }).filter((l) => l.msg === 'job completed' && l.kind === 'metadata-rewrite');
    expect(lines.map((l) => l.guarded).sort()).toEqual([storeGuard(), 'unverified'].sort());
  });

  it('requireGuard where the guard is not known to hold: dead-lettered S3JOBS_UNGUARDED at once, the object untouched', async () => {
    const bucket = await freshBucket('guard-req-w');
    await bucket.put('a.txt', 'hello', { metadata: { a: '1' } });
    await env.startWorker();
    const id = await env.add({ kind: 'metadata-rewrite', profile: UNPROFILED, bucket: bucket.name, key: 'a.txt', set: { a: '2' }, acl: 'private', requireGuard: true });
    const { deadLettered } = await env.settle();
    expect(deadLettered.get(id)).toMatchObject({ reason: 'permanent', attemptsMade: 1, error: { code: 'S3JOBS_UNGUARDED', retryable: false } });
    expect(deadLettered.get(id)!.error.message).toMatch(/unverified/);
    expect((await bucket.head('a.txt')).metadata).toEqual({ a: '1' });
  });

  it.skipIf(storeGuard() !== true)('requireGuard where the store is known to honour the guard: rewritten, guarded', async () => {
    const bucket = await freshBucket('guard-ok-w');
    await bucket.put('a.txt', 'hello', { metadata: { a: '1' } });
    await env.startWorker();
    const result = (await env.producer.waitFor(await env.add({ kind: 'metadata-rewrite', profile: PROFILE, bucket: bucket.name, key: 'a.txt', set: { a: '2' }, acl: 'private', requireGuard: true }), { timeoutMs: 10_000 })) as MetadataRewriteJobResult;
    expect(result).toMatchObject({ changed: true, guarded: true });
    await env.settle();
  });
});
