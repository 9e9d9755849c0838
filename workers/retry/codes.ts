/**
 * Codes only the worker raises. Everything else a job can fail with is one of the core's
 * `ErrorCodes` (shared/errors.ts) or an S3 `<Code>` passed through.
 */
export const WorkerErrorCodes = {
  /**
   * BullMQ gave up on a job whose worker kept dying or losing its lock ("job stalled more than
   * allowable limit"): dead-lettered with reason `stalled`.
   */
  Stalled: 'S3JOBS_STALLED',
  /** An exception that is not an s3jobs error and not a programming error. Retried. */
  Unexpected: 'S3JOBS_UNEXPECTED',
  /** A programming error (TypeError, RangeError, …): it would fail the same way again. */
  Internal: 'S3JOBS_INTERNAL',
  /**
   * A metadata rewrite's own ETag guard tripped (the object changed between its HEAD and its
   * copy) and the job named no ETag of its own: reading the object again will do. Retried.
   */
  SourceChanged: 'S3JOBS_SOURCE_CHANGED',
} as const;

/** The reason BullMQ's stalled-job checker writes into `failedReason`. */
export const BULLMQ_STALLED_REASON = 'job stalled more than allowable limit';
