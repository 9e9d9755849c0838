/**
 * `s3jobs doctor`: its command line, its table and its JSON. Pure: no Redis, no S3.
 */
import { describe, expect, it } from 'vitest';
import { parseDoctorArgs, runDoctor, type DoctorArgs } from '../../../producers/cli/doctor.js';
import { UsageError } from '../../../producers/cli/exit-codes.js';
import { buildConfig } from '../../../shared/config/config.js';
import { displayWidth, formatReport, formatTable, reportJson, wrap, type DoctorReport } from '../../../producers/doctor/report.js';
import type { ProbeResult } from '../../../shared/s3/store-probe.js';
import { PROVIDER_PROFILES } from '../../../shared/s3/store-profile.js';
import { expectUsage } from './expect-usage.js';

function args(argv: string[]): DoctorArgs {
  const parsed = parseDoctorArgs(argv);
  if (parsed.help) throw new Error('expected args, got help');
  return parsed;
}

describe('s3jobs doctor command line', () => {
  it('the minimal command line: saves when Redis answers, probes bucket creation', () => {
    expect(args(['--bucket', 'media'])).toEqual({
      help: false,
      globals: { overrides: { redisUrl: undefined, queue: undefined, prefix: undefined }, json: false },
      profile: 'default',
      bucket: 'media',
      scratchPrefix: '',
      save: 'if-redis',
      bucketCreate: true,
      timeoutMs: 30_000,
    });
  });

  it('every flag', () => {
    expect(args(['--bucket', 'media', '--profile', 'ceph', '--json', '--save', '--scratch-prefix', 'tmp/', '--no-bucket-create', '--timeout-ms', '5000', '--prefix', '{q}'])).toMatchObject({
      globals: { overrides: { prefix: '{q}' }, json: true },
      profile: 'ceph',
      scratchPrefix: 'tmp/',
      save: true,
      bucketCreate: false,
      timeoutMs: 5000,
    });
    expect(args(['--bucket', 'media', '--no-save']).save).toBe(false);
  });

  it('--help', () => {
    expect(parseDoctorArgs(['--help'])).toEqual({ help: true });
  });

  it('refuses what it cannot run, naming the flag', () => {
    expectUsage(() => parseDoctorArgs([]), '--bucket', /is required/);
    expectUsage(() => parseDoctorArgs(['--bucket', 'Not_A_Bucket']), '--bucket', /./);
    expectUsage(() => parseDoctorArgs(['--bucket', 'bkt', '--save', '--no-save']), '--save', /contradict/);
    expectUsage(() => parseDoctorArgs(['--bucket', 'bkt', '--scratch-prefix', 'tmp']), '--scratch-prefix', /ending in "\/"/);
    expectUsage(() => parseDoctorArgs(['--bucket', 'bkt', '--timeout-ms', '10']), '--timeout-ms', /from 1000 to 600000/);
    expectUsage(() => parseDoctorArgs(['--bucket', 'bkt', '--acl', 'private']), '--acl', /unknown flag for 'doctor'/);
    expectUsage(() => parseDoctorArgs(['bkt']), '"bkt"', /takes no arguments/);
  });
});

describe('s3jobs doctor configuration', () => {
  it('a profile the configuration lacks is a usage error naming --profile, before any request', async () => {
    const config = buildConfig({ overrides: { profiles: { main: { endpoint: 'http://127.0.0.1:1', accessKey: 'a', secretKey: 's' } } } });
    const err = await runDoctor(args(['--bucket', 'media', '--profile', 'other']), config).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).field).toBe('--profile');
    expect((err as Error).message).toMatch(/profile "other" is not configured.*known profiles: main/);
  });
});

const ROWS: ProbeResult[] = [
  { id: 'clock', probe: 'clock skew', store: 'Date is 0.2 s behind the local clock', s3jobs: 'signs with the local clock', verdict: 'ok' },
  {
    id: 'guard',
    probe: 'guarded rewrite (copy-source if-match)',
    store: 'honours no copy condition under either name: copies anyway',
    s3jobs: 'rewrites run unguarded and say guarded: false',
    verdict: 'fail',
    guarantee: 'guarded rewrite not guarded on this store',
  },
  { id: 'keys.unicode', probe: 'key with unicode: "日本語-🙂.txt"', store: 'put, head, list and copy keep the exact key', s3jobs: 'encodes keys', verdict: 'ok' },
];

