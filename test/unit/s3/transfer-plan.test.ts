/** The pure half of a copy streamed between stores: headers, checks, part layout, checkpoints. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../shared/errors.js';
import { objectInfoFromHeaders } from '../../../shared/s3/object-info.js';
import { canResume, destinationHeaders, endToEndCheck, multipartEtag, multipartEtagParts, plainMd5, readCheckpoint, streamParts } from '../../../shared/s3/transfer-plan.js';

const MiB = 1024 * 1024;
const head = (headers: Record<string, string>) => objectInfoFromHeaders('k', { 'content-length': '10', etag: '"0123456789abcdef0123456789abcdef"', ...headers });

describe('destinationHeaders', () => {
  it('carries the six system headers and the user metadata, adds the source ETag, the ACL', () => {
    const source = head({
      'content-type': 'image/png',
      'cache-control': 'max-age=60',
      'content-disposition': 'inline',
      'content-encoding': 'gzip',
      'content-language': 'fr',
      expires: 'Wed, 21 Oct 2037 07:28:00 GMT',
      'x-amz-website-redirect-location': '/elsewhere',
      'x-amz-storage-class': 'GLACIER',
      'x-amz-meta-owner': 'ann',
      'x-amz-meta-s3jobs-source-etag': 'stale',
    });
    expect(destinationHeaders(source, { acl: 'public-read' })).toEqual({
      'content-type': 'image/png',
      'cache-control': 'max-age=60',
      'content-disposition': 'inline',
      'content-encoding': 'gzip',
      'content-language': 'fr',
      expires: 'Wed, 21 Oct 2037 07:28:00 GMT',
      'x-amz-meta-owner': 'ann',
      'x-amz-meta-s3jobs-source-etag': '0123456789abcdef0123456789abcdef',
      'x-amz-acl': 'public-read',
    });
  });

  it('applies the changes: replaced metadata, new type, a removed header, a storage class', () => {
    const source = head({ 'content-type': 'text/plain', 'cache-control': 'no-cache', 'x-amz-meta-a': '1' });
    const out = destinationHeaders(source, { acl: 'private', metadata: { b: 'Grüße' }, mimetype: 'text/csv', headers: { 'cache-control': '' }, storageClass: 'STANDARD_IA' });
    expect(out['content-type']).toBe('text/csv');
    expect(out['cache-control']).toBeUndefined();
    expect(out['x-amz-meta-a']).toBeUndefined();
    expect(out['x-amz-meta-b']).toMatch(/^=\?UTF-8\?B\?/);
    expect(out['x-amz-storage-class']).toBe('STANDARD_IA');
  });

  it('refuses a header it cannot set, naming it', () => {
    expect(() => destinationHeaders(head({}), { acl: 'private', headers: { 'x-amz-acl': 'public-read' } })).toThrow(/headers\.x-amz-acl: is not a header that can be set here/);
  });
});

describe('checks', () => {
  it('plainMd5 and multipart ETags', () => {
    expect(plainMd5('"0123456789ABCDEF0123456789abcdef"')).toBe('0123456789abcdef0123456789abcdef');
    expect(plainMd5('"0123456789abcdef0123456789abcdef-3"')).toBeUndefined();
    expect(multipartEtagParts('"0123456789abcdef0123456789abcdef-3"')).toBe(3);
    expect(multipartEtagParts('"0123456789abcdef0123456789abcdef"')).toBeUndefined();
  });

  it('multipartEtag is S3s: MD5 of the binary part MD5s, dash, count', () => {
    const parts = ['a', 'b'].map((s) => createHash('md5').update(s).digest());
    const expected = `${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-2`;
    expect(multipartEtag(parts.map((p) => p.toString('hex')))).toBe(expected);
  });

  it('end to end by MD5 only for a plain, not SSE-KMS/SSE-C, ETag', () => {
    expect(endToEndCheck(head({}))).toBe('md5');
    expect(endToEndCheck(head({ 'x-amz-server-side-encryption': 'AES256' }))).toBe('md5');
    expect(endToEndCheck(head({ 'x-amz-server-side-encryption': 'aws:kms' }))).toBe('part-md5');
    expect(endToEndCheck(head({ 'x-amz-server-side-encryption-customer-algorithm': 'AES256' }))).toBe('part-md5');
    expect(endToEndCheck(head({ etag: '"0123456789abcdef0123456789abcdef-2"' }))).toBe('part-md5');
  });
});

describe('streamParts', () => {
  it('cuts parts of partSize, the last one shorter, inclusive ranges', () => {
    const { partSize, parts } = streamParts(12 * MiB + 1, 5 * MiB);
    expect(partSize).toBe(5 * MiB);
    expect(parts).toEqual([
      { partNumber: 1, start: 0, end: 5 * MiB - 1 },
      { partNumber: 2, start: 5 * MiB, end: 10 * MiB - 1 },
      { partNumber: 3, start: 10 * MiB, end: 12 * MiB },
    ]);
  });

  it('grows the part size to stay within 10,000 parts', () => {
    const { partSize, parts } = streamParts(100_000 * MiB, 5 * MiB);
    expect(partSize).toBe(10 * MiB);
    expect(parts).toHaveLength(10_000);
  });

  it('refuses a part size S3 would refuse', () => {
    expect(() => streamParts(100, 1024)).toThrow(ValidationError);
    expect(() => streamParts(100, 1024)).toThrow(/partSize: must be an integer from 5242880/);
  });
});

describe('checkpoints', () => {
  const checkpoint = { uploadId: 'u1', destination: 'b/k', sourceEtag: '"abc"', size: 10, partSize: 5 * MiB };
  it('reads back what was saved, and nothing else', () => {
    expect(readCheckpoint({ transfer: checkpoint })).toEqual(checkpoint);
    expect(readCheckpoint({ transfer: null })).toBeUndefined();
    expect(readCheckpoint(42)).toBeUndefined();
    expect(readCheckpoint({ transfer: { ...checkpoint, size: '10' } })).toBeUndefined();
  });

  it('resumes only the same source state, destination and layout', () => {
    const now = { destination: 'b/k', sourceEtag: 'ABC', size: 10, partSize: 5 * MiB };
    expect(canResume(checkpoint, now)).toBe(true);
    expect(canResume(checkpoint, { ...now, sourceEtag: '"abd"' })).toBe(false);
    expect(canResume(checkpoint, { ...now, size: 11 })).toBe(false);
    expect(canResume(checkpoint, { ...now, partSize: 6 * MiB })).toBe(false);
    expect(canResume(checkpoint, { ...now, destination: 'b/other' })).toBe(false);
  });
});
