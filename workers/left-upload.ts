/**
 * The multipart upload a dead-lettered copy between stores can leave on its destination. A
 * streamed copy keeps its upload for the job's next attempt when it is put back at once (a
 * shutdown requeue, a lost lock) or when its worker is killed; if that attempt never comes — BullMQ
 * fails the job as stalled, and the sweep dead-letters it — the parts bill storage until a
 * lifecycle rule expires them. Once the record is in the dead-letter queue the upload is aborted:
 * a retry from the DLQ starts the transfer again anyway (its progress is gone with the job).
 */
import type { Logger } from '../shared/log/logger.js';
import type { DeadLetterRecord } from '../shared/queue/dead-letter.js';
import type { S3Bucket } from '../shared/s3/bucket.js';
import { abortMultipartUpload } from '../shared/s3/multipart-upload.js';
import { readCheckpoint } from '../shared/s3/transfer-plan.js';

/**
 * Pure: the upload to abort — the checkpoint in the job's `progress`, when the record is a copy whose
 * destination is the checkpoint's (a payload and a progress that disagree are left alone).
 */
export function leftUpload(record: Pick<DeadLetterRecord, 'kind' | 'payload'>, progress: unknown): { profile: string; bucket: string; key: string; uploadId: string } | undefined {
  const checkpoint = readCheckpoint(progress);
  if (checkpoint === undefined || record.kind !== 'copy') return undefined;
  const payload = record.payload as { profile?: unknown; destination?: { bucket?: unknown; key?: unknown } } | null;
  const bucket = payload?.destination?.bucket;
  const key = payload?.destination?.key;
  if (typeof payload?.profile !== 'string' || typeof bucket !== 'string' || typeof key !== 'string') return undefined;
  if (checkpoint.destination !== `${bucket}/${key}`) return undefined;
  return { profile: payload.profile, bucket, key, uploadId: checkpoint.uploadId };
}

/** Aborts the upload `leftUpload` finds, if any. Never throws: the dead letter is what matters, and a lifecycle rule is the safety net. */
export async function abortLeftUpload(record: DeadLetterRecord, progress: unknown, bucketFor: (profile: string, bucket: string) => S3Bucket, logger: Logger): Promise<boolean> {
  const left = leftUpload(record, progress);
  if (left === undefined) return false;
  try {
    await abortMultipartUpload(bucketFor(left.profile, left.bucket), left.key, left.uploadId, { timeout: 30_000 });
    logger.info({ jobId: record.jobId, bucket: left.bucket, key: left.key }, 'aborted the multipart upload the dead-lettered copy had kept for its next attempt');
    return true;
  } catch (err) {
    logger.warn({ jobId: record.jobId, bucket: left.bucket, key: left.key, err: err instanceof Error ? err.message : String(err) }, 'could not abort the multipart upload the dead-lettered copy had kept; a lifecycle rule (AbortIncompleteMultipartUpload) removes it');
    return false;
  }
}
