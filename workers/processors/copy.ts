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
 */
import type { CopyJob, CopyJobResult } from '../../shared/jobs/index.js';
import type { ProcessorContext } from './context.js';

export async function processCopy(job: CopyJob, ctx: ProcessorContext): Promise<CopyJobResult> {
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
    durationMs: ctx.now() - ctx.startedAt,
  };
}
