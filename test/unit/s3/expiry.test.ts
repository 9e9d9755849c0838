import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../shared/errors.js';
import {
  DEFAULT_EXPIRE_SECONDS,
  type Expire,
  MAX_EXPIRE_SECONDS,
  resolveExpiry,
  UNIX_TIMESTAMP_THRESHOLD,
} from '../../../shared/s3/expiry.js';
import { expectInvalid } from '../support/expect-invalid.js';

/** The signing time of every case: 2024-05-01T12:00:00.000Z. */
const NOW = new Date('2024-05-01T12:00:00.000Z');
const NOW_S = NOW.getTime() / 1000;

describe('resolveExpiry', () => {
  it('has the documented constants', () => {
    expect(DEFAULT_EXPIRE_SECONDS).toBe(300);
    expect(MAX_EXPIRE_SECONDS).toBe(604800);
    expect(UNIX_TIMESTAMP_THRESHOLD).toBe(315529200);
  });

  it.each<[string, Expire | undefined, number]>([
    ['default', undefined, 300],
    ['delta of 1 s (minimum)', 1, 1],
    ['delta of 300 s', 300, 300],
    ['delta of 604800 s (7 days, maximum)', 604800, 604800],
    ['explicit { seconds }', { seconds: 3600 }, 3600],
    ['UNIX timestamp an hour ahead', NOW_S + 3600, 3600],
    ['UNIX timestamp exactly 7 days ahead', NOW_S + 604800, 604800],
    ['UNIX timestamp 1 s ahead', NOW_S + 1, 1],
    ['Date an hour ahead', new Date(NOW.getTime() + 3_600_000), 3600],
    ['{ until } an hour ahead', { until: new Date(NOW.getTime() + 3_600_000) }, 3600],
    ['Date 7 days ahead', new Date(NOW.getTime() + 604_800_000), 604800],
    ['Date 1 ms ahead rounds up to 1 s', new Date(NOW.getTime() + 1), 1],
    ['Date 10.2 s ahead rounds up to 11 s', new Date(NOW.getTime() + 10_200), 11],
  ])('%s → %i', (_name, expire, seconds) => {
    expect(resolveExpiry(expire, NOW)).toBe(seconds);
  });

  it('measures absolute times from the whole second X-Amz-Date will carry', () => {
    const now = new Date(NOW.getTime() + 700); // signer writes 12:00:00, not 12:00:00.700
    expect(resolveExpiry(new Date(NOW.getTime() + 10_500), now)).toBe(11); // URL lives until 12:00:11 ≥ 12:00:10.5
    expect(resolveExpiry(NOW_S + 10, now)).toBe(10);
    expect(resolveExpiry(30, now)).toBe(30); // deltas are deltas
  });

  it('reads 315529199 as a delta and 315529200 as a UNIX timestamp', () => {
    // As a delta, 315529199 s is ten years: refused as too far ahead, not as past.
    expectInvalid(() => resolveExpiry(UNIX_TIMESTAMP_THRESHOLD - 1, NOW), 'expire', /too far ahead \(a delta of 315529199 s from now\); S3 allows at most 604800 s \(7 days\)/);
    // As a timestamp, 315529200 is 1979-12-31T23:00:00Z: in the past.
    expectInvalid(() => resolveExpiry(UNIX_TIMESTAMP_THRESHOLD, NOW), 'expire', /is in the past \(UNIX timestamp 315529200 is -/);
  });

  it.each<[string, Expire, string, RegExp]>([
    ['delta of 604801 s', 604801, 'expire', /too far ahead .*604801 s.*at most 604800 s \(7 days\)/],
    ['{ seconds: 604801 }', { seconds: 604801 }, 'expire.seconds', /too far ahead/],
    ['UNIX timestamp 7 days + 1 s ahead', NOW_S + 604801, 'expire', /too far ahead/],
    ['Date 7 days + 1 ms ahead (rounds up past the limit)', new Date(NOW.getTime() + 604_800_001), 'expire', /too far ahead \(2024-05-08T12:00:00\.001Z is 604801 s from now\)/],
    ['delta of 0', 0, 'expire', /is in the past/],
    ['{ seconds: 0 }', { seconds: 0 }, 'expire.seconds', /is in the past/],
    ['UNIX timestamp now', NOW_S, 'expire', /is in the past/],
    ['UNIX timestamp an hour ago', NOW_S - 3600, 'expire', /is in the past \(UNIX timestamp \d+ is -3600 s from now\)/],
    ['Date now', NOW, 'expire', /is in the past/],
    ['Date a second ago', new Date(NOW.getTime() - 1000), 'expire', /is in the past/],
    ['{ until } a day ago', { until: new Date(NOW.getTime() - 86_400_000) }, 'expire.until', /is in the past/],
    ['negative number', -5, 'expire', /must not be negative/],
    ['fraction', 1.5, 'expire', /must be whole seconds, got 1\.5/],
    ['NaN', Number.NaN, 'expire', /must be a finite number/],
    ['Infinity', Number.POSITIVE_INFINITY, 'expire', /must be a finite number/],
    ['invalid Date', new Date('nope'), 'expire', /must be a valid Date/],
    ['{ seconds: 2.5 }', { seconds: 2.5 }, 'expire.seconds', /whole seconds/],
    ['{ until: not a date }', { until: 'tomorrow' as unknown as Date }, 'expire.until', /must be a valid Date/],
    ['string', '300' as unknown as Expire, 'expire', /must be seconds \(a number\), a Date, \{ seconds \} or \{ until: Date \}/],
    ['other object', {} as unknown as Expire, 'expire', /must be seconds/],
  ])('refuses %s', (_name, expire, field, message) => {
    expectInvalid(() => resolveExpiry(expire, NOW), field, message);
  });

  it('never clamps: the maximum is an error one second past it', () => {
    expect(resolveExpiry(MAX_EXPIRE_SECONDS, NOW)).toBe(MAX_EXPIRE_SECONDS);
    expect(() => resolveExpiry(MAX_EXPIRE_SECONDS + 1, NOW)).toThrow(ValidationError);
  });

  it('refuses an invalid signing time', () => {
    expectInvalid(() => resolveExpiry(300, new Date(Number.NaN)), 'now', /must be a valid Date/);
  });
});
