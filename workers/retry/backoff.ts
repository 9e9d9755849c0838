/**
 * Retry delays: exponential backoff with full jitter, capped, with S3's `Retry-After` as a floor.
 *
 *   ceiling(n) = min(maxMs, baseMs · 2^(n-1))      n = 1 for the first retry
 *   delay(n)   = max(retryAfter, uniform[0, ceiling(n)))
 *
 * Full jitter ("AWS Architecture Blog: Exponential Backoff And Jitter") spreads the retries of many
 * jobs that failed together (a SlowDown storm) instead of sending them back in lock-step. The
 * server's `Retry-After` is honoured as a minimum, clipped to `MAX_RETRY_AFTER_MS` so a bogus date
 * header cannot park a job for days.
 */
import type { BackoffStrategy, MinimalJob } from 'bullmq';

export interface BackoffPolicy {
  /** Ceiling of the first retry's delay, ms. */
  baseMs: number;
  /** Largest ceiling, ms. */
  maxMs: number;
}

export interface BackoffInputs {
  /** S3's `Retry-After`, ms: the delay is never shorter. */
  retryAfterMs?: number | undefined;
  /** Uniform in [0, 1). Default Math.random; injected by tests. */
  random?: (() => number) | undefined;
}

/** The longest `Retry-After` honoured (1 h). */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** Upper bound of the jittered delay before retry number `retry` (1-based). Pure. */
export function backoffCeiling(retry: number, policy: BackoffPolicy): number {
  const n = Math.max(1, Math.floor(retry));
  return Math.min(policy.maxMs, policy.baseMs * 2 ** (n - 1));
}

/** Delay in ms before retry number `retry` (1 = the first retry). Pure given `random`. */
export function backoffDelay(retry: number, policy: BackoffPolicy, inputs: BackoffInputs = {}): number {
  const random = inputs.random ?? Math.random;
  const jittered = Math.floor(random() * backoffCeiling(retry, policy));
  const floor = inputs.retryAfterMs === undefined || !Number.isFinite(inputs.retryAfterMs) ? 0 : Math.min(Math.max(0, inputs.retryAfterMs), MAX_RETRY_AFTER_MS);
  return Math.max(jittered, Math.ceil(floor));
}

/** The job's own backoff base (`opts.backoff.delay`, set by the producer), if any. */
function jobBaseMs(job: MinimalJob | undefined): number | undefined {
  const backoff = job?.opts?.backoff;
  const delay = typeof backoff === 'number' ? backoff : backoff?.delay;
  return typeof delay === 'number' && Number.isFinite(delay) && delay > 0 ? delay : undefined;
}

/**
 * BullMQ's `settings.backoffStrategy` for jobs whose `backoff.type` is `'s3jobs'` (what the
 * producer sets). BullMQ passes the attempts made including the failed one — which is the retry
 * number — and the error the processor threw, whose `retryAfterMs` carries S3's Retry-After.
 * `onDelay` sees every computed delay (the worker logs it).
 */
export function s3jobsBackoffStrategy(
  policy: BackoffPolicy,
  options: { random?: () => number; onDelay?: (delayMs: number, job: MinimalJob | undefined, err: Error | undefined) => void } = {},
): BackoffStrategy {
  return (attemptsMade, _type, err, job) => {
    const hint = (err as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
    const delay = backoffDelay(
      attemptsMade,
      { baseMs: jobBaseMs(job) ?? policy.baseMs, maxMs: policy.maxMs },
      { retryAfterMs: typeof hint === 'number' ? hint : undefined, random: options.random },
    );
    options.onDelay?.(delay, job, err);
    return delay;
  };
}
