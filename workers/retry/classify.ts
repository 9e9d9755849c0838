/**
 * Should a failed attempt be retried or dead-lettered? One pure function over data tables.
 *
 * Order of decision (first match wins):
 *   1. codes that are never retried because the *input* is wrong (`INVALID_CODES`) → `invalid`;
 *   2. codes never worth retrying (`PERMANENT_WORKER_CODES`, the core's `PERMANENT_S3_CODES`) → `permanent`;
 *   3. codes always worth retrying (`RETRYABLE_WORKER_CODES`, the core's `RETRYABLE_S3_CODES`) → retry;
 *   4. any other S3 answer: 5xx and 429 retry, the rest is permanent (`isRetryableS3Answer`);
 *   5. any other s3jobs error: its own `retryable` flag;
 *   6. JavaScript programming errors (`PROGRAMMING_ERRORS`): permanent, code `S3JOBS_INTERNAL` —
 *      they fail the same way on every attempt;
 *   7. anything else (a library throwing something we did not map): retried as
 *      `S3JOBS_UNEXPECTED`. Losing a job to a transient we failed to recognise is worse than a few
 *      bounded extra attempts; once attempts run out it is dead-lettered with its message.
 * A retry decision on the last attempt becomes `retries-exhausted`.
 */
import { ErrorCodes, isS3JobsError } from '../../shared/errors.js';
import { isRetryableS3Answer, PERMANENT_S3_CODES, RETRYABLE_S3_CODES } from '../../shared/s3/retry-rules.js';
import { BULLMQ_STALLED_REASON, WorkerErrorCodes } from './codes.js';

/** Why a job is dead-lettered (the `DeadLetterRecord.reason` values the worker decides itself). */
export type DeadLetterReason = 'permanent' | 'retries-exhausted' | 'invalid' | 'stalled';

export type RetryDecision =
  | {
      action: 'retry';
      code: string;
      /** The server asked for at least this long (S3 `Retry-After`); a floor for the backoff. */
      delayHintMs?: number | undefined;
    }
  | {
      action: 'dead-letter';
      reason: DeadLetterReason;
      code: string;
    };

export interface AttemptCount {
  /** Attempts made so far, **including the one that just failed** (1 after the first attempt). */
  attemptsMade: number;
  /** Attempts allowed in all (the job's `attempts` option; 1 = never retried). */
  attempts: number;
}

/** The payload or a value in it is wrong: retrying cannot help, fixing the job can. */
export const INVALID_CODES: ReadonlySet<string> = new Set([ErrorCodes.InvalidJob, ErrorCodes.InvalidInput]);

/** s3jobs codes that fail the same way every time. */
export const PERMANENT_WORKER_CODES: ReadonlySet<string> = new Set([
  ErrorCodes.UnknownProfile,
  ErrorCodes.ReadOnly,
  ErrorCodes.InvalidConfig,
  ErrorCodes.Unguarded,
  ErrorCodes.SizeMismatch,
  WorkerErrorCodes.Internal,
  WorkerErrorCodes.Stalled,
]);

/** s3jobs codes of transient failures: the request did not complete, trying again may work. */
export const RETRYABLE_WORKER_CODES: ReadonlySet<string> = new Set([
  ErrorCodes.Timeout,
  ErrorCodes.Network,
  ErrorCodes.BadResponse,
  ErrorCodes.Aborted,
  WorkerErrorCodes.Unexpected,
  WorkerErrorCodes.SourceChanged,
]);

/** Errors that mean a bug in our code, not a condition of the world. */
export const PROGRAMMING_ERRORS: ReadonlySet<string> = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError']);

/** The stable code of any thrown value, as `classify` sees it. */
export function errorCode(error: unknown): string {
  if (isS3JobsError(error)) return error.code;
  if (error instanceof Error && error.message === BULLMQ_STALLED_REASON) return WorkerErrorCodes.Stalled;
  if (error instanceof Error && PROGRAMMING_ERRORS.has(error.name)) return WorkerErrorCodes.Internal;
  return WorkerErrorCodes.Unexpected;
}

function baseDecision(error: unknown): { retryable: boolean; reason: DeadLetterReason; code: string } {
  const code = errorCode(error);
  if (INVALID_CODES.has(code)) return { retryable: false, reason: 'invalid', code };
  if (code === WorkerErrorCodes.Stalled) return { retryable: false, reason: 'stalled', code };
  if (PERMANENT_WORKER_CODES.has(code) || PERMANENT_S3_CODES.has(code)) return { retryable: false, reason: 'permanent', code };
  if (RETRYABLE_WORKER_CODES.has(code) || RETRYABLE_S3_CODES.has(code)) return { retryable: true, reason: 'permanent', code };
  const status = (error as { status?: unknown } | null)?.status;
  if (isS3JobsError(error) && typeof status === 'number') return { retryable: isRetryableS3Answer(code, status), reason: 'permanent', code };
  if (isS3JobsError(error)) return { retryable: error.retryable, reason: 'permanent', code };
  return { retryable: true, reason: 'permanent', code };
}

/** Retry or dead-letter the attempt that failed with `error`. Pure. */
export function classify(error: unknown, count: AttemptCount): RetryDecision {
  const base = baseDecision(error);
  if (!base.retryable) return { action: 'dead-letter', reason: base.reason, code: base.code };
  if (count.attemptsMade >= count.attempts) return { action: 'dead-letter', reason: 'retries-exhausted', code: base.code };
  const hint = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return { action: 'retry', code: base.code, delayHintMs: typeof hint === 'number' && Number.isFinite(hint) && hint > 0 ? hint : undefined };
}
