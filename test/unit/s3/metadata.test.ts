import { describe, expect, it } from 'vitest';
import {
  decodeMetadataValue,
  type Metadata,
  type MetadataChange,
  metadataFromHeaders,
  metadataHeaders,
  normalizeMetadata,
  objectHeadFromHeaders,
  type ObjectHead,
  planCopyHeaders,
  planMetadataRewrite,
  SYSTEM_HEADERS,
  systemHeadersFrom,
} from '../../../shared/s3/metadata.js';
import { expectInvalid } from '../support/expect-invalid.js';

const b64 = (s: string) => `=?UTF-8?B?${Buffer.from(s, 'utf8').toString('base64')}?=`;

describe('normalizeMetadata', () => {
  it.each<[string, Metadata, Metadata]>([
    ['empty', {}, {}],
    ['ASCII kept as is', { note: 'hello world' }, { note: 'hello world' }],
    ['names lower-cased', { 'X-Note': 'a', Owner: 'b' }, { 'x-note': 'a', owner: 'b' }],
    ['token punctuation in names', { "a!#$%&'*+-.^_`|~9": 'v' }, { "a!#$%&'*+-.^_`|~9": 'v' }],
    ['empty value', { empty: '' }, { empty: '' }],
    ['printable ASCII punctuation', { v: 'a=b; c="d" (e) <f> =?' }, { v: 'a=b; c="d" (e) <f> =?' }],
    ['non-ASCII encoded', { city: 'Zürich' }, { city: b64('Zürich') }],
    ['CJK and emoji encoded', { t: '日本語 😀' }, { t: b64('日本語 😀') }],
    ['leading blank encoded (HTTP would strip it)', { v: ' x' }, { v: b64(' x') }],
    ['trailing blank encoded', { v: 'x ' }, { v: b64('x ') }],
    ['a literal encoded word passes through', { v: '=?UTF-8?B?aGk=?=' }, { v: '=?UTF-8?B?aGk=?=' }],
  ])('%s', (_name, input, expected) => {
    expect(normalizeMetadata(input)).toEqual(expected);
  });

  it('is idempotent', () => {
    const once = normalizeMetadata({ A: 'Zürich', b: ' pad ', c: 'plain' });
    expect(normalizeMetadata(once)).toEqual(once);
  });

  it('does not mutate its input', () => {
    const input = { Name: 'é' };
    normalizeMetadata(input);
    expect(input).toEqual({ Name: 'é' });
  });

  it('keeps names that are special in JavaScript as own properties', () => {
    const input = JSON.parse('{"__proto__":"x","constructor":"y"}') as Metadata;
    const out = normalizeMetadata(input);
    expect(Object.keys(out)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(metadataHeaders(input)).toEqual({ 'x-amz-meta-__proto__': 'x', 'x-amz-meta-constructor': 'y' });
  });

  it.each<[string, unknown, string, RegExp]>([
    ['empty name', { '': 'v' }, 'metadata', /empty name/],
    ['space in name', { 'a b': 'v' }, 'metadata.a b', /not a valid metadata name; names are HTTP token characters/],
    ['colon in name', { 'a:b': 'v' }, 'metadata.a:b', /HTTP token/],
    ['parenthesis in name', { '(a)': 'v' }, 'metadata.(a)', /HTTP token/],
    ['non-ASCII name', { 'näme': 'v' }, 'metadata.näme', /HTTP token/],
    ['prefixed name', { 'x-amz-meta-foo': 'v' }, 'metadata.x-amz-meta-foo', /without the "x-amz-meta-" prefix/],
    ['names differing by case', { Foo: '1', foo: '2' }, 'metadata', /"Foo" and "foo" differ only by case/],
    ['number value', { a: 1 }, 'metadata.a', /must be a string, got number/],
    ['null value', { a: null }, 'metadata.a', /must be a string, got null/],
    ['newline in value', { a: 'x\ny' }, 'metadata.a', /control character U\+000A; metadata values must be printable/],
    ['tab in value', { a: 'x\ty' }, 'metadata.a', /U\+0009/],
    ['NUL in value', { a: '\u0000' }, 'metadata.a', /U\+0000/],
    ['DEL in value', { a: '\u007f' }, 'metadata.a', /U\+007F/],
    ['C1 control in value', { a: 'x\u0085' }, 'metadata.a', /U\+0085/],
    ['unpaired surrogate', { a: '\ud83d' }, 'metadata.a', /unpaired UTF-16 surrogate/],
    ['not an object', 'a=b', 'metadata', /must be an object/],
    ['an array', [['a', 'b']], 'metadata', /must be an object/],
    ['null', null, 'metadata', /must be an object/],
  ])('refuses %s', (_name, input, field, message) => {
    expectInvalid(() => normalizeMetadata(input), field, message);
  });

  it('names the field it is given', () => {
    expectInvalid(() => normalizeMetadata({ 'a b': 'v' }, 'job.metadata'), 'job.metadata.a b', /HTTP token/);
  });

  describe('2 KB limit (names + values, UTF-8 bytes, after encoding)', () => {
    it('accepts exactly 2048 bytes', () => {
      // name "n" (1 byte) + 2047-byte value
      expect(() => normalizeMetadata({ n: 'v'.repeat(2047) })).not.toThrow();
      expect(() => normalizeMetadata({ a: 'x'.repeat(1023), b: 'y'.repeat(1023) })).not.toThrow();
    });

    it('refuses 2049 bytes, saying the size and the limit', () => {
      expectInvalid(() => normalizeMetadata({ n: 'v'.repeat(2048) }), 'metadata', /is 2049 bytes \(names \+ values, UTF-8, after encoding\); S3 allows at most 2048/);
      expectInvalid(() => normalizeMetadata({ a: 'x'.repeat(1023), bb: 'y'.repeat(1023) }), 'metadata', /2049 bytes/);
    });

    it('counts encoded values, not the original characters', () => {
      // 'é' is 2 bytes; 600 of them are 1200 bytes, but base64 makes 1600 + 12 bytes of wrapper.
      const value = 'é'.repeat(600);
      const encoded = normalizeMetadata({ n: value }).n ?? '';
      expect(encoded.length).toBe(1612);
      expect(() => normalizeMetadata({ n: value, m: 'x'.repeat(2048 - 1 - 1612 - 1) })).not.toThrow();
      expectInvalid(() => normalizeMetadata({ n: value, m: 'x'.repeat(2048 - 1 - 1612) }), 'metadata', /2049 bytes/);
    });

    it('counts names lower-cased, without the x-amz-meta- prefix', () => {
      expect(() => normalizeMetadata({ NAME: 'v'.repeat(2044) })).not.toThrow();
    });
  });
});

describe('decodeMetadataValue', () => {
  it.each<[string, string, string]>([
    ['plain text', 'hello world', 'hello world'],
    ['empty', '', ''],
    ['B, UTF-8', '=?UTF-8?B?WsO8cmljaA==?=', 'Zürich'],
    ['B, lower-case charset and encoding', '=?utf-8?b?WsO8cmljaA==?=', 'Zürich'],
    ['Q, underscores and hex', '=?UTF-8?Q?Z=C3=BCrich_ist_sch=C3=B6n?=', 'Zürich ist schön'],
    ['Q, ISO-8859-1', '=?ISO-8859-1?Q?caf=E9?=', 'café'],
    ['B, emoji', `=?UTF-8?B?${Buffer.from('😀').toString('base64')}?=`, '😀'],
    ['adjacent words: the blank between them is dropped', '=?UTF-8?B?YQ==?= =?UTF-8?B?Yg==?=', 'ab'],
    ['text around a word is kept', 'x =?UTF-8?Q?=C3=A9?= y', 'x é y'],
    ['RFC 2231 language suffix', '=?UTF-8*en?Q?hi?=', 'hi'],
    ['unknown charset left as is', '=?X-NOPE?B?YQ==?=', '=?X-NOPE?B?YQ==?='],
    ['invalid base64 left as is', '=?UTF-8?B?*?=', '=?UTF-8?B?*?='],
    ['invalid UTF-8 bytes left as is', '=?UTF-8?Q?=FF?=', '=?UTF-8?Q?=FF?='],
    ['broken Q escape left as is', '=?UTF-8?Q?=G1?=', '=?UTF-8?Q?=G1?='],
    // The S3 User Guide's own example: a raw UTF-8 header read as Latin-1, then encoded. Decoding
    // faithfully gives the mojibake, which is why we never send raw non-ASCII.
    ['S3 guide example (double-encoded by S3)', '=?UTF-8?B?w4PChE3Dg8KEWsODwpXDg8KRIFMz?=', 'Ã\u0084MÃ\u0084ZÃ\u0095Ã\u0091 S3'],
  ])('%s', (_name, input, expected) => {
    expect(decodeMetadataValue(input)).toBe(expected);
  });

  it.each([
    ['ASCII', 'plain value'],
    ['Latin', 'Zürich, Ærøskøbing, ça va'],
    ['CJK', '日本語のメタデータ'],
    ['emoji and combining marks', '😀👍🏽 e\u0301'],
    ['blanks at both ends', '  padded  '],
    ['mixed', 'a=?b ?= ü'],
    ['base64 padding edge', 'éé'],
  ])('round-trips %s through headers', (_name, value) => {
    const headers = metadataHeaders({ Key: value });
    expect(Object.values(headers).every((v) => /^[\x20-\x7e]*$/.test(v))).toBe(true);
    expect(metadataFromHeaders(headers)).toEqual({ key: value });
  });
});

describe('metadataHeaders / metadataFromHeaders', () => {
  it('prefixes, lower-cases and encodes', () => {
    expect(metadataHeaders({ Owner: 'me', City: 'Zürich' })).toEqual({
      'x-amz-meta-owner': 'me',
      'x-amz-meta-city': b64('Zürich'),
    });
  });

  it('validates like normalizeMetadata', () => {
    expectInvalid(() => metadataHeaders({ a: 'x\ny' }), 'metadata.a', /U\+000A/);
  });

  it('reads only x-amz-meta-* headers, any case, decoded', () => {
    expect(
      metadataFromHeaders({
        'X-Amz-Meta-Owner': 'me',
        'x-amz-meta-city': '=?UTF-8?B?WsO8cmljaA==?=',
        'x-amz-meta-': 'no name',
        'x-amz-missing-meta': '2',
        'content-type': 'text/plain',
        etag: '"abc"',
      }),
    ).toEqual({ owner: 'me', city: 'Zürich' });
  });
});

describe('systemHeadersFrom', () => {
  it('picks the system headers a REPLACE drops, lower-cased', () => {
    expect(
      systemHeadersFrom({
        'Content-Type': 'text/html',
        'cache-control': 'max-age=60',
        'content-disposition': 'attachment',
        'content-encoding': 'gzip',
        'content-language': 'de',
        expires: 'Thu, 01 Dec 2044 16:00:00 GMT',
        'x-amz-website-redirect-location': '/other',
        'x-amz-storage-class': 'STANDARD_IA',
        'content-length': '10',
        etag: '"abc"',
        'last-modified': 'Wed, 01 May 2024 12:00:00 GMT',
        'x-amz-meta-a': '1',
        'x-amz-acl': 'private',
      }),
    ).toEqual({
      'content-type': 'text/html',
      'cache-control': 'max-age=60',
      'content-disposition': 'attachment',
      'content-encoding': 'gzip',
      'content-language': 'de',
      expires: 'Thu, 01 Dec 2044 16:00:00 GMT',
      'x-amz-website-redirect-location': '/other',
      'x-amz-storage-class': 'STANDARD_IA',
    });
  });

  it('leaves out what HEAD did not send (no storage class for STANDARD)', () => {
    expect(systemHeadersFrom({ 'content-type': 'text/plain', 'content-length': '1' })).toEqual({ 'content-type': 'text/plain' });
  });

  it('lists the documented headers', () => {
    expect([...SYSTEM_HEADERS].sort()).toEqual(
      ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'content-type', 'expires', 'x-amz-storage-class', 'x-amz-website-redirect-location'].sort(),
    );
  });
});

