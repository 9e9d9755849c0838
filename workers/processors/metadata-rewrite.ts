/**
 * `metadata-rewrite`: change an object's metadata in place (the core's guarded self-copy).
 *
 * The object is HEADed first, under the job deadline, for the large-transfer decision: a rewrite
 * is a copy of the whole object onto itself, so a large one runs without the job deadline exactly
 * like a large copy.
 *
 * PreconditionFailed means two different things here. With `expectedEtag` in the job, the object
 * is not the one the producer meant: permanent, dead-lettered. Without it, the 412 comes from the
 * core's own guard (the object changed between its HEAD and its copy — S3 refused to write stale
 * metadata over new content): reading the object again and retrying is right, so it is reported
 * as the retryable S3JOBS_SOURCE_CHANGED.
 */
import { S3Error, S3JobsError } from '../../shared/errors.js';
import type { MetadataRewriteJob, MetadataRewriteJobResult } from '../../shared/jobs/index.js';
import { WorkerErrorCodes } from '../retry/codes.js';
import type { ProcessorContext } from './context.js';

export async function processMetadataRewrite(job: MetadataRewriteJob, ctx: ProcessorContext): Promise<MetadataRewriteJobResult> {
  const bucket = ctx.bucketFor(job.profile, job.bucket);
  const head = await bucket.head(job.key, { signal: ctx.signal });
  const largeTransfer = head.size > ctx.largeTransferBytes;
  const options = {
    acl: job.acl,
    set: job.set,
    remove: job.remove,
    replace: job.replace,
    mimetype: job.mimetype,
    headers: job.headers,
    ifMatch: job.expectedEtag,
    // Refuse (S3JOBS_UNGUARDED, dead-lettered) where the store is not known to honour the guard.
    requireGuard: job.requireGuard,
    // The HEAD above, reused: the rewrite is guarded by its ETag all the same.
    currentInfo: head,
    multipart: ctx.multipart,
  };
  let result;
  try {
    if (largeTransfer) {
      ctx.logger.info({ bytes: head.size, largeTransferBytes: ctx.largeTransferBytes }, 'large transfer: rewriting without the job deadline');
      const signal = ctx.deadline.lift();
      result = await bucket.timeoutDisabled(() => bucket.rewriteMetadata(job.key, { ...options, signal }));
    } else {
      result = await bucket.rewriteMetadata(job.key, { ...options, signal: ctx.signal });
    }
  } catch (err) {
    if (err instanceof S3Error && err.code === 'PreconditionFailed' && job.expectedEtag === undefined)
      throw new S3JobsError(WorkerErrorCodes.SourceChanged, `${job.bucket}/${job.key} changed while its metadata was being rewritten; it will be read again`, { retryable: true, cause: err });
    throw err;
  }
  return {
    kind: 'metadata-rewrite',
    changed: result.changed,
    etag: result.etag,
    previousEtag: result.previousEtag,
    bytes: result.size,
    guarded: result.guarded,
    ...(result.tags === undefined ? {} : { tags: result.tags }),
    durationMs: ctx.now() - ctx.startedAt,
  };
}
