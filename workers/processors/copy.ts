/**
 * `copy`: server-side copy from source to destination.
 *
 * The source is HEADed first, under the job deadline: its size decides whether this is a large
 * transfer, and the HEAD is handed to the copy (`sourceInfo`) so the core does not make another.
 * A source larger than `largeTransferBytes` is copied without the job deadline — only shutdown can
 * abort it — because a 50 GiB multipart copy legitimately outlives any sensible job deadline. It is
 * not left unguarded: every request keeps the transport's inactivity timeout (`stallTimeoutMs`: a
 * part that makes no progress still fails) and BullMQ's lock, renewed while we run, tells the rest
 * of the system the job is alive.
 *
 * Copies are idempotent: running one twice (a retry, a stalled job picked up again) writes the
 * same object again.
 *
 * Between two stores (`sourceProfile` naming another endpoint or other credentials than `profile`)
 * the copy is streamed through the worker (`streamCopy`): same HEAD, same timeout policy — and for a
 * large transfer without the deadline the multipart upload is kept in the job's progress, so a
 * retry after a crash or a shutdown resumes from the parts the destination holds.
 */
import { S3Error, ValidationError } from '../../shared/errors.js';
import type { CopyJob, CopyJobResult } from '../../shared/jobs/index.js';
import { streamCopy } from '../../shared/s3/stream-copy.js';
import { bareEtag, readCheckpoint, type TransferCheckpoint } from '../../shared/s3/transfer-plan.js';
import { isRequeueReason } from '../shutdown.js';
import type { ProcessorContext, StreamSettings } from './context.js';

/** Streamed copies' defaults: 64 MiB in flight per copy. */
export const DEFAULT_STREAM: StreamSettings = { partSize: 16 * 1024 * 1024, concurrency: 4 };

export async function processCopy(job: CopyJob, ctx: ProcessorContext): Promise<CopyJobResult> {
  const sourceProfile = job.sourceProfile ?? job.profile;
  const crossStore = sourceProfile !== job.profile && ctx.sameStore?.(sourceProfile, job.profile) !== true;
  if (crossStore) return processStreamCopy(job, sourceProfile, ctx);
  const source = ctx.bucketFor(job.profile, job.source.bucket);
  const head = await source.head(job.source.key, { signal: ctx.signal, ...(job.source.versionId === undefined ? {} : { versionId: job.source.versionId }) });
  const destination = ctx.bucketFor(job.profile, job.destination.bucket);
  const largeTransfer = head.size > ctx.largeTransferBytes;
  const options = {
    acl: job.acl,
    metadata: job.metadata,
    mimetype: job.mimetype,
    headers: job.headers,
    ifMatch: job.expectedSourceEtag,
    sourceVersionId: job.source.versionId,
    storageClass: job.storageClass,
    sourceInfo: head,
    multipart: ctx.multipart,
  };
  const from = `${job.source.bucket}/${job.source.key}`;
  let copied;
  if (largeTransfer) {
    ctx.logger.info({ bytes: head.size, largeTransferBytes: ctx.largeTransferBytes }, 'large transfer: copying without the job deadline (inactivity guard and lock renewal still apply)');
    const signal = ctx.deadline.lift();
    copied = await destination.timeoutDisabled(() => destination.copy(from, job.destination.key, { ...options, signal }));
  } else {
    copied = await destination.copy(from, job.destination.key, { ...options, signal: ctx.signal });
  }
  return {
    kind: 'copy',
    etag: copied.etag,
    versionId: copied.versionId,
    bytes: head.size,
    multipart: copied.multipart,
    largeTransfer,
    changed: true,
    // Present when the copy carried a source condition (expectedSourceEtag, or the HEAD's ETag).
    ...(copied.guarded === undefined ? {} : { guarded: copied.guarded }),
    ...(copied.tags === undefined ? {} : { tags: copied.tags }),
    durationMs: ctx.now() - ctx.startedAt,
  };
}

/** The copy between two stores: GET from `sourceProfile`, PUT with `profile`. */
async function processStreamCopy(job: CopyJob, sourceProfile: string, ctx: ProcessorContext): Promise<CopyJobResult> {
  if (job.acl === 'replicate-source')
    throw new ValidationError('acl', `"replicate-source" cannot be used between two stores (profiles "${sourceProfile}" and "${job.profile}"): the source's grants name its own store's accounts; give a canned ACL`);
  const source = ctx.bucketFor(sourceProfile, job.source.bucket);
  const destination = ctx.bucketFor(job.profile, job.destination.bucket);
  const head = await source.head(job.source.key, { signal: ctx.signal, ...(job.source.versionId === undefined ? {} : { versionId: job.source.versionId }) });
  if (job.expectedSourceEtag !== undefined && bareEtag(job.expectedSourceEtag) !== bareEtag(head.etag))
    throw new S3Error({ code: 'PreconditionFailed', message: `source ETag is ${head.etag}, expected ${job.expectedSourceEtag}: the object changed since it was read`, status: 412, bucket: job.source.bucket, key: job.source.key, retryable: false });
  const largeTransfer = head.size > ctx.largeTransferBytes;
  const settings = ctx.stream ?? DEFAULT_STREAM;
  const progress = ctx.progress;
  const resume = readCheckpoint(progress?.read());
  const copy = (signal: AbortSignal) =>
    streamCopy(source, job.source.key, destination, job.destination.key, {
      acl: job.acl as Exclude<CopyJob['acl'], 'replicate-source'>,
      metadata: job.metadata,
      mimetype: job.mimetype,
      headers: job.headers,
      storageClass: job.storageClass,
      sourceInfo: head,
      sourceVersionId: job.source.versionId,
      partSize: settings.partSize,
      concurrency: settings.concurrency,
      signal,
      resume,
      onCheckpoint: progress === undefined ? undefined : (checkpoint: TransferCheckpoint | undefined) => progress.save({ transfer: checkpoint ?? null }),
      // A shutdown or a lost lock puts the job back at once: its next attempt resumes the upload.
      keepUploadOnError: () => isRequeueReason(ctx.deadline.abortReason()),
    });
  let copied;
  if (largeTransfer) {
    ctx.logger.info({ bytes: head.size, largeTransferBytes: ctx.largeTransferBytes, resumeUpload: resume !== undefined }, 'large transfer between stores: streaming without the job deadline (inactivity guard and lock renewal still apply)');
    const signal = ctx.deadline.lift();
    copied = await source.timeoutDisabled(() => destination.timeoutDisabled(() => copy(signal)));
  } else {
    copied = await copy(ctx.signal);
  }
  if (copied.partsResumed > 0) ctx.logger.info({ partsResumed: copied.partsResumed, partsUploaded: copied.partsUploaded }, 'resumed the multipart upload of an earlier attempt');
  return {
    kind: 'copy',
    etag: copied.etag,
    versionId: copied.versionId,
    bytes: head.size,
    multipart: copied.multipart,
    largeTransfer,
    changed: true,
    streamed: { verified: copied.verified, partsUploaded: copied.partsUploaded, partsResumed: copied.partsResumed },
    ...(copied.tags === undefined ? {} : { tags: copied.tags }),
    durationMs: ctx.now() - ctx.startedAt,
  };
}
