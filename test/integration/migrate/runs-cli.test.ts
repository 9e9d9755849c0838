/**
 * `s3jobs runs` and `s3jobs run show|report|delete` on a run left to the workers by
 * `migrate-metadata --no-wait`.
 */
import { existsSync } from 'node:fs';
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

describe('s3jobs runs / run', () => {
  it('lists, shows, reports and deletes a run', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('mig-runs');
    const keys = Array.from({ length: 30 }, (_, i) => `r/${i}.txt`);
    await putObjects(bucket, keys);
    const report = join(env.dir, 'runs.csv');
    const command = ['migrate-metadata', '--bucket', bucket.name, '--profile', PROFILE, '--acl', 'private', '--cache-control', 'max-age=5', '--report', report, '--no-wait'];

    // No worker yet: --no-wait returns once everything is enqueued.
    const started = await env.cli(command);
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/^Run (mig-[0-9a-f]{16}): enqueued; workers are finishing it/);
    const id = /^Run (mig-[0-9a-f]{16})/.exec(started.stdout)![1]!;
    expect(started.stderr).toContain(`Everything is enqueued; workers are finishing the run. Follow it with: s3jobs run show ${id}; collect its report with: s3jobs run report ${id}`);

    const list = await env.cli(['runs']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^1 run in queue ${env.queue}, newest first:\\nRUN ID +STATE +LISTED +ENQUEUED +COMPLETED +CHANGED +DEAD +CANCELLED +AGE +UPDATED\\n${id} +draining +30 +30 +0 +0 +0 +0 `));
    const listed = JSON.parse((await env.cli(['runs', '--json'])).stdout) as { id: string; state: string; report: string }[];
    expect(listed).toMatchObject([{ id, state: 'draining', report }]);

    const show = await env.cli(['run', 'show', id]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`Run ${id} (metadata-migration): draining`);
    expect(show.stdout).toContain(`  objects:     s3://${bucket.name}/ (profile ${PROFILE})`);
    expect(show.stdout).toContain('  change:      cache-control: max-age=5');
    expect(show.stdout).toContain('  in queue:    30 jobs');
    expect(show.stdout).toContain('  driven by:   no producer now');

    // Still queued: delete is refused without --force.
    const refused = await env.cli(['run', 'delete', id]);
    expect(refused).toMatchObject({ code: 1, stderr: `s3jobs run: run ${id} still has 30 jobs in the queue; let it finish, or give --force to cancel them and delete the run\n` });

    await env.startWorker();
    await until(async () => {
      const run = await env.store.get(id);
      return run !== undefined && run.completed === 30 ? run : undefined;
    });
    // Nobody drained the outcomes yet: the report has its header only, the rows wait in Redis.
    expect(readReport(report).rows).toEqual([]);
    expect((await env.cli(['run', 'show', id])).stdout).toContain(`(30 rows still in Redis: s3jobs run report ${id})`);

    const drained = await env.cli(['run', 'report', id]);
    expect(drained.code).toBe(0);
    expect(drained.stdout).toBe(`Report of run ${id}: ${report} (30 new rows written; 30 of 30 objects finished)\n`);
    expectEveryKeyOnce(readReport(report).rows, keys);
    const run = (await env.store.get(id))!;
    expect(run.state).toBe('completed');
    await env.expectSettled(run, { enqueued: 30 });
    expect((await bucket.head('r/7.txt')).headers['cache-control']).toBe('max-age=5');

    // --out: the complete report in another file, which becomes the run's report.
    const out = join(env.dir, 'copy.csv');
    expect((await env.cli(['run', 'report', id, '--out', out])).code).toBe(0);
    expectEveryKeyOnce(readReport(out).rows, keys);
    expect((await env.store.get(id))?.report).toBe(out);

    const deleted = await env.cli(['run', 'delete', id]);
    expect(deleted).toMatchObject({ code: 0, stdout: `Deleted run ${id}. Its report stays at ${out}.\n` });
    expect(await env.store.get(id)).toBeUndefined();
    expect(existsSync(out)).toBe(true);
    expect(await env.cli(['run', 'show', id])).toMatchObject({ code: 4, stderr: `s3jobs run: no run ${id} in queue ${env.queue} (list them with: s3jobs runs)\n` });
    expect((await env.cli(['runs'])).stdout).toBe(`No runs in queue ${env.queue}.\n`);
  });

  it('run delete --force cancels the queued jobs of the run and removes its dead letters', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('mig-del');
    await putObjects(bucket, ['a', 'b', 'c']);
    const started = await env.cli(['migrate-metadata', '--bucket', bucket.name, '--profile', PROFILE, '--acl', 'private', '--set', 'k=v', '--report', join(env.dir, 'del.csv'), '--no-wait', '--json']);
    const { run } = JSON.parse(started.stdout) as { run: { id: string } };
    const forced = await env.cli(['run', 'delete', run.id, '--force']);
    expect(forced).toMatchObject({ code: 0, stdout: `Deleted run ${run.id}, cancelled 3 queued jobs. Its report stays at ${join(env.dir, 'del.csv')}.\n` });
    expect(await env.depth()).toBe(0);
    expect(await env.store.list()).toEqual([]);
  });
});
