/**
 * `bucket`: create or delete a bucket.
 *
 * Both are idempotent in effect. Creating a bucket we already own answers `changed: false` (the
 * core turns BucketAlreadyOwnedByYou into that). Deleting answers NoSuchBucket when the bucket is
 * gone: on a first attempt that is reported (the job named a bucket that does not exist), but on a
 * retry it is most likely our own earlier attempt that deleted it before its answer was lost, so it
 * counts as done with `changed: false`.
 */
import { S3Error } from '../../shared/errors.js';
import type { BucketJob, BucketJobResult } from '../../shared/jobs/index.js';
import type { ProcessorContext } from './context.js';

export async function processBucket(job: BucketJob, ctx: ProcessorContext): Promise<BucketJobResult> {
  const bucket = ctx.bucketFor(job.profile, job.bucket);
  if (job.action === 'create') {
    const { created } = await bucket.putBucket({ location: job.location, configXml: job.configXml, acl: job.acl, signal: ctx.signal });
    return { kind: 'bucket', action: 'create', changed: created, deletedObjects: 0, durationMs: ctx.now() - ctx.startedAt };
  }
  try {
    const { deletedObjects } = await bucket.deleteBucket({ empty: job.empty, signal: ctx.signal });
    return { kind: 'bucket', action: 'delete', changed: true, deletedObjects, durationMs: ctx.now() - ctx.startedAt };
  } catch (err) {
    if (ctx.attempt > 1 && err instanceof S3Error && err.code === 'NoSuchBucket') {
      ctx.logger.info('bucket already gone on a retry: an earlier attempt deleted it');
      return { kind: 'bucket', action: 'delete', changed: false, deletedObjects: 0, durationMs: ctx.now() - ctx.startedAt };
    }
    throw err;
  }
}
