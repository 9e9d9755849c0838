/**
 * An object's tags survive every copy s3jobs makes: metadata rewrites (REPLACE self-copies, which
 * Ceph RGW 16.2 strips of their tags), copies that replace metadata, multipart copies and streamed
 * copies (new objects: nothing of the source's comes along on any store). Each object's tags are
 * read back afterwards. Skipped where the server has no object tagging (s3rver).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { streamCopy } from '../../../shared/s3/stream-copy.js';
import { S3Bucket } from '../../../shared/s3/bucket.js';
import { bucketOptions, cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { serverHas } from '../../support/s3-env.js';

afterAll(cleanupBuckets, 60_000);

const MiB = 1024 * 1024;
const TAGS = { team: 'média', 'cost center': 'a+b=c/d', empty: '' };
const multipart = { threshold: 5 * MiB, partSize: 5 * MiB, concurrency: 2 };

describe.skipIf(!serverHas('tagging'))('tags survive copies', () => {
  it('a metadata rewrite keeps the object tags, small or multipart', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('tags-rw');
    await bucket.put('small.txt', 'hello', { metadata: { a: '1' } });
    await bucket.putTagging('small.txt', TAGS);
    await bucket.put('big.bin', randomBytes(6 * MiB));
    await bucket.putTagging('big.bin', TAGS);

    const small = await bucket.rewriteMetadata('small.txt', { acl: 'private', set: { a: '2' } });
    expect(small.changed).toBe(true);
    expect((await bucket.head('small.txt')).metadata).toEqual({ a: '2' });
    expect(await bucket.getTagging('small.txt')).toEqual(TAGS);

    const big = await bucket.rewriteMetadata('big.bin', { acl: 'private', set: { b: '1' }, multipart });
    expect(big.changed).toBe(true);
    expect((await bucket.head('big.bin')).metadata).toEqual({ b: '1' });
    expect(await bucket.getTagging('big.bin')).toEqual(TAGS);
  });

  it('copies keep the source tags: as is, with new metadata, and in parts', { timeout: 60_000 }, async () => {
    const src = await freshBucket('tags-src');
    const dst = await freshBucket('tags-dst');
    await src.put('doc.txt', 'hello', { metadata: { a: '1' } });
    await src.putTagging('doc.txt', TAGS);
    await src.put('big.bin', randomBytes(6 * MiB));
    await src.putTagging('big.bin', TAGS);

    await dst.copy(`${src.name}/doc.txt`, 'as-is.txt', { acl: 'private' });
    expect(await dst.getTagging('as-is.txt')).toEqual(TAGS);
    await dst.copy(`${src.name}/doc.txt`, 'replaced.txt', { acl: 'private', metadata: { a: '2' } });
    expect((await dst.head('replaced.txt')).metadata).toEqual({ a: '2' });
    expect(await dst.getTagging('replaced.txt')).toEqual(TAGS);
    const parts = await dst.copy(`${src.name}/big.bin`, 'big.bin', { acl: 'private', multipart });
    expect(parts.multipart).toBe(true);
    expect(parts.tags).toMatch(/^(carried|reapplied)$/);
    expect(await dst.getTagging('big.bin')).toEqual(TAGS);
  });

  it('streamed copies (between stores) keep the source tags, in one PUT or in parts', { timeout: 60_000 }, async () => {
    const src = await freshBucket('tags-ssrc');
    const dst = await freshBucket('tags-sdst');
    for (const [key, size] of [
      ['one.bin', 1000],
      ['parts.bin', 6 * MiB],
    ] as const) {
      await src.put(key, randomBytes(size));
      await src.putTagging(key, TAGS);
      const result = await streamCopy(src, key, dst, key, { acl: 'private', sourceInfo: await src.head(key), partSize: 5 * MiB, concurrency: 2 });
      expect(result.multipart).toBe(size > 5 * MiB);
      expect(result.tags).toMatch(/^(carried|reapplied)$/);
      expect(await dst.getTagging(key)).toEqual(TAGS);
    }
  });

  it('a rewrite of an object without tags makes no tagging request: HEAD and the copy only', { timeout: 60_000 }, async () => {
    const named = await freshBucket('tags-none');
    const methods: string[] = [];
    const bucket = new S3Bucket(bucketOptions(named.name), { transport: { onRequest: (info) => methods.push(info.method) } });
    await bucket.put('plain.txt', 'x', { metadata: { a: '1' } });
    methods.length = 0;
    const result = await bucket.rewriteMetadata('plain.txt', { acl: 'private', set: { a: '2' } });
    expect(methods).toEqual(['HEAD', 'PUT']);
    expect(result.tags).toBeUndefined();
    expect(await bucket.getTagging('plain.txt')).toEqual({});
    await bucket.close();
  });
});
