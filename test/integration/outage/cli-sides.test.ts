/**
 * `s3jobs migrate-metadata` tells an S3 failure from a Redis failure: each side refused, reset
 * and silent (accepts, never answers), all on 127.0.0.1. Redis away: exit 3, a message naming
 * Redis. The listing's S3 away: it retries for --s3-retry-budget, then exit 5, a message naming
 * the S3 endpoint and the request, and how to resume — the run is kept.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultRunId } from '../../../producers/migrate/migration.js';
import { cleanupBuckets } from '../../support/buckets.js';
import { BROKEN_KINDS, brokenPort, type BrokenPort } from '../../support/broken-ports.js';
import { migrateTestEnv, PROFILE, type MigrateTestEnv } from '../migrate/helpers.js';

let env: MigrateTestEnv;
let broken: BrokenPort | undefined;
beforeEach(async () => {
  env = await migrateTestEnv();
});
afterEach(async () => {
  await broken?.close();
  broken = undefined;
  await env.cleanup();
});
afterAll(cleanupBuckets);

const profileVar = (field: string): string => `S3JOBS_PROFILE_${PROFILE.toUpperCase()}_${field}`;
const ARGS = ['migrate-metadata', '--bucket', 'outage-bucket', '--profile', PROFILE, '--acl', 'private', '--set', 'k=v'];

describe('migrate-metadata names the side that failed', () => {
  it.each(BROKEN_KINDS)('Redis %s: exit 3, "Redis" and its URL in the message, nothing about S3', { timeout: 30_000 }, async (kind) => {
    broken = await brokenPort(kind);
    const result = await env.cli([...ARGS, '--redis-url', broken.redis]);
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toMatch(new RegExp(`^s3jobs migrate-metadata: .*Redis.*redis://127\\.0\\.0\\.1:${broken.port}`, 'm'));
    expect(result.stderr).not.toMatch(/\bS3\b/);
  });

  it.each(BROKEN_KINDS)('S3 %s: the listing retries for the budget, then exit 5 naming the endpoint and the request; the run is kept and resumable', { timeout: 30_000 }, async (kind) => {
    broken = await brokenPort(kind);
    const saved = { ...env.env };
    // The listing goes to the broken port; a silent one times out per request after 300 ms.
    Object.assign(env.env, { [profileVar('ENDPOINT')]: broken.http, [profileVar('REQUEST_TIMEOUT_MS')]: '300' });
    try {
      const started = Date.now();
      const result = await env.cli([...ARGS, '--s3-retry-budget', '2s', '--report', join(env.dir, `${kind}.csv`)]);
      const tookMs = Date.now() - started;
      expect(result.code, result.stderr).toBe(5);
      const runId = defaultRunId({ profile: PROFILE, bucket: 'outage-bucket', acl: 'private', set: { k: 'v' } });
      expect(result.stderr).toContain(`S3 unavailable at http://127.0.0.1:${broken.port} (listing bucket outage-bucket)`);
      expect(result.stderr).toContain(`S3 http://127.0.0.1:${broken.port}: GET /outage-bucket?`);
      expect(result.stderr).toMatch(kind === 'silent' ? /timed out after 300 ms|no progress/ : /network error|ECONNRESET|socket/i);
      expect(result.stderr).toContain(`s3jobs migrate-metadata --resume ${runId}`);
      expect(result.stderr).toMatch(/S3 unavailable since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, retrying/);
      expect(result.stderr).not.toMatch(/Redis/);
      // Retried for the budget (2 s), not given up at the first error.
      expect(tookMs).toBeGreaterThanOrEqual(1_900);
      const run = await env.store.get(runId);
      expect(run?.state).toBe('listing');
    } finally {
      for (const k of Object.keys(env.env)) delete env.env[k];
      Object.assign(env.env, saved);
    }
  });
});
