import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, S3Error } from '../../../shared/errors.js';
import { S3Bucket } from '../../../shared/s3/index.js';
import { bucketOptions, cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { isCopyRequest, startFaultProxy, type FaultProxy } from '../../support/fault-proxy.js';
import { copyConditionPrefixes } from '../../../shared/s3/store-profile.js';
import { s3Target } from '../../support/s3-env.js';

let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});
afterAll(cleanupBuckets);

/** A client for `name` that goes through the fault proxy. */
async function throughProxy(name: string): Promise<S3Bucket> {
  proxy = await startFaultProxy({ upstream: s3Target().endpoint });
  return new S3Bucket({ ...bucketOptions(name), endpoint: proxy.endpoint, timeout: 2_000 });
}

describe('S3 answers that look like success but are not', () => {
  it('a 200 CopyObject answer carrying <Error> is an S3Error with that code', async () => {
    const direct = await freshBucket('err200');
    await direct.put('src', 'x');
    const bucket = await throughProxy(direct.name);
    proxy!.setMatch(isCopyRequest);
    proxy!.enqueue({ type: 'error-200', code: 'InternalError', message: 'copy failed midway' });
    const err = await bucket.copy(`${direct.name}/src`, 'dst', { acl: 'private' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3Error);
    expect(err).toMatchObject({ code: 'InternalError', status: 200, retryable: true });
    // The same copy through a healthy path works: nothing was cached or poisoned.
    await expect(bucket.copy(`${direct.name}/src`, 'dst', { acl: 'private' })).resolves.toMatchObject({ multipart: false });
    await bucket.close();
  });

  it('a truncated XML body is a retryable S3JOBS_BAD_RESPONSE, not a crash or a half result', async () => {
    const direct = await freshBucket('trunc');
    await direct.put('a', 'x');
    await direct.put('b', 'y');
    const bucket = await throughProxy(direct.name);
    proxy!.enqueue({ type: 'truncated-xml', keepBytes: 80 });
    const err = await (async () => {
      for await (const o of bucket.list()) void o;
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCodes.BadResponse, retryable: true });
    await bucket.close();
  });

  it('503 SlowDown carries the Retry-After delay and is retryable; 500 is retryable', async () => {
    const direct = await freshBucket('slow');
    await direct.put('k', 'v');
    const bucket = await throughProxy(direct.name);
    proxy!.enqueue({ type: 'slowdown', retryAfter: 3 }, { type: 'internal' });
    await expect(bucket.head('k')).rejects.toMatchObject({ code: 'ServiceUnavailable', status: 503, retryable: true, retryAfterMs: 3000 });
    await expect(bucket.getBuffer('k')).rejects.toMatchObject({ code: 'InternalError', status: 500, retryable: true });
    await expect(bucket.getBuffer('k')).resolves.toEqual(Buffer.from('v'));
    await bucket.close();
  });

  it('a connection reset mid-body and a wrong Content-Length are retryable network errors', async () => {
    const direct = await freshBucket('reset');
    await direct.put('k', 'x'.repeat(100_000));
    const bucket = await throughProxy(direct.name);
    proxy!.enqueue({ type: 'reset-during', bytes: 1000 }, { type: 'wrong-length' });
    await expect(bucket.getBuffer('k')).rejects.toMatchObject({ code: ErrorCodes.Network, retryable: true });
    await expect(bucket.getBuffer('k')).rejects.toMatchObject({ retryable: true });
    await bucket.close();
  });
});

describe('request counts', () => {
  it('rewriteMetadata with a fresh HEAD passed in makes one request (the guarded copy); without, two', async () => {
    const direct = await freshBucket('count');
    await direct.put('k', 'v', { metadata: { a: '1' } });
    const bucket = await throughProxy(direct.name);
    const head = await bucket.head('k');
    proxy!.clearLog();
    await bucket.rewriteMetadata('k', { acl: 'private', set: { a: '2' }, currentInfo: head });
    expect(proxy!.log.map((e) => e.method)).toEqual(['PUT']);
    // The guard goes out under the header name(s) the target's store profile says it honours.
    const names = copyConditionPrefixes(s3Target().store.copyConditions).map((prefix) => `${prefix}match`);
    for (const name of names) expect(proxy!.log[0]?.headers[name]).toBe(head.etag);
    proxy!.clearLog();
    await bucket.rewriteMetadata('k', { acl: 'private', set: { a: '3' } });
    expect(proxy!.log.map((e) => e.method)).toEqual(['HEAD', 'PUT']);
    expect((await direct.head('k')).metadata).toEqual({ a: '3' });
    await bucket.close();
  });
});
