/**
 * What a person watching a migration sees: a progress bar redrawn in place on a terminal, a plain
 * line every few seconds elsewhere (logs, CI), and a summary table at the end. The formatting is
 * pure (tested with tables of cases); `ProgressDisplay` only adds a clock and throttling.
 */
import type { RunInfo } from '../../shared/runs/index.js';
import { outageTime } from './listing-retry.js';
import type { MigrationStatus } from './migration.js';

/** Terminal redraws at most this often (5 a second). */
export const TTY_INTERVAL_MS = 200;
/** Plain progress lines at most this often. */
export const PLAIN_INTERVAL_MS = 5_000;
/** The completion rate is measured over this much recent history. */
const RATE_WINDOW_MS = 10_000;

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** `850 ms`, `12.3 s`, `4m 05s`, `2h 03m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  const m = Math.round(s / 60);
  if (m < 48 * 60) return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(m / 1440)}d ${String(Math.floor((m % 1440) / 60)).padStart(2, '0')}h`;
}

/** Time left, no finer than a second: `<1 s`, `12 s`, `4m 05s`. */
export function formatEta(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1_000) return ms === 0 ? '0 s' : '<1 s';
  if (ms < 60_000) return `${Math.ceil(ms / 1000)} s`;
  return formatDuration(ms);
}

/** A coarse age for tables: `45s`, `12m`, `5h`, `3d`. */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** `[=========>          ]` for a fraction in [0, 1]. */
export function progressBar(fraction: number, width = 20): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.floor(f * width);
  if (full >= width) return `[${'='.repeat(width)}]`;
  return `[${'='.repeat(full)}>${' '.repeat(width - full - 1)}]`;
}

export const finishedOf = (run: Pick<RunInfo, 'completed' | 'deadLettered' | 'cancelled'>): number => run.completed + run.deadLettered + run.cancelled;

export interface ProgressFigures {
  /** Jobs finished per second lately; undefined until measured. */
  rate: number | undefined;
  /** Time left; undefined while the total is not known yet (still listing) or nothing is moving. */
  etaMs: number | undefined;
}

/** Pure: the counters as one short line, for the bar (`short`: "dead" for dead-lettered) and for plain lines. */
export function countersText(run: RunInfo, short = false): string {
  const parts = [`listed ${formatCount(run.listed)}`, `enqueued ${formatCount(run.enqueued)}`, `completed ${formatCount(run.completed)}`, `changed ${formatCount(run.changed)}`, `${short ? 'dead' : 'dead-lettered'} ${formatCount(run.deadLettered)}`];
  if (run.cancelled > 0) parts.push(`cancelled ${formatCount(run.cancelled)}`);
  return parts.join(' · ');
}

function phaseText(status: MigrationStatus): string {
  // The listing's store is away: say since when and that it is being waited for, not stuck.
  if (status.s3Outage !== undefined)
    return `S3 unavailable since ${outageTime(status.s3Outage.since)}, retrying (${status.s3Outage.retries} ${status.s3Outage.retries === 1 ? 'retry' : 'retries'}; last: ${status.s3Outage.lastError})`;
  if (status.phase === 'paused') return `paused: queue full${status.queueDepth === undefined ? '' : ` (${formatCount(status.queueDepth)} waiting)`}`;
  return status.phase;
}

function rateText(figures: ProgressFigures): string {
  const rate = figures.rate === undefined ? '-' : `${figures.rate >= 10 ? formatCount(figures.rate) : figures.rate.toFixed(1)}/s`;
  return `${rate} · ETA ${figures.etaMs === undefined ? '-' : formatEta(figures.etaMs)}`;
}

/** Pure: one progress-bar line (no newline), cut to `columns` (about 125 show it all). */
export function barLine(run: RunInfo, status: MigrationStatus, figures: ProgressFigures, columns = 160): string {
  const done = finishedOf(run);
  const fraction = run.enqueued === 0 ? 0 : done / run.enqueued;
  // "+": more is being enqueued, so the share is of what is known so far.
  const percent = `${String(Math.floor(fraction * 100)).padStart(3)}%${status.phase === 'listing' || status.phase === 'paused' ? '+' : ' '}`;
  const line = `${progressBar(fraction, 12)} ${percent} ${countersText(run, true)} · ${rateText(figures)} · ${phaseText(status)}`;
  return line.length > columns - 1 ? `${line.slice(0, Math.max(0, columns - 2))}…` : line;
}

/** Pure: one plain progress line (with its newline). */
export function plainLine(run: RunInfo, status: MigrationStatus, figures: ProgressFigures, now: number): string {
  return `${new Date(now).toISOString()} run ${run.id}: ${phaseText(status)}; ${countersText(run).replace(/ · /g, ', ')}; ${rateText(figures).replace(' · ', ', ')}\n`;
}

