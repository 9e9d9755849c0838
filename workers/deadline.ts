/**
 * The per-job deadline, as an AbortSignal.
 *
 * Every S3 call a job makes receives `deadline.signal`, which fires at the first of:
 *   - the job's own deadline (`job.data.timeoutMs`, else the worker's `jobTimeoutMs`; `null` = none),
 *   - a stop from outside: the signals the worker passes (shutdown, BullMQ cancellation) or
 *     `abort()` (a lost lock),
 * with that one's reason. The core hands the signal to undici, so when it fires the socket is
 * really closed — no timer races a promise that keeps running.
 *
 * Composed by hand rather than with `AbortSignal.any`, which in Node 20 costs 10-20 µs a call (a
 * new signal, weak references kept by every source, the worker's long-lived shutdown signal among
 * them): twice per job, that was ~23 µs of worker CPU per copy against a canned-answer S3 (~200 µs).
 * Here each outside signal carries one 'abort' listener however many jobs follow it (no
 * MaxListenersExceededWarning on the shutdown signal at concurrency 32), and `dispose()` detaches
 * the job from them.
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
    // Which S3 request was waiting when the deadline passed, so a hung store is named as such.
    const inFlight = (cause as { endpoint?: unknown; request?: unknown } | undefined) ?? {};
    const where = typeof inFlight.endpoint === 'string' && typeof inFlight.request === 'string' ? ` (waiting for S3 ${inFlight.endpoint}: ${inFlight.request})` : '';
    super(ErrorCodes.Timeout, `job deadline of ${timeoutMs} ms exceeded${where}`, { retryable: true, cause });
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
  /** Fires at the deadline or at a stop from outside. Pass it to every S3 call. */
  readonly signal: AbortSignal;
  /** The deadline in ms, or null when the job runs without one. */
  readonly timeoutMs: number | null;
  /** Whether the deadline (not a stop from outside) has fired. */
  readonly expired: boolean;
  /** Whether `lift()` was called. */
  readonly lifted: boolean;
  /**
   * Removes the deadline for the rest of the job and returns a signal of the outside signals only
   * (shutdown, lost lock, cancellation). Used for large transfers, which are guarded by the
   * per-request inactivity timeout and BullMQ's lock instead.
   */
  lift(): AbortSignal;
  /**
   * Stops the job from outside with `reason` (a lost lock), as an outside signal would: without
   * an AbortSignal of its own per job (a new one costs ~3 µs in Node 20). The first stop wins.
   */
  abort(reason?: unknown): void;
  /** Why the job was stopped from outside, if it was: the reason given to `abort()`, else that of the first of `signals` (in their order) that fired. */
  abortReason(): unknown;
  /** The error the attempt failed with: an abort caused by the deadline becomes JobDeadlineExceeded. */
  errorFor(error: unknown): unknown;
  /** Clears the timer and stops following the outside signals. Call when the job ends. */
  dispose(): void;
}

export interface JobDeadlineOptions {
  timeoutMs: number | null;
  /** Outside reasons to stop: shutdown, cancellation (a lost lock comes through `abort()`). */
  signals?: readonly (AbortSignal | undefined)[];
}

/** Per outside signal, the controllers following it: the signal carries one 'abort' listener for all. */
const followers = new WeakMap<AbortSignal, Set<AbortController>>();

function followersOf(signal: AbortSignal): Set<AbortController> {
  let set = followers.get(signal);
  if (set === undefined) {
    const created = new Set<AbortController>();
    followers.set(signal, created);
    // A signal aborts once; the listener goes with the signal.
    signal.addEventListener('abort', () => {
      const all = [...created];
      created.clear();
      for (const controller of all) controller.abort(signal.reason);
    });
    set = created;
  }
  return set;
}

/**
 * A controller aborted, with the reason, by the first of `signals` to abort — at once if one has.
 * `detach()` stops following them.
 */
class Composite {
  readonly controller = new AbortController();
  #following: Set<AbortController>[] = [];

  constructor(signals: readonly AbortSignal[]) {
    for (const s of signals) {
      if (s.aborted) {
        this.controller.abort(s.reason);
        this.detach();
        return;
      }
      const set = followersOf(s);
      set.add(this.controller);
      this.#following.push(set);
    }
  }

  detach(): void {
    for (const set of this.#following) set.delete(this.controller);
    this.#following = [];
  }
}

function isAbortOf(error: unknown): boolean {
  if (isS3JobsError(error) && error.code === ErrorCodes.Aborted) return true;
  const e = error as { name?: unknown; code?: unknown } | null;
  return e?.name === 'AbortError' || e?.code === 'ABORT_ERR' || error instanceof JobDeadlineExceeded;
}

export function createJobDeadline(options: JobDeadlineOptions): JobDeadline {
  const outside = (options.signals ?? []).filter((s): s is AbortSignal => s !== undefined);
  const timeoutMs = options.timeoutMs;
  if (timeoutMs !== null && (!Number.isFinite(timeoutMs) || timeoutMs <= 0)) throw new RangeError(`timeoutMs must be a positive number of ms or null; got ${timeoutMs}`);
  // One controller for the deadline and the outside signals: the timer aborts it with
  // JobDeadlineExceeded, an outside signal with its own reason, whichever comes first.
  const combined = new Composite(outside);
  let expired = false;
  let timer: NodeJS.Timeout | undefined;
  let lifted = false;
  if (timeoutMs !== null) {
    timer = setTimeout(() => {
      expired = true;
      combined.controller.abort(new JobDeadlineExceeded(timeoutMs));
    }, timeoutMs);
    timer.unref();
  }
  // The outside signals alone, for `lift()`; built on first use (large transfers only).
  let outsideOnly: Composite | undefined;
  let stopped: { reason: unknown } | undefined;
  return {
    signal: combined.controller.signal,
    timeoutMs,
    get expired() {
      return expired;
    },
    get lifted() {
      return lifted;
    },
    lift() {
      lifted = true;
      clearTimeout(timer);
      if (outsideOnly === undefined) {
        outsideOnly = new Composite(outside); // none: never fires
        if (stopped !== undefined) outsideOnly.controller.abort(stopped.reason);
      }
      return outsideOnly.controller.signal;
    },
    abort(reason) {
      if (stopped !== undefined) return;
      // As AbortController.abort(): no reason is an AbortError.
      stopped = { reason: reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason };
      combined.controller.abort(stopped.reason);
      outsideOnly?.controller.abort(stopped.reason);
    },
    abortReason() {
      return stopped !== undefined ? stopped.reason : outside.find((s) => s.aborted)?.reason;
    },
    errorFor(error) {
      // An outside abort wins: the job was stopped on purpose, not timed out.
      if (stopped !== undefined || outside.some((s) => s.aborted)) return error;
      if (expired && timeoutMs !== null && isAbortOf(error)) return error instanceof JobDeadlineExceeded ? error : new JobDeadlineExceeded(timeoutMs, error);
      return error;
    },
    dispose() {
      clearTimeout(timer);
      combined.detach();
      outsideOnly?.detach();
    },
  };
}
