/** The migration driver's pure parts: pacing, the failure threshold, run identity, job ids, lease owners, and the report's crash repair. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isDeadLocalOwner, leaseOwner, parseLeaseOwner } from '../../../producers/migrate/lease.js';
import { canonicalJson, defaultRunId, effectiveWindow, failureThresholdReason, RatePacer, type MigrationSpec } from '../../../producers/migrate/migration.js';
import { csvLine } from '../../../producers/migrate/manifest-source.js';
import { applyRevisions, csvRecordEnd, ReportFile, rowObjectPrefix, rowsAlreadyWritten, rowVersionId, withoutLastField } from '../../../producers/migrate/report.js';
import { runJobId, slotOfRunJob } from '../../../producers/migrate/run-jobs.js';
import { REPORT_HEADER, REPORT_HEADER_V1, type RunStore } from '../../../shared/runs/index.js';

describe('RatePacer', () => {
  it('without a rate, everything goes at once', () => {
    const p = new RatePacer(undefined, 0);
    expect(p.take(1000, 0)).toBe(1000);
    expect(p.waitMs()).toBe(0);
  });

  it('allows a burst of one second, then refills at the rate', () => {
    const p = new RatePacer(10, 0);
    expect(p.take(25, 0)).toBe(10);
    expect(p.take(25, 0)).toBe(0);
    expect(p.waitMs()).toBe(100);
    expect(p.take(25, 100)).toBe(1);
    expect(p.take(25, 600)).toBe(5);
    // Idle for long: never more than one second's worth.
    expect(p.take(100, 60_000)).toBe(10);
  });

  it('a rate below one a second lets one job through every 1/rate seconds (a burst is at least one job)', () => {
    const p = new RatePacer(0.5, 0);
    expect(p.take(5, 0)).toBe(1);
    expect(p.take(5, 0)).toBe(0);
    expect(p.waitMs()).toBe(2000);
    expect(p.take(5, 1000)).toBe(0);
    expect(p.take(5, 2000)).toBe(1);
    // Idle for long: still one at a time, never a burst.
    expect(p.take(5, 60_000)).toBe(1);
    expect(p.take(5, 60_000)).toBe(0);
  });
});

describe('effectiveWindow', () => {
  it.each<[number | undefined, number | undefined, number]>([
    [undefined, undefined, 20_000],
    [500, undefined, 500],
    [20_000, 100, 200], // two seconds' worth under a rate
    [50, 100, 50],
    [undefined, 0.2, 1],
  ])('window %s, rate %s → %i', (window, rate, expected) => {
    expect(effectiveWindow(window, rate)).toBe(expected);
  });
});

describe('failureThresholdReason', () => {
  const t = { after: 100, ratio: 0.5 };
  it.each<[number, number, boolean]>([
    [0, 0, false],
    [10, 89, false], // 99 finished: too early to judge
    [49, 51, true],
    [50, 50, false], // exactly half is not more than half
    [900, 101, false],
    [400, 600, true],
  ])('%i completed, %i dead-lettered → stop %s', (completed, deadLettered, stop) => {
    expect(failureThresholdReason({ completed, deadLettered }, t) !== undefined).toBe(stop);
  });

  it('says what happened, and nothing without a threshold', () => {
    expect(failureThresholdReason({ completed: 0, deadLettered: 1000 }, { after: 1000, ratio: 0.5 })).toBe('failure threshold: 1000 of 1000 finished jobs were dead-lettered (more than 50% after 1000)');
    expect(failureThresholdReason({ completed: 0, deadLettered: 1000 }, undefined)).toBeUndefined();
  });
});

describe('run identity', () => {
  const spec: MigrationSpec = { profile: 'default', bucket: 'b', prefix: 'p/', set: { a: '1', b: '2' }, acl: 'private', filter: { glob: '*.jpg', minSize: 1 } };

  it('canonical JSON sorts keys at every level and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
  });

  it('the default run id does not depend on the order the options were given in', () => {
    const reordered = { filter: { minSize: 1, glob: '*.jpg' }, acl: 'private', set: { b: '2', a: '1' }, prefix: 'p/', bucket: 'b', profile: 'default' } as MigrationSpec;
    expect(defaultRunId(reordered)).toBe(defaultRunId(spec));
    expect(defaultRunId({ ...spec, set: { a: '1', b: '3' } })).not.toBe(defaultRunId(spec));
  });
});

describe('run job ids', () => {
  it.each<[string, string, number | undefined]>([
    ['mig-1', 'mig-1-0', 0],
    ['mig-1', 'mig-1-12345', 12345],
    ['mig-1', 'mig-1-2-5', undefined], // run mig-1-2's job
    ['mig-1', 'mig-10-5', undefined],
    ['mig-1', 'mig-1-', undefined],
    ['mig-1', 'other-1', undefined],
  ])('run %s, job %s → slot %s', (runId, jobId, slot) => {
    expect(slotOfRunJob(runId, jobId)).toBe(slot);
  });

  it('round-trips', () => {
    expect(slotOfRunJob('r.x_1', runJobId('r.x_1', 7001))).toBe(7001);
  });
});

describe('lease owners', () => {
  it('name the host and process', () => {
    const owner = leaseOwner(1234, 'host:with:colons');
    expect(parseLeaseOwner(owner)).toEqual({ host: 'host:with:colons', pid: 1234 });
    expect(parseLeaseOwner('garbage')).toBeUndefined();
    expect(parseLeaseOwner('h:notapid:x')).toBeUndefined();
  });

  it('a holder is dead only when it ran on this host and its process is gone', () => {
    expect(isDeadLocalOwner(leaseOwner(process.pid))).toBe(false);
    expect(isDeadLocalOwner(leaseOwner(1))).toBe(false); // init: alive (or not ours to signal)
    expect(isDeadLocalOwner(leaseOwner(2 ** 22 + 12345))).toBe(true); // above pid_max
    expect(isDeadLocalOwner(leaseOwner(2 ** 22 + 12345, `not-${hostname()}`))).toBe(false);
  });
});

describe('the report after a killed writer', () => {
  const rows = ['b,k1,completed,true,,,1,"""e1"""', 'b,k2,completed,true,,,1,"""e2"""', 'b,"k,3",dead-lettered,,AccessDenied,no,1,'];

  it.each<[string, string, number]>([
    ['nothing of the batch written', `${REPORT_HEADER}\nb,k0,completed,true,,,1,\n`, 0],
    ['the whole batch written', `${REPORT_HEADER}\nb,k0,completed,true,,,1,\n${rows.join('\n')}\n`, 3],
    ['the first two written', `${REPORT_HEADER}\n${rows[0]}\n${rows[1]}\n`, 2],
    ['a row that only ends like the first', `${REPORT_HEADER}\nxb,k1,completed,true,,,1,"""e1"""\n`, 0],
  ])('%s', (_what, file, expected) => {
    expect(rowsAlreadyWritten(Buffer.from(file), rows)).toBe(expected);
  });

  /** A store with `pending` rows at the head of its outcome stream. */
  function fakeStore(pending: string[]): Pick<RunStore, 'readOutcomes' | 'ackOutcomes'> & { acked: string[] } {
    const acked: string[] = [];
    return {
      acked,
      readOutcomes: async () => ({ ids: pending.map((_, i) => `${i}-0`), rows: [...pending], revises: pending.map(() => false) }),
      ackOutcomes: async (_id, ids) => {
        acked.push(...ids);
        pending.splice(0, ids.length);
      },
    };
  }

  it('open() cuts a torn last line, and the first drain skips rows already in the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 's3jobs-report-'));
    const path = join(dir, 'r.csv');
    // Killed after appending rows[0..1] (not acked), in the middle of appending a later batch.
    writeFileSync(path, `${REPORT_HEADER}\n${rows[0]}\n${rows[1]}\nb,k9,compl`);
    const { report, found } = ReportFile.open(path, false);
    expect(found).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe(`${REPORT_HEADER}\n${rows[0]}\n${rows[1]}\n`);
    const store = fakeStore([...rows]);
    expect(await report.drain(store as unknown as RunStore, 'r')).toBe(1);
    expect(readFileSync(path, 'utf8')).toBe(`${REPORT_HEADER}\n${rows.join('\n')}\n`);
    expect(store.acked).toEqual(['0-0', '1-0', '2-0']);
  });

  it('a report begun before the version_id column is continued without it: one column count throughout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 's3jobs-report-'));
    const path = join(dir, 'v1.csv');
    writeFileSync(path, `${REPORT_HEADER_V1}\nb,k0,completed,true,,,1,"""e0"""\n`);
    const { report } = ReportFile.open(path, false);
    const newer = ['b,k1,completed,true,,,1,"""e1""",v1', 'b,"k,2",dead-lettered,,AccessDenied,"no, really",1,,"v,2"', 'b,k3,completed,false,,,1,"""e3""",'];
    expect(await report.drain(fakeStore([...newer]) as unknown as RunStore, 'r')).toBe(3);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines).toEqual([REPORT_HEADER_V1, 'b,k0,completed,true,,,1,"""e0"""', 'b,k1,completed,true,,,1,"""e1"""', 'b,"k,2",dead-lettered,,AccessDenied,"no, really",1,', 'b,k3,completed,false,,,1,"""e3"""']);
    for (const line of lines) expect(csvLine(line)).toHaveLength(8);
    // A current report keeps every column.
    const current = join(dir, 'v2.csv');
    writeFileSync(current, `${REPORT_HEADER}\n`);
    await ReportFile.open(current, false).report.drain(fakeStore([newer[0]!]) as unknown as RunStore, 'r');
    expect(readFileSync(current, 'utf8')).toBe(`${REPORT_HEADER}\n${newer[0]}\n`);
    expect(withoutLastField('a,"b,c"')).toBe('a');
    expect(withoutLastField('only')).toBe('only');
  });

  it('a fresh report starts over; a missing one is created and said to be missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 's3jobs-report-'));
    const path = join(dir, 'r.csv');
    writeFileSync(path, 'old content\n');
    expect(ReportFile.open(path, true).found).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe(`${REPORT_HEADER}\n`);
    expect(ReportFile.open(join(dir, 'gone.csv'), false).found).toBe(false);
    expect(readFileSync(join(dir, 'gone.csv'), 'utf8')).toBe(`${REPORT_HEADER}\n`);
  });
});

