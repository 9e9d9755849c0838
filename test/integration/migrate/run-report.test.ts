/**
 * `s3jobs run report` on runs left to the workers (`--no-wait`): once the run has ended it writes
 * the completion report in S3 Batch Operations' form and uploads it to the run's --report-to (kept
 * with the run, or given to `run report`); before, it drains rows only and says so; with --wait it
 * drains until the run ends.
 */
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runProducerCommand } from '../../../producers/cli/index.js';
import type { InterruptibleIo } from '../../../producers/cli/interrupt.js';
import { noWaitNote } from '../../../producers/cli/migrate.js';
import type { S3Bucket } from '../../../shared/s3/index.js';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { migrateTestEnv, PROFILE, putObjects, until, type MigrateTestEnv } from './helpers.js';

let env: MigrateTestEnv;
beforeEach(async () => {
  env = await migrateTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});
afterAll(cleanupBuckets);

const keys = Array.from({ length: 20 }, (_, i) => `n/${String(i).padStart(2, '0')}.txt`);

/** The uploaded Batch Operations CSV, one line per task (these keys need no quoting). */
async function uploadedRows(reports: S3Bucket, key: string): Promise<string[]> {
  return (await reports.getBuffer(key)).toString().trimEnd().split('\n');
}

/** Each key once, succeeded (column 3, the version id, may be empty). */
function expectSucceeded(rows: readonly string[], bucket: string): void {
  const succeeded = rows.filter((r) => new RegExp(`^${bucket},n/\\d\\d\\.txt,[^,]*,succeeded,,200,"?Successful`).test(r));
  expect(succeeded.map((r) => r.split(',')[1]).sort()).toEqual(keys);
}

