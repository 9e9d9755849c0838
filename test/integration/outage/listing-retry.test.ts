/**
 * The migration listing rides out an S3 outage: requests for the second and later pages fail —
 * refused-like resets, 503s, SlowDown, a stall past the request timeout — and the listing retries
 * with the same continuation token, so every object is enqueued exactly once and the run finishes.
 * Through the fault proxy in front of the test S3 server; workers in-process, real Redis.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runMigration, type MigrationStatus, type MigrationSpec } from '../../../producers/migrate/migration.js';
import { S3UnavailableError } from '../../../producers/migrate/listing-retry.js';
import { bucketClient, cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { startFaultProxy, type Fault, type FaultProxy } from '../../support/fault-proxy.js';
import { s3Target } from '../../support/s3-env.js';
import { migrateTestEnv, PROFILE, putObjects, repeated, type MigrateTestEnv } from '../migrate/helpers.js';

let env: MigrateTestEnv;
let proxy: FaultProxy | undefined;
beforeEach(async () => {
  env = await migrateTestEnv();
});
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await env.cleanup();
});
afterAll(cleanupBuckets);

const isListing = (r: { method: string; query: URLSearchParams }): boolean => r.method === 'GET' && r.query.get('list-type') === '2';

describe('listing through an S3 outage', () => {
  it('retries each failure at the same continuation token: every object enqueued once, the run completes, progress says "S3 unavailable since"', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('mig-outage');
    const keys = Array.from({ length: 50 }, (_, i) => `o/${String(i).padStart(3, '0')}`);
    await putObjects(bucket, keys);
    await env.startWorker();
    proxy = await startFaultProxy({ upstream: s3Target().endpoint });
    // Page 2 fails four times in four ways, page 4 twice; everything else passes.
    const outages: Fault[][] = [
      [{ type: 'reset-before' }, { type: 'error', status: 503, code: 'ServiceUnavailable' }, { type: 'slowdown', retryAfter: null }, { type: 'stall' }],
      [{ type: 'internal' }, { type: 'reset-before' }],
    ];
    let listings = 0;
    let outage = -1;
    let pending: Fault[] = [];
    proxy.setDecide((r) => {
      if (!isListing(r)) return undefined;
      listings++;
      if (pending.length === 0 && r.query.has('continuation-token')) {
        // The first request for a page after the first: page 2 (outage 0), then page 4 (outage 1).
        const tokenPage = listings;
        if ((outage === -1 && tokenPage >= 2) || (outage === 0 && tokenPage >= 8)) pending = [...(outages[++outage] ?? [])];
      }
      return pending.shift();
    });
    const spec: MigrationSpec = { profile: PROFILE, bucket: bucket.name, acl: 'private', set: { outage: 'ridden' } };
    const listing = bucketClient(bucket.name, { endpoint: proxy.endpoint, timeout: 500 });
    const statuses: MigrationStatus[] = [];
    try {
      const result = await runMigration({ bucket: listing, queue: env.bullQueue, store: env.store }, spec, {
        reportPath: join(env.dir, 'outage.csv'),
        pageSize: 10,
        pollMs: 20,
        backoffMs: 50,
        s3RetryBudgetMs: 30_000,
        s3RetryDelayMs: () => 50,
        onProgress: (_run, status) => statuses.push(status),
      });
      expect(result.run.state).toBe('completed');
      expect(result.run.enqueued).toBe(50);
      expect(result.run.completed).toBe(50);
      await env.expectSettled(result.run, { enqueued: 50 });
    } finally {
      await listing.close();
    }
    expect(repeated(env.added), 'jobs added twice').toEqual([]);
    expect(env.added.size).toBe(50);
    // Each failed request was followed by one with the same continuation token.
    const log = proxy.log.filter(isListing);
    const failed = log.filter((e) => e.fault !== 'none');
    expect(failed.map((e) => e.fault)).toEqual(['reset-before', 'error', 'slowdown', 'stall', 'internal', 'reset-before']);
    for (const f of failed) {
      const next = log.find((e) => e.seq > f.seq);
      expect(next?.query.get('continuation-token')).toBe(f.query.get('continuation-token'));
    }
    // Progress said so, with the time the outage began and the failing request.
    const down = statuses.filter((s) => s.phase === 's3-unavailable');
    expect(down.length).toBe(6);
    expect(down[0]!.s3Outage).toMatchObject({ retries: 1 });
    expect(down[3]!.s3Outage).toMatchObject({ retries: 4, since: down[0]!.s3Outage!.since });
    expect(down[0]!.s3Outage!.lastError).toContain(`S3 ${proxy.endpoint}: GET /${bucket.name}?`);
    expect(down[4]!.s3Outage!.since).toBeGreaterThan(down[3]!.s3Outage!.since);
    expect(statuses.at(-1)?.phase).not.toBe('s3-unavailable');
  });

  it('a budget spent ends with S3UnavailableError; the run is kept and a resume finishes it from where the listing was', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('mig-outage-budget');
    const keys = Array.from({ length: 30 }, (_, i) => `o/${String(i).padStart(3, '0')}`);
    await putObjects(bucket, keys);
    await env.startWorker();
    proxy = await startFaultProxy({ upstream: s3Target().endpoint });
    // The store goes away after the first page and stays away.
    proxy.setDecide((r) => (isListing(r) && r.query.has('continuation-token') ? { type: 'error', status: 503, code: 'ServiceUnavailable' } : undefined));
    const spec: MigrationSpec = { profile: PROFILE, bucket: bucket.name, acl: 'private', set: { outage: 'resumed' } };
    const listing = bucketClient(bucket.name, { endpoint: proxy.endpoint });
    try {
      const failure = await runMigration({ bucket: listing, queue: env.bullQueue, store: env.store }, spec, { reportPath: join(env.dir, 'budget.csv'), pageSize: 10, pollMs: 20, backoffMs: 50, s3RetryBudgetMs: 600, s3RetryDelayMs: () => 100 }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(S3UnavailableError);
      const err = failure as S3UnavailableError;
      expect(err.code).toBe('S3JOBS_S3_UNAVAILABLE');
      expect(err.endpoint).toBe(proxy.endpoint);
      expect(err.message).toMatch(/ServiceUnavailable/);
      const kept = await env.store.get(err.runId);
      expect(kept).toMatchObject({ state: 'listing', nextPage: 1, enqueued: 10 });
      // The store is back: the same call resumes the run at page 2.
      proxy.setDecide(undefined);
      proxy.clearLog();
      const result = await runMigration({ bucket: listing, queue: env.bullQueue, store: env.store }, spec, { pageSize: 10, pollMs: 20, backoffMs: 50 });
      expect(result.resumed).toBe(true);
      expect(result.run).toMatchObject({ state: 'completed', enqueued: 30, completed: 30 });
      expect(proxy.log.filter(isListing)[0]!.query.has('continuation-token')).toBe(true);
      await env.expectSettled(result.run, { enqueued: 30 });
    } finally {
      await listing.close();
    }
    expect(repeated(env.added)).toEqual([]);
    expect(env.added.size).toBe(30);
  });
});
