/**
 * Schedules and syncs from the command line, without Redis: intervals, repeat rules, the
 * `schedule add` line split into schedule flags and a job command, `sync` locations, and the
 * `schedule list` table.
 */
import { describe, expect, it } from 'vitest';
import { describeJob, describeRepeat, formatSchedules, parseScheduleArgs, repeatFrom, type ScheduleRequest } from '../../../producers/cli/schedule.js';
import { parseLocation, parseSyncArgs } from '../../../producers/cli/sync.js';
import type { EnqueueRequest } from '../../../producers/cli/enqueue.js';
import type { Parsed } from '../../../producers/cli/args.js';
import { formatDuration, parseDuration } from '../../../producers/schedule/duration.js';
import { assertScheduleName, checkRepeat } from '../../../producers/schedule/schedules.js';
import { expectUsage } from './expect-usage.js';

describe('parseDuration', () => {
  it.each([
    ['1s', 1_000],
    ['45s', 45_000],
    ['30m', 1_800_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['1d2h3m4s', 93_784_000],
    [' 15M ', 900_000],
    ['366d', 366 * 86_400_000],
  ])('%j → %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each([
    ['', /not an interval/],
    ['1', /not an interval/],
    ['h', /not an interval/],
    ['1x', /not an interval/],
    ['1.5h', /not an interval/],
    ['30m1h', /not an interval/],
    ['-1h', /not an interval/],
    ['1h 30m', /not an interval/],
    ['0s', /out of range/],
    ['367d', /out of range/],
  ])('%j is refused', (text, message) => {
    expect(() => parseDuration(text)).toThrow(message);
    try {
      parseDuration(text, '--every');
    } catch (err) {
      expect(err).toMatchObject({ field: '--every', code: 'S3JOBS_INVALID_INPUT' });
    }
  });

  it.each([
    [1_000, '1s'],
    [5_400_000, '1h30m'],
    [93_784_000, '1d2h3m4s'],
    [1_500, '1.5s'],
  ])('formatDuration(%d) = %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  it('formats back what it parses', () => {
    for (const text of ['1s', '1h30m', '2d', '1d2h3m4s']) expect(formatDuration(parseDuration(text))).toBe(text);
  });
});

describe('checkRepeat', () => {
  const now = Date.UTC(2024, 4, 1, 12, 0, 0);
  it('every: fires at once', () => {
    expect(checkRepeat({ every: 60_000 }, now)).toBe(now);
  });
  it('cron: the next matching time, in the given zone', () => {
    expect(new Date(checkRepeat({ cron: '0 3 * * *' }, now)).toISOString()).toBe('2024-05-02T03:00:00.000Z');
    // 03:00 in Paris is 01:00 UTC in summer.
    expect(new Date(checkRepeat({ cron: '0 3 * * *', tz: 'Europe/Paris' }, now)).toISOString()).toBe('2024-05-02T01:00:00.000Z');
    expect(new Date(checkRepeat({ cron: '*/15 * * * * *' }, now)).toISOString()).toBe('2024-05-01T12:00:15.000Z');
  });
  it.each([
    [{ every: 999 }, 'every', /1000/],
    [{ every: 1.5e3 + 0.5 }, 'every', /whole number/],
    [{ cron: '0 3 * *' }, 'cron', /has 4 fields/],
    [{ cron: '0 3 * * * * *' }, 'cron', /has 7 fields/],
    [{ cron: '61 * * * *' }, 'cron', /not a cron pattern/],
    [{ cron: 'bad * * * *' }, 'cron', /not a cron pattern/],
    [{ cron: '0 3 * * *', tz: 'Mars/Olympus' }, 'tz', /not a known time zone/],
  ])('%j is refused (%s)', (repeat, field, message) => {
    expect(() => checkRepeat(repeat, now)).toThrow(message);
    expect(() => checkRepeat(repeat, now)).toThrow(expect.objectContaining({ field }));
  });
});

describe('schedule names', () => {
  it.each(['nightly', 'backup-2024.photos', 'a_b'])('%j is a name', (name) => expect(() => assertScheduleName(name)).not.toThrow());
  it.each(['', 'has:colon', 'has space', 'x'.repeat(65), 'é'])('%j is not', (name) => expect(() => assertScheduleName(name)).toThrow(/not a schedule name/));
});

function add(parsed: Parsed<{ request: ScheduleRequest }>): Extract<ScheduleRequest, { action: 'add' }> {
  if (parsed.help || parsed.request.action !== 'add') throw new Error('expected an add request');
  return parsed.request;
}

