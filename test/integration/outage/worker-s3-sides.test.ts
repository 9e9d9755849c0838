/**
 * A worker whose S3 endpoint is away — refused, reset, silent — says so naming the S3 endpoint and
 * the request (never Redis), and holds the job back rather than fail it: the job allows a single
 * attempt, and the outage must not spend it. The first failure's probe gets no answer either, so
 * the circuit breaker opens at once; its log line carries the failure. The job waits in the
 * delayed set with no attempt made, and no dead letter.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BROKEN_KINDS, brokenPort, type BrokenPort } from '../../support/broken-ports.js';
import { until } from '../migrate/helpers.js';
import { logMessages, PROFILE, workerTestEnv, type WorkerTestEnv } from '../workers/helpers.js';

let env: WorkerTestEnv | undefined;
let broken: BrokenPort | undefined;
afterEach(async () => {
  await env?.cleanup();
  await broken?.close();
  env = broken = undefined;
});

describe('worker: S3 away', () => {
  it.each(BROKEN_KINDS)('S3 %s: the breaker opens at the first failure, naming the S3 endpoint and the request; the one-attempt job is held, not dead-lettered', { timeout: 30_000 }, async (kind) => {
    broken = await brokenPort(kind);
    env = await workerTestEnv({ endpoint: broken.http, overrides: { worker: { jobTimeoutMs: 1_000 } } });
    const e = env;
    await e.startWorker();
    const id = await e.add({ kind: 'metadata-rewrite', profile: PROFILE, bucket: 'away-bucket', key: 'a/b.txt', acl: 'private', set: { k: 'v' } }, { attempts: 1 });
    const endpoint = `http://127.0.0.1:${broken.port}`;
    const line = await until(async () => logMessages(e.logs).find((l) => l.endpoint === endpoint && /circuit breaker open/.test(l.msg) && /is unavailable/.test(l.msg)), 20_000, 'the breaker-open log line');
    expect(line.msg).toContain('1 store-down failure, and a probe right after got no answer');
    const where = `S3 ${endpoint}: HEAD /away-bucket/a/b.txt`;
    expect(line.lastFailure).toEqual(expect.stringContaining(where));
    expect(line.msg).toContain(`Last failure: ${line.lastFailure as string}`);
    expect(line.msg).not.toMatch(/redis/i);
    expect(String(line.lastFailure)).toMatch(kind === 'silent' ? /timed out|deadline|timeout/i : /ECONNREFUSED|ECONNRESET|socket|closed|other side/i);

    // Held: delayed, no attempt made, no dead letter.
    await until(async () => ((await e.producer.queue.getJobState(id)) === 'delayed' ? true : undefined), 20_000, 'the job to be put back in delayed');
    expect(await e.producer.queue.getJobState(id)).toBe('delayed');
    expect((await e.producer.queue.getJob(id))?.attemptsMade).toBe(0);
    expect(await e.deadLetter(id)).toBeUndefined();
    e.enqueued.delete(id);
  });
});
