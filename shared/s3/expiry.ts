/**
 * Expiry of presigned URLs: turns what a caller means by "until when" into SigV4's `X-Amz-Expires`.
 *
 * S3 accepts `X-Amz-Expires` from 1 to 604800 seconds (7 days), counted from `X-Amz-Date`. A request
 * outside that range is refused here with a `ValidationError` — never clamped, because a URL that
 * silently dies sooner than asked is worse than an error.
 *
 * Pure: the clock is a parameter.
 */
import { ValidationError } from '../errors.js';

/**
 * When a presigned URL should expire.
 *
 * - `number`: whole seconds. Below `UNIX_TIMESTAMP_THRESHOLD` it is a delta ("300" = in five
 *   minutes); from it on, a UNIX timestamp in seconds (UTC). This is the seed's rule (simples3); the
 *   threshold is 1980-01-01 00:00 CET, far above any useful delta and below any useful timestamp.
 * - `Date`: an absolute instant.
 * - `{ seconds }`: an explicit delta, never read as a timestamp.
 * - `{ until }`: an explicit instant (same as a `Date`).
 */
export type Expire = number | Date | { seconds: number } | { until: Date };

/** Expiry when none is given: five minutes. */
export const DEFAULT_EXPIRE_SECONDS = 300;

/** The longest `X-Amz-Expires` S3 accepts for SigV4: 7 days. */
export const MAX_EXPIRE_SECONDS = 604_800;

/** Numbers at or above this are UNIX timestamps (seconds), below it deltas. */
export const UNIX_TIMESTAMP_THRESHOLD = 315_529_200;

/**
 * The `X-Amz-Expires` value (whole seconds, 1..604800) for `expire`, given the signing time `now`.
 *
 * `now` must be the instant the signer writes into `X-Amz-Date`. That header has whole seconds, so
 * absolute expiries are measured from `now` rounded down to the second, and the difference is rounded
 * up: the URL stays valid at least until the instant asked for, and at most one second longer.
 *
 * @throws ValidationError (field `expire`) when the value is not a valid form, is in the past or
 *   now, or lies more than 604800 s (7 days) ahead.
 */
export function resolveExpiry(expire: Expire | undefined, now: Date): number {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new ValidationError('now', 'must be a valid Date (the signing time)');
  }
  const nowSeconds = Math.floor(now.getTime() / 1000);

  if (expire === undefined) return DEFAULT_EXPIRE_SECONDS;
  if (typeof expire === 'number') {
    assertWholeSeconds(expire, 'expire');
    if (expire < UNIX_TIMESTAMP_THRESHOLD) return checkRange(expire, 'expire', 'a delta of');
    return checkRange(expire - nowSeconds, 'expire', `UNIX timestamp ${expire} is`);
  }
  if (expire instanceof Date) return fromInstant(expire, nowSeconds, 'expire');
  if (typeof expire === 'object' && expire !== null) {
    if ('seconds' in expire) {
      assertWholeSeconds(expire.seconds, 'expire.seconds');
      return checkRange(expire.seconds, 'expire.seconds', 'a delta of');
    }
    if ('until' in expire) return fromInstant(expire.until, nowSeconds, 'expire.until');
  }
  throw new ValidationError('expire', 'must be seconds (a number), a Date, { seconds } or { until: Date }');
}

function fromInstant(at: unknown, nowSeconds: number, field: string): number {
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
    throw new ValidationError(field, 'must be a valid Date');
  }
  return checkRange(Math.ceil(at.getTime() / 1000) - nowSeconds, field, `${at.toISOString()} is`);
}

function assertWholeSeconds(value: unknown, field: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ValidationError(field, `must be a finite number of seconds, got ${String(value)}`);
  }
  if (!Number.isInteger(value)) {
    throw new ValidationError(field, `must be whole seconds, got ${value}`);
  }
  if (value < 0) {
    throw new ValidationError(field, `must not be negative, got ${value}; give a delta in seconds or a UNIX timestamp`);
  }
}

/** `what` reads as the start of a sentence about the value: "a delta of", "2024-… is". */
function checkRange(seconds: number, field: string, what: string): number {
  if (seconds <= 0) {
    throw new ValidationError(field, `is in the past (${what} ${seconds} s from now); a presigned URL must expire 1 to ${MAX_EXPIRE_SECONDS} s (7 days) ahead`);
  }
  if (seconds > MAX_EXPIRE_SECONDS) {
    throw new ValidationError(field, `is too far ahead (${what} ${seconds} s from now); S3 allows at most ${MAX_EXPIRE_SECONDS} s (7 days)`);
  }
  return seconds;
}
