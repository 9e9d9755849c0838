/**
 * S3Bucket instances for integration tests, against whatever `s3Target()` names.
 * `freshBucket(prefix)` creates a uniquely named bucket (with the target's LocationConstraint) and
 * registers it for deletion (emptied first) by `cleanupBuckets()`.
 */
import { S3Bucket } from '../../shared/s3/index.js';
import type { S3BucketOptions } from '../../shared/s3/index.js';
import { s3Target, uniqueBucketName } from './s3-env.js';

const created: S3Bucket[] = [];

export function bucketOptions(name: string, extra: Partial<S3BucketOptions> = {}): S3BucketOptions {
  const target = s3Target();
  return { name, accessKey: target.accessKey, secretKey: target.secretKey, endpoint: target.endpoint, region: target.region, store: target.store, ...extra };
}

export function bucketClient(name: string, extra: Partial<S3BucketOptions> = {}): S3Bucket {
  return new S3Bucket(bucketOptions(name, extra));
}

export async function freshBucket(prefix: string, extra: Partial<S3BucketOptions> = {}): Promise<S3Bucket> {
  const bucket = bucketClient(uniqueBucketName(prefix), extra);
  await bucket.putBucket({ location: s3Target().location });
  created.push(bucket);
  return bucket;
}

export async function cleanupBuckets(): Promise<void> {
  const all = created.splice(0);
  await Promise.all(
    all.map(async (bucket) => {
      try {
        await bucket.deleteBucket({ empty: true, timeout: 30_000 });
      } catch {
        // Best effort: a test that deleted its own bucket already, or a server that went away.
      } finally {
        await bucket.close();
      }
    }),
  );
}
