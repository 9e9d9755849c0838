/**
 * Bulk runs over a manifest instead of a listing: a CSV of bucket,key[,versionId] (keys
 * URL-encoded as S3 Inventory writes them) or an Inventory manifest.json naming gzip CSV files,
 * read as streams with their MD5 checked. Bad rows are reported failed, never a crash; a producer
 * killed mid-manifest resumes from its position with every object enqueued and reported once.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { mapConcurrent, migrateTestEnv, PROFILE, putObjects, readReport, repeated, sum, type MigrateTestEnv } from './helpers.js';

let env: MigrateTestEnv;
beforeEach(async () => {
  env = await migrateTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});
afterAll(cleanupBuckets, 180_000);

/** As S3 Inventory encodes a key: URL-encoded, a space as "+". */
const encode = (key: string) => encodeURIComponent(key).replace(/%20/g, '+');
const keys = (n: number) => Array.from({ length: n }, (_, i) => `m/${String(i).padStart(5, '0')}${i % 7 === 0 ? ' with space é' : ''}.txt`);

describe('manifest runs', () => {
  it('5,000 rows with a few bad ones: each good object rewritten (checked with a HEAD), each row reported once, bad rows failed with the reason', { timeout: 180_000 }, async () => {
    const bucket = await freshBucket('mf-big');
    const good = keys(4_995);
    await putObjects(bucket, good, { metadata: { v: '1' } });
    const bad = [
      `${bucket.name},m/a,b,extra-column`,
      `${bucket.name},%E0%A4%A`,
      `other-bucket-name,m/00001.txt`,
      `${bucket.name},m/00002.txt,some-version-id`,
      'only-one-column',
    ];
    const lines = good.map((k) => `${bucket.name},${encode(k)}`);
    // The bad rows among the good ones, and a blank line (skipped, not a row).
    lines.splice(1_000, 0, bad[0]!, '');
    lines.splice(2_500, 0, bad[1]!, bad[2]!);
    lines.splice(4_000, 0, bad[3]!, bad[4]!);
    const manifest = join(env.dir, 'manifest.csv');
    writeFileSync(manifest, `${lines.join('\r\n')}\r\n`);
    await env.startWorker({ worker: { concurrency: 32 } });
    const report = join(env.dir, 'big.csv');
    const result = await env.cli(['migrate-metadata', '--bucket', bucket.name, '--manifest', manifest, '--profile', PROFILE, '--acl', 'private', '--set', 'v=2', '--batch-size', '100', '--report', report]);
    // Failed rows make the exit code 1, like dead letters.
    expect(result.code, result.stderr).toBe(1);
    const run = (await env.store.list())[0]!;
    expect(run).toMatchObject({ state: 'completed', listed: 5_000, enqueued: 5_000, completed: 4_995, deadLettered: 5, cancelled: 0 });

    const rows = readReport(report).rows;
    expect(rows).toHaveLength(5_000);
    const completed = rows.filter((r) => r.status === 'completed');
    expect(completed.map((r) => r.key).sort()).toEqual([...good].sort());
    const failed = rows.filter((r) => r.status === 'failed');
    expect(failed).toHaveLength(5);
    expect(failed.every((r) => r.errorCode === 'InvalidManifestRow')).toBe(true);
    const messages = failed.map((r) => r.message).join('\n');
    expect(messages).toMatch(/manifest\.csv line 1001: 4 columns; a manifest row is bucket,key or bucket,key,versionId/);
    expect(messages).toMatch(/line 2501: key "%E0%A4%A" is not URL-encoded correctly/);
    expect(messages).toMatch(/line 2502: names bucket "other-bucket-name"; this run is over bucket/);
    expect(messages).toMatch(/names version some-version-id: a metadata rewrite changes the current version only/);
    expect(messages).toMatch(/line 4002: 1 column; a manifest row/);

    // Every object read back on its own: rewritten once.
    const metadata = await mapConcurrent(good, async (k) => (await bucket.head(k)).metadata.v, 32);
    expect(metadata.filter((v) => v !== '2')).toEqual([]);
  });

  it('--report-to uploads the report as S3 Batch Operations writes it, with a summary line, when the run ends', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('mf-rep');
    const reports = await freshBucket('mf-reports');
    const all = keys(40);
    await putObjects(bucket, all);
    await bucket.delete(all[3]!);
    const manifest = join(env.dir, 'rep.csv');
    writeFileSync(manifest, [...all.map((k) => `${bucket.name},${encode(k)}`), 'just-one-column'].join('\n'));
    await env.startWorker();
    const result = await env.cli(['migrate-metadata', '--bucket', bucket.name, '--manifest', manifest, '--profile', PROFILE, '--acl', 'private', '--set', 'v=2', '--report', join(env.dir, 'rep-report.csv'), '--report-to', `s3://${reports.name}/runs/`, '--fail-threshold', 'off']);
    expect(result.code).toBe(1);
    const runId = (await env.store.list())[0]!.id;
    const line = `Run ${runId}: 41 tasks, 39 succeeded, 2 failed; completion report s3://${reports.name}/runs/${runId}.csv`;
    expect(result.stderr).toContain(line);
    expect((await reports.getBuffer(`runs/${runId}.summary.txt`)).toString()).toBe(`${line}\n`);
    const rows = (await reports.getBuffer(`runs/${runId}.csv`)).toString().trimEnd().split('\n');
    expect(rows).toHaveLength(41);
    expect(rows.filter((r) => r.startsWith(`${bucket.name},`) && /,,succeeded,,200,"Successful; ETag ""/.test(r))).toHaveLength(39);
    expect(rows).toContainEqual(expect.stringMatching(new RegExp(`^${bucket.name},m/00003.txt,,failed,(NoSuchKey|NotFound),404,`)));
    expect(rows).toContainEqual(expect.stringMatching(/,,failed,InvalidManifestRow,400,.*rep\.csv line 41: 1 column; a manifest row is/));
    // Each task once.
    expect(new Set(rows.map((r) => r.split(',')[1])).size).toBe(41);
  });

  it('copy-run over a manifest and over a prefix: each object copied server-side (checked with a HEAD of the copy), each row reported once', { timeout: 90_000 }, async () => {
    const bucket = await freshBucket('mf-copy-src');
    const dest = await freshBucket('mf-copy-dst');
    const all = keys(200);
    await putObjects(bucket, all, { metadata: { owner: 'ann' }, mimetype: 'text/plain' });
    const manifest = join(env.dir, 'copy.csv');
    writeFileSync(manifest, [...all.map((k) => `${bucket.name},${encode(k)}`), `${bucket.name},%ZZ`].join('\n'));
    await env.startWorker({ worker: { concurrency: 24 } });
    const report = join(env.dir, 'copy-report.csv');
    const result = await env.cli(['copy-run', '--bucket', bucket.name, '--manifest', manifest, '--to', `${dest.name}/backup/`, '--acl', 'private', '--profile', PROFILE, '--report', report]);
    expect(result.code, result.stderr).toBe(1);
    const rows = readReport(report).rows;
    expect(rows).toHaveLength(201);
    // Each row names the task as the manifest did (the source), and says where its copy went.
    const completed = rows.filter((r) => r.status === 'completed');
    expect(completed.map((r) => r.key).sort()).toEqual([...all].sort());
    expect(completed.every((r) => r.bucket === bucket.name && r.message === `copied to s3://${dest.name}/backup/${r.key}`)).toBe(true);
    expect(rows.filter((r) => r.status === 'failed')).toHaveLength(1);
    const copies = await mapConcurrent(all, async (k) => {
      const [a, b] = await Promise.all([bucket.head(k), dest.head(`backup/${k}`)]);
      return a.etag === b.etag && a.size === b.size && b.metadata.owner === 'ann' && b.contentType === 'text/plain';
    });
    expect(copies.filter((ok) => !ok)).toHaveLength(0);

    // Over a prefix: the key below it keeps its place below the destination prefix.
    const byPrefix = await env.cli(['copy-run', '--bucket', bucket.name, '--prefix', 'm/', '--to', `${dest.name}/flat/`, '--acl', 'private', '--profile', PROFILE, '--report', join(env.dir, 'copy2.csv')]);
    expect(byPrefix.code, byPrefix.stderr).toBe(0);
    expect((await dest.head(`flat/${all[7]!.slice(2)}`)).size).toBe((await bucket.head(all[7]!)).size);
  });

  it('a producer killed mid-manifest resumes from its position: each object enqueued, processed and reported once', { timeout: 90_000 }, async () => {
    const bucket = await freshBucket('mf-kill');
    const all = keys(1_500);
    await putObjects(bucket, all);
    const manifest = join(env.dir, 'kill.csv');
    writeFileSync(manifest, all.map((k) => `${bucket.name},${encode(k)}\n`).join(''));
    await env.startWorker({ worker: { concurrency: 24 } });
    const report = join(env.dir, 'kill-report.csv');
    const command = ['migrate-metadata', '--bucket', bucket.name, '--manifest', manifest, '--profile', PROFILE, '--acl', 'private', '--set', 'v=2', '--report', report];
    const first = env.spawnCli([...command, '--rate', '400', '--window', '200']);
    await env.waitForAdded(300);
    first.kill('SIGKILL');
    await first.exited;
    const addedByFirst = sum(env.added);
    expect(addedByFirst).toBeLessThan(1_500);

    const second = await env.spawnCli(command).exited;
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('(resumed run');
    expect(env.added.size).toBe(1_500);
    expect(repeated(env.added)).toEqual([]);
    expect(repeated(env.completions())).toEqual([]);
    const run = (await env.store.list())[0]!;
    expect(run).toMatchObject({ state: 'completed', listed: 1_500, completed: 1_500, deadLettered: 0 });
    await env.expectSettled(run, { enqueued: 1_500 });
    const rows = readReport(report).rows;
    expect(rows.map((r) => r.key).sort()).toEqual([...all].sort());
  });

  it('an Inventory manifest.json in a bucket, naming two gzip CSV files: both read, MD5 checked; a wrong MD5 stops the run before its rows are used', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('mf-inv');
    const inventory = await freshBucket('mf-inv-dest');
    const all = keys(300);
    await putObjects(bucket, all);
    const csv = (part: string[]) => gzipSync(part.map((k) => `"${bucket.name}","${encode(k)}","5","abc"\n`).join(''));
    const files = [csv(all.slice(0, 120)), csv(all.slice(120))];
    const fileKeys = ['src/inv/data/a1.csv.gz', 'src/inv/data/b2.csv.gz'];
    await Promise.all(files.map((body, i) => inventory.put(fileKeys[i]!, body)));
    const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
    const manifestJson = (sums: string[]) =>
      JSON.stringify({
        sourceBucket: bucket.name,
        destinationBucket: `arn:aws:s3:::${inventory.name}`,
        version: '2016-11-30',
        fileFormat: 'CSV',
        fileSchema: 'Bucket, Key, Size, ETag',
        files: fileKeys.map((key, i) => ({ key, size: files[i]!.length, MD5checksum: sums[i] })),
      });
    await inventory.put('src/inv/2024-05-01T00-00Z/manifest.json', manifestJson(files.map(md5)));
    await inventory.put('src/inv/bad/manifest.json', manifestJson([md5(files[0]!), '0'.repeat(32)]));
    await env.startWorker();

    const wrong = await env.cli(['migrate-metadata', '--bucket', bucket.name, '--manifest', `s3://${inventory.name}/src/inv/bad/manifest.json`, '--profile', PROFILE, '--acl', 'private', '--set', 'v=3', '--report', join(env.dir, 'bad.csv'), '--run-id', 'inv-bad']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain(`manifest file ${fileKeys[1]}: MD5`);
    expect(wrong.stderr).toContain("differs from the manifest's 00000000000000000000000000000000");

    const report = join(env.dir, 'inv.csv');
    const ok = await env.cli(['migrate-metadata', '--bucket', bucket.name, '--manifest', `s3://${inventory.name}/src/inv/2024-05-01T00-00Z/manifest.json`, '--profile', PROFILE, '--acl', 'private', '--set', 'v=3', '--batch-size', '50', '--report', report]);
    expect(ok.code, ok.stderr).toBe(0);
    const rows = readReport(report).rows;
    expect(rows.map((r) => r.key).sort()).toEqual([...all].sort());
    expect(rows.every((r) => r.status === 'completed')).toBe(true);
    const metadata = await mapConcurrent(all, async (k) => (await bucket.head(k)).metadata.v, 32);
    expect(metadata.filter((v) => v !== '3')).toEqual([]);
  });
});
