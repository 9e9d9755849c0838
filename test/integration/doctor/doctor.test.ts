/**
 * `s3jobs doctor` run for real (the command's function, in-process) against the suite's store —
 * s3rver, or Ceph RGW with `eval "$(test/stores/ceph-rgw.sh env)"` — and the real Redis. Each test
 * has its own bucket and its own key prefix in Redis.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { doctorCommand, parseDoctorArgs, runDoctor, type DoctorArgs } from '../../../producers/cli/doctor.js';
import type { CliIo } from '../../../producers/cli/io.js';
import { loadConfig } from '../../../shared/config/config.js';
import { S3Error } from '../../../shared/errors.js';
import type { S3Bucket } from '../../../shared/s3/bucket.js';
import { parseStoredFindings, storeFindingsKey } from '../../../shared/s3/store-findings.js';
import type { ProbeResult } from '../../../shared/s3/store-probe.js';
import { bucketClient, cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { createRedis, redisUrl } from '../../support/redis.js';
import { s3Target } from '../../support/s3-env.js';

const target = s3Target();
// Which store the external target is (test/stores/ceph-rgw.sh env says it); the differences asserted depend on it.
const store = target.kind === 's3rver' ? 's3rver' : (process.env.S3_TEST_PROVIDER ?? process.env.S3_TEST_STORE) === 'ceph' ? 'ceph' : 'other';
const redis = createRedis();
const keys: string[] = [];

afterAll(async () => {
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await cleanupBuckets();
});

function env(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    S3JOBS_PROFILE_PROBE_ENDPOINT: target.endpoint,
    S3JOBS_PROFILE_PROBE_ACCESS_KEY: target.accessKey,
    S3JOBS_PROFILE_PROBE_SECRET_KEY: target.secretKey,
    S3JOBS_PROFILE_PROBE_REGION: target.region,
    S3JOBS_PROFILE_PROBE_FORCE_PATH_STYLE: 'true',
    REDIS_URL: redisUrl(),
    S3JOBS_PREFIX: prefix,
    ...extra,
  };
}

function captureIo(environment: Record<string, string>): CliIo & { out: string; err: string } {
  const io = { out: '', err: '', env: environment, stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) };
  return io;
}

/** A key prefix of our own in Redis (no ":"), removed after the file. */
function uniquePrefix(): string {
  return `{doctor-${randomBytes(4).toString('hex')}}`;
}

interface JsonReport {
  ok: boolean;
  endpoint: string;
  results: ProbeResult[];
  broken: string[];
  findings: Record<string, string>;
  storeProfile: Record<string, string>;
  scratch: { prefix: string; removed: number; left: number; bucket?: string; bucketDeleted?: boolean };
  saved: { saved: boolean; key?: string; reason?: string };
}

function row(report: JsonReport, id: string): ProbeResult {
  const found = report.results.find((r) => r.id === id);
  if (found === undefined) throw new Error(`no row ${id} in ${report.results.map((r) => r.id).join(', ')}`);
  return found;
}

/** Everything under the doctor's scratch prefixes in `bucket` (must be nothing after a run). */
async function scratchLeft(bucket: S3Bucket): Promise<string[]> {
  const left: string[] = [];
  for await (const o of bucket.list({ prefix: '.s3jobs-doctor/' })) left.push(o.key);
  return left;
}

async function bucketExists(name: string): Promise<boolean> {
  const client = bucketClient(name);
  try {
    await client.listPages({ pageSize: 1 }).next();
    return true;
  } catch (err) {
    if (err instanceof S3Error && err.code === 'NoSuchBucket') return false;
    throw err;
  } finally {
    await client.close();
  }
}

