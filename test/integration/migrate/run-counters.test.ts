/**
 * Run counters that stay true: an object dead-lettered in a migration and retried from the
 * dead-letter queue moves from deadLettered to completed once, and its report row with it; a run
 * is completed by its last outcome, without anyone asking; `--resume ID` keeps the run's own
 * window and rate unless they are given again.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { expectEveryKeyOnce, migrateTestEnv, PROFILE, putObjects, readReport, until, type MigrateTestEnv } from './helpers.js';

let env: MigrateTestEnv;
beforeEach(async () => {
  env = await migrateTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});
afterAll(cleanupBuckets);

const keys = (n: number) => Array.from({ length: n }, (_, i) => `in/${String(i).padStart(5, '0')}.txt`);

describe('run counters', () => {
  it.each([1, 10])('a dead-lettered object retried from the DLQ moves its counters and report row once (batch size %i)', { timeout: 60_000 }, async (batchSize) => {
    const bucket = await freshBucket('mig-dlq');
    const all = keys(20);
    await putObjects(bucket, all);
    const report = join(env.dir, `dlq-${batchSize}.csv`);
    const command = ['migrate-metadata', '--bucket', bucket.name, '--profile', PROFILE, '--acl', 'private', '--set', 'v=2', '--report', report, '--batch-size', String(batchSize), '--fail-threshold', 'off'];
    // No worker yet: the jobs wait while one object goes away, so its rewrite fails for good.
    const enqueued = await env.cli([...command, '--no-wait']);
    expect(enqueued.code).toBe(0);
    const runId = (await env.store.list())[0]!.id;
    await bucket.delete(all[5]!);
    await env.startWorker();
    // Completed by its last outcome: nobody asked (no run show, no run report).
    const finished = await until(async () => {
      const run = await env.store.get(runId);
      return run?.state === 'completed' ? run : undefined;
    });
    expect(finished).toMatchObject({ enqueued: 20, completed: 19, deadLettered: 1 });
    expect((await env.cli(['run', 'report', runId])).code).toBe(0);
    expect(expectEveryKeyOnce(readReport(report).rows, all).get(all[5]!)).toMatchObject({ status: 'dead-lettered', errorCode: expect.stringMatching(/^(NoSuchKey|NotFound)$/) });

    // The object is back; the operator retries its dead letter (the object's own job id).
    await bucket.put(all[5]!, 'back again');
    const retried = await env.cli(['dlq', 'retry', `${runId}-5`]);
    expect(retried).toMatchObject({ code: 0 });
    const revised = await until(async () => {
      const run = await env.store.get(runId);
      return run !== undefined && run.completed === 20 ? run : undefined;
    });
    expect(revised).toMatchObject({ state: 'completed', enqueued: 20, completed: 20, changed: 20, deadLettered: 0, cancelled: 0 });
    // Retried again: nothing left to retry, nothing counted twice.
    expect((await env.cli(['dlq', 'retry', `${runId}-5`])).code).toBe(4);
    await env.expectSettled((await env.store.get(runId))!, { enqueued: 20 });
    expect((await env.cli(['run', 'report', runId])).code).toBe(0);
    const rows = expectEveryKeyOnce(readReport(report).rows, all);
    expect([...rows.values()].every((r) => r.status === 'completed')).toBe(true);
    expect(rows.get(all[5]!)).toMatchObject({ status: 'completed', changed: 'true', errorCode: '' });
    expect((await bucket.head(all[5]!)).metadata).toEqual({ v: '2' });
    expect((await env.store.get(runId))!).toMatchObject({ completed: 20, deadLettered: 0 });
  });

  it('--resume ID keeps the run window and rate unless given again', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('mig-pace');
    const all = keys(300);
    await putObjects(bucket, all);
    const command = ['migrate-metadata', '--bucket', bucket.name, '--profile', PROFILE, '--acl', 'private', '--set', 'v=2', '--report', join(env.dir, 'pace.csv')];
    // No worker: the producer fills the window and waits.
    const first = env.spawnCli([...command, '--window', '40', '--rate', '500']);
    await env.waitForAdded(40);
    const runId = (await until(async () => (await env.store.list())[0])).id;
    first.kill('SIGKILL');
    await first.exited;
    expect(await env.store.get(runId)).toMatchObject({ window: 40, ratePerSecond: 500 });

    // Resumed without them: it still holds at most 40 objects in the queue (the default would
    // enqueue all 300 at once). The page it was in is replayed, so give it time to add all it may.
    const second = env.spawnCli(['migrate-metadata', '--resume', runId]);
    await until(async () => ((await env.store.get(runId))!.nextPage === 0 && (await env.depth()) >= 40 ? true : undefined));
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await env.depth()).toBe(40);
    second.kill('SIGKILL');
    await second.exited;
    expect(await env.store.get(runId)).toMatchObject({ window: 40, ratePerSecond: 500 });

    // Given again, they replace the run's own; the run finishes.
    await env.startWorker();
    const third = await env.cli(['migrate-metadata', '--resume', runId, '--rate', '2000']);
    expect(third.code).toBe(0);
    const run = (await env.store.get(runId))!;
    expect(run).toMatchObject({ state: 'completed', completed: 300, window: 40, ratePerSecond: 2000 });
    await env.expectSettled(run, { enqueued: 300 });
  });
});
