/**
 * `streamCopy` between two stores: the source is an s3rver child of this file (its own port and
 * storage), the destination the test target — the shared s3rver, or Ceph RGW with
 * `eval "$(test/stores/ceph-rgw.sh env)"` (then the two sides also have different credentials).
 * Objects are small (≤ 24 MiB, 5 MiB parts): the large ones are the benchmark's.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Bucket } from '../../../shared/s3/index.js';
import { CHECKSUM_MISMATCH, completeMultipartUpload, createMultipartUpload, isUploadGone, listParts, md5Of, uploadPart } from '../../../shared/s3/multipart-upload.js';
import { streamCopy } from '../../../shared/s3/stream-copy.js';
import type { TransferCheckpoint } from '../../../shared/s3/transfer-plan.js';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { startCorruptingProxy, type CorruptingProxy } from '../../support/corrupting-proxy.js';
import { s3Target, uniqueBucketName } from '../../support/s3-env.js';
import { startS3rver, type S3rverProcess } from '../../support/s3rver-process.js';

const MiB = 1024 * 1024;
let sourceServer: S3rverProcess;
let proxy: CorruptingProxy;
const sourceBuckets: S3Bucket[] = [];

/** A bucket on the source s3rver, reached directly or through the corrupting proxy. */
async function sourceBucket(viaProxy = false): Promise<{ direct: S3Bucket; client: S3Bucket }> {
  const name = uniqueBucketName('sc-src');
  const options = { name, accessKey: sourceServer.accessKey, secretKey: sourceServer.secretKey, region: sourceServer.region, forcePathStyle: true };
  const direct = new S3Bucket({ ...options, endpoint: sourceServer.endpoint });
  await direct.putBucket();
  sourceBuckets.push(direct);
  return { direct, client: viaProxy ? new S3Bucket({ ...options, endpoint: proxy.endpoint }) : direct };
}

const md5 = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');

/** Ceph keeps a multipart upload's parts and lists them; s3rver has no ListParts or AbortMultipartUpload. */
const hasListParts = (): boolean => {
  if (s3Target().kind === 'external') return true;
  console.warn('[stream-copy] skipping: s3rver implements neither ListParts nor AbortMultipartUpload; run with the Ceph target (test/stores/ceph-rgw.sh env)');
  return false;
};

beforeAll(async () => {
  sourceServer = await startS3rver();
  proxy = await startCorruptingProxy(sourceServer.endpoint);
}, 30_000);

afterAll(async () => {
  await cleanupBuckets();
  for (const b of sourceBuckets) await b.deleteBucket({ empty: true }).catch(() => undefined);
  await proxy?.close();
  await sourceServer?.stop();
});

