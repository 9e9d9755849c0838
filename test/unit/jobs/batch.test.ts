/**
 * `metadata-rewrite-batch` payloads: what the schema accepts and refuses (naming the field), the
 * single-object view a worker runs each object through (`batchObjectJob`), the batch job id, and
 * reading a batch's objects back from a payload that may be malformed (`batchRefsOf`). Pure.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../shared/errors.js';
import {
  batchObjectJob,
  batchRefsOf,
  MAX_BATCH_OBJECTS,
  MAX_BATCH_PAYLOAD_BYTES,
  MAX_PAYLOAD_BYTES,
  runBatchJobId,
  validateJob,
  type MetadataRewriteBatchJob,
} from '../../../shared/jobs/index.js';
import { expectInvalid } from '../support/expect-invalid.js';

const objects = (n: number, first = 0) => Array.from({ length: n }, (_, i) => ({ key: `dir/o${i}.css`, slot: first + i }));

const batch: MetadataRewriteBatchJob = {
  kind: 'metadata-rewrite-batch',
  profile: 'default',
  runId: 'mig-0123456789abcdef',
  bucket: 'media-bucket',
  objects: objects(3, 2000),
  set: { owner: 'team' },
  acl: 'private',
};

/** validateJob refuses `data`, naming `field` (code S3JOBS_INVALID_JOB, never retryable). */
function refused(data: unknown, field: string, message: RegExp): void {
  expectInvalid(() => validateJob(data), field, message, ErrorCodes.InvalidJob);
}

describe('metadata-rewrite-batch payloads', () => {
  it('a batch is accepted as it is, with every change a single rewrite may carry', () => {
    expect(validateJob(batch)).toEqual(batch);
    const full: MetadataRewriteBatchJob = {
      ...batch,
      timeoutMs: null,
      set: undefined,
      remove: undefined,
      replace: { a: '1' },
      mimetype: 'text/plain',
      mimetypeFromExtension: true,
      headers: { 'cache-control': 'max-age=60' },
      acl: 'replicate-source',
    };
    const { set: _s, remove: _r, ...withoutUndefined } = full;
    expect(validateJob(withoutUndefined)).toEqual(withoutUndefined);
    expect(validateJob(batch, 'metadata-rewrite-batch')).toEqual(batch);
  });

  it('carries up to 1000 objects, and a payload over the single-job limit', () => {
    const many = { ...batch, objects: objects(MAX_BATCH_OBJECTS).map((o) => ({ ...o, key: `${'k'.repeat(40)}/${o.slot}` })) };
    expect(Buffer.byteLength(JSON.stringify(many))).toBeGreaterThan(MAX_PAYLOAD_BYTES);
    expect(validateJob(many)).toEqual(many);
  });

  it.each<[string, unknown, string, RegExp]>([
    ['missing runId', { ...batch, runId: undefined }, 'runId', /.+/],
    ['bad runId', { ...batch, runId: 'has space' }, 'runId', /run id of 1-100 letters/],
    ['no objects', { ...batch, objects: [] }, 'objects', /must list at least one object/],
    ['more than 1000 objects', { ...batch, objects: objects(MAX_BATCH_OBJECTS + 1) }, 'objects', /must list at most 1000 objects/],
    ['two objects with one slot', { ...batch, objects: [{ key: 'a', slot: 7 }, { key: 'b', slot: 8 }, { key: 'c', slot: 7 }] }, 'objects', /two objects have the same slot/],
    ['replace with set', { ...batch, replace: { a: '1' } }, 'replace', /cannot be combined with set or remove/],
    ['replace with remove', { ...batch, set: undefined, remove: ['x'], replace: { a: '1' } }, 'replace', /cannot be combined with set or remove/],
    ['a name both set and removed', { ...batch, set: { owner: 'x' }, remove: ['Owner'] }, 'remove', /both set and removed/],
    ['a bad key, named by its index', { ...batch, objects: [{ key: 'ok', slot: 1 }, { key: 'a\u0001b', slot: 2 }] }, 'objects.1.key', /control character/],
    ['a negative slot', { ...batch, objects: [{ key: 'a', slot: -1 }] }, 'objects.0.slot', /.+/],
    ['a fractional slot', { ...batch, objects: [{ key: 'a', slot: 1.5 }] }, 'objects.0.slot', /.+/],
    ['an unknown field on an object', { ...batch, objects: [{ key: 'a', slot: 1, etag: 'x' }] }, 'objects.0', /etag|Unrecognized/i],
    ['runSlot on the batch (each object has its own)', { ...batch, runSlot: 3 }, 'job', /runSlot|Unrecognized/i],
    ['a key of its own on the batch', { ...batch, key: 'x' }, 'job', /key|Unrecognized/i],
    ['a bad bucket', { ...batch, bucket: 'Bad_Bucket' }, 'bucket', /bucket/],
    ['no ACL', { ...batch, acl: undefined }, 'acl', /canned ACL/],
  ])('refuses %s, naming the field', (_what, data, field, message) => {
    refused(data, field, message);
  });

  it('refuses a payload over 256 KB, saying the batch limit', () => {
    const big = { ...batch, objects: objects(300).map((o) => ({ key: `${'k'.repeat(1000)}${o.slot}`, slot: o.slot })) };
    const size = Buffer.byteLength(JSON.stringify(big));
    expect(size).toBeGreaterThan(MAX_BATCH_PAYLOAD_BYTES);
    refused(big, 'job', new RegExp(`^job: is ${size} bytes; payloads are limited to ${MAX_BATCH_PAYLOAD_BYTES} bytes$`));
    // The single-job limit still holds for every other kind.
    refused({ kind: 'metadata-rewrite', profile: 'default', bucket: 'b-bucket', key: 'k', acl: 'private', headers: { 'cache-control': 'x'.repeat(MAX_PAYLOAD_BYTES) } }, 'job', new RegExp(`limited to ${MAX_PAYLOAD_BYTES} bytes`));
  });

  it('refuses a secret anywhere in a batch, naming where, without echoing it', () => {
    refused({ ...batch, secretKey: 'abc123' }, 'secretKey', /looks like a credential.*profile/);
    refused({ ...batch, objects: [{ key: 'a', slot: 1, token: 'abc123' }] }, 'objects.0.token', /looks like a credential/);
    refused({ ...batch, set: { password: 'abc123' } }, 'set.password', /looks like a credential/);
    try {
      validateJob({ ...batch, secretKey: 'abc123' });
    } catch (err) {
      expect((err as Error).message).not.toContain('abc123');
    }
  });
});