function report(overrides: Partial<DoctorReport> = {}): DoctorReport {
  return {
    endpoint: 'http://127.0.0.1:7480',
    bucket: 'media',
    profileName: 'default',
    at: '2026-12-03T22:00:00.000Z',
    results: ROWS,
    broken: ['guarded rewrite not guarded on this store'],
    storeProfile: { ...PROVIDER_PROFILES.s3rver, source: 'doctor:2026-12-03T22:00:00.000Z over documented' },
    findings: { source: 'doctor:2026-12-03T22:00:00.000Z', copyConditions: 'none' },
    scratch: { prefix: '.s3jobs-doctor/abc/', removed: 27, left: 0, bucket: 's3jobs-doctor-x', bucketDeleted: true },
    saved: { saved: true, key: '{s3jobs}:store:http://127.0.0.1:7480' },
    interrupted: false,
    ...overrides,
  };
}

describe('the table', () => {
  it('wraps cells at spaces, and cuts a word longer than the column', () => {
    expect(wrap('honours only the older names', 12)).toEqual(['honours only', 'the older', 'names']);
    expect(wrap('x-amz-copy-source-if-unmodified-since', 16)).toEqual(['x-amz-copy-sourc', 'e-if-unmodified-', 'since']);
    expect(wrap('', 5)).toEqual(['']);
  });

  it('counts wide characters twice so columns stay straight', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('日本語')).toBe(6);
    expect(displayWidth('🙂')).toBe(2);
    expect(displayWidth('ünï')).toBe(3);
  });

  it('one line per row (at least), columns aligned, verdicts upper-case when they matter', () => {
    const lines = formatTable(ROWS).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^VERDICT\s+PROBE\s+WHAT THE STORE DOES\s+WHAT S3JOBS DOES$/);
    expect(lines[1]).toMatch(/^-+ {2}-+ {2}-+ {2}-+$/);
    const storeColumn = lines[0]!.indexOf('WHAT THE STORE DOES');
    const rowLines = lines.slice(2);
    expect(rowLines.find((l) => l.startsWith('FAIL'))).toContain('guarded rewrite');
    for (const line of rowLines.filter((l) => /^(ok|FAIL)/.test(l))) {
      // The store column starts at the same terminal column on every row's first line.
      const prefix = line.slice(0, line.search(/ {2}(Date|honours|put,)/) + 2);
      expect(displayWidth(prefix)).toBe(storeColumn);
    }
  });

  it('the whole report names the broken guarantees, the profile, cleanup and where it was saved', () => {
    const text = formatReport(report());
    expect(text).toContain('s3jobs doctor: http://127.0.0.1:7480, bucket media (profile "default")');
    expect(text).toContain('copyConditions=none partCopyConditions=none multipartCompletionEtag=etag ownedBucketCreate=409');
    expect(text).toContain('Scratch: removed 27 objects under .s3jobs-doctor/abc/; nothing left; scratch bucket s3jobs-doctor-x deleted');
    expect(text).toContain('Findings saved in Redis at {s3jobs}:store:http://127.0.0.1:7480');
    expect(text).toContain('This s3jobs guarantee does not hold on this store: guarded rewrite not guarded on this store.');
    const clean = formatReport(report({ broken: [], saved: { saved: false, reason: '--no-save' }, scratch: { prefix: 'p/', removed: 3, left: 2 } }));
    expect(clean).toContain('Every s3jobs guarantee holds on this store.');
    expect(clean).toContain('Findings not saved: --no-save.');
    expect(clean).toContain('but 2 are left: remove them by hand');
  });

  it('JSON: the same report with ok, results with their ids and verdicts', () => {
    const json = JSON.parse(JSON.stringify(reportJson(report()))) as Record<string, unknown>;
    expect(json.ok).toBe(false);
    expect(json.broken).toEqual(['guarded rewrite not guarded on this store']);
    expect(Object.keys(json).sort()).toEqual(['at', 'broken', 'bucket', 'endpoint', 'findings', 'interrupted', 'ok', 'profileName', 'results', 'saved', 'scratch', 'storeProfile']);
    expect((json.results as ProbeResult[]).map((r) => [r.id, r.verdict])).toEqual([
      ['clock', 'ok'],
      ['guard', 'fail'],
      ['keys.unicode', 'ok'],
    ]);
    expect(reportJson(report({ broken: [] })).ok).toBe(true);
    expect(reportJson(report({ broken: [], interrupted: true })).ok).toBe(false);
  });
});
