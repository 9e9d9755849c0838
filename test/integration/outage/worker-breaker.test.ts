/**
 * The worker's circuit breaker against a store that goes away: an own s3rver child, stopped while
 * jobs wait, then started again on the same port and storage. No job is dead-lettered though the
 * jobs allow only 2 attempts; at most the few failures that opened the breaker used one. The
 * breaker shows in the log, in /metrics and in `s3jobs queue`; jobs for another endpoint (the
 * suite's S3 server) keep running meanwhile; the failures name the S3 endpoint and the request.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runProducerCommand, type CliIo } from '../../../producers/cli/index.js';
import { S3Bucket } from '../../../shared/s3/index.js';
import { bucketClient, cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { s3Target, uniqueBucketName } from '../../support/s3-env.js';
import { startS3rver, type S3rverProcess } from '../../support/s3rver-process.js';
import { workerEnv } from '../../support/worker-process.js';
import type { WorkerHandle } from '../../../workers/index.js';
import { PROFILE, workerTestEnv, type WorkerTestEnv } from '../workers/helpers.js';

let env: WorkerTestEnv | undefined;
let store: S3rverProcess | undefined;
let dir: string | undefined;
afterEach(async () => {
  await env?.cleanup();
  await store?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  env = store = dir = undefined;
});
afterAll(cleanupBuckets);

async function until<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The store that goes away: this test's own s3rver, with its own keys (whatever the suite's target
 * is), its profile, and a bucket of `count` objects on it.
 */
async function ownStore(bucketPrefix: string, count: number) {
  dir = await mkdtemp(join(tmpdir(), 's3jobs-breaker-'));
  const own = (store = await startS3rver({ directory: dir }));
  const access = { endpoint: own.endpoint, accessKey: own.accessKey, secretKey: own.secretKey, region: own.region, forcePathStyle: true };
  const bucket = new S3Bucket({ name: uniqueBucketName(bucketPrefix), ...access });
  await bucket.putBucket();
  const keys = Array.from({ length: count }, (_, i) => `k/${String(i).padStart(3, '0')}`);
  await Promise.all(keys.map((k) => bucket.put(k, `body ${k}`)));
  await bucket.close();
  return { endpoint: own.endpoint, port: own.port, profile: { ...access, provider: 's3rver' as const }, bucketName: bucket.name, keys };
}

/** A worker's /metrics say its breaker for `endpoint` is open. */
async function breakerOpenIn(handle: WorkerHandle, endpoint: string): Promise<true | undefined> {
  return (await handle.metrics.registry.metrics()).includes(`s3jobs_s3_breaker_state{endpoint="${endpoint}"} 1`) ? true : undefined;
}