describe('a revised row in the report', () => {
  const head = `${REPORT_HEADER}\n`;
  const dead = 'b,"k,1",dead-lettered,,NoSuchKey,"gone\nfor good",1,';
  const ok = 'b,"k,1",completed,true,,,1,"""e"""';

  it('reads CSV records and the object a row is about', () => {
    expect(rowObjectPrefix(dead)).toBe('b,"k,1",');
    expect(rowObjectPrefix('nocomma')).toBeUndefined();
    const text = `${dead}\nnext\n`;
    expect(text.slice(0, csvRecordEnd(text, 0))).toBe(dead);
  });

  it('replaces the dead-lettered row of the object in the file, and keeps the rest', () => {
    const file = `${head}b,a,completed,true,,,1,\n${dead}\nb,z,completed,true,,,1,\n`;
    expect(applyRevisions(file, [{ row: 'b,n,completed,,,,1,', revises: false }, { row: ok, revises: true }])).toBe(`${head}b,a,completed,true,,,1,\nb,z,completed,true,,,1,\nb,n,completed,,,,1,\n${ok}\n`);
  });

  it('a dead-lettered row in the same batch is dropped instead', () => {
    expect(applyRevisions(head, [{ row: dead, revises: false }, { row: ok, revises: true }])).toBe(`${head}${ok}\n`);
  });

  it('an object is its version too: the revision of v2 replaces v2\'s dead-lettered row, not v1\'s', () => {
    const v1 = 'b,k,dead-lettered,,AccessDenied,no,1,,v1';
    const v2 = 'b,k,dead-lettered,,AccessDenied,no,1,,v2';
    const fixed = 'b,k,completed,true,,,2,"""e""",v2';
    expect(rowVersionId(v2)).toBe('v2');
    expect(rowVersionId('b,k,completed,,,,1,')).toBe('');
    expect(applyRevisions(`${head}${v1}\n${v2}\n`, [{ row: fixed, revises: true }])).toBe(`${head}${v1}\n${fixed}\n`);
    expect(applyRevisions(head, [{ row: v1, revises: false }, { row: v2, revises: false }, { row: fixed, revises: true }])).toBe(`${head}${v1}\n${fixed}\n`);
  });

  it('a revision whose row is not found is appended (never lost)', () => {
    expect(applyRevisions(`${head}b,a,completed,,,,1,\n`, [{ row: ok, revises: true }])).toBe(`${head}b,a,completed,,,,1,\n${ok}\n`);
  });

  it('drains a revision into the file with one row per object', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rev-')), 'r.csv');
    writeFileSync(path, `${head}${dead}\nb,a,completed,,,,1,\n`);
    const pending = [{ row: ok, revises: true }];
    const store = {
      readOutcomes: async () => ({ ids: pending.map((_, i) => `${i}-0`), rows: pending.map((p) => p.row), revises: pending.map((p) => p.revises) }),
      ackOutcomes: async (_id: string, ids: readonly string[]) => void pending.splice(0, ids.length),
    };
    const { report } = ReportFile.open(path, false);
    expect(await report.drain(store as unknown as RunStore, 'r')).toBe(1);
    expect(readFileSync(path, 'utf8')).toBe(`${head}b,a,completed,,,,1,\n${ok}\n`);
  });
});
