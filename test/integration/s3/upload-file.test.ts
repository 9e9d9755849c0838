/**
 * A local file of any size uploaded (what a run's completion report takes): one PUT up to the
 * threshold, parts above it — read back whole and byte-equal; an upload that fails mid-way leaves no
 * upload behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { uploadFile } from '../../../shared/s3/upload-file.js';
import { S3Bucket } from '../../../shared/s3/bucket.js';
import { bucketOptions, cleanupBuckets, freshBucket } from '../../support/buckets.js';

afterAll(cleanupBuckets, 60_000);

const MiB = 1024 * 1024;
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

describe('uploadFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'upload-file-'));

  it('up to the threshold: one PUT; above: parts of the size asked, the object byte-equal', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('upf');
    const small = join(dir, 'small.csv');
    writeFileSync(small, 'a,b\n1,2\n');
    expect(await uploadFile(bucket, 'r/small.csv', small, { contentType: 'text/csv' })).toMatchObject({ parts: 1 });
    const head = await bucket.head('r/small.csv');
    expect([head.size, head.contentType]).toEqual([8, 'text/csv']);

    const big = join(dir, 'big.csv');
    const body = randomBytes(12 * MiB + 123);
    writeFileSync(big, body);
    expect(await uploadFile(bucket, 'r/big.csv', big, { contentType: 'text/csv', multipartAbove: MiB, partSize: 5 * MiB })).toMatchObject({ parts: 3 });
    const back = await bucket.getBuffer('r/big.csv');
    expect([back.length, md5(back)]).toEqual([body.length, md5(body)]);

    const empty = join(dir, 'empty.csv');
    writeFileSync(empty, '');
    await uploadFile(bucket, 'r/empty.csv', empty);
    expect((await bucket.head('r/empty.csv')).size).toBe(0);
  });

  it('a failed upload is aborted: no upload left in the bucket', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('upf-abort');
    const big = join(dir, 'abort.csv');
    writeFileSync(big, randomBytes(11 * MiB));
    const controller = new AbortController();
    // Aborted while its parts go up: the upload fails, and is aborted on the store.
    setTimeout(() => controller.abort(new Error('stop')), 20);
    await expect(uploadFile(bucket, 'r/abort.csv', big, { multipartAbove: MiB, partSize: 5 * MiB, signal: controller.signal })).rejects.toThrow();
    await expect(bucket.head('r/abort.csv')).rejects.toMatchObject({ status: 404 });
    // ListMultipartUploads, where the store has it (s3rver answers 501): no upload of that key left.
    const uploads = await bucket.send({ method: 'GET', query: { uploads: '' } }, {}).catch((err: unknown) => {
      if ((err as { status?: number }).status === 501) return undefined;
      throw err;
    });
    if (uploads !== undefined) expect(await uploads.body.text()).not.toMatch(/<Key>r\/abort\.csv<\/Key>/);
  });

  it('a signal that fires while CreateMultipartUpload is answered: the new upload is aborted, not left behind', { timeout: 60_000 }, async () => {
    const named = await freshBucket('upf-race');
    const controller = new AbortController();
    // Aborted the moment the store answers the create (the upload exists; its id is not yet read).
    const bucket = new S3Bucket(bucketOptions(named.name), {
      transport: { onRequest: (info) => (info.method === 'POST' && info.status === 200 ? controller.abort(new Error('shutdown')) : undefined) },
    });
    const big = join(dir, 'race.csv');
    writeFileSync(big, randomBytes(6 * MiB));
    await expect(uploadFile(bucket, 'r/race.csv', big, { multipartAbove: MiB, partSize: 5 * MiB, signal: controller.signal })).rejects.toMatchObject({ code: 'S3JOBS_ABORTED' });
    expect(controller.signal.aborted).toBe(true);
    const uploads = await bucket.send({ method: 'GET', query: { uploads: '' } }, {}).catch((err: unknown) => {
      if ((err as { status?: number }).status === 501) return undefined;
      throw err;
    });
    if (uploads !== undefined) expect(await uploads.body.text()).not.toMatch(/<Key>r\/race\.csv<\/Key>/);
    await bucket.close();
  });
});
