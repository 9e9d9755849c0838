import { describe, expect, it } from 'vitest';
import { DOCUMENTED_S3, PROVIDER_PROFILES } from '../../../shared/s3/store-profile.js';
import { afterWrite, mustReadTags, taggingCount, taggingHeader, userTags } from '../../../shared/s3/tag-carry.js';
import { parseTagging } from '../../../shared/s3/xml.js';

describe('the source tag count', () => {
  it('is read from x-amz-tagging-count (HEAD or GET), and unknown where the store does not send a number', () => {
    expect(taggingCount({ 'x-amz-tagging-count': '3' })).toBe(3);
    expect(taggingCount({ 'x-amz-tagging-count': ' 0 ' })).toBe(0);
    expect(taggingCount({ etag: '"e"' })).toBeUndefined();
    expect(taggingCount({ 'x-amz-tagging-count': 'many' })).toBeUndefined();
    expect(taggingCount(undefined)).toBeUndefined();
  });
});

describe('when the source tags are read', () => {
  const { aws, ceph } = PROVIDER_PROFILES;
  it('never for a CopyObject that copies them, nor for a source with none', () => {
    for (const profile of [aws, ceph, DOCUMENTED_S3]) {
      expect(mustReadTags('copy', 5, profile)).toBe(false);
      for (const write of ['replace', 'put', 'new-object'] as const) expect(mustReadTags(write, 0, profile)).toBe(false);
    }
  });
  it('for a REPLACE copy of a tagged source, unless the store is known to keep them; never on a count it does not send', () => {
    expect(mustReadTags('replace', 2, ceph)).toBe(true);
    expect(mustReadTags('replace', 2, DOCUMENTED_S3)).toBe(true);
    expect(mustReadTags('replace', 2, aws)).toBe(false);
    expect(mustReadTags('replace', undefined, ceph)).toBe(false);
  });
  it('for a new object whenever the source may have some (one small request next to a transfer)', () => {
    for (const profile of [aws, ceph, DOCUMENTED_S3]) {
      expect(mustReadTags('new-object', 1, profile)).toBe(true);
      expect(mustReadTags('new-object', undefined, profile)).toBe(true);
      expect(mustReadTags('put', undefined, profile)).toBe(true);
    }
  });
});

describe('what is done after the write', () => {
  const { aws, ceph } = PROVIDER_PROFILES;
  it('puts them where the store is known to lose them, checks where it was never checked, trusts the rest', () => {
    expect(afterWrite('replace', ceph)).toBe('put');
    expect(afterWrite('new-object', ceph)).toBe('put');
    expect(afterWrite('replace', DOCUMENTED_S3)).toBe('verify');
    expect(afterWrite('new-object', DOCUMENTED_S3)).toBe('verify');
    expect(afterWrite('replace', aws)).toBe('none');
    expect(afterWrite('new-object', aws)).toBe('none');
    for (const profile of [aws, ceph, DOCUMENTED_S3]) {
      expect(afterWrite('copy', profile)).toBe('none');
      expect(afterWrite('put', profile)).toBe('none');
    }
  });
});

describe('the x-amz-tagging header', () => {
  it('URL-encodes keys and values as a query, RFC 3986 style', () => {
    expect(taggingHeader({ team: 'média', 'cost center': 'a+b=c/d&e', empty: '', "it's": '(x)*!' })).toBe(
      "team=m%C3%A9dia&cost%20center=a%2Bb%3Dc%2Fd%26e&empty=&it%27s=%28x%29%2A%21",
    );
    expect(taggingHeader({})).toBe('');
    // What a server decoding it as a query gets back.
    const back = Object.fromEntries(new URLSearchParams(taggingHeader({ 'a b': 'c+d', k: 'ü' })));
    expect(back).toEqual({ 'a b': 'c+d', k: 'ü' });
  });
  it('leaves out aws: keys, which only AWS may write', () => {
    expect(userTags({ 'aws:cloudformation:stack-name': 's', 'AWS:x': '1', team: 'a' })).toEqual({ team: 'a' });
  });
});

describe('GET ?tagging answers', () => {
  it('an empty 200 body (Ceph RGW, tags dropped by a copy) is no tags', () => {
    expect(parseTagging('')).toEqual({});
    expect(parseTagging(' \n')).toEqual({});
    expect(() => parseTagging('<html>oops</html>')).toThrow();
  });
});