/** A HEAD of a STANDARD object with two metadata entries, one non-ASCII. */
const HEAD_HEADERS: Record<string, string> = {
  'content-type': 'text/plain',
  'cache-control': 'max-age=60',
  'content-disposition': 'inline; filename="a.txt"',
  'content-length': '5',
  etag: '"abc"',
  'last-modified': 'Wed, 01 May 2024 12:00:00 GMT',
  'x-amz-meta-a': '1',
  'x-amz-meta-b': b64('två'),
};
const HEAD: ObjectHead = objectHeadFromHeaders(HEAD_HEADERS);
const CURRENT_SYSTEM = { 'content-type': 'text/plain', 'cache-control': 'max-age=60', 'content-disposition': 'inline; filename="a.txt"' };

/** The same object stored as STANDARD_IA with a website redirect and an Expires. */
const IA_HEAD: ObjectHead = objectHeadFromHeaders({
  ...HEAD_HEADERS,
  'x-amz-storage-class': 'STANDARD_IA',
  'x-amz-website-redirect-location': '/new-home',
  expires: 'Thu, 01 Dec 2044 16:00:00 GMT',
});

describe('objectHeadFromHeaders', () => {
  it('decodes metadata and lower-cases header names', () => {
    const head = objectHeadFromHeaders({ 'Content-Type': 'a/b', 'X-Amz-Meta-B': b64('två') });
    expect(head).toEqual({ metadata: { b: 'två' }, headers: { 'content-type': 'a/b', 'x-amz-meta-b': b64('två') } });
  });
});

