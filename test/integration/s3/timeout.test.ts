import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, S3JobsError } from '../../../shared/errors.js';
import { ReadOnlyS3Bucket, S3Bucket } from '../../../shared/s3/index.js';
import { startStallServer, type StallServer } from '../../support/stall-server.js';

let server: StallServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function bucketAt(url: string, timeout: number | null): S3Bucket {
  return new S3Bucket({ name: 'stall-bucket', accessKey: 'AK', secretKey: 'SK', endpoint: url, timeout });
}

const okHead = (delayMs: number) => ({ type: 'respond' as const, status: 200, delayMs, headers: { etag: '"abc"', 'content-type': 'text/plain', 'content-length': 0 } });

describe('request timeout', () => {
  it('aborts the socket near the timeout, with a retryable S3JOBS_TIMEOUT', async () => {
    server = await startStallServer({ type: 'stall' });
    const bucket = bucketAt(server.url, 300);
    const started = Date.now();
    const err = await bucket.head('k').catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(S3JobsError);
    expect(err).toMatchObject({ code: ErrorCodes.Timeout, retryable: true });
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(3000);
    const aborted = await server.waitForClientAbort();
    expect(aborted.outcome).toBe('client-aborted');
    await bucket.close();
  });

  it('covers the body too: headers then a stalled body still times out', async () => {
    server = await startStallServer({ type: 'headers-then-stall', status: 200, body: 'partial' });
    const bucket = bucketAt(server.url, 300);
    await expect(bucket.getBuffer('k')).rejects.toMatchObject({ code: ErrorCodes.Timeout });
    await server.waitForClientAbort();
    await bucket.close();
  });

  it('bucket.timeout can be changed and disabled after construction', async () => {
    server = await startStallServer(okHead(400));
    const bucket = bucketAt(server.url, 100);
    await expect(bucket.head('k')).rejects.toMatchObject({ code: ErrorCodes.Timeout });
    bucket.timeout = null;
    await expect(bucket.head('k')).resolves.toMatchObject({ etag: '"abc"' });
    bucket.timeout = 5_000;
    await expect(bucket.head('k')).resolves.toMatchObject({ etag: '"abc"' });
    expect(() => {
      bucket.timeout = -1;
    }).toThrow(/timeout/);
    await bucket.close();
  });

  it('timeoutDisabled lets a slow call finish while a concurrent call outside the scope still times out', async () => {
    server = await startStallServer(okHead(600));
    const bucket = bucketAt(server.url, 200);
    const inside = bucket.timeoutDisabled(async () => {
      await new Promise((r) => setTimeout(r, 10)); // the scope survives awaits
      return bucket.head('slow-but-allowed');
    });
    const outside = bucket.head('concurrent').catch((e: unknown) => e);
    await expect(inside).resolves.toMatchObject({ etag: '"abc"' });
    expect(await outside).toMatchObject({ code: ErrorCodes.Timeout });
    // After the scope, the timeout applies again.
    await expect(bucket.head('after')).rejects.toMatchObject({ code: ErrorCodes.Timeout });
    await bucket.close();
  });

  it('a per-call timeout overrides the bucket timeout, and a caller signal aborts', async () => {
    server = await startStallServer(okHead(300));
    const bucket = bucketAt(server.url, null);
    await expect(bucket.head('k', { timeout: 100 })).rejects.toMatchObject({ code: ErrorCodes.Timeout });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(bucket.head('k', { signal: controller.signal })).rejects.toMatchObject({ code: ErrorCodes.Aborted, retryable: true });
    await expect(bucket.head('k', { timeout: 2_000 })).resolves.toMatchObject({ etag: '"abc"' });
    await bucket.close();
  });

  it('a reset connection is a retryable network error', async () => {
    server = await startStallServer({ type: 'reset' });
    const bucket = bucketAt(server.url, 2_000);
    await expect(bucket.head('k')).rejects.toMatchObject({ code: ErrorCodes.Network, retryable: true });
    await bucket.close();
  });

  it('error messages carry no secret and no signature', async () => {
    server = await startStallServer({ type: 'respond', status: 403, body: '<Error><Code>SignatureDoesNotMatch</Code><Message>bad</Message></Error>' });
    const bucket = new S3Bucket({ name: 'stall-bucket', accessKey: 'AKID', secretKey: 'VERY-SECRET-KEY', endpoint: server.url });
    const err = (await bucket.getBuffer('k').catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ code: 'SignatureDoesNotMatch', status: 403, retryable: false });
    const seen = JSON.stringify({ ...err, message: err.message, stack: err.stack });
    expect(seen).not.toContain('VERY-SECRET-KEY');
    expect(seen).not.toContain('Signature=');
    await bucket.close();
  });
});

describe('ReadOnlyS3Bucket', () => {
  it('signs URLs like S3Bucket and never opens a connection', async () => {
    server = await startStallServer({ type: 'respond', status: 200 });
    const now = () => Date.UTC(2026, 0, 1);
    const options = { name: 'ro-bucket', accessKey: 'AK', secretKey: 'SK', endpoint: server.url };
    const ro = new ReadOnlyS3Bucket(options, { now });
    const rw = new S3Bucket(options, { now });
    expect(ro.makeUrlAuthed('a b.txt', { expire: 600 })).toBe(rw.makeUrlAuthed('a b.txt', { expire: 600 }));
    expect(ro.url('k')).toBe(`${server.url}/ro-bucket/k`);

    const calls: Promise<unknown>[] = [
      ro.head('k'),
      ro.get('k'),
      ro.getBuffer('k'),
      ro.put('k', 'x'),
      ro.delete('k'),
      ro.deleteMany(['k']),
      ro.copy('ro-bucket/a', 'b', { acl: 'private' }),
      ro.rewriteMetadata('k', { acl: 'private', set: { a: '1' } }),
      ro.putBucket(),
      ro.deleteBucket({ empty: true }),
      ro.getAcl('k'),
      ro.exists('k'),
      (async () => {
        for await (const o of ro.list()) void o;
      })(),
    ];
    for (const call of calls) await expect(call).rejects.toMatchObject({ code: ErrorCodes.ReadOnly, retryable: false });
    expect(server.sockets.length).toBe(0);
    expect(server.requests.length).toBe(0);
    await ro.close();
  });
});
