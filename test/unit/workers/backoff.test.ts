import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay, MAX_RETRY_AFTER_MS, s3jobsBackoffStrategy } from '../../../workers/retry/backoff.js';

const policy = { baseMs: 100, maxMs: 1_000 };
const top = () => 0.999999;
const bottom = () => 0;

describe('backoffDelay', () => {
  it('grows exponentially from the base, doubling per retry', () => {
    expect([1, 2, 3, 4].map((n) => backoffCeiling(n, policy))).toEqual([100, 200, 400, 800]);
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, policy, { random: top }))).toEqual([99, 199, 399, 799]);
  });

  it('is capped at maxMs, however many retries', () => {
    expect(backoffCeiling(5, policy)).toBe(1_000);
    expect(backoffCeiling(100, policy)).toBe(1_000);
    expect(backoffDelay(60, policy, { random: top })).toBeLessThan(1_000);
  });

  it('uses full jitter: anywhere in [0, ceiling)', () => {
    expect(backoffDelay(3, policy, { random: bottom })).toBe(0);
    expect(backoffDelay(3, policy, { random: () => 0.5 })).toBe(200);
    let seed = 1;
    const lcg = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const delays = Array.from({ length: 2000 }, () => backoffDelay(4, policy, { random: lcg }));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(800);
    // Spread out, not clustered: both halves of the range are used.
    expect(delays.filter((d) => d < 400).length).toBeGreaterThan(800);
    expect(delays.filter((d) => d >= 400).length).toBeGreaterThan(800);
  });

  it('never goes below S3 Retry-After', () => {
    expect(backoffDelay(1, policy, { random: bottom, retryAfterMs: 2_000 })).toBe(2_000);
    // Above the cap too: the server's word wins over our ceiling.
    expect(backoffDelay(10, policy, { random: top, retryAfterMs: 5_000 })).toBe(5_000);
    // A longer jittered delay is kept.
    expect(backoffDelay(4, policy, { random: top, retryAfterMs: 10 })).toBe(799);
  });

  it('clips an absurd Retry-After and ignores a meaningless one', () => {
    expect(backoffDelay(1, policy, { random: bottom, retryAfterMs: 10 * 24 * 3600 * 1000 })).toBe(MAX_RETRY_AFTER_MS);
    expect(backoffDelay(1, policy, { random: bottom, retryAfterMs: Number.NaN })).toBe(0);
    expect(backoffDelay(1, policy, { random: bottom, retryAfterMs: -5 })).toBe(0);
  });
});

describe('s3jobsBackoffStrategy (BullMQ settings.backoffStrategy)', () => {
  it("uses the job's own backoff base and the error's Retry-After", async () => {
    const seen: number[] = [];
    const strategy = s3jobsBackoffStrategy(policy, { random: top, onDelay: (d) => seen.push(d) });
    const job = { opts: { backoff: { type: 's3jobs', delay: 10 } } } as never;
    expect(await strategy(3, 's3jobs', new Error('x'), job)).toBe(39);
    const slowDown = Object.assign(new Error('SlowDown'), { retryAfterMs: 1_000 });
    expect(await strategy(1, 's3jobs', slowDown, job)).toBe(1_000);
    expect(await strategy(1, 's3jobs', new Error('x'), undefined)).toBe(99);
    expect(seen).toEqual([39, 1_000, 99]);
  });
});
