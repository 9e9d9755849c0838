/**
 * The single-object view of a `metadata-rewrite-batch`: what each of its objects would have been
 * as a job of its own. The worker runs every object through it (so a batch behaves exactly like
 * its single jobs), and an object that fails for good is dead-lettered as it, so an operator's
 * `dlq retry` re-runs that one object. Pure.
 */
import { mimetypeFromKey } from '../s3/mime.js';
import type { MetadataRewriteBatchJob, MetadataRewriteJob } from './payloads.js';

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