describe('s3jobs schedule add', () => {
  it('--every and a sync job', () => {
    const parsed = parseScheduleArgs(['add', 'nightly', '--every', '1h', 'sync', 'photos/2024/', 'backup/2024/', '--acl', 'private', '--as-run']);
    expect(add(parsed)).toEqual({
      action: 'add',
      name: 'nightly',
      repeat: { every: 3_600_000 },
      payload: { kind: 'sync', profile: 'default', source: { bucket: 'photos', prefix: '2024/' }, destination: { bucket: 'backup', prefix: '2024/' }, acl: 'private', asRun: true },
      options: {},
    });
  });

  it('--cron with --tz and a copy job with its priority and attempts; global flags on either side', () => {
    const parsed = parseScheduleArgs(['--queue', 'q1', 'add', 'report', '--cron', '0 3 * * *', '--tz', 'Europe/Paris', '--replace', 'copy', 'src-b/r.csv', 'dst-b/r.csv', '--acl', 'private', '--priority', '3', '--attempts', '7', '--profile', 'prod', '--json']);
    if (parsed.help) throw new Error('help');
    expect(parsed.globals).toEqual({ overrides: { redisUrl: undefined, queue: 'q1', prefix: undefined }, json: true });
    expect(add(parsed)).toMatchObject({
      name: 'report',
      repeat: { cron: '0 3 * * *', tz: 'Europe/Paris' },
      payload: { kind: 'copy', profile: 'prod', source: { bucket: 'src-b', key: 'r.csv' } },
      options: { replace: true, priority: 3, attempts: 7 },
    });
  });

  it('rewrite-metadata keeps its own --replace', () => {
    const request = add(parseScheduleArgs(['add', 'tidy', '--every', '1d', 'rewrite-metadata', 'site-b/index.html', '--acl', 'public-read', '--replace', '--set', 'a=b']));
    expect(request.payload).toMatchObject({ kind: 'metadata-rewrite', replace: { a: 'b' } });
    expect(request.options.replace).toBeUndefined();
  });

  it('a cron value that looks like a word is not taken for the job command', () => {
    expect(add(parseScheduleArgs(['add', 'n', '--cron', '0 3 * * 1', 'sync', 'aa-a', 'bb-b', '--acl', 'private'])).repeat).toEqual({ cron: '0 3 * * 1' });
  });

  it.each([
    [['add'], '<name>', /is missing/],
    [['add', 'n', '--every', '1h'], '<job>', /is missing/],
    [['add', 'n', '--every', '1h', 'bucket', 'create', 'x'], '<job>', /cannot be scheduled/],
    [['add', 'n', 'sync', 'aa-a', 'bb-b', '--acl', 'private'], '--every', /needs --every INTERVAL .* or --cron/],
    [['add', 'n', '--every', '1h', '--cron', '0 3 * * *', 'sync', 'aa-a', 'bb-b', '--acl', 'private'], '--cron', /not both/],
    [['add', 'n', '--every', '1h', '--tz', 'UTC', 'sync', 'aa-a', 'bb-b', '--acl', 'private'], '--tz', /only applies to --cron/],
    [['add', 'n', '--every', 'hourly', 'sync', 'aa-a', 'bb-b', '--acl', 'private'], '--every', /not an interval/],
    [['add', 'n', '--cron', '0 3 * *', 'sync', 'aa-a', 'bb-b', '--acl', 'private'], '--cron', /4 fields/],
    [['add', 'n', '--cron', '0 3 * * *', '--tz', 'Nowhere', 'sync', 'aa-a', 'bb-b', '--acl', 'private'], '--tz', /time zone/],
    [['add', 'n', 'sync', 'aa-a', 'bb-b', '--acl', 'private', '--every', '1h'], '--every', /before the job command/],
    [['add', 'n', '--every', '1h', 'sync', 'aa-a', 'bb-b', '--acl', 'private', '--job-id', 'x1'], '--job-id', /does not apply to a schedule/],
    [['add', 'n', '--every', '1h', 'sync', 'aa-a', 'bb-b', '--acl', 'private', '--delay-ms', '5'], '--delay-ms', /does not apply/],
    [['add', 'n', '--every', '1h', 'sync', 'aa-a', 'bb-b', '--acl', 'private', '--wait'], '--wait', /does not apply/],
    [['add', 'n', '--every', '1h', 'sync', 'aa-a', 'bb-b'], '--acl', /is required/],
    [['add', 'n', '--every', '1h', 'copy', 'aa-a/k'], '<dst>', /is missing/],
    [['add', 'n', '--every', '1h', '--bogus', 'copy', 'aa-a/k', 'bb-b/k', '--acl', 'private'], '--bogus', /unknown flag/],
  ])('%j → %s', (argv, flag, message) => {
    expectUsage(() => parseScheduleArgs(argv), flag, message);
  });

  it('--help, before or inside the job command', () => {
    expect(parseScheduleArgs(['--help'])).toEqual({ help: true });
    expect(parseScheduleArgs(['add', '--help'])).toEqual({ help: true });
    expect(parseScheduleArgs(['add', 'n', '--every', '1h', 'copy', '--help'])).toEqual({ help: true });
  });
});

