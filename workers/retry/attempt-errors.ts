/**
 * What the processor throws to BullMQ when an attempt fails, once `classify` has decided.
 *
 * BullMQ stores `err.message` as the job's `failedReason`, which the producer's `status()` and the
 * dead-letter records read: it is always `CODE: message`, where `message` already had any
 * presigned-URL signature scrubbed. S3 answers also carry `[HTTP <status>]` (from the core) and
 * `[request-id <id>]`, so a record rebuilt from `failedReason` alone (by the sweeper) keeps them.
 */
import { UnrecoverableError } from 'bullmq';
import { isS3JobsError } from '../../shared/errors.js';
import { scrubSecrets } from '../../shared/log/logger.js';
import type { DeadLetterReason, RetryDecision } from './classify.js';

/** What a dead-letter record says about the error (see DeadLetterRecord.error). */
export interface FailureDetails {
  code: string;
  /** The message without the `CODE: ` prefix. */
  message: string;
  retryable: boolean;
  status?: number | undefined;
  requestId?: string | undefined;
}

function rawMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** `message` without a leading `CODE: ` (S3Error messages start with their code). */
function withoutCodePrefix(code: string, message: string): string {
  return message.startsWith(`${code}: `) ? message.slice(code.length + 2) : message;
}

/** The error's details for logs, `failedReason` and dead-letter records; nothing secret. */
export function failureDetails(error: unknown, code: string, retryable: boolean): FailureDetails {
  const e = error as { status?: unknown; requestId?: unknown } | null;
  const status = isS3JobsError(error) && typeof e?.status === 'number' ? e.status : undefined;
  const requestId = isS3JobsError(error) && typeof e?.requestId === 'string' && e.requestId !== '' ? e.requestId : undefined;
  let message = scrubSecrets(withoutCodePrefix(code, rawMessage(error)));
  if (requestId !== undefined && !message.includes(requestId)) message += ` [request-id ${requestId}]`;
  return { code, message, retryable, status, requestId };
}

/** `CODE: message`, the `failedReason` format. */
export function failedReasonOf(details: Pick<FailureDetails, 'code' | 'message'>): string {
  return `${details.code}: ${details.message}`;
}

/** Thrown for a retryable failure: BullMQ retries it after `s3jobsBackoffStrategy`'s delay. */
export class RetryableAttemptError extends Error {
  override name = 'RetryableAttemptError';
  readonly code: string;
  readonly retryable = true;
  /** S3's Retry-After, read by the backoff strategy as a floor. */
  readonly retryAfterMs: number | undefined;
  readonly details: FailureDetails;
  constructor(details: FailureDetails, retryAfterMs: number | undefined, cause: unknown) {
    super(failedReasonOf(details), { cause });
    this.code = details.code;
    this.retryAfterMs = retryAfterMs;
    this.details = details;
  }
}

/**
 * Thrown when the job must not be tried again: an `UnrecoverableError`, so BullMQ moves it to
 * `failed` at once whatever attempts are left; the dead-letterer then moves it to the DLQ. Its
 * `name` stays `UnrecoverableError`, which BullMQ also accepts when module copies differ.
 */
export class FinalAttemptError extends UnrecoverableError {
  readonly code: string;
  readonly reason: DeadLetterReason;
  readonly retryable: boolean;
  readonly details: FailureDetails;
  constructor(details: FailureDetails, reason: DeadLetterReason, cause: unknown) {
    super(failedReasonOf(details));
    this.name = 'UnrecoverableError';
    this.cause = cause;
    this.code = details.code;
    this.reason = reason;
    this.retryable = details.retryable;
    this.details = details;
  }
}

export function isFinalAttemptError(error: unknown): error is FinalAttemptError {
  return error instanceof FinalAttemptError;
}

/** The error to throw to BullMQ for `error`, given the classification. */
export function attemptError(error: unknown, decision: RetryDecision): RetryableAttemptError | FinalAttemptError {
  if (decision.action === 'retry') return new RetryableAttemptError(failureDetails(error, decision.code, true), decision.delayHintMs, error);
  return new FinalAttemptError(failureDetails(error, decision.code, decision.reason === 'retries-exhausted'), decision.reason, error);
}