describe('planMetadataRewrite', () => {
  it.each<[string, MetadataChange, boolean, Metadata, Record<string, string>]>([
    ['set adds a name', { set: { c: '3' } }, true, { a: '1', b: b64('två'), c: '3' }, CURRENT_SYSTEM],
    ['set overwrites a name', { set: { a: '2' } }, true, { a: '2', b: b64('två') }, CURRENT_SYSTEM],
    ['set to the current value: no change', { set: { a: '1' } }, false, { a: '1', b: b64('två') }, CURRENT_SYSTEM],
    ['set with other case and same value: no change', { set: { A: '1', B: 'två' } }, false, { a: '1', b: b64('två') }, CURRENT_SYSTEM],
    ['remove a name (any case)', { remove: ['B'] }, true, { a: '1' }, CURRENT_SYSTEM],
    ['remove a name the object lacks: no change', { remove: ['zzz'] }, false, { a: '1', b: b64('två') }, CURRENT_SYSTEM],
    ['set and remove together', { set: { c: '3' }, remove: ['a'] }, true, { b: b64('två'), c: '3' }, CURRENT_SYSTEM],
    ['replace the whole metadata', { replace: { x: 'y' } }, true, { x: 'y' }, CURRENT_SYSTEM],
    ['replace with the same metadata: no change', { replace: { a: '1', b: 'två' } }, false, { a: '1', b: b64('två') }, CURRENT_SYSTEM],
    ['replace with {} clears it', { replace: {} }, true, {}, CURRENT_SYSTEM],
    ['empty change: no change', {}, false, { a: '1', b: b64('två') }, CURRENT_SYSTEM],
    ['mimetype overrides content-type', { mimetype: 'application/json' }, true, { a: '1', b: b64('två') }, { ...CURRENT_SYSTEM, 'content-type': 'application/json' }],
    ['same mimetype: no change', { mimetype: 'text/plain' }, false, { a: '1', b: b64('två') }, CURRENT_SYSTEM],
    ['headers override a system header (any case)', { headers: { 'Cache-Control': 'no-cache' } }, true, { a: '1', b: b64('två') }, { ...CURRENT_SYSTEM, 'cache-control': 'no-cache' }],
    ['headers add a system header', { headers: { 'content-language': 'sv' } }, true, { a: '1', b: b64('två') }, { ...CURRENT_SYSTEM, 'content-language': 'sv' }],
    ["'' removes a system header", { headers: { 'cache-control': '' } }, true, { a: '1', b: b64('två') }, { 'content-type': 'text/plain', 'content-disposition': 'inline; filename="a.txt"' }],
    ["'' for a header the object lacks: no change", { headers: { 'content-encoding': '' } }, false, { a: '1', b: b64('två') }, CURRENT_SYSTEM],
    ['header values are trimmed', { headers: { 'cache-control': '  max-age=60 ' } }, false, { a: '1', b: b64('två') }, CURRENT_SYSTEM],
    ['explicit STANDARD on a STANDARD object: no change', { headers: { 'x-amz-storage-class': 'STANDARD' } }, false, { a: '1', b: b64('två') }, CURRENT_SYSTEM],
    ['a new storage class', { headers: { 'x-amz-storage-class': 'GLACIER_IR' } }, true, { a: '1', b: b64('två') }, { ...CURRENT_SYSTEM, 'x-amz-storage-class': 'GLACIER_IR' }],
  ])('%s', (_name, change, changed, metadata, headers) => {
    const plan = planMetadataRewrite(HEAD, change);
    expect(plan.changed).toBe(changed);
    expect(plan.metadata).toEqual(metadata);
    expect(plan.headers).toEqual(headers);
  });

  it('builds the full REPLACE request headers, pinned to the ETag it read', () => {
    const plan = planMetadataRewrite(HEAD, { set: { c: '3' } });
    expect(plan.requestHeaders).toEqual({
      'x-amz-metadata-directive': 'REPLACE',
      ...CURRENT_SYSTEM,
      'x-amz-meta-a': '1',
      'x-amz-meta-b': b64('två'),
      'x-amz-meta-c': '3',
      'x-amz-copy-source-if-match': '"abc"',
    });
  });

  it('keeps storage class, website redirect and Expires of a non-STANDARD object', () => {
    const plan = planMetadataRewrite(IA_HEAD, { set: { c: '3' } });
    expect(plan.changed).toBe(true);
    expect(plan.headers).toEqual({
      ...CURRENT_SYSTEM,
      'x-amz-storage-class': 'STANDARD_IA',
      'x-amz-website-redirect-location': '/new-home',
      expires: 'Thu, 01 Dec 2044 16:00:00 GMT',
    });
    expect(plan.requestHeaders['x-amz-storage-class']).toBe('STANDARD_IA');
  });

  it('sends no storage class for a STANDARD object (absent in HEAD)', () => {
    const plan = planMetadataRewrite(HEAD, { set: { c: '3' } });
    expect(plan.requestHeaders).not.toHaveProperty('x-amz-storage-class');
  });

  it('moving to STANDARD is a change, sent as no storage class header', () => {
    const plan = planMetadataRewrite(IA_HEAD, { headers: { 'x-amz-storage-class': 'STANDARD' } });
    expect(plan.changed).toBe(true);
    expect(plan.headers).not.toHaveProperty('x-amz-storage-class');
  });

  it('works without an ETag in the HEAD (no if-match then)', () => {
    const plan = planMetadataRewrite({ metadata: {}, headers: { 'content-type': 'a/b' } }, { set: { a: '1' } });
    expect(plan.requestHeaders).toEqual({ 'x-amz-metadata-directive': 'REPLACE', 'content-type': 'a/b', 'x-amz-meta-a': '1' });
  });

  it.each<[string, MetadataChange, string, RegExp]>([
    ['replace with set', { replace: {}, set: { a: '1' } }, 'change.replace', /cannot be combined with set or remove/],
    ['replace with remove', { replace: {}, remove: ['a'] }, 'change.replace', /cannot be combined/],
    ['a name both set and removed', { set: { A: '1' }, remove: ['a'] }, 'change.remove', /"a" is both set and removed/],
    ['x-amz-acl in headers', { headers: { 'x-amz-acl': 'public-read' } }, 'change.headers.x-amz-acl', /not a header that can be set here; allowed: content-type, cache-control, .*x-amz-storage-class/],
    ['authorization in headers', { headers: { Authorization: 'AWS4 x' } }, 'change.headers.Authorization', /not a header that can be set here/],
    ['x-amz-meta-* in headers', { headers: { 'x-amz-meta-a': '2' } }, 'change.headers.x-amz-meta-a', /use metadata for x-amz-meta-\*/],
    ['a header given twice', { headers: { 'cache-control': 'a', 'Cache-Control': 'b' } }, 'change.headers.Cache-Control', /given twice/],
    ['a non-ASCII header value', { headers: { 'content-disposition': 'attachment; filename="ä.txt"' } }, 'change.headers.content-disposition', /U\+00E4; header values must be printable ASCII .*filename\*=UTF-8''/],
    ['a control character in a header value', { headers: { 'cache-control': 'a\r\nx-amz-acl: public-read' } }, 'change.headers.cache-control', /U\+000D/],
    ['a non-string header value', { headers: { 'cache-control': 60 as unknown as string } }, 'change.headers.cache-control', /must be a string, got number/],
    ['an unknown storage class', { headers: { 'x-amz-storage-class': 'COLD' } }, 'change.headers.x-amz-storage-class', /not an S3 storage class/],
    ['mimetype with content-type', { mimetype: 'a/b', headers: { 'content-type': 'a/c' } }, 'change.mimetype', /cannot be combined with headers\["content-type"\]/],
    ['a mimetype that is not type/subtype', { mimetype: 'json' }, 'change.mimetype', /not a media type; write it as type\/subtype/],
    ['an invalid metadata name in set', { set: { 'a b': '1' } }, 'change.set.a b', /HTTP token/],
    ['an invalid name in remove', { remove: ['a b'] }, 'change.remove[0].a b', /HTTP token/],
    ['remove not a list', { remove: 'a' as unknown as string[] }, 'change.remove', /must be an array/],
    ['merged metadata over 2 KB', { set: { big: 'x'.repeat(2040) } }, 'change.set', /S3 allows at most 2048/],
  ])('refuses %s', (_name, change, field, message) => {
    expectInvalid(() => planMetadataRewrite(HEAD, change), field, message);
  });
});

