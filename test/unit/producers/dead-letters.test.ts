import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../shared/errors.js';
import type { DeadLetterRecord } from '../../../shared/queue/dead-letter.js';
import { InvalidDeadLetterPayloadError, mergePatch, payloadForRetry, requeueIdFor, summarize, toRecord } from '../../../producers/dead-letters.js';

const copyPayload = { kind: 'copy', profile: 'default', source: { bucket: 'src-b', key: 'k' }, destination: { bucket: 'dst-b', key: 'k' }, acl: 'private', metadata: { a: '1', b: '2' } };

describe('mergePatch (RFC 7386)', () => {
  it.each([
    ['replaces a field', { a: 1, b: 2 }, { a: 3 }, { a: 3, b: 2 }],
    ['null deletes', { a: 1, b: 2 }, { a: null }, { b: 2 }],
    ['objects merge deeply', { m: { x: 1, y: 2 } }, { m: { y: null, z: 3 } }, { m: { x: 1, z: 3 } }],
    ['arrays are replaced, not merged', { r: [1, 2] }, { r: [3] }, { r: [3] }],
    ['adds a missing object', { a: 1 }, { m: { x: 1 } }, { a: 1, m: { x: 1 } }],
    ['a non-object target becomes an object', 'str', { a: 1 }, { a: 1 }],
    ['a non-object patch replaces', { a: 1 }, 5, 5],
  ])('%s', (_name, target, patch, expected) => {
    expect(mergePatch(target, patch)).toEqual(expected);
  });

  it('does not modify its input', () => {
    const target = { m: { x: 1 } };
    mergePatch(target, { m: { x: 2 } });
    expect(target).toEqual({ m: { x: 1 } });
  });
});

describe('payloadForRetry', () => {
  it('validates the original payload', () => {
    expect(payloadForRetry({ jobId: 'j', payload: copyPayload })).toEqual(copyPayload);
  });

  it('applies the patch first', () => {
    expect(payloadForRetry({ jobId: 'j', payload: copyPayload }, { acl: 'public-read', metadata: { b: null } })).toMatchObject({ acl: 'public-read', metadata: { a: '1' } });
  });

  it.each([
    ['a bad ACL', { ...copyPayload, acl: 'nope' }, undefined, 'payload.acl', 'acl'],
    ['a missing field', { ...copyPayload, destination: undefined }, undefined, 'payload.destination', 'destination'],
    ['not an object', 'garbage', undefined, 'payload.job', 'job'],
    ['a patch that breaks it', copyPayload, { source: { bucket: 'X' } }, 'payload.source.bucket', 'source.bucket'],
    ['a secret smuggled in by the patch', copyPayload, { secretKey: 'abc' }, 'payload.secretKey', 'secretKey'],
  ])('refuses %s, naming payload.<field>', (_name, payload, patch, field, payloadField) => {
    let caught: unknown;
    try {
      payloadForRetry({ jobId: 'j-1', payload }, patch as Record<string, unknown> | undefined);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidDeadLetterPayloadError);
    const err = caught as InvalidDeadLetterPayloadError;
    expect(err.field).toBe(field);
    expect(err.payloadField).toBe(payloadField);
    expect(err.code).toBe(ErrorCodes.InvalidJob);
    expect(err.message).toMatch(/job j-1 cannot be retried until its payload is fixed/);
    expect(err.message).not.toContain('abc');
  });
});

describe('toRecord', () => {
  const job = { id: 'j-1', name: 'copy', timestamp: 1000 };

  it('keeps a well-formed record', () => {
    const record: DeadLetterRecord = {
      jobId: 'j-1',
      queue: 'q',
      name: 'copy',
      kind: 'copy',
      payload: copyPayload,
      error: { code: 'NoSuchKey', message: 'gone', retryable: false, status: 404 },
      attemptsMade: 1,
      reason: 'permanent',
      enqueuedAt: 1,
      failedAt: 2,
      deadLetteredAt: 3,
    };
    expect(toRecord({ ...job, data: record }, 'q')).toEqual(record);
  });

  it('fills in what a malformed record lacks', () => {
    expect(toRecord({ ...job, data: { payload: 'x', error: 'boom' } }, 'q')).toMatchObject({
      jobId: 'j-1',
      queue: 'q',
      name: 'copy',
      payload: 'x',
      error: { code: 'unknown', message: '', retryable: false },
      attemptsMade: 0,
      reason: 'unknown',
      enqueuedAt: 1000,
      deadLetteredAt: 1000,
    });
    expect(toRecord({ ...job, data: null }, 'q').jobId).toBe('j-1');
  });

  it('summarize picks the list columns', () => {
    const record = toRecord({ ...job, data: { jobId: 'j-1', kind: undefined, error: { code: 'S3JOBS_INVALID_JOB', message: 'acl: bad' }, attemptsMade: 1, reason: 'invalid', deadLetteredAt: 5 } }, 'q');
    expect(summarize(record)).toEqual({ jobId: 'j-1', kind: 'copy', errorCode: 'S3JOBS_INVALID_JOB', message: 'acl: bad', attemptsMade: 1, reason: 'invalid', deadLetteredAt: 5 });
  });
});

describe('requeueIdFor', () => {
  it('keeps a custom id', () => {
    expect(requeueIdFor({ jobId: 'copy-1', deadLetteredAt: 5 })).toBe('copy-1');
  });
  it('derives a stable custom id from a numeric auto id (BullMQ refuses numeric custom ids)', () => {
    expect(requeueIdFor({ jobId: '17', deadLetteredAt: 5 })).toBe('retry-17-5');
  });
});
