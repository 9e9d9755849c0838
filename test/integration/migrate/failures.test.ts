/**
 * A clearly broken run — every rewrite refused because the workers' credentials are wrong — is
 * stopped by the failure threshold: the listing stops, the jobs not yet started are cancelled,
 * and the report and counters still account for every object enqueued. And a run whose jobs were
 * removed by hand is stopped rather than waited for forever.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrationExitCode } from '../../../producers/cli/migrate.js';
import { defaultRunId, runMigration, type MigrationSpec } from '../../../producers/migrate/migration.js';
import { bucketClient, cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { s3Target } from '../../support/s3-env.js';
import { expectEveryKeyOnce, mapConcurrent, migrateTestEnv, PROFILE, putObjects, readReport, repeated, type MigrateTestEnv } from './helpers.js';

let env: MigrateTestEnv;
beforeEach(async () => {
  env = await migrateTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});
afterAll(cleanupBuckets);

describe('runs that cannot finish', () => {
  it('the failure threshold stops a run whose jobs all fail (workers with a wrong secret key): listing stopped, queued jobs cancelled, everything reported', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('mig-broken');
    const all = Array.from({ length: 400 }, (_, i) => `b/${String(i).padStart(4, '0')}`);
    await putObjects(bucket, all, { metadata: { v: '1' } });
    const target = s3Target();
    // Rate-limited, so the producer keeps the window full and there is something to cancel.
    await env.startWorker({ worker: { concurrency: 2, rateLimitPerSecond: 40 }, profiles: { [PROFILE]: { endpoint: target.endpoint, accessKey: target.accessKey, secretKey: 'WRONG-secret', region: target.region, forcePathStyle: true } } });

    const listing = bucketClient(bucket.name);
    const spec: MigrationSpec = { profile: PROFILE, bucket: bucket.name, set: { v: '2' }, acl: 'private' };
    const report = join(env.dir, 'broken.csv');
    const result = await runMigration({ bucket: listing, queue: env.bullQueue, store: env.store }, spec, {
      pageSize: 50,
      window: 60,
      failureThreshold: { after: 50, ratio: 0.5 },
      reportPath: report,
      attempts: 3,
      backoffMs: 50,
      pollMs: 50,
    });
    await listing.close();
    const { run } = result;
    console.info(`[migrate] broken run: listed ${run.listed} of 400, enqueued ${run.enqueued}, dead-lettered ${run.deadLettered}, cancelled ${run.cancelled}`);

    expect(run.state).toBe('stopped');
    expect(run.stopReason).toMatch(/^failure threshold: \d+ of \d+ finished jobs were dead-lettered \(more than 50% after 50\)$/);
    expect(migrationExitCode(result)).toBe(1);
    expect(run.completed).toBe(0);
    expect(run.deadLettered).toBeGreaterThanOrEqual(50);
    // The listing stopped early, and what was waiting in the queue was taken out.
    expect(run.listed).toBeLessThan(400);
    expect(run.cancelled).toBeGreaterThan(0);
    await env.expectSettled(run, { enqueued: run.enqueued, cancelled: run.cancelled });
    expect(repeated(env.added)).toEqual([]);

    // Every enqueued object once in the report: dead-lettered with the S3 error, or cancelled.
    const { rows } = readReport(report);
    expect(rows).toHaveLength(run.enqueued);
    const byKey = expectEveryKeyOnce(rows, all.slice(0, run.enqueued));
    const statuses = new Map<string, number>();
    for (const row of byKey.values()) {
      const what = row.status === 'dead-lettered' ? `dead-lettered ${row.errorCode}` : `${row.status} ${row.errorCode} ${row.message}`;
      statuses.set(what, (statuses.get(what) ?? 0) + 1);
    }
    expect([...statuses.keys()].sort()).toEqual(['cancelled RunStopped run stopped: ' + run.stopReason, 'dead-lettered AccessDenied']);
    // Nothing was changed.
    for (const info of await mapConcurrent(all.slice(0, 50), (k) => bucket.head(k))) expect(info.metadata).toEqual({ v: '1' });

    // A stopped run is final: the same command refuses to go on, and says what to do instead.
    const again = await env.cli(['migrate-metadata', '--bucket', bucket.name, '--profile', PROFILE, '--set', 'v=2', '--acl', 'private']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`s3jobs migrate-metadata: run ${defaultRunId(spec)} was stopped (failure threshold:`);
    expect(again.stderr).toContain(`To run the migration again, delete the run (s3jobs run delete ${run.id}) or give a new --run-id`);
  });

  it('jobs removed from the queue by hand stop the run instead of leaving it waiting forever', { timeout: 30_000 }, async () => {
    const bucket = await freshBucket('mig-lost');
    await putObjects(bucket, ['a', 'b', 'c', 'd']);
    const command = ['migrate-metadata', '--bucket', bucket.name, '--profile', PROFILE, '--acl', 'private', '--set', 'k=v', '--report', join(env.dir, 'lost.csv')];
    expect((await env.cli([...command, '--no-wait'])).code).toBe(0);
    // Someone drains the queue (no worker ever ran these jobs).
    await env.bullQueue.drain();
    const waited = await env.cli(command);
    expect(waited.code).toBe(1);
    const run = (await env.store.list())[0]!;
    expect(run).toMatchObject({ state: 'stopped', stopReason: '4 jobs left the queue without an outcome (removed by hand, or run by workers without run support)', enqueued: 4, completed: 0 });
    expect(waited.stderr).toContain(`Run ${run.id} was stopped: 4 jobs left the queue without an outcome`);
  });

  it('a run whose listing fails at once (no such bucket) is not left behind', { timeout: 30_000 }, async () => {
    const report = join(env.dir, 'none.csv');
    const result = await env.cli(['migrate-metadata', '--bucket', 'no-such-bucket-s3jobs-test', '--profile', PROFILE, '--acl', 'private', '--set', 'k=v', '--report', report]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^s3jobs migrate-metadata: NoSuchBucket: .*$/m);
    expect(await env.store.list()).toEqual([]);
    expect(existsSync(report)).toBe(false);
  });
});
