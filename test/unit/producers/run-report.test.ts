/** `run report`'s new flags, --report-to kept with a run, and what a --no-wait run says about its report. Pure. */
import { describe, expect, it } from 'vitest';
import { noWaitNote, parseMigrateArgs } from '../../../producers/cli/migrate.js';
import { parseRunArgs, reportToFlag, runEnded } from '../../../producers/cli/runs.js';
import { DEFAULT_UPLOAD_PROFILE, reportTargetText, storedReportTarget, uploadProfile, uploadProfileOf } from '../../../producers/migrate/deliver-report.js';
import { MIGRATION_KIND } from '../../../producers/migrate/migration.js';
import { loadConfig } from '../../../shared/config/config.js';
import { ValidationError } from '../../../shared/errors.js';
import { expectUsage } from './expect-usage.js';

describe('--report-to', () => {
  it('parses s3://bucket/prefix/, making the prefix end with "/"', () => {
    expect(reportToFlag(undefined)).toBeUndefined();
    expect(reportToFlag('s3://reports/runs/')).toEqual({ bucket: 'reports', prefix: 'runs/' });
    expect(reportToFlag('s3://reports/runs')).toEqual({ bucket: 'reports', prefix: 'runs/' });
    expect(reportToFlag(' s3://reports ')).toEqual({ bucket: 'reports', prefix: '' });
  });

  it('refuses anything else, naming the flag and what is allowed', () => {
    for (const raw of ['reports/runs/', 's3://', 's3:///runs/', 'https://reports/runs/', ''])
      expectUsage(() => reportToFlag(raw), '--report-to', /is not allowed; give s3:\/\/BUCKET\/PREFIX\/ \(the bucket and key prefix/);
    expectUsage(() => parseMigrateArgs(['--bucket', 'media', '--acl', 'private', '--set', 'a=b', '--report-to', 'reports']), '--report-to', /"reports" is not allowed/);
  });

  it('round-trips through the text kept with the run', () => {
    const target = { bucket: 'reports', prefix: 'runs/' };
    expect(reportTargetText(target)).toBe('s3://reports/runs/');
    expect(storedReportTarget({ reportTo: reportTargetText(target) })).toEqual(target);
    expect(storedReportTarget({ reportTo: 's3://reports/' })).toEqual({ bucket: 'reports', prefix: '' });
    expect(storedReportTarget({ reportTo: undefined })).toBeUndefined();
    expect(storedReportTarget({ reportTo: '' })).toBeUndefined();
  });
});

describe('s3jobs run report flags', () => {
  it('--report-to and --wait apply to report only', () => {
    expect(parseRunArgs(['report', 'mig-1'])).toMatchObject({ request: { action: 'report', reportTo: undefined, wait: false } });
    expect(parseRunArgs(['report', 'mig-1', '--wait', '--report-to', 's3://reports/runs/'])).toMatchObject({
      request: { action: 'report', runId: 'mig-1', wait: true, reportTo: { bucket: 'reports', prefix: 'runs/' } },
    });
    expectUsage(() => parseRunArgs(['show', 'mig-1', '--wait']), '--wait', /does not apply to "run show"/);
    expectUsage(() => parseRunArgs(['delete', 'mig-1', '--report-to', 's3://r/']), '--report-to', /does not apply to "run delete"/);
    expectUsage(() => parseRunArgs(['report', 'mig-1', '--report-to', 'r/runs/']), '--report-to', /"r\/runs\/" is not allowed; give s3:\/\/BUCKET\/PREFIX\//);
    expectUsage(() => parseRunArgs(['report', 'mig-1', '--wait=yes']), '--wait', /./);
  });

  it('a run has ended once completed or stopped', () => {
    expect(['listing', 'draining', 'completed', 'stopped'].map((state) => runEnded({ state: state as 'listing' }))).toEqual([false, false, true, true]);
  });
});

describe('the upload profile', () => {
  it("is a bulk run's own, else the default (sync runs)", () => {
    expect(uploadProfileOf({ kind: MIGRATION_KIND, spec: { profile: 'prod', bucket: 'media' } })).toBe('prod');
    expect(uploadProfileOf({ kind: 'sync', spec: { profile: 'prod' } })).toBe(DEFAULT_UPLOAD_PROFILE);
    expect(uploadProfileOf({ kind: MIGRATION_KIND, spec: null })).toBe(DEFAULT_UPLOAD_PROFILE);
  });

  it('a profile this machine lacks fails naming --report-to, the target and the profile', () => {
    const config = loadConfig({ S3JOBS_PROFILE_OTHER_ACCESS_KEY: 'AKIAEXAMPLE', S3JOBS_PROFILE_OTHER_SECRET_KEY: 'not-a-real-secret', S3JOBS_PROFILE_OTHER_REGION: 'us-east-1' });
    let caught: unknown;
    try {
      uploadProfile(config, { kind: MIGRATION_KIND, spec: { profile: 'prod' } }, { bucket: 'reports', prefix: 'runs/' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).field).toBe('--report-to');
    expect((caught as Error).message).toMatch(/^--report-to: the report is uploaded to s3:\/\/reports\/runs\/ with profile "prod" \(the run's\), but profile "prod" is not configured for this producer/);
    expect((caught as Error).message).not.toContain('not-a-real-secret');
  });
});

describe('a run left to the workers (--no-wait)', () => {
  it('says run report --wait produces its report, and its upload when it has a --report-to', () => {
    expect(noWaitNote('mig-1', undefined)).toBe(
      "Everything is enqueued; workers are finishing the run. Follow it with: s3jobs run show mig-1; collect its report with: s3jobs run report mig-1 --wait (it waits for the run to end, then writes the report in S3 Batch Operations' form too), or s3jobs run report mig-1 once the run has ended\n",
    );
    expect(noWaitNote('mig-1', { bucket: 'reports', prefix: 'runs/' })).toContain("in S3 Batch Operations' form too and uploads it to s3://reports/runs/)");
  });
});
