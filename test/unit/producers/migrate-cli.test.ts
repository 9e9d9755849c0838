/** `s3jobs migrate-metadata`, `runs` and `run`: command lines into requests, or UsageErrors naming the flag. Pure. */
import { describe, expect, it } from 'vitest';
import { EXIT_INTERRUPTED, migrationExitCode, parseFailThreshold, parseMigrateArgs, type MigrateRequest } from '../../../producers/cli/migrate.js';
import { parseRunArgs, parseRunsArgs } from '../../../producers/cli/runs.js';
import type { MigrationResult } from '../../../producers/migrate/migration.js';
import type { RunInfo } from '../../../shared/runs/index.js';
import { expectUsage } from './expect-usage.js';

function request(argv: string[]): MigrateRequest {
  const parsed = parseMigrateArgs(argv);
  if (parsed.help) throw new Error('expected a request, got help');
  return parsed.request;
}

const base = ['--bucket', 'media', '--acl', 'private'];

describe('s3jobs migrate-metadata', () => {
  it('the minimal command line, with the defaults', () => {
    expect(request([...base, '--set', 'owner=team'])).toEqual({
      spec: { profile: 'default', bucket: 'media', acl: 'private', set: { owner: 'team' } },
      runId: undefined,
      resume: false,
      dryRun: false,
      window: undefined,
      batchSize: undefined,
      ratePerSecond: undefined,
      failureThreshold: { ratio: 0.5, after: 1_000 },
      reportPath: undefined,
      wait: true,
      globals: { overrides: { redisUrl: undefined, queue: undefined, prefix: undefined }, json: false },
    });
  });

  it('every flag', () => {
    const r = request([
      ...base,
      '--prefix',
      'site/',
      '--profile',
      'prod',
      '--set',
      'a=1',
      '--set',
      'b=x=y',
      '--remove',
      'old',
      '--mimetype-from-extension',
      '--cache-control',
      'max-age=60, public',
      '--header',
      'content-language=en',
      '--filter',
      '**/*.html',
      '--min-size',
      '1',
      '--max-size',
      '1_000_000',
      '--run-id',
      'site-2024',
      '--dry-run',
      '--window',
      '5000',
      '--batch-size',
      '100',
      '--rate',
      '2.5',
      '--fail-threshold',
      '25%',
      '--fail-after',
      '200',
      '--report',
      'out.csv',
      '--no-wait',
      '--queue-prefix',
      '{other}',
      '--queue',
      'q',
      '--json',
    ]);
    expect(r).toEqual({
      spec: {
        profile: 'prod',
        bucket: 'media',
        acl: 'private',
        prefix: 'site/',
        set: { a: '1', b: 'x=y' },
        remove: ['old'],
        mimetypeFromExtension: true,
        headers: { 'content-language': 'en', 'cache-control': 'max-age=60, public' },
        filter: { glob: '**/*.html', minSize: 1, maxSize: 1_000_000 },
      },
      runId: 'site-2024',
      resume: false,
      dryRun: true,
      window: 5000,
      batchSize: 100,
      ratePerSecond: 2.5,
      failureThreshold: { ratio: 0.25, after: 200 },
      reportPath: 'out.csv',
      wait: false,
      globals: { overrides: { redisUrl: undefined, queue: 'q', prefix: '{other}' }, json: true },
    });
  });

  it('--resume ID alone uses the run\'s own options; with them, they are checked against the run', () => {
    expect(request(['--resume', 'mig-0123456789abcdef'])).toMatchObject({ spec: undefined, runId: 'mig-0123456789abcdef', resume: true });
    expect(request(['--resume', 'r1', ...base, '--set', 'a=b'])).toMatchObject({ spec: { bucket: 'media' }, runId: 'r1', resume: true });
  });

  it('--fail-threshold off turns the threshold off', () => {
    expect(parseFailThreshold('off', undefined)).toBeUndefined();
    expect(parseFailThreshold(undefined, '50')).toEqual({ ratio: 0.5, after: 50 });
    expect(parseFailThreshold('1', undefined)).toEqual({ ratio: 1, after: 1000 });
  });

  it('--help', () => {
    expect(parseMigrateArgs(['--help'])).toEqual({ help: true });
  });

  it.each<[string[], string, RegExp]>([
    [['--acl', 'private', '--set', 'a=b'], '--bucket', /is required.*--resume ID/],
    [['--bucket', 'b', '--set', 'a=b'], '--acl', /is required: each rewrite is a copy onto itself.*replicate-source/],
    [[...base], '--set', /nothing to change: give at least one of --set, --remove, --mimetype-from-extension, --cache-control or --header/],
    [[...base, '--set', 'a=1', '--remove', 'A'], '--remove', /"A" is also given to --set \("a"\)/],
    [[...base, '--set', 'bad name=1'], '--set "bad name"', /metadata name/],
    [[...base, '--set', 'noequals'], '--set', /is not name=value/],
    [[...base, '--cache-control', 'x', '--header', 'Cache-Control=y'], '--cache-control', /give it once/],
    [[...base, '--acl', 'nope', '--set', 'a=b'], '--acl', /canned ACL/],
    [[...base, '--set', 'a=b', '--bucket', 'Bad_Bucket'], '--bucket', /bucket/],
    [[...base, '--set', 'a=b', '--filter', ''], '--filter', /glob of 1-1024 characters/],
    [[...base, '--set', 'a=b', '--min-size', '10', '--max-size', '5'], '--min-size', /larger than --max-size/],
    [[...base, '--set', 'a=b', '--min-size=-1'], '--min-size', /integer from 0/],
    [[...base, '--set', 'a=b', '--window', '0'], '--window', /integer from 1 to 10000000/],
    [[...base, '--set', 'a=b', '--batch-size', '1001'], '--batch-size', /integer from 1 to 1000/],
    [[...base, '--set', 'a=b', '--rate', '0'], '--rate', /number above 0/],
    [[...base, '--set', 'a=b', '--rate', 'fast'], '--rate', /number above 0/],
    [[...base, '--set', 'a=b', '--fail-threshold', '1.5'], '--fail-threshold', /at most 1 \(0\.5 or 50%\), or "off"/],
    [[...base, '--set', 'a=b', '--fail-threshold', 'off', '--fail-after', '10'], '--fail-after', /does not apply with --fail-threshold off/],
    [[...base, '--set', 'a=b', '--run-id', 'has space'], '--run-id', /not a run id/],
    [[...base, '--set', 'a=b', '--run-id', 'a', '--resume', 'b'], '--resume', /not both/],
    [['--resume', 'r', '--dry-run'], '--dry-run', /does not apply to --resume/],
    [['--resume', 'r', '--set', 'a=b'], '--bucket', /is required/],
    [[...base, '--set', 'a=b', '--wait'], '--wait', /unknown flag for 'migrate-metadata'/],
    [[...base, '--set', 'a=b', 'extra'], '"extra"', /unexpected argument/],
  ])('%j → %s', (argv, flag, message) => {
    expectUsage(() => parseMigrateArgs(argv), flag, message);
  });
});

