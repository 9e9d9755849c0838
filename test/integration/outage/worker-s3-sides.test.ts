/**
 * A worker whose S3 endpoint is away — refused, reset, silent — fails the job naming the S3
 * endpoint and the request (never Redis): in the log line of the attempt and in the dead letter.
 * One attempt, so the job is dead-lettered at once (the breaker needs 5 such failures to open).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BROKEN_KINDS, brokenPort, type BrokenPort } from '../../support/broken-ports.js';
import { PROFILE, workerTestEnv, type WorkerTestEnv } from '../workers/helpers.js';

let env: WorkerTestEnv | undefined;
let broken: BrokenPort | undefined;
afterEach(async () => {
  await env?.cleanup();
  await broken?.close();
  env = broken = undefined;
});

describe('worker: S3 away', () => {
  it.each(BROKEN_KINDS)('S3 %s: the dead letter names the S3 endpoint and the request', { timeout: 30_000 }, async (kind) => {
    broken = await brokenPort(kind);
    env = await workerTestEnv({ endpoint: broken.http, overrides: { worker: { jobTimeoutMs: 1_000 } } });
    await env.startWorker();
    const id = await env.add({ kind: 'metadata-rewrite', profile: PROFILE, bucket: 'away-bucket', key: 'a/b.txt', acl: 'private', set: { k: 'v' } }, { attempts: 1 });
    const { deadLettered } = await env.settle(20_000);
    const record = deadLettered.get(id);
    expect(record?.error.code).toBe(kind === 'silent' ? 'S3JOBS_TIMEOUT' : 'S3JOBS_NETWORK');
    const where = `S3 http://127.0.0.1:${broken.port}: HEAD /away-bucket/a/b.txt`;
    expect(record?.error.message).toContain(where);
    expect(record?.error.message).not.toMatch(/redis/i);
  });
});
