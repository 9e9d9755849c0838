/**
 * `s3jobs migrate-metadata` end to end (CLI in-process, workers in-process, real Redis and S3):
 * a migration of 2,000 objects, and a dry run that changes nothing.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { createRedis } from '../../support/redis.js';
import { expectEveryKeyOnce, mapConcurrent, migrateTestEnv, PREFIX, PROFILE, putObjects, readReport, repeated, type MigrateTestEnv } from './helpers.js';

let env: MigrateTestEnv;
beforeEach(async () => {
  env = await migrateTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});
afterAll(cleanupBuckets);

const EXTENSIONS = ['html', 'css', 'jpg', 'json', 'txt', 'bin-unknown', ''] as const;
const TYPES: Record<string, string | undefined> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  jpg: 'image/jpeg',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
};

/** `site/d<i % 10>/o<i>.<ext>` (no extension for some), deterministic. */
function keysUnder(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const ext = EXTENSIONS[i % EXTENSIONS.length]!;
    return `${prefix}d${i % 10}/o ${String(i).padStart(5, '0')}${ext === '' ? '' : `.${ext}`}`;
  });
}

describe('migrate-metadata', () => {
  it('migrates 2,000 objects: metadata changed, system headers kept, types from extensions, every object reported once', { timeout: 120_000 }, async () => {
    const bucket = await freshBucket('mig-full');
    const keys = keysUnder('site/', 2_000);
    const outside = keysUnder('other/', 20);
    const started = Date.now();
    await putObjects(bucket, [...keys, ...outside], { mimetype: 'application/octet-stream', metadata: { origin: 'upload', draft: 'yes' }, headers: { 'cache-control': 'max-age=60', 'content-language': 'en' } });
    const uploaded = Date.now();
    await env.startWorker({ worker: { concurrency: 32 } });

    const report = join(env.dir, 'full.csv');
    const run = await env.cli(['migrate-metadata', '--bucket', bucket.name, '--prefix', 'site/', '--profile', PROFILE, '--acl', 'private', '--set', 'migrated=yes', '--remove', 'draft', '--mimetype-from-extension', '--report', report]);
    const migrated = Date.now();
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Run mig-[0-9a-f]{16}: completed \(/);
    expect(run.stdout).toMatch(/^ {2}completed +2,000$/m);
    expect(run.stdout).toContain(`Report: ${report}`);
    // Not a terminal: plain progress lines, not a redrawn bar.
    expect(run.stderr).not.toContain('\r');

    // Every object under the prefix: metadata changed, type from its extension, other headers kept.
    const heads = await mapConcurrent(keys, (key) => bucket.head(key));
    for (const [i, key] of keys.entries()) {
      const info = heads[i]!;
      const ext = EXTENSIONS[i % EXTENSIONS.length]!;
      expect(info.metadata, key).toEqual({ origin: 'upload', migrated: 'yes' });
      expect(info.contentType, key).toBe(TYPES[ext] ?? 'application/octet-stream');
      expect(info.headers['cache-control'], key).toBe('max-age=60');
      expect(info.headers['content-language'], key).toBe('en');
    }
    // Objects outside the prefix were not touched.
    for (const key of outside) expect((await bucket.head(key)).metadata).toEqual({ origin: 'upload', draft: 'yes' });

    // The report: the header, then each object once, completed and changed, with its new ETag.
    const { header, rows } = readReport(report);
    expect(header).toBe('bucket,key,status,changed,error_code,message,attempts,new_etag,version_id');
    const byKey = expectEveryKeyOnce(rows, keys);
    for (const [i, key] of keys.entries()) expect(byKey.get(key), key).toMatchObject({ bucket: bucket.name, status: 'completed', changed: 'true', errorCode: '', attempts: '1', etag: heads[i]!.etag });

    // Counters add up; each object was enqueued once and processed once; nothing left in Redis.
    const runs = await env.store.list();
    expect(runs).toHaveLength(1);
    const done = runs[0]!;
    expect(done).toMatchObject({ state: 'completed', listed: 2_000, matched: 2_000, enqueued: 2_000, completed: 2_000, changed: 2_000, deadLettered: 0, cancelled: 0, report });
    await env.expectSettled(done, { enqueued: 2_000 });
    expect(env.added.size).toBe(2_000);
    expect(repeated(env.added)).toEqual([]);
    expect(repeated(env.completions())).toEqual([]);
    console.info(`[migrate] 2,000 objects: uploaded in ${((uploaded - started) / 1000).toFixed(1)} s, migrated in ${((migrated - uploaded) / 1000).toFixed(1)} s`);

    // The same command again is the same run, already finished: it only prints the summary.
    const again = await env.cli(['migrate-metadata', '--bucket', bucket.name, '--prefix', 'site/', '--profile', PROFILE, '--acl', 'private', '--set', 'migrated=yes', '--remove', 'draft', '--mimetype-from-extension', '--json']);
    expect(again.code).toBe(0);
    const json = JSON.parse(again.stdout) as { run: { id: string; state: string; completed: number }; resumed: boolean; reportPath: string };
    expect(json).toMatchObject({ run: { id: done.id, state: 'completed', completed: 2_000 }, resumed: true, reportPath: report });
    expect(readReport(report).rows).toHaveLength(2_000);
  });

  it('--dry-run lists and counts, and changes nothing: no job, no run, no report, objects untouched', async () => {
    const bucket = await freshBucket('mig-dry');
    const keys = [...keysUnder('p/', 40), 'p/big.jpg', 'q/elsewhere.jpg'];
    await putObjects(bucket, keys, { mimetype: 'application/octet-stream', metadata: { a: '1' } });
    await bucket.put('p/big.jpg', 'x'.repeat(5_000), { mimetype: 'application/octet-stream', metadata: { a: '1' } });
    await env.startWorker();
    const before = await mapConcurrent(keys, (key) => bucket.head(key));

    const run = await env.cli(['migrate-metadata', '--bucket', bucket.name, '--prefix', 'p/', '--profile', PROFILE, '--acl', 'private', '--set', 'a=2', '--mimetype-from-extension', '--filter', '**/*.jpg', '--max-size', '1000', '--dry-run', '--queue', env.queue]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Dry run of run mig-[0-9a-f]{16}: nothing was changed, nothing enqueued\./);
    expect(run.stdout).toMatch(/listed: +41$/m);
    // Six of the 40 keysUnder are .jpg; p/big.jpg is over --max-size.
    expect(run.stdout).toMatch(/match: +6$/m);
    expect(run.stdout).toContain('set a=2; Content-Type from the extension; ACL private');

    // Nothing in Redis for this queue but the worker's own keys: no job (not even the job-id
    // counter, which every add increments), no run.
    expect(env.added.size).toBe(0);
    const redis = createRedis();
    try {
      const [, found] = await redis.scan('0', 'MATCH', `${PREFIX}:${env.queue}:*`, 'COUNT', 10_000);
      const workerKeys = new Set(['events', 'meta', 'stalled-check', 'marker']);
      expect(found.filter((k) => !workerKeys.has(k.slice(`${PREFIX}:${env.queue}:`.length)))).toEqual([]);
    } finally {
      await redis.quit();
    }
    expect(await env.store.list()).toEqual([]);
    expect(readdirSync(env.dir)).toEqual([]);
    expect(existsSync(`${/mig-[0-9a-f]{16}/.exec(run.stdout)![0]}.report.csv`)).toBe(false);

    // Objects exactly as they were (give a wrongly enqueued job time to show).
    await new Promise((r) => setTimeout(r, 500));
    const after = await mapConcurrent(keys, (key) => bucket.head(key));
    for (const [i, key] of keys.entries()) {
      expect({ etag: after[i]!.etag, lastModified: after[i]!.lastModified, metadata: after[i]!.metadata, type: after[i]!.contentType }, key).toEqual({
        etag: before[i]!.etag,
        lastModified: before[i]!.lastModified,
        metadata: before[i]!.metadata,
        type: before[i]!.contentType,
      });
    }
  });
});
