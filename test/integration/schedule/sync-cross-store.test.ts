/**
 * `sync` between two stores: the source profile `onprem` is an s3rver child of this file, the
 * destination the test target (the shared s3rver, or Ceph RGW with its own credentials under
 * `eval "$(test/stores/ceph-rgw.sh env)"`). Compared by size and the source ETag each streamed copy
 * records, so a multipart copy (another ETag) is not copied again; `delete` removes what the
 * source no longer has; a dry run lists and changes nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SyncJob } from '../../../shared/jobs/index.js';
import { S3Bucket } from '../../../shared/s3/index.js';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { uniqueBucketName } from '../../support/s3-env.js';
import { startS3rver, type S3rverProcess } from '../../support/s3rver-process.js';
import { PROFILE, workerTestEnv, type WorkerTestEnv } from '../workers/helpers.js';
import { keysOf, syncResult, trackAll } from './helpers.js';

const MiB = 1024 * 1024;
let sourceServer: S3rverProcess;
let env: WorkerTestEnv;
const md5 = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');

beforeAll(async () => {
  sourceServer = await startS3rver();
}, 30_000);
beforeEach(async () => {
  env = await workerTestEnv({
    overrides: {
      profiles: { onprem: { endpoint: sourceServer.endpoint, accessKey: sourceServer.accessKey, secretKey: sourceServer.secretKey, region: sourceServer.region, forcePathStyle: true } },
      worker: { streamPartBytes: 5 * MiB, streamConcurrency: 2 },
    },
  });
});
afterEach(async () => {
  await env.cleanup();
});
afterAll(async () => {
  await cleanupBuckets();
  await sourceServer?.stop();
});

describe('sync between two stores', () => {
  it('dry run lists, then copies what differs, deletes orphans with delete, and a second sync finds nothing', async () => {
    const src = new S3Bucket({ name: uniqueBucketName('xsync-src'), endpoint: sourceServer.endpoint, accessKey: sourceServer.accessKey, secretKey: sourceServer.secretKey, region: sourceServer.region, forcePathStyle: true });
    await src.putBucket();
    const dst = await freshBucket('xsync-dst');
    const big = randomBytes(12 * MiB);
    await src.put('in/a.txt', 'alpha', { mimetype: 'text/plain' });
    await src.put('in/big.bin', big);
    await src.put('in/c.txt', 'charlie');
    await dst.put('out/c.txt', 'CHARLIE!'); // other bytes, other size
    await dst.put('out/gone.txt', 'the source no longer has this');
    await dst.put('elsewhere.txt', 'outside the prefix: never deleted');
    const job: SyncJob = { kind: 'sync', profile: PROFILE, sourceProfile: 'onprem', source: { bucket: src.name, prefix: 'in/' }, destination: { bucket: dst.name, prefix: 'out/' }, acl: 'private', delete: true };
    await env.startWorker();

    const dry = await syncResult(env, await env.add({ ...job, dryRun: true }));
    expect(dry).toMatchObject({ examined: 3, toCopy: 3, enqueued: 0, toDelete: 1, deleted: 0, changed: false, dryRun: { copy: ['in/a.txt', 'in/big.bin', 'in/c.txt'], delete: ['out/gone.txt'] } });
    expect(await keysOf(dst)).toEqual(['elsewhere.txt', 'out/c.txt', 'out/gone.txt']);

    const first = await syncResult(env, await env.add(job));
    expect(first).toMatchObject({ examined: 3, toCopy: 3, enqueued: 3, toDelete: 1, deleted: 1, changed: true });
    await trackAll(env);
    await env.settle(60_000);
    expect(await keysOf(dst)).toEqual(['elsewhere.txt', 'out/a.txt', 'out/big.bin', 'out/c.txt']);
    expect(md5(await dst.getBuffer('out/big.bin'))).toBe(md5(big));
    expect((await dst.getBuffer('out/c.txt')).toString()).toBe('charlie');
    // The big object went up in parts: on Ceph (as on S3) its ETag is "<md5 of md5s>-3", not the
    // source's (s3rver gives the whole MD5); the source ETag it records is what the next sync compares.
    const bigCopy = await dst.head('out/big.bin');
    expect(bigCopy.metadata['s3jobs-source-etag']).toBe(md5(big));

    const second = await syncResult(env, await env.add(job));
    expect(second).toMatchObject({ examined: 3, toCopy: 0, enqueued: 0, unchanged: 3, toDelete: 0, deleted: 0, changed: false });

    // The source's big object replaced by other bytes of the same size: copied again.
    await src.put('in/big.bin', randomBytes(12 * MiB));
    const third = await syncResult(env, await env.add(job));
    expect(third).toMatchObject({ toCopy: 1, enqueued: 1 });
    await trackAll(env);
    await env.settle(60_000);
  }, 120_000);
});
