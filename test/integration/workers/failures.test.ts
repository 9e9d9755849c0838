/**
 * Failure paths, with the fault-injecting proxy between the worker and the S3 test server:
 * timeouts, retries, dead-lettering, large transfers, malformed payloads.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../shared/errors.js';
import type { CopyJobResult } from '../../../shared/jobs/index.js';
import { DeadLetters } from '../../../producers/dead-letters.js';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { isCopyRequest, startFaultProxy, type FaultProxy, type ProxyRequest } from '../../support/fault-proxy.js';
import { s3Target } from '../../support/s3-env.js';
import { expectNoSecretIn, logMessages, PROFILE, workerTestEnv, type WorkerTestEnv } from './helpers.js';

const MiB = 1024 * 1024;
const httpTarget = s3Target().endpoint.startsWith('http:');

let proxy: FaultProxy;
let env: WorkerTestEnv;
beforeEach(async () => {
  proxy = await startFaultProxy({ upstream: s3Target().endpoint, match: isCopyRequest });
  env = await workerTestEnv({ endpoint: proxy.endpoint });
});
afterEach(async () => {
  await env.cleanup();
  await proxy.close();
});
afterAll(cleanupBuckets);

const copyJob = (src: string, dst: string, key = 'k.txt') => ({ kind: 'copy', profile: PROFILE, source: { bucket: src, key }, destination: { bucket: dst, key }, acl: 'private' }) as const;
const copies = () => proxy.log.filter((e) => isCopyRequest(e));
const isPartCopy = (r: ProxyRequest) => isCopyRequest(r) && r.query.has('partNumber');

describe.skipIf(!httpTarget)('failures', () => {
  it('a copy that outlives the job deadline is aborted (socket closed), retried, and succeeds once the server recovers', async () => {
    const src = await freshBucket('to-src');
    const dst = await freshBucket('to-dst');
    await src.put('k.txt', 'payload');
    await env.startWorker({ overrides: { worker: { jobTimeoutMs: 800 } } });
    proxy.enqueue({ type: 'stall' });

    const started = Date.now();
    const id = await env.add(copyJob(src.name, dst.name));
    const result = (await env.producer.waitFor(id, { timeoutMs: 10_000 })) as CopyJobResult;
    expect(result.bytes).toBe(7);
    const { completed } = await env.settle();
    expect(completed.get(id)?.attemptsMade).toBe(2);

    const [stalled, passed] = copies();
    expect(stalled).toMatchObject({ fault: 'stall', clientAborted: true });
    expect(stalled!.endedAt! - stalled!.startedAt).toBeGreaterThanOrEqual(700);
    expect(stalled!.endedAt! - stalled!.startedAt).toBeLessThan(2_000);
    expect(passed).toMatchObject({ fault: 'none', status: 200 });
    expect(Date.now() - started).toBeLessThan(5_000);
    const warned = logMessages(env.logs).find((l) => l.code === ErrorCodes.Timeout);
    expect(warned?.msg).toContain('S3JOBS_TIMEOUT: job deadline of 800 ms exceeded');
    expect((await dst.getBuffer('k.txt')).toString()).toBe('payload');
  });

  it('transient faults (200 with <Error>, reset, SlowDown with Retry-After) are retried with backoff, Retry-After as a floor', async () => {
    const src = await freshBucket('tr-src');
    const dst = await freshBucket('tr-dst');
    await src.put('k.txt', 'payload');
    await env.startWorker();
    proxy.enqueue({ type: 'error-200' }, { type: 'reset-before' }, { type: 'slowdown', retryAfter: 1 });

    const id = await env.add(copyJob(src.name, dst.name), { attempts: 4 });
    await env.producer.waitFor(id, { timeoutMs: 15_000 });
    const { completed } = await env.settle();
    expect(completed.get(id)?.attemptsMade).toBe(4);
    const log = copies();
    expect(log.map((e) => e.fault)).toEqual(['error-200', 'reset-before', 'slowdown', 'none']);
    // The retry after SlowDown waited at least the 1 s the server asked for (backoff alone is ≤ 200 ms).
    expect(log[3]!.startedAt - log[2]!.endedAt!).toBeGreaterThanOrEqual(950);
    expect(log[1]!.startedAt - log[0]!.endedAt!).toBeLessThan(900);
  });

  it('a non-retryable error (missing source) goes straight to the dead-letter queue after one attempt', async () => {
    const src = await freshBucket('nk-src');
    const dst = await freshBucket('nk-dst');
    await env.startWorker();

    const id = await env.add(copyJob(src.name, dst.name, 'missing.txt'), { jobId: 'copy-missing-1' });
    await expect(env.producer.waitFor(id, { timeoutMs: 10_000 })).rejects.toMatchObject({ name: 'JobFailedError', jobErrorCode: 'NotFound' });
    const { deadLettered } = await env.settle();
    const record = deadLettered.get(id)!;
    expect(record).toMatchObject({
      jobId: 'copy-missing-1',
      queue: env.queue,
      kind: 'copy',
      payload: copyJob(src.name, dst.name, 'missing.txt'),
      attemptsMade: 1,
      reason: 'permanent',
      error: { code: 'NotFound', status: 404, retryable: false },
    });
    expect(record.error.message).toContain(`${src.name}/missing.txt`);
    expect(record.failedAt).toBeGreaterThanOrEqual(record.enqueuedAt);
    expect(record.deadLetteredAt).toBeGreaterThanOrEqual(record.failedAt);
    expect(copies()).toHaveLength(0); // the HEAD failed; no copy was attempted
    expect((await env.producer.status(id)).state).toBe('dead-lettered');
    expectNoSecretIn(env.logs);
  });

  it('a persistent 500 exhausts the retries and is dead-lettered with the last error', async () => {
    const src = await freshBucket('ex-src');
    const dst = await freshBucket('ex-dst');
    await src.put('k.txt', 'payload');
    proxy.setDecide((r) => (isCopyRequest(r) ? { type: 'internal' } : undefined));
    await env.startWorker();

    const id = await env.add(copyJob(src.name, dst.name));
    const { deadLettered } = await env.settle(15_000);
    expect(deadLettered.get(id)).toMatchObject({ attemptsMade: 3, reason: 'retries-exhausted', error: { code: 'InternalError', status: 500, retryable: true } });
    expect(deadLettered.get(id)!.error.requestId).toMatch(/^FAULTPROXY\d+$/);
    expect(copies()).toHaveLength(3);
  });

  it('a dead-lettered job retried from the dead-letter queue after the cause is fixed completes', async () => {
    const src = await freshBucket('dr-src');
    const dst = await freshBucket('dr-dst');
    await env.startWorker();
    const named = await env.add(copyJob(src.name, dst.name), { jobId: 'retry-me' });
    const auto = await env.add(copyJob(src.name, dst.name, 'other.txt')); // BullMQ's numeric id
    expect(auto).toMatch(/^\d+$/);
    const first = await env.settle();
    expect(first.deadLettered.get(named)?.reason).toBe('permanent');
    expect(first.deadLettered.get(auto)).toMatchObject({ jobId: auto, reason: 'permanent' });
    expect((await env.producer.status(auto)).state).toBe('dead-lettered');

    await src.put('k.txt', 'now it exists');
    await src.put('other.txt', 'me too');
    const dlq = new DeadLetters(env.producer);
    expect(await dlq.retry(named)).toMatchObject({ jobId: named, requeuedAs: named, alreadyQueued: false });
    const requeued = await dlq.retry(auto);
    expect(requeued.requeuedAs).not.toBe(auto);
    env.enqueued.delete(auto);
    env.track(requeued.requeuedAs);

    const result = (await env.producer.waitFor(named, { timeoutMs: 10_000 })) as CopyJobResult;
    expect(result.bytes).toBe(13);
    await env.producer.waitFor(requeued.requeuedAs, { timeoutMs: 10_000 });
    const second = await env.settle();
    expect(second.completed.get(named)?.attemptsMade).toBe(1); // a fresh attempt count
    expect(second.completed.has(requeued.requeuedAs)).toBe(true);
    expect((await dst.getBuffer('k.txt')).toString()).toBe('now it exists');
  });

  it('malformed payloads are dead-lettered at once with the validation error, and the worker keeps going', async () => {
    const src = await freshBucket('mf-src');
    const dst = await freshBucket('mf-dst');
    await src.put('k.txt', 'payload');
    await env.startWorker();

    const withSecret = await env.addRaw('copy', { ...copyJob(src.name, dst.name), secretKey: 'raw-secret-in-payload' });
    const wrongKind = await env.addRaw('copy', { kind: 'move', profile: PROFILE });
    const notAnObject = await env.addRaw('bogus', 42);
    const badKey = await env.addRaw('copy', { ...copyJob(src.name, dst.name), destination: { bucket: dst.name, key: '' } });
    const unknownProfile = await env.add({ ...copyJob(src.name, dst.name), profile: 'nobody' });
    const good = await env.add(copyJob(src.name, dst.name));

    const { deadLettered, completed } = await env.settle();
    expect(completed.has(good)).toBe(true);
    expect(deadLettered.get(withSecret)).toMatchObject({ reason: 'invalid', attemptsMade: 1, kind: 'copy', error: { code: ErrorCodes.InvalidJob } });
    expect(deadLettered.get(withSecret)!.error.message).toMatch(/^secretKey: looks like a credential/);
    expect(deadLettered.get(wrongKind)).toMatchObject({ reason: 'invalid', name: 'copy', payload: { kind: 'move', profile: PROFILE } });
    expect(deadLettered.get(wrongKind)!.kind).toBeUndefined();
    expect(deadLettered.get(wrongKind)!.error.message).toContain('"move" is not a job kind');
    expect(deadLettered.get(notAnObject)).toMatchObject({ reason: 'invalid', name: 'bogus', payload: 42, error: { message: 'job: must be an object with a "kind" field' } });
    expect(deadLettered.get(badKey)!.error.message).toMatch(/^destination\.key: /);
    expect(deadLettered.get(unknownProfile)).toMatchObject({ reason: 'permanent', attemptsMade: 1, error: { code: ErrorCodes.UnknownProfile } });
    expect(deadLettered.get(unknownProfile)!.error.message).toContain('profile "nobody" is not configured on this worker');
    expect(copies()).toHaveLength(1);
    expectNoSecretIn(env.logs);
  });

  it('a large copy runs without the job deadline: slow but progressing parts finish although the copy outlives it', async () => {
    const src = await freshBucket('lg-src');
    const dst = await freshBucket('lg-dst');
    const body = Buffer.alloc(12 * MiB, 'a');
    body.write('head', 0);
    body.write('tail', body.length - 4);
    await src.put('big.bin', body);
    // Each UploadPartCopy is held 700 ms: 3 parts one at a time take > 2 s, the deadline is 1 s.
    proxy.setDecide((r) => (isPartCopy(r) ? { type: 'stall', afterMs: 700 } : undefined));
    const worker = { jobTimeoutMs: 1_000, largeTransferBytes: 1 * MiB, multipartPartBytes: 5 * MiB, multipartConcurrency: 1, stallTimeoutMs: 3_000 };
    await env.startWorker({ overrides: { worker }, multipartThresholdBytes: 5 * MiB });

    const id = await env.add({ ...copyJob(src.name, dst.name, 'big.bin'), metadata: { size: 'large' } });
    const result = (await env.producer.waitFor(id, { timeoutMs: 15_000 })) as CopyJobResult;
    expect(result).toMatchObject({ bytes: 12 * MiB, multipart: true, largeTransfer: true });
    expect(result.durationMs).toBeGreaterThan(2_000);
    const { completed } = await env.settle();
    expect(completed.get(id)?.attemptsMade).toBe(1);
    expect(proxy.log.filter(isPartCopy).map((e) => e.clientAborted)).toEqual([false, false, false]);
    const copied = await dst.head('big.bin');
    expect(copied.size).toBe(12 * MiB);
    expect(copied.metadata).toEqual({ size: 'large' });
  });

  it('the same copy below the size threshold is held to the job deadline', async () => {
    const src = await freshBucket('lc-src');
    const dst = await freshBucket('lc-dst');
    await src.put('big.bin', Buffer.alloc(12 * MiB, 'b'));
    proxy.setDecide((r) => (isPartCopy(r) ? { type: 'stall', afterMs: 700 } : undefined));
    const worker = { jobTimeoutMs: 1_000, largeTransferBytes: 100 * MiB, multipartPartBytes: 5 * MiB, multipartConcurrency: 1, stallTimeoutMs: 3_000 };
    await env.startWorker({ overrides: { worker }, multipartThresholdBytes: 5 * MiB });

    const id = await env.add(copyJob(src.name, dst.name, 'big.bin'), { attempts: 1 });
    const { deadLettered } = await env.settle(10_000);
    expect(deadLettered.get(id)).toMatchObject({ reason: 'retries-exhausted', error: { code: ErrorCodes.Timeout, message: expect.stringMatching(/^job deadline of 1000 ms exceeded \(waiting for S3 http:\/\/127\.0\.0\.1:\d+: PUT \//) } });
    expect(proxy.log.filter(isPartCopy).some((e) => e.clientAborted)).toBe(true);
  });
});
