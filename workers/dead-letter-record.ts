/**
 * Building the dead-letter record of a job that failed for good. Pure: the dead-letterer reads the
 * job from Redis and hands the fields here.
 *
 * Two sources of truth are merged: the failure details the worker had in memory when the attempt
 * failed (`FinalAttemptError.details`), and — when there is none (a job BullMQ failed itself, a
 * failure recorded by a worker that died before dead-lettering it) — the job's `failedReason`
 * string, which the worker always writes as `CODE: message [HTTP n] [request-id x]`.
 */
import { S3JobsError } from '../shared/errors.js';
import { JOB_KINDS, type JobKind } from '../shared/jobs/payloads.js';
import type { DeadLetterRecord } from '../shared/queue/dead-letter.js';
import type { FailureDetails } from './retry/attempt-errors.js';
import { classify, type DeadLetterReason } from './retry/classify.js';
import { BULLMQ_STALLED_REASON, WorkerErrorCodes } from './retry/codes.js';

/** The fields of a failed BullMQ job the record is built from. */
export interface FailedJobView {
  id: string;
  name: string;
  data: unknown;
  /** Attempts made, the failed one included (BullMQ's `attemptsMade` once the job is failed). */
  attemptsMade: number;
  /** Attempts allowed (`opts.attempts`, default 1). */
  attempts: number;
  /** When the job was added (ms). */
  timestamp: number;
  finishedOn?: number | undefined;
  failedReason?: string | undefined;
}

/** Reads `CODE: message [HTTP n] [request-id x]` back into its parts. Pure. */
export function parseFailedReason(reason: string | undefined): Omit<FailureDetails, 'retryable'> {
  const text = reason ?? '';
  if (text === BULLMQ_STALLED_REASON) return { code: WorkerErrorCodes.Stalled, message: `${text} (the worker running it kept crashing or losing its lock)` };
  const m = /^([A-Za-z0-9_]+): ([\s\S]*)$/.exec(text);
  if (m === null) return { code: WorkerErrorCodes.Unexpected, message: text === '' ? 'no failure reason recorded' : text };
  const message = m[2]!;
  const status = /\[HTTP (\d{3})\]/.exec(message)?.[1];
  const requestId = /\[request-id ([^\]\s]+)\]/.exec(message)?.[1];
  return { code: m[1]!, message, status: status === undefined ? undefined : Number(status), requestId };
}

/** Why the job is dead: what the worker decided, else what `classify` says of the recorded error. */
export function reasonFor(details: Omit<FailureDetails, 'retryable'>, attemptsMade: number, attempts: number): DeadLetterReason {
  const pseudo = Object.assign(new S3JobsError(details.code, details.message, { retryable: false }), details.status === undefined ? {} : { status: details.status });
  const decision = classify(pseudo, { attemptsMade, attempts });
  // A job in `failed` whose error would have been retried ran out of attempts one way or another.
  return decision.action === 'retry' ? 'retries-exhausted' : decision.reason;
}

function kindOf(data: unknown): JobKind | undefined {
  const kind = (data as { kind?: unknown } | null)?.kind;
  return typeof kind === 'string' && (JOB_KINDS as readonly string[]).includes(kind) ? (kind as JobKind) : undefined;
}

function runIdOf(data: unknown): string | undefined {
  const runId = (data as { runId?: unknown } | null)?.runId;
  return typeof runId === 'string' ? runId : undefined;
}

/**
 * The record for `job`. `known` is what the failing worker knew (more precise than the string);
 * `now` is the dead-lettering time.
 */
export function buildDeadLetterRecord(job: FailedJobView, queue: string, now: number, known?: { details: FailureDetails; reason: DeadLetterReason }): DeadLetterRecord {
  const parsed = parseFailedReason(job.failedReason);
  const reason = known?.reason ?? reasonFor(parsed, job.attemptsMade, job.attempts);
  const details: FailureDetails = known?.details ?? { ...parsed, retryable: reason === 'retries-exhausted' };
  return {
    jobId: job.id,
    queue,
    name: job.name,
    kind: kindOf(job.data),
    // The payload exactly as it was queued, even when malformed: a fix-and-retry starts from it.
    payload: job.data,
    error: {
      code: details.code,
      message: details.message,
      retryable: details.retryable,
      ...(details.status === undefined ? {} : { status: details.status }),
      ...(details.requestId === undefined ? {} : { requestId: details.requestId }),
    },
    attemptsMade: job.attemptsMade,
    reason,
    enqueuedAt: job.timestamp,
    failedAt: job.finishedOn ?? now,
    deadLetteredAt: now,
    ...(runIdOf(job.data) === undefined ? {} : { runId: runIdOf(job.data) }),
  };
}

/** Whether a stored dead-letter record describes this very failure (not an earlier one of the same id). */
export function isSameFailure(stored: unknown, record: Pick<DeadLetterRecord, 'jobId' | 'queue' | 'failedAt'>): boolean {
  const s = stored as Partial<DeadLetterRecord> | null;
  return s?.jobId === record.jobId && s.queue === record.queue && s.failedAt === record.failedAt;
}