describe('batchObjectJob', () => {
  it('is the object\'s own metadata-rewrite job: the batch\'s changes, its key, the run and its slot', () => {
    const single = batchObjectJob({ ...batch, remove: ['old'], headers: { 'cache-control': 'no-cache' } }, batch.objects[1]!);
    expect(single).toEqual({
      kind: 'metadata-rewrite',
      profile: 'default',
      bucket: 'media-bucket',
      key: 'dir/o1.css',
      acl: 'private',
      runId: 'mig-0123456789abcdef',
      runSlot: 2001,
      set: { owner: 'team' },
      remove: ['old'],
      headers: { 'cache-control': 'no-cache' },
    });
    expect(validateJob(single)).toEqual(single);
  });

  it('mimetypeFromExtension: the type of each key, else the batch\'s mimetype, else none', () => {
    const typed = { ...batch, mimetypeFromExtension: true };
    expect(batchObjectJob(typed, { key: 'a/page.html', slot: 1 }).mimetype).toBe('text/html; charset=utf-8');
    expect(batchObjectJob(typed, { key: 'a/PHOTO.JPG', slot: 2 }).mimetype).toBe('image/jpeg');
    expect(batchObjectJob(typed, { key: 'a/blob', slot: 3 })).not.toHaveProperty('mimetype');
    expect(batchObjectJob({ ...typed, mimetype: 'application/x-fallback' }, { key: 'a/blob.unknownext', slot: 3 }).mimetype).toBe('application/x-fallback');
    expect(batchObjectJob({ ...typed, mimetype: 'application/x-fallback' }, { key: 'a/s.css', slot: 4 }).mimetype).toBe('text/css; charset=utf-8');
    // Without the flag, the batch's mimetype for every key, whatever its extension.
    expect(batchObjectJob({ ...batch, mimetype: 'text/plain' }, { key: 'a/page.html', slot: 5 }).mimetype).toBe('text/plain');
    expect(batchObjectJob(batch, { key: 'a/page.html', slot: 5 })).not.toHaveProperty('mimetype');
    // The flag itself is not a field of a single job.
    expect(batchObjectJob(typed, { key: 'a/page.html', slot: 1 })).not.toHaveProperty('mimetypeFromExtension');
  });

  it('carries the batch\'s timeoutMs (null included) and its replace', () => {
    expect(batchObjectJob({ ...batch, timeoutMs: 1234 }, batch.objects[0]!).timeoutMs).toBe(1234);
    expect(batchObjectJob({ ...batch, timeoutMs: null }, batch.objects[0]!).timeoutMs).toBeNull();
    expect(batchObjectJob(batch, batch.objects[0]!)).not.toHaveProperty('timeoutMs');
    const replaced = batchObjectJob({ ...batch, set: undefined, replace: { only: 'this' } }, batch.objects[0]!);
    expect(replaced.replace).toEqual({ only: 'this' });
    expect(replaced).not.toHaveProperty('set');
    expect(validateJob(replaced)).toEqual(replaced);
  });

  it('every object of any valid batch becomes a valid single job (what dlq retry re-validates)', () => {
    for (const variant of [batch, { ...batch, remove: ['a', 'b'] }, { ...batch, set: undefined, replace: { x: 'y' }, mimetypeFromExtension: true, timeoutMs: 5 }]) {
      const valid = validateJob(variant) as MetadataRewriteBatchJob;
      for (const object of valid.objects) expect(() => validateJob(batchObjectJob(valid, object))).not.toThrow();
    }
  });
});

