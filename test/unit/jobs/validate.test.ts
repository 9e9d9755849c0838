import { describe, expect, it } from 'vitest';
import { ErrorCodes, ValidationError } from '../../../shared/errors.js';
import { MAX_PAYLOAD_BYTES, findSecretFields, validateJob } from '../../../shared/jobs/index.js';

const copy = {
  kind: 'copy',
  profile: 'default',
  source: { bucket: 'src-bucket', key: 'a/b.txt' },
  destination: { bucket: 'dst-bucket', key: 'c.txt' },
  acl: 'private',
};
const rewrite = { kind: 'metadata-rewrite', profile: 'default', bucket: 'my-bucket', key: 'k', set: { a: '1' }, acl: 'private' };
const create = { kind: 'bucket', profile: 'default', action: 'create', bucket: 'new-bucket', location: 'EU' };
const del = { kind: 'bucket', profile: 'default', action: 'delete', bucket: 'old-bucket', empty: true };

function fails(data: unknown): ValidationError {
  try {
    validateJob(data);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe(ErrorCodes.InvalidJob);
    expect((err as ValidationError).retryable).toBe(false);
    return err as ValidationError;
  }
  throw new Error(`expected ${JSON.stringify(data)} to be refused`);
}

describe('validateJob accepts the three kinds', () => {
  it.each([copy, rewrite, create, del, { ...copy, acl: 'replicate-source', metadata: { x: 'y' }, timeoutMs: null }])('%j', (job) => {
    expect(validateJob(job)).toEqual(job);
  });
});

describe('validateJob refuses bad payloads, naming the field', () => {
  it.each<[string, unknown, string, RegExp]>([
    ['not an object', 'copy', 'job', /object/],
    ['array', [copy], 'job', /object/],
    ['unknown kind', { ...copy, kind: 'move' }, 'kind', /copy, metadata-rewrite, metadata-rewrite-batch, bucket/],
    ['missing kind', { profile: 'x' }, 'kind', /not a job kind/],
    ['bad bucket name', { ...copy, source: { bucket: 'Bad_Bucket', key: 'k' } }, 'source.bucket', /bucket/],
    ['key with control char', { ...copy, destination: { bucket: 'dst-bucket', key: 'a\u0001b' } }, 'destination.key', /control/],
    ['key too long', { ...copy, destination: { bucket: 'dst-bucket', key: 'k'.repeat(1025) } }, 'destination.key', /1024/],
    ['unknown ACL', { ...copy, acl: 'public' }, 'acl', /canned ACL/],
    ['missing ACL', { ...rewrite, acl: undefined }, 'acl', /.+/],
    ['metadata too large', { ...rewrite, set: { big: 'x'.repeat(2100) } }, 'set', /2048/],
    ['bad metadata name, named', { ...rewrite, set: { 'bad name': 'x' } }, 'set.bad name', /metadata name/],
    ['set and removed', { ...rewrite, set: { a: '1' }, remove: ['A'] }, 'remove', /both set and removed/],
    ['replace with set', { ...rewrite, replace: { a: '1' } }, 'replace', /cannot be combined/],
    ['unknown field', { ...copy, sourceBucket: 'x' }, 'job', /sourceBucket|Unrecognized/i],
    ['bad profile', { ...copy, profile: 'has space' }, 'profile', /profile name/],
    ['negative timeout', { ...copy, timeoutMs: -5 }, 'timeoutMs', /.+/],
    ['location with configXml', { ...create, configXml: '<CreateBucketConfiguration/>' }, 'location', /not both/],
    ['bucket ACL on bucket', { ...create, acl: 'bucket-owner-full-control' }, 'acl', /.+/],
    ['unknown bucket action', { ...create, action: 'rename' }, 'action', /.+/],
  ])('%s', (_name, data, field, message) => {
    const err = fails(data);
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
  });

  it('refuses a payload carrying a secret, saying where credentials belong', () => {
    const err = fails({ ...copy, secretKey: 'abc' });
    expect(err.field).toBe('secretKey');
    expect(err.message).toMatch(/profile/);
    expect(err.message).not.toContain('abc');
    expect(fails({ ...copy, source: { ...copy.source, credentials: { a: 1 } } }).field).toBe('source.credentials');
  });

  it('refuses oversized payloads', () => {
    const err = fails({ ...copy, headers: { 'cache-control': 'x'.repeat(MAX_PAYLOAD_BYTES) } });
    expect(err.message).toMatch(String(MAX_PAYLOAD_BYTES));
  });

  it('refuses a job queued under another kind', () => {
    expect(() => validateJob(copy, 'bucket')).toThrow(/queued as "bucket"/);
  });
});

describe('findSecretFields', () => {
  it('finds nested secret-looking names and nothing else', () => {
    expect(findSecretFields({ a: 1, b: { secretAccessKey: 'x', c: [{ password: 'y' }] }, sessionToken: 'z' })).toEqual(['b.secretAccessKey', 'b.c.0.password', 'sessionToken']);
    expect(findSecretFields(copy)).toEqual([]);
  });

  it('walks payloads nested tens of thousands of levels deep without overflowing the stack', () => {
    let deep: unknown = { password: 'x' };
    for (let i = 0; i < 50_000; i++) deep = { a: deep };
    expect(findSecretFields({ top: deep })).toEqual([`top${'.a'.repeat(50_000)}.password`]);
  });
});

describe('validateJob on a deeply nested payload the size limit cannot see (found by the reliability fuzz run)', () => {
  // JSON.stringify, which measures the payload, ignores non-index properties of arrays; the
  // secret-field walk does not. Recursing 50,000 levels into one threw a RangeError.
  const hidden = (bottom: unknown): unknown[] => {
    let deep = bottom;
    for (let i = 0; i < 50_000; i++) deep = { a: deep };
    return Object.assign(['b'], { extra: deep });
  };

  it('refuses a secret at the bottom with a ValidationError', () => {
    const err = fails({ ...rewrite, remove: hidden({ secretKey: 's' }) });
    expect(err.message).toMatch(/looks like a credential/);
  });

  it('lets the walk finish when there is nothing to find (the schema decides)', () => {
    expect(() => validateJob({ ...rewrite, remove: hidden('bottom') })).not.toThrow();
  });
});
