/** What each job kind returns; readable by producers through the job's return value. */
import type { CopyGuard } from '../s3/store-profile.js';
import type { TagsOutcome } from '../s3/tag-carry.js';

interface ResultBase {
  /** Wall time of the successful attempt, ms. */
  durationMs: number;
}

export interface CopyJobResult extends ResultBase {
  kind: 'copy';
  etag: string;
  versionId: string | undefined;
  /** Bytes copied (the source size). */
  bytes: number;
  multipart: boolean;
  /** Whether the job deadline was lifted because the source is a large transfer. */
  largeTransfer: boolean;
  changed: true;
  /**
   * Set when the copy carried a source condition (`expectedSourceEtag`, or the ETag of the source
   * HEAD a metadata-replacing copy pins): whether the store honours it — `false` where it copies
   * whatever the condition says, `'unverified'` where never checked.
   */
  guarded?: CopyGuard | undefined;
  /** Set for a copy between two stores, streamed through the worker. */
  streamed?: StreamedCopyResult | undefined;
  /**
   * Set when the copy alone would have lost the source's tags: `carried` (sent with the write),
   * `reapplied` (put back after it), or `not-read` (the store could not say whether there were any).
   */
  tags?: TagsOutcome | undefined;
}

export interface StreamedCopyResult {
  /** `md5`: the MD5 of every byte read matched the source's ETag; `part-md5`: each part's Content-MD5 only. */
  verified: 'md5' | 'part-md5';
  /** Parts this attempt uploaded, and parts an earlier attempt had uploaded that were kept. */
  partsUploaded: number;
  partsResumed: number;
}

export interface MetadataRewriteJobResult extends ResultBase {
  kind: 'metadata-rewrite';
  /** False when the object already had the wanted metadata: no copy was made. */
  changed: boolean;
  etag: string;
  previousEtag: string;
  bytes: number;
  /**
   * Whether the rewrite's copy is guarded by the ETag it read on this store: `false` where the
   * store ignores copy conditions (an upload made meanwhile could be overwritten with stale
   * metadata), `'unverified'` where never checked.
   */
  guarded: CopyGuard;
  /** Set when the self-copy alone would have lost the object's tags (see CopyJobResult.tags). */
  tags?: TagsOutcome | undefined;
}

export interface BucketJobResult extends ResultBase {
  kind: 'bucket';
  action: 'create' | 'delete';
  /** create: false when the bucket already existed (owned by us). delete: always true. */
  changed: boolean;
  deletedObjects: number;
}

export interface SyncJobResult extends ResultBase {
  kind: 'sync';
  /** Source objects listed. */
  examined: number;
  /** Missing at the destination, or different in size or ETag. */
  toCopy: number;
  /**
   * Copy jobs handed to the queue (an id already queued or retained is not added twice). Fewer
   * than toCopy when an earlier attempt of a run already finished a copy, when the dead-letter
   * queue holds the same copy (it failed for good: `s3jobs dlq retry` it), or when a destination
   * key would be invalid.
   */
  enqueued: number;
  /** Same size and ETag at the destination: left alone. */
  unchanged: number;
  /** Set when the fan-out is reported as a run (`asRun`) and there was something to copy. */
  runId?: string | undefined;
  /** True when copy jobs were enqueued or objects deleted. */
  changed: boolean;
  /** With `delete`: destination objects the source no longer has, and how many were deleted. */
  toDelete?: number | undefined;
  deleted?: number | undefined;
  /** With `dryRun`: the first keys (up to 100 each) that would be copied and deleted; nothing was. */
  dryRun?: { copy: string[]; delete: string[] } | undefined;
}

export interface MetadataRewriteBatchJobResult extends ResultBase {
  kind: 'metadata-rewrite-batch';
  /** Objects in the batch. */
  objects: number;
  /** Objects this attempt rewrote or found already right. */
  completed: number;
  /** Of those, rewritten (a copy was made). */
  rewritten: number;
  /** Objects this attempt dead-lettered, each as its own metadata-rewrite job. */
  deadLettered: number;
  /** Objects an earlier attempt (or run of this job) had already finished: skipped. */
  skipped: number;
  /** True when at least one object was rewritten. */
  changed: boolean;
  /** Whether each object's rewrite is guarded on this store (see MetadataRewriteJobResult.guarded). */
  guarded: CopyGuard;
}

export interface CopyBatchJobResult extends ResultBase {
  kind: 'copy-batch';
  /** Objects in the batch. */
  objects: number;
  /** Objects this attempt copied. */
  completed: number;
  /** Objects this attempt dead-lettered, each as its own copy job. */
  deadLettered: number;
  /** Objects an earlier attempt (or run of this job) had already copied: skipped. */
  skipped: number;
  /** Bytes this attempt copied (the sources' sizes). */
  bytes: number;
  /** True when at least one object was copied. */
  changed: boolean;
}

/** A `tagging-batch` or `acl-batch`: what this attempt did to the batch's objects. */
export interface TagAclBatchJobResult extends ResultBase {
  kind: 'tagging-batch' | 'acl-batch';
  objects: number;
  /** Objects this attempt finished with success. */
  completed: number;
  /** Of those, the ones written (a merge that found the tags as wanted writes nothing). */
  written: number;
  /** Objects this attempt dead-lettered, each as its own tagging or acl job. */
  deadLettered: number;
  /** Objects an earlier attempt (or run of this job) had already finished: skipped. */
  skipped: number;
  changed: boolean;
}

export interface TaggingJobResult extends ResultBase {
  kind: 'tagging';
  /** False when a merge found the tags already as wanted (nothing was written). */
  changed: boolean;
  /** Tags the object has now. */
  tags: number;
  /** The version tagged (the one named, or the current one's as S3 reports it). */
  versionId: string | undefined;
}

export interface AclJobResult extends ResultBase {
  kind: 'acl';
  acl: string;
  versionId: string | undefined;
  changed: true;
}

export type JobResult = CopyJobResult | MetadataRewriteJobResult | MetadataRewriteBatchJobResult | CopyBatchJobResult | TagAclBatchJobResult | BucketJobResult | SyncJobResult | TaggingJobResult | AclJobResult;
