/**
 * Object tags and per-version ACLs in the S3 core, against a server that has them (s3rver has
 * neither: these run on Ceph or AWS, `serverHas` says why they are skipped elsewhere).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { S3NotFoundError, ValidationError } from '../../../shared/errors.js';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { serverHas } from '../../support/s3-env.js';

afterAll(cleanupBuckets);

describe('object tagging', () => {
  it.skipIf(!serverHas('tagging'))('puts, reads and deletes an object tag set, with characters of any script', async () => {
    const bucket = await freshBucket('tags');
    await bucket.put('a b/ünï.txt', 'x');
    expect(await bucket.getTagging('a b/ünï.txt')).toEqual({});
    const tags = { team: 'média', 'cost-center': '42', 'path:x/y@z': 'a+b=c. _' };
    await bucket.putTagging('a b/ünï.txt', tags);
    expect(await bucket.getTagging('a b/ünï.txt')).toEqual(tags);
    await bucket.putTagging('a b/ünï.txt', { only: '' });
    expect(await bucket.getTagging('a b/ünï.txt')).toEqual({ only: '' });
    await bucket.deleteTagging('a b/ünï.txt');
    expect(await bucket.getTagging('a b/ünï.txt')).toEqual({});
    await expect(bucket.getTagging('missing.txt')).rejects.toBeInstanceOf(S3NotFoundError);
  });

  it('refuses tag sets S3 would refuse before sending anything', async () => {
    const bucket = await freshBucket('tags-bad');
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v']));
    await expect(bucket.putTagging('k', eleven)).rejects.toMatchObject({ field: 'tags', message: expect.stringContaining('at most 10 tags; 11 given') });
    await expect(bucket.putTagging('k', { ['x'.repeat(129)]: 'v' })).rejects.toBeInstanceOf(ValidationError);
    await expect(bucket.putTagging('k', { ok: 'v'.repeat(257) })).rejects.toMatchObject({ field: 'tags.ok' });
    await expect(bucket.putTagging('k', { 'bad!': 'v' })).rejects.toMatchObject({ field: 'tags.bad!', message: expect.stringContaining('"!" (U+0021)') });
  });

  it.skipIf(!serverHas('tagging'))('a version id tags that version only', async () => {
    const bucket = await freshBucket('tags-ver');
    await bucket.putBucketVersioning('Enabled');
    const v1 = (await bucket.put('doc.txt', 'one')).versionId!;
    const v2 = (await bucket.put('doc.txt', 'two')).versionId!;
    expect(v1).not.toBe(v2);
    await bucket.putTagging('doc.txt', { stage: 'old' }, { versionId: v1 });
    expect(await bucket.getTagging('doc.txt', { versionId: v1 })).toEqual({ stage: 'old' });
    expect(await bucket.getTagging('doc.txt', { versionId: v2 })).toEqual({});
    expect(await bucket.getTagging('doc.txt')).toEqual({});
  });
});

describe('per-version ACLs', () => {
  it.skipIf(!serverHas('acl'))('a version id writes and reads that version ACL', async () => {
    const bucket = await freshBucket('acl-ver');
    await bucket.putBucketVersioning('Enabled');
    const v1 = (await bucket.put('doc.txt', 'one')).versionId!;
    await bucket.put('doc.txt', 'two');
    await bucket.putAcl('doc.txt', 'public-read', { versionId: v1 });
    const allUsers = (acl: Awaited<ReturnType<typeof bucket.getAcl>>) => acl.grants.some((g) => g.grantee.uri?.endsWith('/global/AllUsers') === true && g.permission === 'READ');
    expect(allUsers(await bucket.getAcl('doc.txt', { versionId: v1 }))).toBe(true);
    expect(allUsers(await bucket.getAcl('doc.txt'))).toBe(false);
  });
});
