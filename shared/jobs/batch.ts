/**
 * The single-object view of a batch (`metadata-rewrite-batch`, `copy-batch`): what each of its
 * objects would have been as a job of its own. The worker runs every object through it (so a
 * batch behaves exactly like its single jobs), and an object that fails for good is dead-lettered
 * as it, so an operator's `dlq retry` re-runs that one object. Pure.
 */
import { mimetypeFromKey } from '../s3/mime.js';
import type { CopyBatchJob, CopyJob, MetadataRewriteBatchJob, MetadataRewriteJob } from './payloads.js';

export type BatchObject = MetadataRewriteBatchJob['objects'][number];

export function batchObjectJob(batch: MetadataRewriteBatchJob, object: BatchObject): MetadataRewriteJob {
  const job: MetadataRewriteJob = { kind: 'metadata-rewrite', profile: batch.profile, bucket: batch.bucket, key: object.key, acl: batch.acl, runId: batch.runId, runSlot: object.slot };
  if (batch.timeoutMs !== undefined) job.timeoutMs = batch.timeoutMs;
  if (batch.set !== undefined) job.set = batch.set;
  if (batch.remove !== undefined) job.remove = batch.remove;
  if (batch.replace !== undefined) job.replace = batch.replace;
  if (batch.headers !== undefined) job.headers = batch.headers;
  if (batch.requireGuard !== undefined) job.requireGuard = batch.requireGuard;
  const mimetype = batch.mimetypeFromExtension === true ? (mimetypeFromKey(object.key) ?? batch.mimetype) : batch.mimetype;
  if (mimetype !== undefined) job.mimetype = mimetype;
  return job;
}

/** The id a run gives a batch job: `<runId>-b<first slot>` (an object's own job is `<runId>-<slot>`). */
export function runBatchJobId(runId: string, firstSlot: number): string {
  return `${runId}-b${firstSlot}`;
}

/**
 * Where a copy run puts an object: its key below the run's prefix keeps its place below the
 * destination prefix; a key outside the prefix (a manifest run has none) goes below it whole. Pure.
 */
export function copyTargetKey(key: string, sourcePrefix: string | undefined, destinationPrefix: string): string {
  const below = sourcePrefix !== undefined && key.startsWith(sourcePrefix) ? key.slice(sourcePrefix.length) : key;
  return `${destinationPrefix}${below}`;
}

/** The `copy` job an object of a `copy-batch` stands for (run as it, dead-lettered as it). Pure. */
export function copyBatchObjectJob(batch: CopyBatchJob, object: CopyBatchJob['objects'][number]): CopyJob {
  const job: CopyJob = {
    kind: 'copy',
    profile: batch.profile,
    source: { bucket: batch.source.bucket, key: object.key, ...(object.versionId === undefined ? {} : { versionId: object.versionId }) },
    destination: { bucket: batch.destination.bucket, key: copyTargetKey(object.key, batch.source.prefix, batch.destination.prefix) },
    acl: batch.acl,
    runId: batch.runId,
    runSlot: object.slot,
  };
  if (batch.storageClass !== undefined) job.storageClass = batch.storageClass;
  if (batch.metadata !== undefined) job.metadata = batch.metadata;
  if (batch.mimetype !== undefined) job.mimetype = batch.mimetype;
  if (batch.headers !== undefined) job.headers = batch.headers;
  if (batch.timeoutMs !== undefined) job.timeoutMs = batch.timeoutMs;
  return job;
}

/** Each object of a batch as the single job it stands for, with its slot. Pure. */
export function singleJobsOf(batch: MetadataRewriteBatchJob | CopyBatchJob): { slot: number; job: MetadataRewriteJob | CopyJob }[] {
  if (batch.kind === 'copy-batch') return batch.objects.map((object) => ({ slot: object.slot, job: copyBatchObjectJob(batch, object) }));
  return batch.objects.map((object) => ({ slot: object.slot, job: batchObjectJob(batch, object) }));
}
