/**
 * `tagging` and `acl` jobs run by a worker against a store that has tags and ACLs (Ceph, AWS; s3rver
 * has neither, so these are skipped there with the reason). Every object is checked afterwards with
 * an independent read (GET ?tagging, GET ?acl), and its ETag is unchanged: nothing was copied.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessControlPolicy } from '../../../shared/s3/xml.js';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { serverHas } from '../../support/s3-env.js';
import { PROFILE, workerTestEnv, type WorkerTestEnv } from './helpers.js';

let env: WorkerTestEnv;
beforeEach(async () => {
  env = await workerTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});
afterAll(cleanupBuckets);

const publicRead = (acl: AccessControlPolicy) => acl.grants.some((g) => g.grantee.uri?.endsWith('/global/AllUsers') === true && g.permission === 'READ');

describe('tagging jobs', () => {
  it.skipIf(!serverHas('tagging'))('replace, merge (nothing written when already right), clear; a merge past 10 tags and a missing object are dead-lettered', async () => {
    const bucket = await freshBucket('tag-jobs');
    await bucket.put('a.txt', 'a');
    await bucket.put('many.txt', 'm');
    await bucket.putTagging('many.txt', Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, 'v'])));
    const etag = (await bucket.head('a.txt')).etag;
    await env.startWorker();
    const job = (over: object) => ({ kind: 'tagging', profile: PROFILE, bucket: bucket.name, key: 'a.txt', ...over });

    const replaced = await env.producer.waitFor(await env.add(job({ tags: { team: 'média', stage: 'draft' } })));
    expect(replaced).toMatchObject({ kind: 'tagging', changed: true, tags: 2 });
    expect(await bucket.getTagging('a.txt')).toEqual({ team: 'média', stage: 'draft' });

    const merged = await env.producer.waitFor(await env.add(job({ mode: 'merge', tags: { reviewed: 'yes' }, remove: ['stage'] })));
    expect(merged).toMatchObject({ changed: true, tags: 2 });
    expect(await bucket.getTagging('a.txt')).toEqual({ team: 'média', reviewed: 'yes' });
    expect(await env.producer.waitFor(await env.add(job({ mode: 'merge', tags: { reviewed: 'yes' } })))).toMatchObject({ changed: false, tags: 2 });

    await env.producer.waitFor(await env.add(job({ tags: {} })));
    expect(await bucket.getTagging('a.txt')).toEqual({});
    expect((await bucket.head('a.txt')).etag).toBe(etag);

    const tooMany = await env.add(job({ key: 'many.txt', mode: 'merge', tags: { x: '1', y: '2' } }));
    const missing = await env.add(job({ key: 'missing.txt', tags: { a: '1' } }));
    const { deadLettered } = await env.settle();
    expect(deadLettered.get(tooMany)).toMatchObject({ reason: 'invalid', error: { code: 'S3JOBS_INVALID_INPUT', message: expect.stringContaining('would have 11 tags (9 now, merged with 2)') } });
    expect(deadLettered.get(missing)?.error.code).toMatch(/^(NoSuchKey|NotFound)$/);
    expect(Object.keys(await bucket.getTagging('many.txt'))).toHaveLength(9);
  });

  it.skipIf(!serverHas('tagging'))('a version id tags that older version, not the current one', async () => {
    const bucket = await freshBucket('tag-ver');
    await bucket.putBucketVersioning('Enabled');
    const v1 = (await bucket.put('doc.txt', 'one')).versionId!;
    const v2 = (await bucket.put('doc.txt', 'two')).versionId!;
    await env.startWorker();
    const { jobId } = await env.producer.tag({ profile: PROFILE, bucket: bucket.name, key: 'doc.txt', versionId: v1, tags: { stage: 'old' } });
    env.track(jobId);
    const result = await env.producer.waitFor(jobId);
    expect(result).toMatchObject({ kind: 'tagging', versionId: v1 });
    expect(await bucket.getTagging('doc.txt', { versionId: v1 })).toEqual({ stage: 'old' });
    expect(await bucket.getTagging('doc.txt', { versionId: v2 })).toEqual({});
    await env.settle();
  });
});

describe('malformed tagging and acl jobs', () => {
  it('are dead-lettered with the field and the reason, never run (any store)', async () => {
    await env.startWorker();
    const badTags = await env.addRaw('tagging', { kind: 'tagging', profile: PROFILE, bucket: 'some-bucket', key: 'a.txt', tags: { 'no!': 'v' } }, { attempts: 3 });
    const badAcl = await env.addRaw('acl', { kind: 'acl', profile: PROFILE, bucket: 'some-bucket', key: 'a.txt', acl: 'replicate-source' }, { attempts: 3 });
    const { deadLettered } = await env.settle();
    expect(deadLettered.get(badTags)).toMatchObject({ reason: 'invalid', attemptsMade: 1, error: { code: 'S3JOBS_INVALID_JOB', message: expect.stringContaining('tags.no!') } });
    expect(deadLettered.get(badAcl)).toMatchObject({ reason: 'invalid', attemptsMade: 1, error: { message: expect.stringContaining('must be a canned ACL') } });
  });
});

describe('acl jobs', () => {
  it.skipIf(!serverHas('acl'))('puts a canned ACL without copying the object; a version id targets that version', async () => {
    const bucket = await freshBucket('acl-jobs');
    await bucket.putBucketVersioning('Enabled');
    const v1 = (await bucket.put('doc.txt', 'one')).versionId!;
    const { etag } = await bucket.put('doc.txt', 'two');
    await env.startWorker();
    expect(publicRead(await bucket.getAcl('doc.txt'))).toBe(false);
    const acl = async (over: { versionId?: string }) => {
      const { jobId } = await env.producer.acl({ profile: PROFILE, bucket: bucket.name, key: 'doc.txt', acl: 'public-read', ...over });
      env.track(jobId);
      return env.producer.waitFor(jobId);
    };
    expect(await acl({})).toMatchObject({ kind: 'acl', acl: 'public-read', changed: true });
    expect(publicRead(await bucket.getAcl('doc.txt'))).toBe(true);
    expect((await bucket.head('doc.txt')).etag).toBe(etag);
    expect(publicRead(await bucket.getAcl('doc.txt', { versionId: v1 }))).toBe(false);
    await acl({ versionId: v1 });
    expect(publicRead(await bucket.getAcl('doc.txt', { versionId: v1 }))).toBe(true);
    await env.settle();
  });
});