describe('runBatchJobId', () => {
  it('is <runId>-b<first slot>, apart from the objects\' own ids <runId>-<slot>', () => {
    expect(runBatchJobId('mig-1', 0)).toBe('mig-1-b0');
    expect(runBatchJobId('mig-1', 12_345)).toBe('mig-1-b12345');
    expect(runBatchJobId('r.x_1', 7001)).not.toBe('r.x_1-7001');
  });
});

describe('batchRefsOf', () => {
  it('reads the run, bucket, key and slot of each object of a batch', () => {
    expect(batchRefsOf(batch)).toEqual(batch.objects.map((o) => ({ runId: batch.runId, slot: o.slot, bucket: 'media-bucket', key: o.key })));
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a string', 'metadata-rewrite-batch'],
    ['a number', 42],
    ['an array', [batch]],
    ['another kind', { ...batch, kind: 'metadata-rewrite' }],
    ['a single run job', { kind: 'metadata-rewrite', runId: 'r', runSlot: 3, bucket: 'b', key: 'k' }],
    ['no runId', { ...batch, runId: undefined }],
    ['a numeric runId', { ...batch, runId: 7 }],
    ['objects not an array', { ...batch, objects: { 0: { key: 'a', slot: 1 } } }],
    ['no objects', { ...batch, objects: undefined }],
    ['empty objects', { ...batch, objects: [] }],
  ])('%s → no objects', (_what, payload) => {
    expect(batchRefsOf(payload)).toEqual([]);
  });

  it('keeps the objects whose slot can be read, with what can be read of the rest', () => {
    const payload = {
      kind: 'metadata-rewrite-batch',
      runId: 'r1',
      bucket: 42,
      objects: [null, 'x', { key: 'a', slot: 1 }, { key: 'b', slot: -1 }, { key: 'c', slot: 2.5 }, { key: 'd', slot: '3' }, { slot: 4 }, { key: 5, slot: 5 }, { key: 'f', slot: 6, extra: true }],
    };
    expect(batchRefsOf(payload)).toEqual([
      { runId: 'r1', slot: 1, bucket: '', key: 'a' },
      { runId: 'r1', slot: 4, bucket: '', key: '' },
      { runId: 'r1', slot: 5, bucket: '', key: '' },
      { runId: 'r1', slot: 6, bucket: '', key: 'f' },
    ]);
  });
});