/** Pure: the end-of-run table. */
export function summaryTable(run: RunInfo, options: { elapsedMs?: number | undefined; reportPath?: string | undefined; interrupted?: boolean | undefined } = {}): string {
  const state =
    options.interrupted === true
      ? 'interrupted (resumable)'
      : run.state === 'stopped'
        ? `stopped: ${run.stopReason ?? 'no reason recorded'}`
        : run.state === 'draining'
          ? 'enqueued; workers are finishing it'
          : run.state;
  const rows: [string, number][] = [
    ['listed', run.listed],
    ['matched', run.matched],
    ['enqueued', run.enqueued],
    ['completed', run.completed],
    ['  changed', run.changed],
    ['  unchanged', run.completed - run.changed],
    ['dead-lettered', run.deadLettered],
  ];
  if (run.cancelled > 0) rows.push(['cancelled', run.cancelled]);
  const pending = run.enqueued - finishedOf(run);
  if (pending > 0) rows.push(['not finished', pending]);
  const width = Math.max(...rows.map(([, n]) => formatCount(n).length));
  const lines = [
    `Run ${run.id}: ${state}${options.elapsedMs === undefined ? '' : ` (${formatDuration(options.elapsedMs)})`}`,
    ...rows.map(([label, n]) => `  ${label.padEnd(15)}${formatCount(n).padStart(width)}`),
  ];
  if (options.reportPath !== undefined) lines.push(`Report: ${options.reportPath}`);
  return `${lines.join('\n')}\n`;
}

/** Completion rate over the recent past, from (time, finished) samples. */
export class RateMeter {
  readonly #samples: [number, number][] = [];

  add(now: number, finished: number): void {
    this.#samples.push([now, finished]);
    while (this.#samples.length > 2 && now - this.#samples[0]![0] > RATE_WINDOW_MS) this.#samples.shift();
  }

  /** Per second; undefined until two samples at least half a second apart. */
  rate(): number | undefined {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (first === undefined || last === undefined || last[0] - first[0] < 500) return undefined;
    return ((last[1] - first[1]) * 1000) / (last[0] - first[0]);
  }
}

export interface ProgressDisplayOptions {
  write(text: string): void;
  /** Redraw a bar in place (a terminal), or print plain lines. */
  tty: boolean;
  columns?: number | undefined;
  now?: (() => number) | undefined;
  plainIntervalMs?: number | undefined;
}

/** Throttled live progress: feed it every update, it decides what to show. */
export class ProgressDisplay {
  readonly #options: ProgressDisplayOptions;
  readonly #now: () => number;
  readonly #meter = new RateMeter();
  #lastShown = -Infinity;
  readonly #phasesShown = new Set<MigrationStatus['phase']>();
  #drawn = false;
  #last: { run: RunInfo; status: MigrationStatus } | undefined;

  constructor(options: ProgressDisplayOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  figures(run: RunInfo, status: MigrationStatus): ProgressFigures {
    const rate = this.#meter.rate();
    const left = run.enqueued - finishedOf(run);
    const totalKnown = status.phase === 'draining' || status.phase === 'stopping';
    const etaMs = totalKnown && rate !== undefined && rate > 0 ? (left / rate) * 1000 : totalKnown && left === 0 ? 0 : undefined;
    return { rate, etaMs };
  }

  update(run: RunInfo, status: MigrationStatus): void {
    const now = this.#now();
    this.#meter.add(now, finishedOf(run));
    this.#last = { run, status };
    const interval = this.#options.tty ? TTY_INTERVAL_MS : (this.#options.plainIntervalMs ?? PLAIN_INTERVAL_MS);
    // A phase seen for the first time (paused, draining, ...) is shown at once; otherwise at most
    // once per interval.
    if (now - this.#lastShown < interval && this.#phasesShown.has(status.phase)) return;
    this.#lastShown = now;
    this.#phasesShown.add(status.phase);
    this.#show(now);
  }

  #show(now: number): void {
    if (this.#last === undefined) return;
    const { run, status } = this.#last;
    const figures = this.figures(run, status);
    if (this.#options.tty) {
      this.#options.write(`\r${barLine(run, status, figures, this.#options.columns)}\x1b[K`);
      this.#drawn = true;
    } else {
      this.#options.write(plainLine(run, status, figures, now));
    }
  }

  /** Shows the latest state once more (a bar is then ended with a newline). */
  finish(): void {
    if (this.#last === undefined) return;
    if (this.#options.tty) {
      this.#show(this.#now());
      if (this.#drawn) this.#options.write('\n');
    } else if (this.#now() - this.#lastShown >= 1_000) {
      this.#show(this.#now());
    }
  }
}
