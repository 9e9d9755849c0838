/**
 * The worker's /metrics, /healthz and /readyz: real jobs against the S3 test server move the
 * counters, and nothing secret is ever served.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { s3Target } from '../../support/s3-env.js';
import { DECOY_SECRET, PROFILE, workerTestEnv, type WorkerTestEnv } from './helpers.js';

let env: WorkerTestEnv;
beforeEach(async () => {
  env = await workerTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});
afterAll(cleanupBuckets);

/** The value of one sample line (`name{labels} value`) in a Prometheus text exposition. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((part) => l.includes(part)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('worker metrics and health', () => {
  it('counts jobs by kind and outcome, bytes, S3 requests by status and queue depth; /healthz and /readyz answer', async () => {
    const bucket = await freshBucket('metrics');
    await bucket.put('a.txt', 'x'.repeat(1234), { metadata: { a: '1' } });
    const worker = await env.startWorker({ overrides: { worker: { metricsPort: 0 } } });
    expect(worker.healthUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    await env.producer.waitFor(await env.add({ kind: 'copy', profile: PROFILE, source: { bucket: bucket.name, key: 'a.txt' }, destination: { bucket: bucket.name, key: 'b.txt' }, acl: 'private' }), { timeoutMs: 10_000 });
    await env.producer.waitFor(await env.add({ kind: 'metadata-rewrite', profile: PROFILE, bucket: bucket.name, key: 'a.txt', set: { a: '1' }, acl: 'private' }), { timeoutMs: 10_000 });
    const missing = await env.add({ kind: 'copy', profile: PROFILE, source: { bucket: bucket.name, key: 'nope' }, destination: { bucket: bucket.name, key: 'c' }, acl: 'private' });
    await env.settle();
    expect(await env.deadLetter(missing)).toBeDefined();

    const res = await fetch(`${worker.healthUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(sample(text, 's3jobs_jobs_total', 'kind="copy",outcome="completed"')).toBe(1);
    expect(sample(text, 's3jobs_jobs_total', 'kind="metadata-rewrite",outcome="completed"')).toBe(1);
    expect(sample(text, 's3jobs_jobs_total', 'kind="copy",outcome="dead_lettered"')).toBe(1);
    expect(sample(text, 's3jobs_jobs_unchanged_total', 'kind="metadata-rewrite"')).toBe(1);
    expect(sample(text, 's3jobs_bytes_copied_total', 'kind="copy"')).toBe(1234);
    expect(sample(text, 's3jobs_s3_requests_total', 'method="HEAD",status="200"')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 's3jobs_s3_requests_total', 'method="HEAD",status="404"')).toBe(1);
    expect(sample(text, 's3jobs_s3_requests_total', 'method="PUT",status="200"')).toBe(1);
    expect(sample(text, 's3jobs_queue_jobs', 'state="dead_lettered"')).toBe(1);
    expect(text).toContain('s3jobs_job_duration_seconds_bucket');
    for (const secret of [DECOY_SECRET, s3Target().secretKey === 'S3RVER' ? 'never-matches' : s3Target().secretKey, 'Signature=', bucket.name]) expect(text).not.toContain(secret);

    expect((await fetch(`${worker.healthUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${worker.healthUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe('ready\n');
    expect((await fetch(`${worker.healthUrl}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('/readyz says not ready once the worker is shutting down', async () => {
    const worker = await env.startWorker({ overrides: { worker: { metricsPort: 0, shutdownGraceMs: 2_000 } } });
    const url = worker.healthUrl!;
    // Keep the worker closing (a long job would do; closing with nothing running is quick), and
    // ask readiness while close() is under way.
    const closing = worker.close();
    const res = await fetch(`${url}/readyz`).catch(() => undefined);
    if (res !== undefined) {
      expect(res.status).toBe(503);
      expect(await res.text()).toMatch(/shutting down/);
    }
    await closing;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