describe('s3jobs schedule list / remove', () => {
  it('parses', () => {
    expect(parseScheduleArgs(['list', '--json'])).toMatchObject({ help: false, request: { action: 'list' }, globals: { json: true } });
    expect(parseScheduleArgs(['remove', 'nightly'])).toMatchObject({ help: false, request: { action: 'remove', name: 'nightly' } });
  });
  it.each([
    [['remove'], '<name>', /is missing/],
    [['list', 'x'], '"x"', /unexpected argument/],
    [['pause', 'x'], 'add|list|remove', /not a schedule action/],
    [[], 'add|list|remove', /is missing/],
  ])('%j → %s', (argv, flag, message) => {
    expectUsage(() => parseScheduleArgs(argv), flag, message);
  });

  it('the list table', () => {
    const text = formatSchedules(
      [
        { name: 'nightly', repeat: { cron: '0 3 * * *', tz: 'Europe/Paris' }, next: Date.UTC(2024, 4, 2, 1), iterations: 3, kind: 'sync', payload: { kind: 'sync', source: { bucket: 'a', prefix: 'in/' }, destination: { bucket: 'b', prefix: '' } }, attempts: 5, priority: undefined },
        { name: 'h', repeat: { every: 5_400_000 }, next: undefined, iterations: 1, kind: 'copy', payload: { kind: 'copy', source: { bucket: 'a', key: 'k' }, destination: { bucket: 'b', key: 'k2' } }, attempts: 5, priority: undefined },
      ],
      'q',
    );
    expect(text).toBe(
      [
        'NAME     WHEN                           NEXT                      JOB',
        'nightly  cron "0 3 * * *" Europe/Paris  2024-05-02T01:00:00.000Z  sync a/in/ -> b/',
        'h        every 1h30m                    -                         copy a/k -> b/k2',
        '',
      ].join('\n'),
    );
    expect(formatSchedules([], 'q')).toBe('No schedules on queue q.\n');
  });

  it('describes repeats and jobs', () => {
    expect(describeRepeat({ every: 1_000 })).toBe('every 1s');
    expect(describeRepeat({ cron: '0 3 * * *' })).toBe('cron "0 3 * * *"');
    expect(describeJob({ kind: 'metadata-rewrite', bucket: 'b', key: 'k' })).toBe('rewrite-metadata b/k');
    expect(describeJob(undefined)).toBe('-');
  });

  it('repeatFrom maps errors to flags', () => {
    expectUsage(() => repeatFrom('0s', undefined, undefined), '--every', /out of range/);
  });
});

function request(parsed: Parsed<EnqueueRequest>): EnqueueRequest {
  if (parsed.help) throw new Error('expected a request, got help');
  return parsed;
}

describe('s3jobs sync', () => {
  it('the minimal command line', () => {
    expect(request(parseSyncArgs(['photos/2024/', 'backup', '--acl', 'private'])).payload).toEqual({
      kind: 'sync',
      profile: 'default',
      source: { bucket: 'photos', prefix: '2024/' },
      destination: { bucket: 'backup', prefix: '' },
      acl: 'private',
    });
  });

  it('every flag', () => {
    const r = request(parseSyncArgs(['src-b/in/', 'dst-b/out/', '--acl', 'public-read', '--metadata', 'owner=ann', '--mimetype', 'image/png', '--as-run', '--profile', 'p2', '--timeout-ms', '60000', '--job-id', 'sync-1', '--wait']));
    expect(r.payload).toEqual({
      kind: 'sync',
      profile: 'p2',
      source: { bucket: 'src-b', prefix: 'in/' },
      destination: { bucket: 'dst-b', prefix: 'out/' },
      acl: 'public-read',
      metadata: { owner: 'ann' },
      mimetype: 'image/png',
      asRun: true,
      timeoutMs: 60_000,
    });
    expect(r.options).toEqual({ jobId: 'sync-1', timeoutMs: 60_000 });
    expect(r.wait).toBeDefined();
  });

  it('parseLocation: bucket, or bucket/prefix kept as written', () => {
    expect(parseLocation('b-1', '<src>')).toEqual({ bucket: 'b-1', prefix: '' });
    expect(parseLocation('b-1/', '<src>')).toEqual({ bucket: 'b-1', prefix: '' });
    expect(parseLocation('b-1/a/b', '<src>')).toEqual({ bucket: 'b-1', prefix: 'a/b' });
  });

  it.each([
    [['aa-a/x/', 'bb-b'], '--acl', /is required/],
    [['Bad_Bucket/x', 'bb-b', '--acl', 'private'], '<src> bucket', /.+/],
    [['aa-a', '/x', '--acl', 'private'], '<dst> bucket', /.+/],
    [['aa-a/x/', 'aa-a/x/y/', '--acl', 'private'], '<dst> (prefix)', /overlap/],
    [['aa-a/x\u0001', 'bb-b', '--acl', 'private'], '<src> (prefix)', /control character/],
    [['aa-a', 'bb-b', '--acl', 'nobody'], '--acl', /canned ACL/],
    [['aa-a', 'bb-b', '--acl', 'private', '--metadata', 'bad name=x'], '--metadata "bad name"', /.+/],
    [['aa-a'], '<dst>', /is missing/],
  ])('%j → %s', (argv, flag, message) => {
    expectUsage(() => parseSyncArgs(argv), flag, message);
  });
});