describe('streamCopy between two stores', () => {
  it('copies a small object in one PUT, with its system headers and metadata, and records the source ETag', async () => {
    const { direct } = await sourceBucket();
    const dst = await freshBucket('sc-dst');
    const body = randomBytes(100_000);
    await direct.put('a/report.csv', body, {
      mimetype: 'text/csv',
      metadata: { owner: 'ann', note: 'Grüße' },
      headers: { 'cache-control': 'max-age=60', 'content-disposition': 'attachment; filename="r.csv"', 'content-encoding': 'identity', 'content-language': 'de', expires: 'Wed, 21 Oct 2037 07:28:00 GMT' },
    });
    const head = await direct.head('a/report.csv');

    const result = await streamCopy(direct, 'a/report.csv', dst, 'b/report.csv', { acl: 'private', sourceInfo: head, partSize: 5 * MiB, concurrency: 2 });

    expect(result).toMatchObject({ multipart: false, verified: 'md5', partsUploaded: 1, size: body.length });
    const copied = await dst.head('b/report.csv');
    expect(copied.contentType).toBe('text/csv');
    expect(copied.headers['cache-control']).toBe('max-age=60');
    expect(copied.headers['content-disposition']).toBe('attachment; filename="r.csv"');
    expect(copied.headers['content-language']).toBe('de');
    expect(new Date(copied.headers.expires!).toISOString()).toBe('2037-10-21T07:28:00.000Z');
    expect(copied.metadata).toEqual({ owner: 'ann', note: 'Grüße', 's3jobs-source-etag': md5(body) });
    expect(md5(await dst.getBuffer('b/report.csv'))).toBe(md5(body));
  });

  it('copies a 23 MiB object as a multipart upload of 5 MiB parts, verified end to end against the source MD5', async () => {
    const { direct } = await sourceBucket();
    const dst = await freshBucket('sc-dst');
    const body = randomBytes(23 * MiB + 17);
    await direct.put('big.bin', body, { mimetype: 'application/x-test', metadata: { kind: 'big' } });
    const head = await direct.head('big.bin');
    const sent: number[] = [];

    const result = await streamCopy(direct, 'big.bin', dst, 'copy/big.bin', {
      acl: 'private',
      metadata: { kind: 'replaced' },
      sourceInfo: head,
      partSize: 5 * MiB,
      concurrency: 3,
      onPartUploaded: (n) => sent.push(n),
    });

    expect(result).toMatchObject({ multipart: true, verified: 'md5', partsUploaded: 5, partsResumed: 0 });
    expect(sent.sort()).toEqual([1, 2, 3, 4, 5]);
    const copied = await dst.head('copy/big.bin');
    expect(copied.size).toBe(body.length);
    expect(copied.contentType).toBe('application/x-test');
    expect(copied.metadata).toEqual({ kind: 'replaced', 's3jobs-source-etag': md5(body) });
    expect(md5(await dst.getBuffer('copy/big.bin'))).toBe(md5(body));
  }, 60_000);

  it('a byte flipped on the way down fails the copy with a checksum mismatch and writes nothing', async () => {
    const { direct, client } = await sourceBucket(true);
    const dst = await freshBucket('sc-dst');
    const body = randomBytes(12 * MiB);
    await direct.put('flip.bin', body);
    const head = await direct.head('flip.bin');
    proxy.corruptNext({ match: (r) => r.method === 'GET' && r.url.includes(`/${client.name}/flip.bin`) && !r.url.includes('tagging'), direction: 'response', offset: 4321 });

    const copy = streamCopy(client, 'flip.bin', dst, 'flip.bin', { acl: 'private', sourceInfo: head, partSize: 5 * MiB, concurrency: 2 });
    await expect(copy).rejects.toMatchObject({ code: CHECKSUM_MISMATCH, retryable: true });
    expect(proxy.corrupted).toBeGreaterThanOrEqual(1);
    expect(await dst.exists('flip.bin')).toBe(false);

    // The same copy again, nothing damaged this time, goes through.
    const again = await streamCopy(client, 'flip.bin', dst, 'flip.bin', { acl: 'private', sourceInfo: head, partSize: 5 * MiB, concurrency: 2 });
    expect(again.verified).toBe('md5');
    expect(md5(await dst.getBuffer('flip.bin'))).toBe(md5(body));
  }, 60_000);

  it('a byte damaged on the way up is refused (Content-MD5: BadDigest, or an ETag that is not the MD5 sent) and nothing is completed', async () => {
    const { direct } = await sourceBucket();
    const dst = await freshBucket('sc-dst');
    const up = await startCorruptingProxy(s3Target().endpoint);
    try {
      const t = s3Target();
      const dstViaProxy = new S3Bucket({ name: dst.name, endpoint: up.endpoint, accessKey: t.accessKey, secretKey: t.secretKey, region: t.region, forcePathStyle: true });
      const body = randomBytes(11 * MiB);
      await direct.put('up.bin', body);
      const head = await direct.head('up.bin');
      up.corruptNext({ match: (r) => r.method === 'PUT' && r.url.includes('partNumber=2'), direction: 'request', offset: 77 });

      const copy = streamCopy(direct, 'up.bin', dstViaProxy, 'up.bin', { acl: 'private', sourceInfo: head, partSize: 5 * MiB, concurrency: 1 });
      await expect(copy).rejects.toMatchObject({ code: CHECKSUM_MISMATCH, retryable: true });
      expect(up.corrupted).toBe(1);
      expect(await dst.exists('up.bin')).toBe(false);
      await dstViaProxy.close();
    } finally {
      await up.close();
    }
  }, 60_000);

  it.skipIf(!hasListParts())('the other way: a multipart source (ETag "<md5>-<n>") is verified part by part (part-md5), bytes intact', async () => {
    // The test target (Ceph) as the source, with an object uploaded in 3 parts; the s3rver child as the destination.
    const src = await freshBucket('sc-mp-src');
    const { direct: dst } = await sourceBucket();
    const body = randomBytes(12 * MiB);
    const uploadId = await createMultipartUpload(src, 'mp.bin', { 'content-type': 'application/x-mp' }, {});
    const parts = [];
    for (let n = 1; n <= 3; n++) {
      const chunk = body.subarray((n - 1) * 5 * MiB, Math.min(n * 5 * MiB, body.length));
      parts.push({ partNumber: n, etag: await uploadPart(src, 'mp.bin', uploadId, n, chunk, md5Of(chunk), {}) });
    }
    await completeMultipartUpload(src, 'mp.bin', uploadId, parts, {});
    const head = await src.head('mp.bin');
    expect(head.etag).toMatch(/-3"$/);

    const result = await streamCopy(src, 'mp.bin', dst, 'mp.bin', { acl: 'private', sourceInfo: head, partSize: 5 * MiB, concurrency: 2 });
    expect(result).toMatchObject({ multipart: true, verified: 'part-md5', partsUploaded: 3 });
    expect(md5(await dst.getBuffer('mp.bin'))).toBe(md5(body));
    expect((await dst.head('mp.bin')).metadata['s3jobs-source-etag']).toBe(head.etag.replace(/"/g, ''));
  }, 60_000);

  it('a source replaced during the copy fails it as SourceChanged (retryable), never mixing the two', async () => {
    const { direct } = await sourceBucket();
    const dst = await freshBucket('sc-dst');
    await direct.put('moving.bin', randomBytes(11 * MiB));
    const head = await direct.head('moving.bin');
    await direct.put('moving.bin', randomBytes(11 * MiB));

    const copy = streamCopy(direct, 'moving.bin', dst, 'moving.bin', { acl: 'private', sourceInfo: head, partSize: 5 * MiB, concurrency: 2 });
    // Stores that honour If-Match on GET (Ceph, S3) answer 412: SourceChanged. s3rver ignores it,
    // and the end-to-end MD5 check catches the mix instead.
    const err = await copy.then(() => undefined, (e: unknown) => e as { code: string; retryable: boolean });
    expect(err?.retryable).toBe(true);
    expect(['SourceChanged', CHECKSUM_MISMATCH]).toContain(err?.code);
    expect(await dst.exists('moving.bin')).toBe(false);
  }, 60_000);

  it.skipIf(!hasListParts())('keeps the upload when asked, and a second run resumes it uploading only the missing parts', async () => {
    const { direct } = await sourceBucket();
    const dst = await freshBucket('sc-dst');
    const body = randomBytes(26 * MiB);
    await direct.put('resume.bin', body);
    const head = await direct.head('resume.bin');
    let checkpoint: TransferCheckpoint | undefined;
    const stop = new AbortController();
    let sentFirst = 0;

    const first = streamCopy(direct, 'resume.bin', dst, 'resume.bin', {
      acl: 'private',
      sourceInfo: head,
      partSize: 5 * MiB,
      concurrency: 1,
      signal: stop.signal,
      onCheckpoint: async (c) => void (checkpoint = c),
      keepUploadOnError: () => true,
      onPartUploaded: () => {
        if (++sentFirst === 3) stop.abort();
      },
    });
    await expect(first).rejects.toMatchObject({ code: 'S3JOBS_ABORTED' });
    expect(checkpoint).toBeDefined();
    const held = await listParts(dst, 'resume.bin', checkpoint!.uploadId, {});
    expect(held.map((p) => p.partNumber)).toEqual([1, 2, 3]);

    const sentSecond: number[] = [];
    const second = await streamCopy(direct, 'resume.bin', dst, 'resume.bin', {
      acl: 'private',
      sourceInfo: head,
      partSize: 5 * MiB,
      concurrency: 2,
      resume: checkpoint,
      onCheckpoint: async (c) => void (checkpoint = c),
      onPartUploaded: (n) => sentSecond.push(n),
    });
    expect(second).toMatchObject({ partsResumed: 3, partsUploaded: 3, verified: 'md5' });
    expect(sentSecond.sort()).toEqual([4, 5, 6]);
    expect(checkpoint).toBeUndefined();
    expect(md5(await dst.getBuffer('resume.bin'))).toBe(md5(body));
  }, 90_000);

  it.skipIf(!hasListParts())('a stalled source (no bytes within the inactivity guard) fails the copy and aborts its upload', async () => {
    const { direct } = await sourceBucket();
    const dst = await freshBucket('sc-dst');
    await direct.put('stall.bin', randomBytes(16 * MiB));
    const head = await direct.head('stall.bin');
    // The source through the proxy, with a 500 ms inactivity guard and no timeout of its own.
    const options = { name: direct.name, endpoint: proxy.endpoint, accessKey: sourceServer.accessKey, secretKey: sourceServer.secretKey, region: sourceServer.region, forcePathStyle: true, timeout: null };
    const guarded = new S3Bucket(options, { transport: { progressTimeout: 500 } });
    let uploadId: string | undefined;
    try {
      const copy = streamCopy(guarded, 'stall.bin', dst, 'stall.bin', {
        acl: 'private',
        sourceInfo: head,
        partSize: 5 * MiB,
        concurrency: 2,
        onCheckpoint: async (c) => {
          uploadId ??= c?.uploadId;
          proxy.setDelay(3_000); // from now on the source answers nothing for 3 s
        },
      });
      await expect(copy).rejects.toMatchObject({ code: 'S3JOBS_TIMEOUT', retryable: true });
    } finally {
      proxy.setDelay(0);
      await guarded.close();
    }
    expect(uploadId).toBeDefined();
    const gone = await listParts(dst, 'stall.bin', uploadId!, {}).then(() => undefined, (e: unknown) => e);
    expect(isUploadGone(gone)).toBe(true);
  }, 60_000);

  it.skipIf(!hasListParts())('a failed multipart copy aborts its upload: no parts are left behind', async () => {
    const { direct, client } = await sourceBucket(true);
    const dst = await freshBucket('sc-dst');
    await direct.put('abort.bin', randomBytes(16 * MiB));
    const head = await direct.head('abort.bin');
    let uploadId: string | undefined;
    proxy.corruptNext({ match: (r) => r.method === 'GET' && r.url.includes(`/${client.name}/abort.bin`) && !r.url.includes('tagging'), direction: 'response', offset: 10 });

    const copy = streamCopy(client, 'abort.bin', dst, 'abort.bin', { acl: 'private', sourceInfo: head, partSize: 5 * MiB, concurrency: 1, onCheckpoint: async (c) => void (uploadId ??= c?.uploadId) });
    await expect(copy).rejects.toMatchObject({ code: CHECKSUM_MISMATCH });
    expect(uploadId).toBeDefined();
    const gone = await listParts(dst, 'abort.bin', uploadId!, {}).then(() => undefined, (e: unknown) => e);
    expect(isUploadGone(gone)).toBe(true); // S3: NoSuchUpload; Ceph RGW: 404 NoSuchKey
  }, 60_000);
});
