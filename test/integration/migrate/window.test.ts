/**
 * Issue 9's guarantees at test scale: the queue never holds more than the window of waiting jobs;
 * a producer killed while paused on a full window resumes and completes once a worker runs; the
 * report lists every object once; run jobs leave no job hash behind.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { createRedis } from '../../support/redis.js';
import { expectEveryKeyOnce, migrateTestEnv, PREFIX, PROFILE, putObjects, readReport, repeated, sum, type MigrateTestEnv } from './helpers.js';

let env: MigrateTestEnv;
beforeEach(async () => {
  env = await migrateTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});
afterAll(cleanupBuckets);

const keys = (n: number) => Array.from({ length: n }, (_, i) => `w/${String(i).padStart(5, '0')}.json`);

describe('the window', () => {
  it('holds: sampled while 1,000 objects are enqueued, the queue never has more than --window jobs waiting', { timeout: 90_000 }, async () => {
    const bucket = await freshBucket('mig-window');
    const all = keys(1_000);
    await putObjects(bucket, all);
    await env.startWorker({ worker: { concurrency: 16 } });
    const WINDOW = 50;

    // Sample the depth as fast as Redis answers, on a connection of its own, until the run ends.
    const sampler = createRedis();
    const waitKey = `${PREFIX}:${env.queue}:wait`;
    const samples: number[] = [];
    let sampling = true;
    const sampled = (async () => {
      while (sampling) {
        const replies = (await sampler.multi().llen(waitKey).zcard(`${PREFIX}:${env.queue}:prioritized`).zcard(`${PREFIX}:${env.queue}:delayed`).exec()) ?? [];
        samples.push(replies.reduce((n, [, count]) => n + Number(count), 0));
      }
    })();
    const report = join(env.dir, 'window.csv');
    const result = await env.cli(['migrate-metadata', '--bucket', bucket.name, '--profile', PROFILE, '--acl', 'private', '--mimetype-from-extension', '--window', String(WINDOW), '--report', report]);
    sampling = false;
    await sampled;
    await sampler.quit();

    expect(result.code).toBe(0);
    const max = Math.max(...samples);
    console.info(`[migrate] window ${WINDOW}: ${samples.length} samples of the queue depth, max ${max}`);
    expect(samples.length).toBeGreaterThan(100);
    expect(max).toBeLessThanOrEqual(WINDOW);
    // The window was reached (the producer was held back, not merely slow).
    expect(max).toBeGreaterThanOrEqual(WINDOW - 10);

    const run = (await env.store.list())[0]!;
    expect(run).toMatchObject({ state: 'completed', listed: 1_000, enqueued: 1_000, completed: 1_000 });
    await env.expectSettled(run, { enqueued: 1_000 });
    expectEveryKeyOnce(readReport(report).rows, all);
    expect(repeated(env.added)).toEqual([]);
  });

  it('a producer killed while paused on a full window (no worker running) resumes and completes when a worker starts', { timeout: 90_000 }, async () => {
    const bucket = await freshBucket('mig-paused');
    const all = keys(600);
    await putObjects(bucket, all, { metadata: { stage: 'raw' } });
    const report = join(env.dir, 'paused.csv');
    const command = ['migrate-metadata', '--bucket', bucket.name, '--prefix', 'w/', '--profile', PROFILE, '--acl', 'private', '--set', 'stage=done', '--window', '100', '--report', report];

    const child = env.spawnCli(command);
    await env.waitForAdded(100);
    // Paused: a second later it has added nothing more, and the queue holds exactly the window.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(sum(env.added)).toBe(100);
    expect(await env.depth()).toBe(100);
    expect(child.stderr()).toMatch(/paused: queue full/);
    child.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    expect((await env.store.list())[0]).toMatchObject({ state: 'listing', completed: 0 });

    await env.startWorker({ worker: { concurrency: 16 } });
    const resumed = await env.cli(command);
    expect(resumed.code).toBe(0);
    const run = (await env.store.list())[0]!;
    expect(run).toMatchObject({ state: 'completed', listed: 600, matched: 600, enqueued: 600, completed: 600, changed: 600 });
    await env.expectSettled(run, { enqueued: 600 });
    expect(env.added.size).toBe(600);
    expect(repeated(env.added)).toEqual([]);
    expect(repeated(env.completions())).toEqual([]);
    expectEveryKeyOnce(readReport(report).rows, all);
    expect((await bucket.head(all[599]!)).metadata).toEqual({ stage: 'done' });
  });
});