describe('worker circuit breaker', () => {
  it('store stopped mid-queue: jobs held back without using attempts, other endpoints keep running, all complete once it is back', { timeout: 90_000 }, async () => {
    const { endpoint, port, profile, bucketName, keys } = await ownStore('brk', 40);
    const other = s3Target();
    env = await workerTestEnv({
      endpoint,
      overrides: {
        logLevel: 'info',
        profiles: { [PROFILE]: profile, other: { endpoint: other.endpoint, accessKey: other.accessKey, secretKey: other.secretKey, region: other.region, forcePathStyle: true } },
        worker: { concurrency: 8, jobTimeoutMs: 3_000, breakerFailures: 3, breakerMaxProbeMs: 2_000 },
        retry: { attempts: 2, backoffBaseMs: 50, backoffMaxMs: 100 },
      },
    });
    const e = env!;
    const elsewhere = await freshBucket('brk-other');
    await Promise.all(keys.slice(0, 10).map((k) => elsewhere.put(k, 'x')));

    const handle = await e.startWorker();
    await store!.stop();
    for (const key of keys) await e.add({ kind: 'metadata-rewrite', profile: PROFILE, bucket: bucketName, key, acl: 'private', set: { ridden: 'out' } });
    const metricsText = async () => handle.metrics.registry.metrics();
    await until(() => breakerOpenIn(handle, endpoint), 20_000, 'the breaker to open');

    // s3jobs queue shows it (from the worker's Redis record).
    let stdout = '';
    const io: CliIo = { stdout: (t) => void (stdout += t), stderr: () => undefined, env: workerEnv(e.config) };
    expect(await runProducerCommand('queue', [], io)).toBe(0);
    expect(stdout).toContain(`S3 endpoint ${endpoint} unavailable for`);
    expect(stdout).toMatch(/put back without using an attempt/);

    // Another endpoint's jobs run meanwhile.
    const otherIds = await Promise.all(keys.slice(0, 10).map((key) => e.add({ kind: 'metadata-rewrite', profile: 'other', bucket: elsewhere.name, key, acl: 'private', set: { ran: 'yes' } })));
    // (s3rver may answer 500 to a HEAD racing the rewrite's copy of the same object: asked again.)
    await until(async () => ((await elsewhere.head(keys[9]!).catch(() => undefined))?.metadata.ran === 'yes' ? true : undefined), 20_000, 'the other endpoint to be served');
    expect(otherIds).toHaveLength(10);

    // Down for a while longer: many probes, and still nothing dead-lettered or failed for good.
    await new Promise((r) => setTimeout(r, 4_000));
    const held = await e.producer.queue.getJobCounts('failed');
    expect(held.failed).toBe(0);
    expect(await e.producer.deadLetters.getJobCounts('waiting')).toEqual({ waiting: 0 });

    store = await startS3rver({ directory: dir, port });
    const settled = await e.settle(40_000);
    expect(settled.deadLettered.size).toBe(0);
    expect(settled.completed.size).toBe(50);
    // attemptsMade counts the completing attempt too: 1 = done at the first. The first failure's
    // probe got no answer either, so the breaker opened there and then: the failures that met the
    // outage were put back like the rest, and no attempt was spent on it.
    const attempts = [...settled.completed.values()].map((c) => c.attemptsMade);
    expect(attempts.filter((n) => n > 1)).toEqual([]);
    const check = bucketClient(bucketName, { endpoint, accessKey: store.accessKey, secretKey: store.secretKey });
    expect((await check.head(keys[39]!)).metadata.ridden).toBe('out');
    await check.close();

    const metrics = await metricsText();
    expect(metrics).toContain(`s3jobs_s3_breaker_state{endpoint="${endpoint}"} 0`);
    expect(metrics).toMatch(new RegExp(`s3jobs_s3_breaker_opens_total\\{endpoint="${endpoint.replace(/[.:/]/g, '\\$&')}"\\} 1`));
    expect(metrics).toMatch(/s3jobs_s3_breaker_deferred_jobs_total\{endpoint="[^"]+"\} [1-9]/);
    const lines = e.logs.map((l) => JSON.parse(l) as { msg?: string; endpoint?: string });
    expect(lines.some((l) => l.endpoint === endpoint && /circuit breaker open/.test(l.msg ?? ''))).toBe(true);
    expect(lines.some((l) => l.endpoint === endpoint && /circuit breaker closed/.test(l.msg ?? ''))).toBe(true);
    // The attempts that failed name the S3 endpoint and the request, not Redis.
    expect(lines.some((l) => (l.msg ?? '').includes(`S3 ${endpoint}: HEAD /${bucketName}/k/`))).toBe(true);
    // The record is gone once the breaker closed.
    stdout = '';
    await runProducerCommand('queue', [], io);
    expect(stdout).toContain('S3 endpoints: all answering');
  });

  it("two workers: the second opens its breaker at its first failure because the first worker's is open — no attempts spent confirming the outage", { timeout: 90_000 }, async () => {
    const { endpoint, port, profile, bucketName, keys } = await ownStore('brk2', 30);
    const failures = 4;
    env = await workerTestEnv({
      endpoint,
      overrides: {
        logLevel: 'info',
        profiles: { [PROFILE]: profile },
        worker: { concurrency: 4, jobTimeoutMs: 3_000, breakerFailures: failures, breakerMaxProbeMs: 2_000 },
        // Enough attempts that nothing is dead-lettered whatever happens: what is counted is attempts spent.
        retry: { attempts: 20, backoffBaseMs: 50, backoffMaxMs: 100 },
      },
    });
    const e = env!;

    const first = await e.startWorker();
    await store!.stop();
    for (const key of keys) await e.add({ kind: 'metadata-rewrite', profile: PROFILE, bucket: bucketName, key, acl: 'private', set: { ridden: 'out' } });
    await until(() => breakerOpenIn(first, endpoint), 20_000, "the first worker's breaker to open");

    // The second worker starts while the first one's breaker is open, and meets the outage when the held-back jobs come up.
    const second = await e.startWorker();
    await until(() => breakerOpenIn(second, endpoint), 20_000, "the second worker's breaker to open");
    const lines = e.logs.map((l) => JSON.parse(l) as { msg?: string; endpoint?: string; worker?: string; failures?: number; peers?: string[] });
    const opens = lines.filter((l) => l.endpoint === endpoint && /is unavailable \(.*\): circuit breaker open/.test(l.msg ?? ''));
    expect(opens).toHaveLength(2);
    // The first worker: its first failure, confirmed by a probe (or its count, when failures came faster than the probe).
    expect(opens[0]!.msg).toMatch(/\(1 store-down failure, and a probe right after got no answer\)|\(4 store-down failures in a row\)/);
    expect(opens[1]).toMatchObject({ failures: 1, peers: [opens[0]!.worker] });
    expect(opens[1]!.worker).not.toBe(opens[0]!.worker);
    expect(opens[1]!.msg).toContain(`1 store-down failure here while worker ${opens[0]!.worker} has its breaker open`);

    store = await startS3rver({ directory: dir, port });
    const settled = await e.settle(40_000);
    expect(settled.deadLettered.size).toBe(0);
    expect(settled.completed.size).toBe(keys.length);
    // attemptsMade counts the completing attempt: what was spent on the outage is the rest. Every
    // failure that met it was put back, in both workers.
    const spent = [...settled.completed.values()].reduce((sum, c) => sum + c.attemptsMade - 1, 0);
    expect(spent).toBe(0);
  });
});
