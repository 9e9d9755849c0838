import { describe, expect, it } from 'vitest';
import { ErrorCodes, S3Error, S3JobsError, ValidationError } from '../../../shared/errors.js';
import { buildDeadLetterRecord, isSameFailure, parseFailedReason, type FailedJobView } from '../../../workers/dead-letter-record.js';
import { attemptError, failureDetails, FinalAttemptError, RetryableAttemptError } from '../../../workers/retry/attempt-errors.js';
import { classify } from '../../../workers/retry/classify.js';
import { BULLMQ_STALLED_REASON, WorkerErrorCodes } from '../../../workers/retry/codes.js';

const payload = { kind: 'copy', profile: 'p', source: { bucket: 'a', key: 'x' }, destination: { bucket: 'b', key: 'x' }, acl: 'private', runId: 'run-1' };
const job = (over: Partial<FailedJobView> = {}): FailedJobView => ({ id: 'j1', name: 'copy', data: payload, attemptsMade: 1, attempts: 3, timestamp: 1_000, finishedOn: 2_000, failedReason: 'NoSuchKey: gone [HTTP 404]', ...over });

describe('attempt errors', () => {
  it('carry the failedReason format CODE: message, with status and request id of S3 answers', () => {
    const s3 = new S3Error({ code: 'NoSuchKey', message: 'The specified key does not exist.', status: 404, requestId: 'REQ1', bucket: 'a', key: 'x', retryable: false });
    const thrown = attemptError(s3, classify(s3, { attemptsMade: 1, attempts: 3 }));
    expect(thrown).toBeInstanceOf(FinalAttemptError);
    expect(thrown.name).toBe('UnrecoverableError');
    expect(thrown.message).toBe('NoSuchKey: The specified key does not exist. (a/x) [HTTP 404] [request-id REQ1]');
    expect((thrown as FinalAttemptError).reason).toBe('permanent');
    expect(thrown.details).toEqual({ code: 'NoSuchKey', message: 'The specified key does not exist. (a/x) [HTTP 404] [request-id REQ1]', retryable: false, status: 404, requestId: 'REQ1' });
  });

  it('keep the Retry-After of a retryable error for the backoff', () => {
    const slow = new S3Error({ code: 'SlowDown', message: 'Reduce your rate', status: 503, retryable: true, retryAfterMs: 1_000 });
    const thrown = attemptError(slow, classify(slow, { attemptsMade: 1, attempts: 3 }));
    expect(thrown).toBeInstanceOf(RetryableAttemptError);
    expect(thrown).toMatchObject({ code: 'SlowDown', retryAfterMs: 1_000, message: 'SlowDown: Reduce your rate [HTTP 503]' });
  });

  it('scrub presigned-URL signatures from messages', () => {
    const err = new S3JobsError('S3JOBS_NETWORK', 'GET https://h/b/k?X-Amz-Signature=abcdef0123&X-Amz-Credential=AKIA/x failed', { retryable: true });
    expect(failureDetails(err, 'S3JOBS_NETWORK', true).message).not.toMatch(/abcdef0123|AKIA/);
  });
});

describe('parseFailedReason', () => {
  it.each([
    ['NoSuchKey: gone (a/x) [HTTP 404] [request-id R2]', { code: 'NoSuchKey', message: 'gone (a/x) [HTTP 404] [request-id R2]', status: 404, requestId: 'R2' }],
    ['S3JOBS_TIMEOUT: job deadline of 500 ms exceeded', { code: 'S3JOBS_TIMEOUT', message: 'job deadline of 500 ms exceeded', status: undefined, requestId: undefined }],
    ['something without a code', { code: WorkerErrorCodes.Unexpected, message: 'something without a code' }],
    ['', { code: WorkerErrorCodes.Unexpected, message: 'no failure reason recorded' }],
  ])('%j', (reason, expected) => {
    expect(parseFailedReason(reason)).toEqual(expected);
  });

  it("reads BullMQ's own stalled failure", () => {
    expect(parseFailedReason(BULLMQ_STALLED_REASON)).toMatchObject({ code: WorkerErrorCodes.Stalled });
  });
});

describe('buildDeadLetterRecord', () => {
  it('keeps the original payload, attempts, times and run id, with the error read from failedReason', () => {
    expect(buildDeadLetterRecord(job(), 'q', 3_000)).toEqual({
      jobId: 'j1',
      queue: 'q',
      name: 'copy',
      kind: 'copy',
      payload,
      error: { code: 'NoSuchKey', message: 'gone [HTTP 404]', retryable: false, status: 404 },
      attemptsMade: 1,
      reason: 'permanent',
      enqueuedAt: 1_000,
      failedAt: 2_000,
      deadLetteredAt: 3_000,
      runId: 'run-1',
    });
  });

  it('derives the reason when no worker said: exhausted, invalid, stalled', () => {
    expect(buildDeadLetterRecord(job({ failedReason: 'InternalError: oops [HTTP 500]', attemptsMade: 3 }), 'q', 0)).toMatchObject({ reason: 'retries-exhausted', error: { retryable: true } });
    expect(buildDeadLetterRecord(job({ failedReason: `${ErrorCodes.InvalidJob}: kind: nope` }), 'q', 0).reason).toBe('invalid');
    expect(buildDeadLetterRecord(job({ failedReason: BULLMQ_STALLED_REASON }), 'q', 0)).toMatchObject({ reason: 'stalled', error: { code: WorkerErrorCodes.Stalled } });
  });

  it("prefers what the failing worker knew", () => {
    const err = new ValidationError('kind', 'bad', ErrorCodes.InvalidJob);
    const thrown = attemptError(err, classify(err, { attemptsMade: 1, attempts: 3 })) as FinalAttemptError;
    const record = buildDeadLetterRecord(job({ failedReason: thrown.message }), 'q', 0, { details: thrown.details, reason: thrown.reason });
    expect(record).toMatchObject({ reason: 'invalid', error: { code: ErrorCodes.InvalidJob, message: 'kind: bad', retryable: false } });
  });

  it('keeps a malformed payload as it was, with no kind', () => {
    const record = buildDeadLetterRecord(job({ name: 'bogus', data: 42, failedReason: `${ErrorCodes.InvalidJob}: job: must be an object` }), 'q', 0);
    expect(record).toMatchObject({ name: 'bogus', kind: undefined, payload: 42, reason: 'invalid' });
    expect(record).not.toHaveProperty('runId');
  });
});

describe('isSameFailure', () => {
  it('matches a record of this failure only', () => {
    const record = buildDeadLetterRecord(job(), 'q', 3_000);
    expect(isSameFailure({ ...record, deadLetteredAt: 9 }, record)).toBe(true);
    expect(isSameFailure({ ...record, failedAt: 1 }, record)).toBe(false);
    expect(isSameFailure({ ...record, queue: 'other' }, record)).toBe(false);
    expect(isSameFailure(undefined, record)).toBe(false);
  });
});
