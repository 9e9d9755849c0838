/**
 * The per-job deadline, as an AbortSignal.
 *
 * Every S3 call a job makes receives `deadline.signal`, composed with `AbortSignal.any` from:
 *   - the job's own deadline (`job.data.timeoutMs`, else the worker's `jobTimeoutMs`; `null` = none),
 *   - the outside signals the worker passes: shutdown, lost lock, BullMQ cancellation.
 * The core hands the signal to undici, so when it fires the socket is really closed — no timer
 * races a promise that keeps running.
 *
 * An abort caused by the deadline reaches the job as the core's `S3JOBS_ABORTED` ("aborted by the
 * caller"); `errorFor` turns that into the attempt's real failure, a retryable `S3JOBS_TIMEOUT`
 * "job deadline of N ms exceeded". Aborts from outside keep their own reason (`abortReason`), which
 * is how the worker tells a shutdown (requeue the job) from a timeout (retry with backoff).
 */
import { ErrorCodes, isS3JobsError, S3JobsError } from '../shared/errors.js';

/** The error a job attempt fails with when its deadline passes. */
export class JobDeadlineExceeded extends S3JobsError {
  override name = 'JobDeadlineExceeded';
  readonly timeoutMs: number;
  constructor(timeoutMs: number, cause?: unknown) {
    super(ErrorCodes.Timeout, `job deadline of ${timeoutMs} ms exceeded`, { retryable: true, cause });
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The deadline a job runs under: its own `timeoutMs` when the payload has one (`null` = none),
 * else the worker default.
 */
export function resolveJobTimeout(payloadTimeoutMs: number | null | undefined, defaultMs: number | null): number | null {
  return payloadTimeoutMs === undefined ? defaultMs : payloadTimeoutMs;
}

export interface JobDeadline {
  /** Fires at the deadline or when any outside signal fires. Pass it to every S3 call. */
  readonly signal: AbortSignal;
  /** The deadline in ms, or null when the job runs without one. */
  readonly timeoutMs: number | null;
  /** Whether the deadline (not an outside signal) has fired. */
  readonly expired: boolean;
  /** Whether `lift()` was called. */
  readonly lifted: boolean;
  /**
   * Removes the deadline for the rest of the job and returns a signal of the outside signals only
   * (shutdown, lost lock, cancellation). Used for large transfers, which are guarded by the
   * per-request inactivity timeout and BullMQ's lock instead.
   */
  lift(): AbortSignal;
  /** The reason of the first outside signal that fired, if any. */
  abortReason(): unknown;
  /** The error the attempt failed with: an abort caused by the deadline becomes JobDeadlineExceeded. */
  errorFor(error: unknown): unknown;
  /** Clears the timer. Call when the job ends. */
  dispose(): void;
}

export interface JobDeadlineOptions {
  timeoutMs: number | null;
  /** Outside reasons to stop: shutdown, lost lock, cancellation. */
  signals?: readonly (AbortSignal | undefined)[];
}

function anyOf(signals: readonly AbortSignal[]): AbortSignal {
  if (signals.length === 0) return new AbortController().signal; // never fires
  if (signals.length === 1) return signals[0]!;
  return AbortSignal.any([...signals]);
}

function isAbortOf(error: unknown): boolean {
  if (isS3JobsError(error) && error.code === ErrorCodes.Aborted) return true;
  const e = error as { name?: unknown; code?: unknown } | null;
  return e?.name === 'AbortError' || e?.code === 'ABORT_ERR' || error instanceof JobDeadlineExceeded;
}

export function createJobDeadline(options: JobDeadlineOptions): JobDeadline {
  const outside = (options.signals ?? []).filter((s): s is AbortSignal => s !== undefined);
  const outsideSignal = anyOf(outside);
  const timeoutMs = options.timeoutMs;
  if (timeoutMs !== null && (!Number.isFinite(timeoutMs) || timeoutMs <= 0)) throw new RangeError(`timeoutMs must be a positive number of ms or null; got ${timeoutMs}`);
  const deadline = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let lifted = false;
  if (timeoutMs !== null) {
    timer = setTimeout(() => deadline.abort(new JobDeadlineExceeded(timeoutMs)), timeoutMs);
    timer.unref();
  }
  const signal = anyOf([deadline.signal, ...outside]);
  return {
    signal,
    timeoutMs,
    get expired() {
      return deadline.signal.aborted;
    },
    get lifted() {
      return lifted;
    },
    lift() {
      lifted = true;
      clearTimeout(timer);
      return outsideSignal;
    },
    abortReason() {
      return outside.find((s) => s.aborted)?.reason;
    },
    errorFor(error) {
      // An outside abort wins: the job was stopped on purpose, not timed out.
      if (outside.some((s) => s.aborted)) return error;
      if (deadline.signal.aborted && timeoutMs !== null && isAbortOf(error)) return error instanceof JobDeadlineExceeded ? error : new JobDeadlineExceeded(timeoutMs, error);
      return error;
    },
    dispose() {
      clearTimeout(timer);
    },
  };
}