describe('planCopyHeaders', () => {
  it('copies with COPY and needs no HEAD when nothing is asked', () => {
    expect(planCopyHeaders({})).toEqual({ needsSourceHead: false, directive: 'COPY', headers: { 'x-amz-metadata-directive': 'COPY' } });
  });

  it.each<[string, Record<string, string>, Record<string, string>]>([
    ['storage class', { 'x-amz-storage-class': 'GLACIER' }, { 'x-amz-storage-class': 'GLACIER' }],
    ['website redirect', { 'x-amz-website-redirect-location': '/x' }, { 'x-amz-website-redirect-location': '/x' }],
    ['STANDARD is the default, not sent', { 'x-amz-storage-class': 'STANDARD' }, {}],
  ])('stays COPY with only %s', (_name, headers, sent) => {
    expect(planCopyHeaders({ headers })).toEqual({ needsSourceHead: false, directive: 'COPY', headers: { 'x-amz-metadata-directive': 'COPY', ...sent } });
  });

  it.each<[string, Parameters<typeof planCopyHeaders>[0]]>([
    ['metadata', { metadata: { a: '1' } }],
    ['empty metadata (clears it)', { metadata: {} }],
    ['mimetype', { mimetype: 'text/html' }],
    ['a content header', { headers: { 'cache-control': 'no-cache' } }],
  ])('asks for a HEAD of the source when %s is given', (_name, opts) => {
    expect(planCopyHeaders(opts)).toEqual({ needsSourceHead: true, directive: 'REPLACE' });
  });

  it('with metadata: REPLACE, source content headers kept, new metadata, pinned to the source ETag', () => {
    expect(planCopyHeaders({ metadata: { Note: 'ny' } }, IA_HEAD)).toEqual({
      needsSourceHead: false,
      directive: 'REPLACE',
      headers: {
        'x-amz-metadata-directive': 'REPLACE',
        ...CURRENT_SYSTEM,
        expires: 'Thu, 01 Dec 2044 16:00:00 GMT',
        'x-amz-meta-note': 'ny',
        'x-amz-copy-source-if-match': '"abc"',
      },
    });
  });

  it('does not take storage class or website redirect from the source (S3 COPY does not either)', () => {
    const plan = planCopyHeaders({ metadata: {} }, IA_HEAD);
    expect(plan.needsSourceHead).toBe(false);
    if (plan.needsSourceHead) return;
    expect(plan.headers).not.toHaveProperty('x-amz-storage-class');
    expect(plan.headers).not.toHaveProperty('x-amz-website-redirect-location');
    expect(Object.keys(plan.headers).filter((h) => h.startsWith('x-amz-meta-'))).toEqual([]);
  });

  it('sends storage class and redirect when asked, under REPLACE too', () => {
    const plan = planCopyHeaders({ metadata: {}, headers: { 'x-amz-storage-class': 'ONEZONE_IA' } }, IA_HEAD);
    expect(plan.needsSourceHead === false && plan.headers['x-amz-storage-class']).toBe('ONEZONE_IA');
  });

  it('with only a mimetype: REPLACE keeping the source user metadata', () => {
    expect(planCopyHeaders({ mimetype: 'text/html; charset=utf-8' }, HEAD)).toEqual({
      needsSourceHead: false,
      directive: 'REPLACE',
      headers: {
        'x-amz-metadata-directive': 'REPLACE',
        ...CURRENT_SYSTEM,
        'content-type': 'text/html; charset=utf-8',
        'x-amz-meta-a': '1',
        'x-amz-meta-b': b64('två'),
        'x-amz-copy-source-if-match': '"abc"',
      },
    });
  });

  it("drops a source header given as ''", () => {
    const plan = planCopyHeaders({ headers: { 'cache-control': '', 'content-language': 'en' } }, HEAD);
    expect(plan).toEqual({
      needsSourceHead: false,
      directive: 'REPLACE',
      headers: {
        'x-amz-metadata-directive': 'REPLACE',
        'content-type': 'text/plain',
        'content-disposition': 'inline; filename="a.txt"',
        'content-language': 'en',
        'x-amz-meta-a': '1',
        'x-amz-meta-b': b64('två'),
        'x-amz-copy-source-if-match': '"abc"',
      },
    });
  });

  it('ignores a HEAD it does not need', () => {
    expect(planCopyHeaders({}, HEAD)).toEqual(planCopyHeaders({}));
  });

  it.each<[string, Parameters<typeof planCopyHeaders>[0], string, RegExp]>([
    ['bad metadata', { metadata: { 'a b': '1' } }, 'copy.metadata.a b', /HTTP token/],
    ['a forbidden header', { headers: { 'x-amz-acl': 'private' } }, 'copy.headers.x-amz-acl', /not a header that can be set here/],
    ['mimetype with content-type', { mimetype: 'a/b', headers: { 'Content-Type': 'a/c' } }, 'copy.mimetype', /cannot be combined/],
    ['a bad storage class', { headers: { 'x-amz-storage-class': 'standard' } }, 'copy.headers.x-amz-storage-class', /not an S3 storage class/],
  ])('refuses %s before any HEAD', (_name, opts, field, message) => {
    expectInvalid(() => planCopyHeaders(opts), field, message);
  });
});
