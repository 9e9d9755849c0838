/** What a person watching a migration sees: numbers, the bar, plain lines, the summary, and how often. */
import { describe, expect, it } from 'vitest';
import { barLine, formatAge, formatCount, formatDuration, formatEta, plainLine, progressBar, ProgressDisplay, RateMeter, summaryTable } from '../../../producers/migrate/progress.js';
import type { RunInfo } from '../../../shared/runs/index.js';

const run: RunInfo = {
  id: 'mig-0123456789abcdef',
  kind: 'metadata-migration',
  state: 'listing',
  spec: {},
  cursor: 'c',
  nextPage: 3,
  listed: 12_000,
  matched: 10_000,
  enqueued: 10_000,
  completed: 4_000,
  changed: 3_900,
  deadLettered: 100,
  cancelled: 0,
  createdAt: 0,
  updatedAt: 0,
  finishedAt: undefined,
  stopReason: undefined,
  report: undefined,
};

describe('formatting', () => {
  it.each<[number, string]>([
    [0, '0'],
    [999, '999'],
    [1234567, '1,234,567'],
  ])('count %i → %s', (n, text) => expect(formatCount(n)).toBe(text));

  it.each<[number, string]>([
    [850, '850 ms'],
    [12_345, '12.3 s'],
    [245_000, '4m 05s'],
    [7_380_000, '2h 03m'],
    [3 * 86_400_000, '3d 00h'],
    [-1, '-'],
  ])('duration %i → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  it.each<[number, string]>([
    [0, '0 s'],
    [101, '<1 s'],
    [1_001, '2 s'],
    [90_000, '1m 30s'],
  ])('ETA %i → %s', (ms, text) => expect(formatEta(ms)).toBe(text));

  it.each<[number, string]>([
    [5_000, '5s'],
    [12 * 60_000, '12m'],
    [5 * 3600_000, '5h'],
    [3 * 86_400_000, '3d'],
  ])('age %i → %s', (ms, text) => expect(formatAge(ms)).toBe(text));

  it.each<[number, string]>([
    [0, '[>         ]'],
    [0.45, '[====>     ]'],
    [1, '[==========]'],
    [7, '[==========]'],
    [Number.NaN, '[>         ]'],
  ])('bar %d → %s', (f, bar) => expect(progressBar(f, 10)).toBe(bar));
});

describe('progress lines', () => {
  it('a bar line: share finished of enqueued ("+" while still listing), counters, rate, ETA, phase', () => {
    const line = barLine(run, { phase: 'listing', queueDepth: undefined }, { rate: 850, etaMs: undefined });
    expect(line).toBe('[====>       ]  41%+ listed 12,000 · enqueued 10,000 · completed 4,000 · changed 3,900 · dead 100 · 850/s · ETA - · listing');
    expect(line.length).toBeLessThanOrEqual(125);
    expect(barLine({ ...run, state: 'draining' }, { phase: 'draining', queueDepth: undefined }, { rate: 2.5, etaMs: 45_000 })).toContain('  41%  listed');
    expect(barLine(run, { phase: 'paused', queueDepth: 20_000 }, { rate: undefined, etaMs: undefined })).toMatch(/ · - · ETA - · paused: queue full \(20,000 waiting\)$/);
  });

  it('a bar line fits the terminal', () => {
    const line = barLine(run, { phase: 'listing', queueDepth: undefined }, { rate: 1, etaMs: 1 }, 60);
    expect(line).toHaveLength(59);
    expect(line.endsWith('…')).toBe(true);
  });

  it('a plain line is timestamped and names the run', () => {
    expect(plainLine({ ...run, cancelled: 5 }, { phase: 'draining', queueDepth: undefined }, { rate: 12, etaMs: 3_000 }, Date.UTC(2024, 4, 1))).toBe(
      '2024-05-01T00:00:00.000Z run mig-0123456789abcdef: draining; listed 12,000, enqueued 10,000, completed 4,000, changed 3,900, dead-lettered 100, cancelled 5; 12/s, ETA 3 s\n',
    );
  });

  it('the summary table', () => {
    expect(summaryTable({ ...run, state: 'completed', completed: 9_900 }, { elapsedMs: 65_000, reportPath: '/tmp/r.csv' })).toBe(
      [
        'Run mig-0123456789abcdef: completed (1m 05s)',
        '  listed         12,000',
        '  matched        10,000',
        '  enqueued       10,000',
        '  completed       9,900',
        '    changed       3,900',
        '    unchanged     6,000',
        '  dead-lettered     100',
        'Report: /tmp/r.csv',
        '',
      ].join('\n'),
    );
    expect(summaryTable({ ...run, state: 'stopped', stopReason: 'failure threshold: …', cancelled: 7 })).toMatch(/^Run mig-0123456789abcdef: stopped: failure threshold: …\n[\s\S]*  cancelled +7\n  not finished +5,893\n$/);
    expect(summaryTable(run, { interrupted: true })).toMatch(/^Run mig-0123456789abcdef: interrupted \(resumable\)\n/);
  });
});

describe('RateMeter', () => {
  it('measures over the recent past only', () => {
    const m = new RateMeter();
    m.add(0, 0);
    expect(m.rate()).toBeUndefined();
    m.add(1_000, 100);
    expect(m.rate()).toBe(100);
    for (let t = 2_000; t <= 30_000; t += 1_000) m.add(t, 100 + (t - 1_000) / 100);
    // 10 a second lately, whatever happened at the start.
    expect(m.rate()).toBeCloseTo(10, 5);
  });
});

describe('ProgressDisplay', () => {
  function display(tty: boolean): { d: ProgressDisplay; out: string[]; tick(ms: number): void } {
    let now = 0;
    const out: string[] = [];
    const d = new ProgressDisplay({ write: (t) => out.push(t), tty, columns: 200, now: () => now });
    return { d, out, tick: (ms) => (now += ms) };
  }
  const listing = { phase: 'listing' as const, queueDepth: undefined };

  it('on a terminal: redrawn in place with \\r, at most 5 times a second, ended by a newline', () => {
    const { d, out, tick } = display(true);
    for (let i = 0; i < 20; i++) {
      d.update({ ...run, completed: i }, listing);
      tick(50);
    }
    // 1 s of updates every 50 ms: every 200 ms is shown.
    expect(out).toHaveLength(5);
    expect(out.every((l) => l.startsWith('\r[') && l.endsWith('\x1b[K'))).toBe(true);
    d.finish();
    expect(out.at(-1)).toBe('\n');
  });

  it('elsewhere: a plain line every 5 s, a new phase at once', () => {
    const { d, out, tick } = display(false);
    for (let i = 0; i < 100; i++) {
      d.update(run, listing);
      tick(100);
    }
    expect(out).toHaveLength(2); // at 0 s and at 5 s
    d.update({ ...run, state: 'draining' }, { phase: 'draining', queueDepth: undefined });
    expect(out).toHaveLength(3);
    expect(out.every((l) => !l.includes('\r') && l.endsWith('\n'))).toBe(true);
    tick(2_000);
    d.finish();
    expect(out).toHaveLength(4);
  });
});
