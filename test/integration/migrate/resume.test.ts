/**
 * A producer stopped mid-listing — SIGKILL half-way through a page, or Ctrl-C — and the migration
 * run again: every object gets exactly one job (counted with QueueEvents `added`: a job id added
 * twice would show), is processed once (workers' logs), and is reported once.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { expectEveryKeyOnce, migrateTestEnv, PROFILE, putObjects, readReport, repeated, sum, until, type MigrateTestEnv } from './helpers.js';

let env: MigrateTestEnv;
beforeEach(async () => {
  env = await migrateTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});
afterAll(cleanupBuckets);

const keys = (n: number) => Array.from({ length: n }, (_, i) => `in/${String(i).padStart(5, '0')}.txt`);

describe('resuming a migration', () => {
  it('SIGKILL mid-listing, then the same command: each object enqueued, processed and reported exactly once', { timeout: 90_000 }, async () => {
    const bucket = await freshBucket('mig-kill');
    const all = keys(1_500);
    await putObjects(bucket, all, { mimetype: 'application/octet-stream', metadata: { v: '1' } });
    await env.startWorker({ worker: { concurrency: 24 } });
    const report = join(env.dir, 'kill.csv');
    const command = ['migrate-metadata', '--bucket', bucket.name, '--prefix', 'in/', '--profile', PROFILE, '--acl', 'private', '--set', 'v=2', '--mimetype-from-extension', '--report', report];

    // Paced, so the first page (1,000 keys) takes seconds to enqueue: kill it a third of the way in.
    const first = env.spawnCli([...command, '--rate', '400', '--window', '200']);
    await env.waitForAdded(300);
    first.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const addedByFirst = sum(env.added);
    const interrupted = (await env.store.list())[0]!;
    expect(interrupted).toMatchObject({ state: 'listing', nextPage: 0, enqueued: 1_000 });
    // Killed half-way through a page: the page is saved, its jobs partly added.
    expect((await env.store.pendingPage(interrupted.id))?.items).toHaveLength(1_000);
    expect(addedByFirst).toBeGreaterThanOrEqual(300);
    expect(addedByFirst).toBeLessThan(1_000);

    const started = Date.now();
    const second = env.spawnCli(command);
    const result = await second.exited;
    expect(result.stderr).toContain(`(resumed run ${interrupted.id}`);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/completed +1,500$/m);
    console.info(`[migrate] resumed run of 1,500 objects after a SIGKILL at ${addedByFirst} jobs: finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // Each job id added once in all (never re-added by the second producer), each run once.
    expect(env.added.size).toBe(1_500);
    expect(repeated(env.added)).toEqual([]);
    const completions = env.completions();
    expect(completions.size).toBe(1_500);
    expect(repeated(completions)).toEqual([]);

    const run = (await env.store.get(interrupted.id))!;
    expect(run).toMatchObject({ state: 'completed', listed: 1_500, matched: 1_500, enqueued: 1_500, completed: 1_500, changed: 1_500, deadLettered: 0 });
    await env.expectSettled(run, { enqueued: 1_500 });
    const byKey = expectEveryKeyOnce(readReport(report).rows, all);
    expect([...byKey.values()].every((r) => r.status === 'completed' && r.changed === 'true')).toBe(true);
    expect((await bucket.head(all[1_234]!)).metadata).toEqual({ v: '2' });
  });

  it('Ctrl-C stops the listing, exits 130 and says how to resume; --resume ID alone finishes the run', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('mig-int');
    const all = keys(300);
    await putObjects(bucket, all);
    await env.startWorker();
    const report = join(env.dir, 'int.csv');

    const child = env.spawnCli(['migrate-metadata', '--bucket', bucket.name, '--profile', PROFILE, '--acl', 'private', '--set', 'x=y', '--rate', '100', '--report', report]);
    await env.waitForAdded(50);
    child.kill('SIGINT');
    const result = await child.exited;
    expect(result.code).toBe(130);
    const runId = /--resume (mig-[0-9a-f]{16})/.exec(result.stderr)?.[1];
    expect(result.stderr).toContain('Interrupted: stopping the listing');
    expect(result.stderr).toContain(`The run is resumable: jobs already enqueued keep running. Resume it with:\n  s3jobs migrate-metadata --resume ${runId}\n`);
    expect(result.stdout).toMatch(/^Run mig-[0-9a-f]{16}: interrupted \(resumable\)/);
    expect((await env.store.get(runId!))?.state).toBe('listing');

    // The run's own options are used; the lease of the interrupted producer was released.
    const resumed = await env.cli(['migrate-metadata', '--resume', runId!]);
    expect(resumed.code).toBe(0);
    const run = (await env.store.get(runId!))!;
    expect(run).toMatchObject({ state: 'completed', listed: 300, enqueued: 300, completed: 300 });
    await env.expectSettled(run, { enqueued: 300 });
    expect(repeated(env.added)).toEqual([]);
    expectEveryKeyOnce(readReport(report).rows, all);

    const unknown = await env.cli(['migrate-metadata', '--resume', 'mig-doesnotexist']);
    expect(unknown).toMatchObject({ code: 4, stderr: 's3jobs migrate-metadata: no run mig-doesnotexist (list them with: s3jobs runs)\n' });
  });

  it('a second producer on a run that is being driven is refused, naming the process that drives it', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('mig-busy');
    await putObjects(bucket, keys(200));
    const command = ['migrate-metadata', '--bucket', bucket.name, '--profile', PROFILE, '--acl', 'private', '--set', 'x=y', '--report', join(env.dir, 'busy.csv')];
    // No worker: the first producer waits for its jobs with its lease held.
    const first = env.spawnCli(command);
    await env.waitForAdded(200);
    const second = await env.cli(command);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`is being driven by another producer: process ${first.pid} on .*; wait for it to finish or stop it first`));
    first.kill('SIGKILL');
    await first.exited;
    // Killed: the lease is taken over at once by the next producer on this host.
    await env.startWorker();
    const third = await env.cli(command);
    expect(third.code).toBe(0);
    const run = (await env.store.list())[0]!;
    await env.expectSettled(run, { enqueued: 200 });
    await until(async () => (env.completions().size === 200 ? true : undefined));
    expect(repeated(env.added)).toEqual([]);
  });
});
