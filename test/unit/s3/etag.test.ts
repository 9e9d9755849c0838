import { describe, expect, it } from 'vitest';
import { bareEtag, quoteEtag, sameEtag } from '../../../shared/s3/etag.js';

describe('quoteEtag: the one ETag form s3jobs returns', () => {
  it.each([
    ['9b2cf535f27731c974343645a3985328', '"9b2cf535f27731c974343645a3985328"'],
    ['"9b2cf535f27731c974343645a3985328"', '"9b2cf535f27731c974343645a3985328"'],
    ['3858f62230ac3c915f300c664312c11f-9', '"3858f62230ac3c915f300c664312c11f-9"'],
    ['"3858f62230ac3c915f300c664312c11f-9"', '"3858f62230ac3c915f300c664312c11f-9"'],
    ['W/"abc"', '"abc"'],
    [' "abc" ', '"abc"'],
    ['', ''],
    ['""', ''],
  ])('%j → %j', (input, expected) => {
    expect(quoteEtag(input)).toBe(expected);
    // Idempotent: quoting a quoted ETag changes nothing.
    expect(quoteEtag(quoteEtag(input))).toBe(expected);
  });

  it('bareEtag strips quotes and the weak marker only', () => {
    expect(bareEtag('"abc-2"')).toBe('abc-2');
    expect(bareEtag('abc')).toBe('abc');
    expect(bareEtag('W/"abc"')).toBe('abc');
    // A lone quote is not a quoted ETag: left as it is.
    expect(bareEtag('"abc')).toBe('"abc');
  });

  it('sameEtag compares either form, hex case-blind', () => {
    expect(sameEtag('"ABC"', 'abc')).toBe(true);
    expect(sameEtag('abc-2', '"abc-2"')).toBe(true);
    expect(sameEtag('"abc"', '"abd"')).toBe(false);
    expect(sameEtag('abc', 'abc-1')).toBe(false);
  });
});
