import { createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../shared/errors.js';
import { isSseC, sseHeadersFromSource, SseCustomerKey } from '../../../shared/s3/sse.js';

describe('SSE headers carried on copies', () => {
  it('SSE-S3: AES256 is sent again', () => {
    expect(sseHeadersFromSource({ 'x-amz-server-side-encryption': 'AES256', 'content-type': 'text/plain' })).toEqual({ 'x-amz-server-side-encryption': 'AES256' });
  });

  it('SSE-KMS: the key id and the bucket-key flag go with it', () => {
    const head = {
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:eu-west-1:111122223333:key/abcd',
      'x-amz-server-side-encryption-bucket-key-enabled': 'true',
    };
    expect(sseHeadersFromSource(head)).toEqual(head);
  });

  it('an unencrypted source (or SSE-C, whose key the caller gives) adds nothing', () => {
    expect(sseHeadersFromSource({})).toEqual({});
    const ssec = { 'x-amz-server-side-encryption-customer-algorithm': 'AES256', 'x-amz-server-side-encryption-customer-key-md5': 'x' };
    expect(sseHeadersFromSource(ssec)).toEqual({});
    expect(isSseC(ssec)).toBe(true);
    expect(isSseC({})).toBe(false);
  });
});

describe('SseCustomerKey', () => {
  const raw = randomBytes(32);
  const b64 = raw.toString('base64');
  const md5 = createHash('md5').update(raw).digest('base64');

  it('names the key with its MD5, for the destination and for the copy source', () => {
    const key = SseCustomerKey.from(raw);
    expect(key.headers('x-amz-')).toEqual({
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key': b64,
      'x-amz-server-side-encryption-customer-key-md5': md5,
    });
    expect(key.headers('x-amz-copy-source-')).toEqual({
      'x-amz-copy-source-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-copy-source-server-side-encryption-customer-key': b64,
      'x-amz-copy-source-server-side-encryption-customer-key-md5': md5,
    });
    expect(SseCustomerKey.from(b64).headers('x-amz-')).toEqual(key.headers('x-amz-'));
  });

  it('never prints the key: JSON, string, inspect', () => {
    const key = SseCustomerKey.from(raw);
    for (const text of [JSON.stringify({ key }), String(key), inspect(key), inspect({ nested: { key } })]) {
      expect(text).not.toContain(b64);
      expect(text).toContain('[SseCustomerKey]');
    }
  });

  it('refuses keys that are not 256 bits, without repeating them', () => {
    const short = randomBytes(16).toString('base64');
    for (const bad of [randomBytes(16), short, 'not base64!', '']) {
      let error: unknown;
      try {
        SseCustomerKey.from(bad, 'sourceSseCustomerKey');
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe('sourceSseCustomerKey');
      if (typeof bad === 'string' && bad !== '') expect((error as Error).message).not.toContain(bad);
    }
  });
});
