/**
 * Errors name their side: an S3 socket error (same ECONNREFUSED as Redis's) maps to exit 5 and is
 * never called a Redis failure; the transient/store-down predicates; the listing's retry delays
 * and its progress line while S3 is away.
 */
import { describe, expect, it } from 'vitest';
import { ExitCode, exitCodeFor, isRedisUnavailable, RedisUnavailableError } from '../../../producers/cli/exit-codes.js';
import { LISTING_RETRY_MAX_MS, listingRetryDelay, S3UnavailableError } from '../../../producers/migrate/listing-retry.js';
import { plainLine } from '../../../producers/migrate/progress.js';
import { ErrorCodes, S3Error, S3JobsError } from '../../../shared/errors.js';
import type { RunInfo } from '../../../shared/runs/index.js';
import { transportError } from '../../../shared/s3/request.js';
import { isStoreDownFailure, isTransientS3Failure } from '../../../shared/s3/retry-rules.js';

const endpoint = { origin: 'http://127.0.0.1:7480', host: '127.0.0.1:7480', basePath: '/b' };
const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7480'), { code: 'ECONNREFUSED' });
const s3Refused = transportError(refused, { method: 'GET', key: undefined, timeout: 20_000, endpoint, path: '/b', query: { 'list-type': '2', 'continuation-token': 'secret-looking-token' } }, undefined);
const redisRefused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
const answer = (status: number, code: string) => new S3Error({ code, message: 'm', status, retryable: status >= 500, bucket: 'b' });

describe('which side failed', () => {
  it('an S3 request that got no answer names S3, the endpoint and the request (query names only)', () => {
    expect(s3Refused.message).toBe('S3 http://127.0.0.1:7480: GET /b?list-type&continuation-token: network error ECONNREFUSED');
    expect(s3Refused).toMatchObject({ name: 'S3TransportError', code: ErrorCodes.Network, endpoint: 'http://127.0.0.1:7480', request: 'GET /b?list-type&continuation-token' });
  });

  it('exit codes: S3 away is 5, Redis away is 3, whatever the socket error says', () => {
    expect(isRedisUnavailable(s3Refused)).toBe(false);
    expect(exitCodeFor(s3Refused)).toBe(ExitCode.S3Unavailable);
    expect(ExitCode.S3Unavailable).toBe(5);
    expect(isRedisUnavailable(redisRefused)).toBe(true);
    expect(exitCodeFor(redisRefused)).toBe(ExitCode.RedisUnavailable);
    expect(exitCodeFor(new RedisUnavailableError('Redis is unreachable'))).toBe(3);
    // An S3 timeout is not --wait's timeout (124).
    const timeout = transportError(Object.assign(new Error('aborted'), { name: 'AbortError' }), { method: 'HEAD', key: 'k', timeout: 300, endpoint, path: '/b/k' }, AbortSignal.abort());
    expect(timeout.code).toBe(ErrorCodes.Timeout);
    expect(exitCodeFor(timeout)).toBe(5);
    expect(exitCodeFor(new S3JobsError(ErrorCodes.Timeout, 'waited'))).toBe(ExitCode.WaitTimeout);
    expect(exitCodeFor(answer(503, 'ServiceUnavailable'))).toBe(5);
    expect(exitCodeFor(answer(404, 'NoSuchBucket'))).toBe(ExitCode.Failed);
    const spent = new S3UnavailableError({ runId: 'mig-1', bucket: 'b', endpoint: endpoint.origin, outage: { since: Date.now() - 1000, retries: 3, lastError: s3Refused.message }, budgetMs: 1000, cause: s3Refused });
    expect(exitCodeFor(spent)).toBe(5);
    expect(spent.message).toMatch(/^S3 unavailable at http:\/\/127\.0\.0\.1:7480 \(listing bucket b\) since .*: gave up after 3 retries .* Run mig-1 is kept and resumable/);
  });

  it.each([
    [s3Refused, true, true],
    [answer(503, 'ServiceUnavailable'), true, true],
    [answer(503, 'SlowDown'), true, false],
    [answer(500, 'InternalError'), true, false],
    [answer(504, 'GatewayTimeout'), true, true],
    [answer(404, 'NoSuchKey'), false, false],
    [answer(412, 'PreconditionFailed'), false, false],
    [redisRefused, false, false],
    [new S3JobsError(ErrorCodes.InvalidJob, 'bad payload'), false, false],
  ])('%s: transient %s, store down %s', (err, transient, down) => {
    expect(isTransientS3Failure(err)).toBe(transient);
    expect(isStoreDownFailure(err)).toBe(down);
  });
});

describe('the listing during an outage', () => {
  it('retry delays grow from ~0.5 s, doubling, capped at 5 s', () => {
    expect(listingRetryDelay(1, () => 0)).toBe(250);
    expect(listingRetryDelay(1, () => 0.999)).toBe(500);
    expect(listingRetryDelay(3, () => 0)).toBe(1_000);
    expect(listingRetryDelay(30, () => 0)).toBe(LISTING_RETRY_MAX_MS / 2);
    expect(listingRetryDelay(30, () => 0.9999)).toBe(LISTING_RETRY_MAX_MS);
  });

  it('progress says since when S3 is unavailable and that it is retrying', () => {
    const run = { id: 'mig-1', listed: 10, enqueued: 10, completed: 3, changed: 3, deadLettered: 0, cancelled: 0 } as RunInfo;
    const since = Date.UTC(2026, 11, 3, 22, 51, 3);
    const line = plainLine(run, { phase: 's3-unavailable', queueDepth: undefined, s3Outage: { since, retries: 2, lastError: s3Refused.message } }, { rate: undefined, etaMs: undefined }, since + 5000);
    expect(line).toContain('S3 unavailable since 2026-12-03T22:51:03Z, retrying (2 retries; last: S3 http://127.0.0.1:7480: GET /b?list-type&continuation-token: network error ECONNREFUSED)');
  });
});