describe(`s3jobs doctor on ${store} (${target.endpoint})`, { timeout: 120_000 }, () => {
  it('--json: names what the store does, removes its scratch prefix and bucket, saves the findings', async () => {
    const bucket = await freshBucket('doctor-json');
    const prefix = uniquePrefix();
    const io = captureIo(env(prefix));
    const code = await doctorCommand.run(['--profile', 'probe', '--bucket', bucket.name, '--json'], io);
    const report = JSON.parse(io.out) as JsonReport;

    // Nothing left behind: the scratch prefix is empty, the scratch bucket gone.
    expect(await scratchLeft(bucket)).toEqual([]);
    expect(report.scratch.left).toBe(0);
    expect(report.scratch.removed).toBeGreaterThan(10);
    if (report.scratch.bucket !== undefined) {
      expect(report.scratch.bucketDeleted).toBe(true);
      expect(await bucketExists(report.scratch.bucket)).toBe(false);
    }

    // The findings are in Redis under the queue's prefix, as the report says.
    const key = storeFindingsKey(prefix, new URL(target.endpoint).origin);
    keys.push(key);
    expect(report.saved).toEqual({ saved: true, key });
    const stored = parseStoredFindings((await redis.get(key))!, key);
    expect(stored.findings).toEqual(report.findings);
    expect(stored.bucket).toBe(bucket.name);

    // What holds everywhere: signing, presigned URLs, unicode/space/% keys, s3jobs' rewrite keeps the headers.
    for (const id of ['sigv4', 'wrong-secret', 'presigned-get', 'presigned-put', 'keys.space', 'keys.percent', 'keys.unicode', 'rewrite-headers', 'multipart']) expect(row(report, id).verdict, id).toBe('ok');
    expect(row(report, 'copy-replace').store).toMatch(/^keeps: .*; drops: /);
    expect(['ok', 'warn']).toContain(row(report, 'clock').verdict);

    if (store === 's3rver') {
      // No copy condition honoured under either name: the guard does not guard, exit 1 naming it.
      expect(code).toBe(1);
      expect(report.ok).toBe(false);
      expect(report.findings.copyConditions).toBe('none');
      expect(row(report, 'guard')).toMatchObject({ verdict: 'fail', guarantee: 'guarded rewrite not guarded on this store' });
      for (const naming of ['standard', 'legacy']) expect(row(report, `copy-condition.${naming}.if-match`).store).toBe('ignored: copied anyway');
      expect(report.broken).toContain('guarded rewrite not guarded on this store');
      expect(io.err).toMatch(/^s3jobs doctor: \d guarantees? do(es)? not hold on http:\/\/127\.0\.0\.1:\d+: .*guarded rewrite not guarded on this store/);
      expect(report.findings.multipartCompletionEtag).toBe('etag');
      expect(report.findings.partCopyConditions).toBe('none');
      // s3rver takes PUT ?versioning for a CreateBucket: no versioning to empty.
      expect(row(report, 'versioning-scratch')).toMatchObject({ verdict: 'info', store: expect.stringMatching(/^versioning could not be enabled/) });
    }
    if (store === 'ceph') {
      // Ceph RGW 16.2: the older condition names only, an empty completion ETag, an unquoted
      // CopyObject ETag, 200 on re-creation — each named, each handled, so every guarantee holds.
      expect(row(report, 'copy-condition.standard.if-match').store).toBe('ignored: copied anyway');
      expect(row(report, 'copy-condition.legacy.if-match').store).toBe('honoured (412)');
      expect(row(report, 'guard')).toMatchObject({ verdict: 'ok', store: 'honours only the older x-amz-copy-if-* names', s3jobs: 'sends the older name, x-amz-copy-if-match' });
      expect(row(report, 'multipart').store).toMatch(/^CompleteMultipartUpload answers an empty ETag; HEAD: 5243904 bytes of 5243904, ETag "[0-9a-f]{32}-2"$/);
      expect(row(report, 'etag-forms').store).toBe('PUT quoted, HEAD quoted, listing quoted, CopyObject unquoted');
      expect(row(report, 'bucket-recreate')).toMatchObject({ verdict: 'ok', store: expect.stringMatching(/^answers 200/) });
      // ... but on UploadPartCopy it honours no condition under either name: a rewrite above the
      // multipart threshold is not guarded there (s3jobs says guarded: false), exit 1 naming it.
      expect(row(report, 'part-guard')).toMatchObject({ verdict: 'fail', store: 'honours no condition on UploadPartCopy: copies the part anyway' });
      expect(report.findings).toMatchObject({ copyConditions: 'legacy', partCopyConditions: 'none', multipartCompletionEtag: 'may-be-empty', ownedBucketCreate: '200' });
      // A versioned scratch bucket: two versions of one key, all removed by s3jobs' bucket delete --empty.
      expect(row(report, 'versioning-scratch')).toMatchObject({ verdict: 'ok', store: 'versioning enabled; one key written twice lists 2 versions' });
      expect(report.broken).toEqual(['guarded rewrite not guarded above the multipart threshold on this store']);
      expect(code).toBe(1);
      expect(io.err).toMatch(/guarded rewrite not guarded above the multipart threshold on this store\n$/);
    }
  });

  it('the table: one row per probe with the store, s3jobs and a verdict; --no-save leaves Redis alone', async () => {
    const bucket = await freshBucket('doctor-table');
    const prefix = uniquePrefix();
    const io = captureIo(env(prefix));
    const code = await doctorCommand.run(['--profile', 'probe', '--bucket', bucket.name, '--no-save', '--no-bucket-create', '--scratch-prefix', 'tmp/'], io);
    expect(io.out).toMatch(/^s3jobs doctor: http:\/\/127\.0\.0\.1:\d+, bucket doctor-table-\S+ \(profile "probe"\)/);
    expect(io.out).toMatch(/\nVERDICT +PROBE +WHAT THE STORE DOES +WHAT S3JOBS DOES\n/);
    expect(io.out).toMatch(/\n(ok|FAIL) +guarded rewrite \(copy-source/);
    expect(io.out).toMatch(/\nn\/a +CreateBucket of a bucket you own +not checked: --no-bucket-create/);
    expect(io.out).toMatch(/\nScratch: removed \d+ objects under tmp\/\.s3jobs-doctor\/[0-9a-z]+-[0-9a-f]{8}\/; nothing left\n/);
    expect(io.out).toContain('Findings not saved: --no-save.');
    expect(code).toBe(store === 's3rver' ? 1 : code);
    expect(await redis.exists(storeFindingsKey(prefix, new URL(target.endpoint).origin))).toBe(0);
    const left: string[] = [];
    for await (const o of bucket.list({ prefix: 'tmp/' })) left.push(o.key);
    expect(left).toEqual([]);
  });

  it('interrupted: stops, still removes the scratch prefix, marks what did not run', async () => {
    const bucket = await freshBucket('doctor-abort');
    const parsed = parseDoctorArgs(['--profile', 'probe', '--bucket', bucket.name, '--no-bucket-create']);
    if (parsed.help) throw new Error('unexpected help');
    const config = loadConfig(env(uniquePrefix()));
    const controller = new AbortController();
    // The copy-condition probe alone takes over 2.5 s: 300 ms in, the run is before its end.
    const timer = setTimeout(() => controller.abort(), 300);
    const report = await runDoctor(parsed as DoctorArgs, config, controller.signal);
    clearTimeout(timer);
    expect(report.interrupted).toBe(true);
    expect(report.results.some((r) => r.verdict === 'not checked' && r.store === 'not run: interrupted')).toBe(true);
    expect(report.scratch.left).toBe(0);
    expect(await scratchLeft(bucket)).toEqual([]);
  });

  it('without Redis (and without --save): the report says the findings were not saved', async () => {
    const bucket = await freshBucket('doctor-unsaved');
    const io = captureIo(env(uniquePrefix(), { REDIS_URL: 'redis://127.0.0.1:1' }));
    const code = await doctorCommand.run(['--profile', 'probe', '--bucket', bucket.name, '--no-bucket-create', '--json'], io);
    const report = JSON.parse(io.out) as JsonReport;
    expect(report.saved.saved).toBe(false);
    expect(report.saved.reason).toMatch(/^Redis did not answer \(Redis is unreachable at redis:\/\/127\.0\.0\.1:1.*\); give --save to require it$/);
    expect(code).toBe(report.broken.length === 0 ? 0 : 1);
    expect(await scratchLeft(bucket)).toEqual([]);
  });

  it('--save without Redis: exit 3 before writing anything', async () => {
    const bucket = await freshBucket('doctor-noredis');
    const io = captureIo(env(uniquePrefix(), { REDIS_URL: 'redis://127.0.0.1:1' }));
    let code: number;
    try {
      code = await doctorCommand.run(['--profile', 'probe', '--bucket', bucket.name, '--save'], io);
    } catch (err) {
      const { exitCodeFor } = await import('../../../producers/cli/exit-codes.js');
      code = exitCodeFor(err);
    }
    expect(code).toBe(3);
    expect(await scratchLeft(bucket)).toEqual([]);
  });
});