describe('s3jobs run report: the Batch Operations report of a run left to the workers', () => {
  it('a --no-wait run with --report-to: run report after the workers finished uploads <id>.csv and <id>.summary.txt', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('rr-src');
    const reports = await freshBucket('rr-reports');
    await putObjects(bucket, keys);
    const manifest = join(env.dir, 'objects.csv');
    writeFileSync(manifest, [...keys.map((k) => `${bucket.name},${k}`), 'just-one-column'].join('\n'));
    const report = join(env.dir, 'nw.csv');
    const started = await env.cli([
      'migrate-metadata',
      '--bucket',
      bucket.name,
      '--manifest',
      manifest,
      '--profile',
      PROFILE,
      '--acl',
      'private',
      '--set',
      'v=2',
      '--report',
      report,
      '--report-to',
      `s3://${reports.name}/runs/`,
      '--fail-threshold',
      'off',
      '--no-wait',
    ]);
    // The bad row is counted failed at once: exit code 1, as for a dead letter.
    expect(started.code, started.stderr).toBe(1);
    const id = (await env.store.list())[0]!.id;
    expect(started.stderr).toContain(noWaitNote(id, { bucket: reports.name, prefix: 'runs/' }));
    expect(started.stderr).not.toContain('completion report');
    expect((await env.store.get(id))?.reportTo).toBe(`s3://${reports.name}/runs/`);
    expect(existsSync(`${report}.batchops.csv`)).toBe(false);

    await env.startWorker();
    await until(async () => ((await env.store.get(id))?.state === 'completed' ? true : undefined), 30_000, 'the run to complete');

    // No --report-to here: the one kept with the run.
    const collected = await env.cli(['run', 'report', id]);
    expect(collected.code, collected.stderr).toBe(0);
    // The bad row's was drained by the producer (it is recorded as the manifest is read).
    expect(collected.stdout).toBe(`Report of run ${id}: ${report} (20 new rows written; 21 of 21 objects finished)\n`);
    const line = `Run ${id}: 21 tasks, 20 succeeded, 1 failed; completion report s3://${reports.name}/runs/${id}.csv`;
    expect(collected.stderr).toBe(`${line}\n`);
    expect(existsSync(`${report}.batchops.csv`)).toBe(true);
    expect((await reports.getBuffer(`runs/${id}.summary.txt`)).toString()).toBe(`${line}\n`);
    const rows = await uploadedRows(reports, `runs/${id}.csv`);
    expect(rows).toHaveLength(21);
    expectSucceeded(rows, bucket.name);
    expect(rows.filter((r) => /,failed,InvalidManifestRow,400,.*objects\.csv line 21: 1 column/.test(r))).toHaveLength(1);

    // Again, as JSON: nothing new to drain, the same report delivered again.
    const again = await env.cli(['run', 'report', id, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      rowsWritten: 0,
      reportPath: report,
      run: { id, state: 'completed', reportTo: `s3://${reports.name}/runs/` },
      batchOps: { path: `${report}.batchops.csv`, uploadedTo: `s3://${reports.name}/runs/${id}.csv`, succeeded: 20, failed: 1 },
    });
    expect(again.stderr).toBe(`${line}\n`);

    // A run command that sees the run ended, without --report-to, uploads to the one kept with the run.
    await reports.delete(`runs/${id}.summary.txt`);
    const resumed = await env.cli(['migrate-metadata', '--resume', id]);
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toContain(`${line}\n`);
    expect((await reports.getBuffer(`runs/${id}.summary.txt`)).toString()).toBe(`${line}\n`);

    // Another machine, without the run's report: what it drains is not the whole run, and a partial
    // report is never handed on as the run's. Written locally, said, not uploaded, exit code 1.
    await reports.delete(`runs/${id}.summary.txt`);
    await reports.delete(`runs/${id}.csv`);
    unlinkSync(report);
    const elsewhere = join(env.dir, 'elsewhere.csv');
    const partial = await env.cli(['run', 'report', id, '--out', elsewhere]);
    expect(partial.code, partial.stderr).toBe(1);
    expect(partial.stderr).toContain(`note: the run's report ${report} is not on this machine`);
    expect(partial.stderr).toContain(
      `Run ${id}: 0 tasks, 0 succeeded, 0 failed; completion report ${elsewhere}.batchops.csv (partial: 0 of the run's 21 tasks; the others' rows were drained into the report where the run started, so it was not uploaded)\n`,
    );
    expect(await reports.exists(`runs/${id}.csv`)).toBe(false);
    expect(await reports.exists(`runs/${id}.summary.txt`)).toBe(false);
  });

  it('on a run still draining: rows only and a note; with --wait it returns once the workers have finished the run', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('rr-wait');
    const reports = await freshBucket('rr-later');
    await putObjects(bucket, keys);
    const report = join(env.dir, 'wait.csv');
    const started = await env.cli(['migrate-metadata', '--bucket', bucket.name, '--prefix', 'n/', '--profile', PROFILE, '--acl', 'private', '--set', 'v=3', '--report', report, '--no-wait']);
    expect(started.code, started.stderr).toBe(0);
    const id = (await env.store.list())[0]!.id;
    expect(started.stderr).toContain(noWaitNote(id, undefined));

    // No worker yet: nothing has finished.
    const early = await env.cli(['run', 'report', id]);
    expect(early.code).toBe(0);
    expect(early.stdout).toBe(`Report of run ${id}: ${report} (0 new rows written; 0 of 20 objects finished)\n`);
    expect(early.stderr).toBe(
      `note: run ${id} has not ended (draining: 0 of 20 objects finished); its report in S3 Batch Operations' form is written once it has: s3jobs run report ${id} --wait waits for that\n`,
    );
    expect(existsSync(`${report}.batchops.csv`)).toBe(false);

    // --wait, with --report-to given here (kept with the run before the wait begins).
    let settled = false;
    const waiting = env.cli(['run', 'report', id, '--wait', '--report-to', `s3://${reports.name}/later`]).finally(() => (settled = true));
    await until(async () => ((await env.store.get(id))?.reportTo === `s3://${reports.name}/later/` ? true : undefined), 10_000, 'the --report-to to be kept');
    // It holds the run while it waits.
    expect(await env.store.leaseHolder(id)).toBeDefined();
    await new Promise((r) => setTimeout(r, 1_500));
    expect(settled, 'run report --wait returned before the run ended').toBe(false);

    await env.startWorker();
    const done = await waiting;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toBe(`Report of run ${id}: ${report} (20 new rows written; 20 of 20 objects finished)\n`);
    const line = `Run ${id}: 20 tasks, 20 succeeded, 0 failed; completion report s3://${reports.name}/later/${id}.csv`;
    expect(done.stderr).toBe(`${line}\n`);
    expect((await env.store.get(id))?.state).toBe('completed');
    expect(await env.store.leaseHolder(id)).toBeUndefined();
    expect(existsSync(`${report}.batchops.csv`)).toBe(true);
    expect((await reports.getBuffer(`later/${id}.summary.txt`)).toString()).toBe(`${line}\n`);
    const rows = await uploadedRows(reports, `later/${id}.csv`);
    expect(rows).toHaveLength(20);
    expectSucceeded(rows, bucket.name);
    await env.expectSettled((await env.store.get(id))!, { enqueued: 20 });
  });

  it('run report --wait: Ctrl-C stops waiting with exit code 130 (no Batch Operations report); an unknown run is not found', { timeout: 30_000 }, async () => {
    const bucket = await freshBucket('rr-int');
    await putObjects(bucket, keys.slice(0, 3));
    const report = join(env.dir, 'int.csv');
    const started = await env.cli(['migrate-metadata', '--bucket', bucket.name, '--profile', PROFILE, '--acl', 'private', '--set', 'v=4', '--report', report, '--no-wait']);
    expect(started.code, started.stderr).toBe(0);
    const id = (await env.store.list())[0]!.id;

    let interrupt: (() => void) | undefined;
    let stdout = '';
    let stderr = '';
    const io: InterruptibleIo = {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      env: env.env,
      onInterrupt: (handler) => {
        interrupt = handler;
        return () => (interrupt = undefined);
      },
    };
    const waiting = runProducerCommand('run', ['report', id, '--wait'], io);
    await until(async () => interrupt, 10_000, 'run report --wait to listen for Ctrl-C');
    interrupt!();
    expect(await waiting).toBe(130);
    expect(interrupt, 'the Ctrl-C handler is removed').toBeUndefined();
    expect(stdout).toBe(`Report of run ${id}: ${report} (0 new rows written; 0 of 3 objects finished)\n`);
    expect(stderr).toContain(`Interrupted: no longer waiting for run ${id}`);
    expect(stderr).toContain(`note: stopped waiting: run ${id} has not ended (draining: 0 of 3 objects finished)`);
    expect(existsSync(`${report}.batchops.csv`)).toBe(false);
    expect(await env.store.leaseHolder(id)).toBeUndefined();

    const missing = await env.cli(['run', 'report', 'no-such-run', '--wait']);
    expect(missing).toMatchObject({ code: 4, stderr: `s3jobs run: no run no-such-run in queue ${env.queue} (list them with: s3jobs runs)\n` });
  });
});
