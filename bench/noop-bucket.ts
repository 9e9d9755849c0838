/**
 * The no-op S3 of the scale benchmark's queue-only run, at the client's level: a bucket whose HEAD
 * and metadata rewrite answer at once, without building, signing or parsing anything. Against it
 * the s3jobs worker does exactly the job system's work per object — fetch the batch, validate it,
 * check finished slots, run each object through the rewrite processor under its deadline, record
 * its outcome — and the raw BullMQ peer's no-op processor is the same amount of S3 work: none.
 *
 * Only the methods the rewrite processor calls exist; the object is handed to the worker as an
 * `S3Bucket` through `startWorker({ buckets: new NoopBucketCache(config) })`.
 */
import type { ObjectInfo, RewriteResult, S3Bucket } from '../shared/s3/index.js';
import { BucketCache } from '../workers/bucket-cache.js';

const ETAG = '"9b2cf535f27731c974343645a3985328"';
const LAST_MODIFIED = new Date('2024-05-17T09:30:00Z');

class NoopBucket {
  async head(key: string): Promise<ObjectInfo> {
    return { key, size: 1024, etag: ETAG, lastModified: LAST_MODIFIED, contentType: 'image/jpeg', storageClass: 'STANDARD', versionId: undefined, metadata: {}, headers: {} };
  }

  async rewriteMetadata(): Promise<RewriteResult> {
    return { changed: true, etag: ETAG, previousEtag: ETAG, lastModified: LAST_MODIFIED, versionId: undefined, size: 1024, guarded: true };
  }

  timeoutDisabled<T>(fn: () => T): T {
    return fn();
  }
}

/** A bucket cache for `startWorker({ buckets })` whose every bucket is the no-op one. */
export class NoopBucketCache extends BucketCache {
  readonly #bucket = new NoopBucket() as unknown as S3Bucket;

  override bucketFor(): S3Bucket {
    return this.#bucket;
  }

  override async close(): Promise<void> {}
}
