import { describe, expect, it } from 'vitest';
import { ErrorCodes, S3Error, S3JobsError, S3NotFoundError, ValidationError } from '../../../shared/errors.js';
import { JobDeadlineExceeded } from '../../../workers/deadline.js';
import { classify, errorCode } from '../../../workers/retry/classify.js';
import { BULLMQ_STALLED_REASON, WorkerErrorCodes } from '../../../workers/retry/codes.js';

const s3 = (code: string, status: number, extra: { retryable?: boolean; retryAfterMs?: number } = {}) =>
  new S3Error({ code, message: 'm', status, retryable: extra.retryable ?? false, retryAfterMs: extra.retryAfterMs });
const net = (code: string) => new S3JobsError(code, 'x', { retryable: true });
const first = { attemptsMade: 1, attempts: 5 };

describe('classify', () => {
  it.each([
    ['500 InternalError', s3('InternalError', 500, { retryable: true }), 'InternalError'],
    ['503 ServiceUnavailable', s3('ServiceUnavailable', 503), 'ServiceUnavailable'],
    ['400 RequestTimeout', s3('RequestTimeout', 400), 'RequestTimeout'],
    ['502 with an unknown code (5xx)', s3('BadGateway', 502), 'BadGateway'],
    ['429 with an unknown code', s3('Whoa', 429), 'Whoa'],
    ['request timeout', net(ErrorCodes.Timeout), ErrorCodes.Timeout],
    ['job deadline exceeded', new JobDeadlineExceeded(1000), ErrorCodes.Timeout],
    ['connection reset', net(ErrorCodes.Network), ErrorCodes.Network],
    ['truncated XML', net(ErrorCodes.BadResponse), ErrorCodes.BadResponse],
    ['aborted', net(ErrorCodes.Aborted), ErrorCodes.Aborted],
    ['source changed under a rewrite', net(WorkerErrorCodes.SourceChanged), WorkerErrorCodes.SourceChanged],
    ['an unknown exception', new Error('boom'), WorkerErrorCodes.Unexpected],
    ['a thrown string', 'boom', WorkerErrorCodes.Unexpected],
  ])('retries %s', (_name, error, code) => {
    expect(classify(error, first)).toEqual({ action: 'retry', code, delayHintMs: undefined });
  });

  it('passes S3 Retry-After on as the delay hint', () => {
    expect(classify(s3('SlowDown', 503, { retryable: true, retryAfterMs: 2000 }), first)).toEqual({ action: 'retry', code: 'SlowDown', delayHintMs: 2000 });
  });

  it.each([
    ['403 AccessDenied', s3('AccessDenied', 403), 'AccessDenied'],
    ['404 NoSuchKey', new S3NotFoundError({ code: 'NoSuchKey', message: 'm', status: 404, retryable: false }), 'NoSuchKey'],
    ['404 on HEAD (no body)', new S3NotFoundError({ code: 'NotFound', message: 'm', status: 404, retryable: false }), 'NotFound'],
    ['404 NoSuchBucket', s3('NoSuchBucket', 404), 'NoSuchBucket'],
    ['412 PreconditionFailed', s3('PreconditionFailed', 412), 'PreconditionFailed'],
    ['400 InvalidRequest', s3('InvalidRequest', 400), 'InvalidRequest'],
    ['409 BucketNotEmpty', s3('BucketNotEmpty', 409), 'BucketNotEmpty'],
    ['an unknown 4xx code', s3('Teapot', 418), 'Teapot'],
    ['unknown profile', new S3JobsError(ErrorCodes.UnknownProfile, 'x'), ErrorCodes.UnknownProfile],
    ['a programming error', new TypeError('x is undefined'), WorkerErrorCodes.Internal],
    ['a non-retryable s3jobs error with an unknown code', new S3JobsError('S3JOBS_SOMETHING', 'x', { retryable: false }), 'S3JOBS_SOMETHING'],
  ])('dead-letters %s at once, as permanent', (_name, error, code) => {
    expect(classify(error, first)).toEqual({ action: 'dead-letter', reason: 'permanent', code });
  });

  it.each([
    ['an invalid payload', new ValidationError('source.key', 'bad', ErrorCodes.InvalidJob), ErrorCodes.InvalidJob],
    ['an invalid value', new ValidationError('acl', 'bad'), ErrorCodes.InvalidInput],
  ])('dead-letters %s at once, as invalid', (_name, error, code) => {
    expect(classify(error, first)).toEqual({ action: 'dead-letter', reason: 'invalid', code });
  });

  it('dead-letters a job BullMQ failed for stalling too often, as stalled', () => {
    expect(classify(new Error(BULLMQ_STALLED_REASON), first)).toEqual({ action: 'dead-letter', reason: 'stalled', code: WorkerErrorCodes.Stalled });
  });

  it('a retryable error on the last attempt exhausts the retries', () => {
    expect(classify(s3('InternalError', 500), { attemptsMade: 5, attempts: 5 })).toEqual({ action: 'dead-letter', reason: 'retries-exhausted', code: 'InternalError' });
    expect(classify(net(ErrorCodes.Timeout), { attemptsMade: 1, attempts: 1 })).toEqual({ action: 'dead-letter', reason: 'retries-exhausted', code: ErrorCodes.Timeout });
    expect(classify(s3('SlowDown', 503), { attemptsMade: 4, attempts: 5 })).toMatchObject({ action: 'retry' });
  });

  it('a permanent error on the last attempt stays permanent', () => {
    expect(classify(s3('AccessDenied', 403), { attemptsMade: 5, attempts: 5 })).toEqual({ action: 'dead-letter', reason: 'permanent', code: 'AccessDenied' });
  });

  it('recognises s3jobs errors from another copy of the module by shape', () => {
    const foreign = Object.assign(new Error('x'), { code: 'NoSuchKey', retryable: false, status: 404 });
    expect(classify(foreign, first)).toEqual({ action: 'dead-letter', reason: 'permanent', code: 'NoSuchKey' });
    expect(errorCode(foreign)).toBe('NoSuchKey');
  });
});