describe('migrationExitCode', () => {
  const run = { state: 'completed', deadLettered: 0 } as RunInfo;
  const result = (over: Partial<RunInfo>, interrupted = false) => ({ run: { ...run, ...over }, interrupted }) as MigrationResult;
  it.each<[string, MigrationResult, number]>([
    ['all completed', result({}), 0],
    ['enqueued, --no-wait', result({ state: 'draining' }), 0],
    ['something dead-lettered', result({ deadLettered: 1 }), 1],
    ['stopped by the threshold', result({ state: 'stopped' }), 1],
    ['interrupted', result({ state: 'listing' }, true), EXIT_INTERRUPTED],
  ])('%s → %i', (_what, r, code) => {
    expect(migrationExitCode(r)).toBe(code);
  });
});

describe('s3jobs runs / run', () => {
  it('runs: --limit', () => {
    expect(parseRunsArgs([])).toMatchObject({ help: false, limit: 20 });
    expect(parseRunsArgs(['--limit', '5', '--json'])).toMatchObject({ help: false, limit: 5, globals: { json: true } });
    expectUsage(() => parseRunsArgs(['--limit', '0']), '--limit', /integer from 1/);
  });

  it('run: actions, their flags, and the run id', () => {
    expect(parseRunArgs(['show', 'mig-1'])).toMatchObject({ help: false, request: { action: 'show', runId: 'mig-1', force: false } });
    expect(parseRunArgs(['report', 'mig-1', '--out', 'r.csv'])).toMatchObject({ request: { action: 'report', out: 'r.csv' } });
    expect(parseRunArgs(['delete', 'mig-1', '--force'])).toMatchObject({ request: { action: 'delete', force: true } });
    expectUsage(() => parseRunArgs(['stop', 'mig-1']), 'show|report|delete', /"stop" is not a run action/);
    expectUsage(() => parseRunArgs(['show']), '<runId>', /is missing/);
    expectUsage(() => parseRunArgs(['show', 'a b']), '<runId>', /not a run id/);
    expectUsage(() => parseRunArgs(['show', 'mig-1', '--force']), '--force', /does not apply to "run show"/);
    expectUsage(() => parseRunArgs(['delete', 'mig-1', '--out', 'x']), '--out', /does not apply to "run delete"/);
  });
});
