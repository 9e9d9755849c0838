/**
 * Tagging and ACL runs over a manifest, on a store that has tags and ACLs (Ceph, AWS; s3rver has
 * neither): every good row's object checked afterwards with an independent GET ?tagging / ?acl,
 * every row once in the report, bad rows failed (the ACL run in batches); a version id in the
 * manifest targets that version.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessControlPolicy } from '../../../shared/s3/xml.js';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { serverHas } from '../../support/s3-env.js';
import { mapConcurrent, migrateTestEnv, PROFILE, putObjects, readReport, type MigrateTestEnv } from './helpers.js';

let env: MigrateTestEnv;
beforeEach(async () => {
  env = await migrateTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});
afterAll(cleanupBuckets, 300_000);

/** Objects per run: 5,000 by default (S3JOBS_TEST_MANIFEST_ROWS to change it on a slow store). */
const ROWS = Number(process.env.S3JOBS_TEST_MANIFEST_ROWS ?? 5_000);
const encode = (key: string) => encodeURIComponent(key).replace(/%20/g, '+');
const publicRead = (acl: AccessControlPolicy) => acl.grants.some((g) => g.grantee.uri?.endsWith('/global/AllUsers') === true && g.permission === 'READ');

describe('tagging and acl runs over a manifest', () => {
  it.skipIf(!serverHas('tagging') || !serverHas('acl'))(`${ROWS} rows with bad ones: tag-run then acl-run; each object read back on its own, each row reported once`, { timeout: 600_000 }, async () => {
    const bucket = await freshBucket('mf-ops');
    const good = Array.from({ length: ROWS - 3 }, (_, i) => `t/${String(i).padStart(5, '0')}${i % 9 === 0 ? ' é' : ''}.txt`);
    await putObjects(bucket, good, { concurrency: 16 });
    const lines = good.map((k) => `${bucket.name},${encode(k)}`);
    lines.splice(10, 0, `${bucket.name},%E0%A4%A`);
    lines.splice(20, 0, `another-bucket,t/00001.txt`);
    lines.splice(30, 0, `${bucket.name}`);
    const manifest = join(env.dir, 'ops.csv');
    writeFileSync(manifest, `${lines.join('\n')}\n`);
    await env.startWorker({ worker: { concurrency: 32 } });

    const tagReport = join(env.dir, 'tags.csv');
    const tagged = await env.cli(['tag-run', '--bucket', bucket.name, '--manifest', manifest, '--profile', PROFILE, '--tag', 'team=média', '--tag', 'stage=live', '--report', tagReport]);
    expect(tagged.code, tagged.stderr).toBe(1);
    const aclReport = join(env.dir, 'acl.csv');
    // The ACL run in acl-batch jobs of 100 (the tag run one job per object): both paths, same checks.
    const acled = await env.cli(['acl-run', '--bucket', bucket.name, '--manifest', manifest, '--profile', PROFILE, '--acl', 'public-read', '--report', aclReport, '--batch-size', '100']);
    expect(acled.code, acled.stderr).toBe(1);

    for (const report of [tagReport, aclReport]) {
      const rows = readReport(report).rows;
      expect(rows).toHaveLength(ROWS);
      expect(rows.filter((r) => r.status === 'completed').map((r) => r.key).sort()).toEqual([...good].sort());
      expect(rows.filter((r) => r.status === 'failed').map((r) => r.message.replace(/^.*line (\d+): .*$/, '$1'))).toEqual(['11', '21', '31']);
    }
    const runs = await env.store.list();
    expect(runs).toHaveLength(2);
    for (const run of runs) expect(run).toMatchObject({ state: 'completed', enqueued: ROWS, completed: ROWS - 3, deadLettered: 3 });
    expect(runs.map((r) => r.batchSize ?? 1).sort((a, b) => a - b)).toEqual([1, 100]);

    const checks = await mapConcurrent(good, async (k) => ({ tags: await bucket.getTagging(k), acl: publicRead(await bucket.getAcl(k)) }), 16);
    expect(checks.filter((c) => c.tags.team !== 'média' || c.tags.stage !== 'live' || Object.keys(c.tags).length !== 2)).toEqual([]);
    expect(checks.filter((c) => !c.acl)).toEqual([]);
  });

  it.skipIf(!serverHas('tagging'))('a version id in the manifest tags that older version; --merge keeps the other tags', { timeout: 60_000 }, async () => {
    const bucket = await freshBucket('mf-ver');
    await bucket.putBucketVersioning('Enabled');
    const v1 = (await bucket.put('doc.txt', 'one')).versionId!;
    await bucket.putTagging('doc.txt', { keep: 'me' }, { versionId: v1 });
    const v2 = (await bucket.put('doc.txt', 'two')).versionId!;
    const manifest = join(env.dir, 'ver.csv');
    writeFileSync(manifest, `${bucket.name},doc.txt,${v1}\n`);
    await env.startWorker();
    const result = await env.cli(['tag-run', '--bucket', bucket.name, '--manifest', manifest, '--profile', PROFILE, '--merge', '--tag', 'stage=old', '--report', join(env.dir, 'ver.report.csv')]);
    expect(result.code, result.stderr).toBe(0);
    expect(await bucket.getTagging('doc.txt', { versionId: v1 })).toEqual({ keep: 'me', stage: 'old' });
    expect(await bucket.getTagging('doc.txt', { versionId: v2 })).toEqual({});
  });
});
