import type { JobKind } from '../jobs/payloads.js';

/** What the dead-letter queue holds for each job that failed for good (its BullMQ job data). */
export interface DeadLetterRecord {
  /**
   * The original job's id. The dead-letter job's id is `deadLetterJobId(jobId)` — the same id, except
   * numeric auto ids — which makes dead-lettering idempotent.
   */
  jobId: string;
  /** The queue it came from. */
  queue: string;
  /** The BullMQ job name (normally the job kind; anything for a malformed job). */
  name: string;
  kind: JobKind | undefined;
  /** The original payload, untouched (even when malformed), so a fix-and-retry is possible. */
  payload: unknown;
  error: {
    code: string;
    message: string;
    retryable: boolean;
    /** HTTP status of an S3 error. */
    status?: number | undefined;
    requestId?: string | undefined;
  };
  /** Attempts made before giving up. */
  attemptsMade: number;
  /** Why it was dead-lettered: a permanent error, or retries exhausted. */
  reason: 'permanent' | 'retries-exhausted' | 'stalled' | 'invalid';
  enqueuedAt: number;
  failedAt: number;
  deadLetteredAt: number;
  runId?: string | undefined;
}
