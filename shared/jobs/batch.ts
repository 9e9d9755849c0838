/**
 * The single-object view of a batch (`metadata-rewrite-batch`, `copy-batch`): what each of its
 * objects would have been as a job of its own. The worker runs every object through it (so a
 * batch behaves exactly like its single jobs), and an object that fails for good is dead-lettered
 * as it, so an operator's `dlq retry` re-runs that one object. Pure.
 */
import { mimetypeFromKey } from '../s3/mime.js';
import type { AclBatchJob, AclJob, BatchJob, CopyBatchJob, CopyJob, MetadataRewriteBatchJob, MetadataRewriteJob, TaggingBatchJob, TaggingJob } from './payloads.js';

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

/** The `tagging` or `acl` job an object of a `tagging-batch` / `acl-batch` stands for. Pure. */
export function tagAclBatchObjectJob(batch: TaggingBatchJob, object: TaggingBatchJob['objects'][number]): TaggingJob;
export function tagAclBatchObjectJob(batch: AclBatchJob, object: AclBatchJob['objects'][number]): AclJob;
export function tagAclBatchObjectJob(batch: TaggingBatchJob | AclBatchJob, object: TaggingBatchJob['objects'][number]): TaggingJob | AclJob;
export function tagAclBatchObjectJob(batch: TaggingBatchJob | AclBatchJob, object: TaggingBatchJob['objects'][number]): TaggingJob | AclJob {
  const common = {
    profile: batch.profile,
    bucket: batch.bucket,
    key: object.key,
    ...(object.versionId === undefined ? {} : { versionId: object.versionId }),
    ...(batch.timeoutMs === undefined ? {} : { timeoutMs: batch.timeoutMs }),
    runId: batch.runId,
    runSlot: object.slot,
  };
  if (batch.kind === 'acl-batch') return { kind: 'acl', ...common, acl: batch.acl };
  return { kind: 'tagging', ...common, tags: batch.tags, ...(batch.mode === undefined ? {} : { mode: batch.mode }), ...(batch.remove === undefined ? {} : { remove: batch.remove }) };
}

/** The single job an object of any batch stands for. Pure. */
export function singleJobOf(batch: BatchJob, object: BatchJob['objects'][number]): MetadataRewriteJob | CopyJob | TaggingJob | AclJob {
  switch (batch.kind) {
    case 'metadata-rewrite-batch':
      return batchObjectJob(batch, object);
    case 'copy-batch':
      return copyBatchObjectJob(batch, object);
    case 'tagging-batch':
    case 'acl-batch':
      return tagAclBatchObjectJob(batch, object);
  }
}

/** Each object of a batch as the single job it stands for, with its slot. Pure. */
export function singleJobsOf(batch: BatchJob): { slot: number; job: MetadataRewriteJob | CopyJob | TaggingJob | AclJob }[] {
  return batch.objects.map((object) => ({ slot: object.slot, job: singleJobOf(batch, object) }));
}
