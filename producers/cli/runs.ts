/**
 * `s3jobs runs` and `s3jobs run show|report|delete ID`: the bulk runs (metadata migrations) kept in
 * Redis — a table of them, one in detail, its CSV report brought up to date (and once the run has
 * ended, its completion report in S3 Batch Operations' form, uploaded to its --report-to), and its
 * removal.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Queue } from 'bullmq';
import type { RedisConnection } from '../../shared/queue/connection.js';
import { redactUrl, type S3JobsConfig } from '../../shared/config/config.js';
import { S3JobsError, ValidationError } from '../../shared/errors.js';
import { deadLetterQueueName } from '../../shared/queue/names.js';
import { RunStore, type LeaseHolder, type RunInfo } from '../../shared/runs/index.js';
import { parseReportTo } from '../migrate/batchops-report.js';
import { deliverBatchOpsReport, DEFAULT_UPLOAD_PROFILE, reportTargetText, storedReportTarget, uploadProfile, uploadProfileOf, type DeliveredReport, type ReportTarget } from '../migrate/deliver-report.js';
import { describeHolder, RunLease } from '../migrate/lease.js';
import { canonicalJson, MIGRATION_KIND, type MigrationSpec } from '../migrate/migration.js';
import { finishedOf, formatAge, formatCount, summaryTable } from '../migrate/progress.js';
import { ReportFile } from '../migrate/report.js';
import { describeChanges, describeSelection, resumeHint } from '../migrate/describe-spec.js';
import { cancelQueuedRunJobs, purgeRunDeadLetters, unfinishedRunJobs } from '../migrate/run-jobs.js';
import { booleanFlag, GLOBAL_OPTIONS, globalsFrom, parseCommandLine, parseInteger, stringFlag, type GlobalOptions, type Parsed } from './args.js';
import { closeRedis, connectRedis, isoTime, loadCliConfig, printJson, type CliCommand, type CliIo } from './context.js';
import { ExitCode, isRedisUnavailable, RedisUnavailableError, UsageError } from './exit-codes.js';
import { commandHelp } from './help.js';
import { EXIT_INTERRUPTED, interruptsOf, type InterruptibleIo } from './interrupt.js';

/** What the run commands work with: the queue, its dead-letter queue and the run store. */
export interface RunContext {
  redis: RedisConnection;
  queue: Queue;
  deadLetters: Queue;
  store: RunStore;
}

/** Runs `fn` connected to the configured queue's runs, always closing the connection. */
export async function withRuns<T>(config: S3JobsConfig, fn: (ctx: RunContext) => Promise<T>): Promise<T> {
  const redis = await connectRedis(config.redisUrl);
  const queue = new Queue(config.queue, { connection: redis, prefix: config.prefix });
  const deadLetters = new Queue(deadLetterQueueName(config.queue), { connection: redis, prefix: config.prefix });
  try {
    return await fn({ redis, queue, deadLetters, store: new RunStore(redis, config.prefix, config.queue) });
  } catch (err) {
    if (isRedisUnavailable(err) && !(err instanceof RedisUnavailableError))
      throw new RedisUnavailableError(`lost Redis at ${redactUrl(config.redisUrl)} (${err instanceof Error ? err.message : String(err)})`, err);
    throw err;
  } finally {
    await queue.close().catch(() => undefined);
    await deadLetters.close().catch(() => undefined);
    closeRedis(redis);
  }
}

class NoSuchRun extends S3JobsError {
  override name = 'NoSuchRun';
  constructor(id: string, queue: string) {
    super('S3JOBS_RUN_NOT_FOUND', `no run ${id} in queue ${queue} (list them with: s3jobs runs)`);
  }
}

/** Errors a run command answers with its own exit code. */
function exitCodeOf(err: unknown): number | undefined {
  return err instanceof NoSuchRun ? ExitCode.NotFound : undefined;
}

// ---------------------------------------------------------------------------------------------
// s3jobs runs

export function parseRunsArgs(argv: readonly string[]): Parsed<{ limit: number; globals: GlobalOptions }> {
  const { values } = parseCommandLine('runs', argv, { ...GLOBAL_OPTIONS, limit: { type: 'string' } }, { names: [] });
  if (values.help === true) return { help: true };
  return { help: false, limit: parseInteger(stringFlag(values, 'limit'), '--limit', 1, 10_000) ?? 20, globals: globalsFrom(values) };
}

/** How long ago `ms` was, coarsely (`45s`, `12m`, `5h`, `3d`). */
function age(ms: number, now: number): string {
  return ms > 0 ? formatAge(Math.max(0, now - ms)) : '-';
}

/** Pure: the runs as a table, newest first. */
export function formatRunsTable(runs: readonly RunInfo[], queue: string, now: number): string {
  if (runs.length === 0) return `No runs in queue ${queue}.\n`;
  const header = ['RUN ID', 'STATE', 'LISTED', 'ENQUEUED', 'COMPLETED', 'CHANGED', 'DEAD', 'CANCELLED', 'AGE', 'UPDATED'];
  const rows = runs.map((r) => [
    r.id,
    r.state,
    formatCount(r.listed),
    formatCount(r.enqueued),
    formatCount(r.completed),
    formatCount(r.changed),
    formatCount(r.deadLettered),
    formatCount(r.cancelled),
    age(r.createdAt, now),
    `${age(r.updatedAt, now)} ago`,
  ]);
  const numeric = new Set([2, 3, 4, 5, 6, 7]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${runs.length} run${runs.length === 1 ? '' : 's'} in queue ${queue}, newest first:\n${[header, ...rows].map(line).join('\n')}\n`;
}

const RUNS_HELP = commandHelp({
  usage: 's3jobs runs [--limit N] [--json]',
  summary: `Lists the bulk runs (metadata migrations) recorded in Redis for the queue, newest first: state
(listing, draining = everything enqueued and workers finishing, completed, stopped), counters and age.
See one run with 's3jobs run show ID'.`,
  examples: ['s3jobs runs', "s3jobs runs --limit 5 --json | jq '.[] | {id, state, completed}'"],
  flags: `Runs flags:
  --limit N   how many runs (1-10000, default 20)`,
});

export const runsCommand: CliCommand = {
  name: 'runs',
  summary: 'list bulk runs (migrations) with their state and counters',
  help: RUNS_HELP,
  async run(argv, io) {
    const parsed = parseRunsArgs(argv);
    if (parsed.help) {
      io.stdout(RUNS_HELP);
      return ExitCode.Ok;
    }
    const config = loadCliConfig(parsed.globals, io);
    return withRuns(config, async ({ store }) => {
      const runs = await store.list(parsed.limit);
      if (parsed.globals.json) printJson(io, runs);
      else io.stdout(formatRunsTable(runs, config.queue, Date.now()));
      return ExitCode.Ok;
    });
  },
};

// ---------------------------------------------------------------------------------------------
// s3jobs run show|report|delete ID

const RUN_OPTIONS = { ...GLOBAL_OPTIONS, out: { type: 'string' }, force: { type: 'boolean' }, 'report-to': { type: 'string' }, wait: { type: 'boolean' } } as const;
const RUN_ACTIONS = { show: [], report: ['out', 'report-to', 'wait'], delete: ['force'] } as const satisfies Record<string, readonly string[]>;
type RunAction = keyof typeof RUN_ACTIONS;
/** Every action's own flags, for "does not apply" messages. */
const ACTION_FLAGS = ['out', 'force', 'report-to', 'wait'] as const;

export interface RunRequest {
  action: RunAction;
  runId: string;
  out: string | undefined;
  force: boolean;
  /** report: where the Batch Operations report is uploaded (kept with the run, as the run commands' --report-to). */
  reportTo: ReportTarget | undefined;
  /** report: keep draining until the run has ended, then write (and upload) its Batch Operations report. */
  wait: boolean;
  globals: GlobalOptions;
}

/**
 * Pure: `--report-to s3://bucket/prefix/` (the run commands' and `run report`'s), the prefix made to
 * end with "/"; UsageError naming the flag otherwise.
 */
export function reportToFlag(raw: string | undefined): ReportTarget | undefined {
  if (raw === undefined) return undefined;
  const target = parseReportTo(raw.trim());
  if (target === undefined)
    throw new UsageError('--report-to', `${JSON.stringify(raw)} is not allowed; give s3://BUCKET/PREFIX/ (the bucket and key prefix the completion report is uploaded to; the prefix may be empty)`);
  return target;
}

export function parseRunArgs(argv: readonly string[]): Parsed<{ request: RunRequest }> {
  const { values, positionals } = parseCommandLine('run', argv, RUN_OPTIONS, { names: ['show|report|delete', '<runId>'] });
  if (values.help === true) return { help: true };
  const action = positionals[0]!;
  if (!Object.hasOwn(RUN_ACTIONS, action)) throw new UsageError('show|report|delete', `${JSON.stringify(action)} is not a run action; allowed: show, report, delete`);
  const allowed: readonly string[] = RUN_ACTIONS[action as RunAction];
  for (const flag of ACTION_FLAGS) {
    if (values[flag] !== undefined && !allowed.includes(flag)) throw new UsageError(`--${flag}`, `does not apply to "run ${action}"`);
  }
  const runId = positionals[1]!;
  try {
    RunStore.assertRunId(runId, '<runId>');
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError('<runId>', err.message.slice(err.field.length + 2));
    throw err;
  }
  return {
    help: false,
    request: {
      action: action as RunAction,
      runId,
      out: stringFlag(values, 'out'),
      force: booleanFlag(values, 'force'),
      reportTo: reportToFlag(stringFlag(values, 'report-to')),
      wait: booleanFlag(values, 'wait'),
      globals: globalsFrom(values),
    },
  };
}

/** Pure: what the run covers and changes, in words (other kinds of runs: their spec as JSON). */
function describeSpec(kind: string, spec: unknown): string[] {
  if (kind !== MIGRATION_KIND || spec === null || typeof spec !== 'object') return [`  spec:        ${canonicalJson(spec)}`];
  const s = spec as Partial<MigrationSpec>;
  const filter = s.filter === undefined || s.manifest !== undefined ? [] : [`  filter:      ${canonicalJson(s.filter)}`];
  return [`  objects:     ${describeSelection({ ...s, filter: undefined })} (profile ${s.profile ?? '?'})`, ...filter, `  change:      ${describeChanges(s)}`];
}

export interface RunDetails {
  run: RunInfo;
  /** Report rows still in Redis, not yet drained into the report file. */
  rowsInRedis: number;
  /** Jobs of the run still in the queue (found by their ids: migrations only). */
  jobsInQueue: number | undefined;
  /** The producer driving the run now, if any. */
  drivenBy: LeaseHolder | undefined;
}

/** Pure: one run in detail. */
export function formatRunDetails(d: RunDetails, now: number): string {
  const { run } = d;
  const done = finishedOf(run);
  const percent = run.enqueued === 0 ? '-' : `${Math.floor((done / run.enqueued) * 100)}%${run.state === 'listing' ? ' of what is enqueued so far' : ''}`;
  const lines = [
    `Run ${run.id} (${run.kind}): ${run.state}${run.stopReason === undefined ? '' : ` — ${run.stopReason}`}`,
    ...describeSpec(run.kind, run.spec),
    `  created:     ${isoTime(run.createdAt)} (${age(run.createdAt, now)} ago)`,
    `  updated:     ${isoTime(run.updatedAt)}`,
    `  finished:    ${isoTime(run.finishedAt)}`,
    `  listing:     ${run.state === 'listing' ? `at page ${run.nextPage + 1}` : `done (${formatCount(run.nextPage)} page${run.nextPage === 1 ? '' : 's'})`}`,
    `  progress:    ${formatCount(done)} of ${formatCount(run.enqueued)} finished (${percent})`,
    `  in queue:    ${d.jobsInQueue === undefined ? '-' : `${formatCount(d.jobsInQueue)} job${d.jobsInQueue === 1 ? '' : 's'}`}`,
    `  driven by:   ${d.drivenBy === undefined ? 'no producer now' : describeHolder(d.drivenBy)}`,
    `  report:      ${run.report ?? '-'}${d.rowsInRedis > 0 ? ` (${formatCount(d.rowsInRedis)} row${d.rowsInRedis === 1 ? '' : 's'} still in Redis: s3jobs run report ${run.id})` : ''}`,
    ...(run.reportTo === undefined ? [] : [`  report to:   ${run.reportTo} (when the run ends)`]),
    '',
    summaryTable(run).split('\n').slice(1).join('\n').trimEnd(),
  ];
  if (run.kind === MIGRATION_KIND && run.state === 'listing' && d.drivenBy === undefined) lines.push(`Resume it with: ${resumeHint(run.id, run.spec as Partial<MigrationSpec>)}`);
  return `${lines.join('\n')}\n`;
}

async function getRun(store: RunStore, id: string, queue: string): Promise<RunInfo> {
  const run = await store.get(id);
  if (run === undefined) throw new NoSuchRun(id, queue);
  return run;
}

const migration = (run: RunInfo): boolean => run.kind === MIGRATION_KIND;

/** A migration's jobs still in the queue (found by their ids); undefined for other kinds of runs. */
async function jobsInQueue(queue: Queue, run: RunInfo): Promise<number | undefined> {
  return migration(run) ? unfinishedRunJobs(queue, run.id) : undefined;
}

/** Marks a run whose every job has finished as completed (a run left draining by --no-wait). */
async function settleIfDone(store: RunStore, run: RunInfo): Promise<RunInfo> {
  if (run.state !== 'draining' || finishedOf(run) < run.enqueued) return run;
  await store.setState(run.id, 'completed');
  return (await store.get(run.id)) ?? run;
}

/** Pure: a run that changes no more (only a DLQ retry's revision can still come): its report is final. */
export function runEnded(run: Pick<RunInfo, 'state'>): boolean {
  return run.state === 'completed' || run.state === 'stopped';
}

/** How often `run report --wait` drains and looks at the run. */
const REPORT_POLL_MS = 1_000;

/**
 * For `run report --wait`: why the run cannot end while this command waits, if it cannot — a
 * migration still listing has no producer (this command holds its lease), and one whose jobs all
 * left the queue with outcomes missing will never get them. Undefined: it may still end.
 */
async function whyRunCannotEnd(ctx: RunContext, run: RunInfo): Promise<string | undefined> {
  if (!migration(run)) return undefined;
  if (run.state === 'listing')
    return `run ${run.id} is still listing: its producer stopped before everything was enqueued, and nothing enqueues the rest while this command holds the run. Resume it (${resumeHint(run.id, run.spec as Partial<MigrationSpec>)}), then collect the report`;
  // The queue before the run: a job leaves the queue only after its outcome is recorded.
  const counts = await ctx.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'failed', 'waiting-children');
  if (Object.values(counts).some((n) => n > 0)) return undefined;
  const now = await ctx.store.get(run.id);
  if (now === undefined || runEnded(now)) return undefined;
  const missing = now.enqueued - finishedOf(now);
  if (missing <= 0) return undefined;
  return `run ${run.id} cannot end: ${formatCount(missing)} of its job${missing === 1 ? '' : 's'} left the queue without an outcome (removed by hand, or run by workers without run support); see s3jobs run show ${run.id}`;
}

/**
 * `run report ID [--out FILE] [--report-to s3://B/P/] [--wait]`: drains the report rows from Redis
 * into the CSV report; with --wait, again every second until the run has ended. Once it has, its
 * Batch Operations report is written next to it and uploaded to the run's --report-to.
 */
async function reportRun(request: RunRequest, ctx: RunContext, config: S3JobsConfig, io: InterruptibleIo): Promise<number> {
  const { store } = ctx;
  const json = request.globals.json;
  let run = await getRun(store, request.runId, config.queue);
  // The report has one writer: the producer driving the run keeps it current itself.
  const lease = await RunLease.acquire(store, run.id);
  const controller = new AbortController();
  let removeInterrupt: (() => void) | undefined;
  try {
    const uploadTo = request.reportTo ?? storedReportTarget(run);
    // Before any wait (a profile missing here would otherwise fail only once the run has ended), and
    // before a new target is kept: one that cannot be used is not left with the run.
    if (uploadTo !== undefined) uploadProfile(config, run, uploadTo);
    if (request.reportTo !== undefined && run.reportTo !== reportTargetText(request.reportTo)) {
      // Kept with the run, as the run commands keep theirs: a later `run report` or resume uploads there too.
      await store.setReportTo(run.id, reportTargetText(request.reportTo));
    }
    const notes: string[] = [];
    const target = resolve(request.out ?? run.report ?? `${run.id}.report.csv`);
    if (run.report !== undefined && run.report !== target) {
      if (existsSync(run.report)) copyFileSync(run.report, target);
      else notes.push(`the run's report ${run.report} is not on this machine: ${target} holds only the rows drained now`);
    }
    const { report, found } = ReportFile.open(target, false);
    if (!found && notes.length === 0 && run.report !== undefined) notes.push(`the run's report was not found: ${target} was started again and holds only the rows drained now`);
    if (run.report !== target) await store.setReport(run.id, target);
    if (request.wait && !runEnded(run)) {
      removeInterrupt = interruptsOf(io)?.(() => {
        io.stderr(`Interrupted: no longer waiting for run ${run.id} (it goes on; the rows drained so far are in the report)\n`);
        controller.abort();
      });
    }
    let written = 0;
    let stuck: string | undefined;
    for (;;) {
      // The run before its rows: a run seen ended has every outcome in the stream already.
      run = await settleIfDone(store, await getRun(store, run.id, config.queue));
      written += await report.drain(store, run.id);
      if (!request.wait || runEnded(run) || controller.signal.aborted) break;
      stuck = await whyRunCannotEnd(ctx, run);
      if (stuck !== undefined) break;
      await lease.keep();
      await delay(REPORT_POLL_MS, undefined, { signal: controller.signal }).catch(() => undefined);
    }
    const ended = runEnded(run);
    const interrupted = controller.signal.aborted && !ended;
    if (ended) {
      if (uploadTo !== undefined && uploadProfileOf(run) === DEFAULT_UPLOAD_PROFILE && !migration(run))
        notes.push(`run ${run.id} is a ${run.kind} run: its report is uploaded with profile "${DEFAULT_UPLOAD_PROFILE}"`);
    } else if (stuck !== undefined) notes.push(stuck);
    else {
      const upload = uploadTo === undefined ? '' : `, uploaded to ${reportTargetText(uploadTo)}`;
      // A migration still listing has no producer here (this command could take its lease): waiting alone would not end it.
      const how = migration(run) && run.state === 'listing' ? `resume it (${resumeHint(run.id, run.spec as Partial<MigrationSpec>)}), then run s3jobs run report ${run.id} --wait` : `s3jobs run report ${run.id} --wait waits for that`;
      notes.push(
        `${interrupted ? 'stopped waiting: ' : ''}run ${run.id} has not ended (${run.state}: ${formatCount(finishedOf(run))} of ${formatCount(run.enqueued)} objects finished); ` +
          `its report in S3 Batch Operations' form${upload} is written once it has: ${how}`,
      );
    }
    const deliver = async (): Promise<DeliveredReport | undefined> => (ended ? deliverBatchOpsReport(config, run, target, uploadTo) : undefined);
    let delivered: DeliveredReport | undefined;
    if (json) {
      // The JSON document says what was delivered, so it comes first; text says what was drained first.
      delivered = await deliver();
      const batchOps = delivered === undefined ? undefined : { path: delivered.path, uploadedTo: delivered.uploadedTo, ...delivered.totals, incomplete: delivered.incomplete };
      printJson(io, { run, reportPath: target, rowsWritten: written, note: notes.length === 0 ? undefined : notes.join('; '), batchOps, ...(interrupted ? { interrupted } : {}) });
    } else {
      io.stdout(`Report of run ${run.id}: ${target} (${formatCount(written)} new row${written === 1 ? '' : 's'} written; ${formatCount(finishedOf(run))} of ${formatCount(run.enqueued)} objects finished)\n`);
      for (const note of notes) io.stderr(`note: ${note}\n`);
      delivered = await deliver();
    }
    // As the run commands print it: on stderr, --json or not.
    if (delivered !== undefined) io.stderr(`${delivered.line}\n`);
    // A report that could not be delivered whole (rows drained on another machine) is not a success.
    const undelivered = delivered?.incomplete !== undefined && uploadTo !== undefined;
    return interrupted ? EXIT_INTERRUPTED : stuck !== undefined || undelivered ? ExitCode.Failed : ExitCode.Ok;
  } finally {
    removeInterrupt?.();
    await lease.release().catch(() => undefined);
  }
}

async function runAction(request: RunRequest, ctx: RunContext, config: S3JobsConfig, io: CliIo): Promise<number> {
  const { store, queue } = ctx;
  const json = request.globals.json;
  switch (request.action) {
    case 'show': {
      const run = await getRun(store, request.runId, config.queue);
      const details: RunDetails = { run, rowsInRedis: await store.outcomesPending(run.id), jobsInQueue: await jobsInQueue(queue, run), drivenBy: await store.leaseHolder(run.id) };
      if (json) printJson(io, details);
      else io.stdout(formatRunDetails(details, Date.now()));
      return ExitCode.Ok;
    }
    case 'report':
      return reportRun(request, ctx, config, io);
    case 'delete': {
      const run = await getRun(store, request.runId, config.queue);
      const lease = await RunLease.acquire(store, run.id);
      try {
        // Other kinds of runs name their jobs otherwise: judge by their counters.
        const left = (await jobsInQueue(queue, run)) ?? (run.state === 'listing' || run.state === 'draining' ? Math.max(0, run.enqueued - finishedOf(run)) : 0);
        if (left > 0 && !request.force) {
          io.stderr(
            `s3jobs run: run ${run.id} still has ${formatCount(left)} job${left === 1 ? '' : 's'} ${migration(run) ? 'in the queue' : 'unfinished'}; let it finish, or give --force to ${migration(run) ? 'cancel them and ' : ''}delete the run\n`,
          );
          return ExitCode.Failed;
        }
        const cancelled = migration(run) && left > 0 ? await cancelQueuedRunJobs(queue, store, run.id, 'run deleted') : 0;
        const purged = migration(run) ? await purgeRunDeadLetters(ctx.deadLetters, run.id) : 0;
        await store.delete(run.id);
        if (json) printJson(io, { deleted: run.id, cancelledJobs: cancelled, deadLettersRemoved: purged, report: run.report });
        else
          io.stdout(
            `Deleted run ${run.id}${cancelled > 0 ? `, cancelled ${formatCount(cancelled)} queued job${cancelled === 1 ? '' : 's'}` : ''}${purged > 0 ? `, removed its ${formatCount(purged)} dead letter${purged === 1 ? '' : 's'}` : ''}.${run.report === undefined ? '' : ` Its report stays at ${run.report}.`}\n`,
          );
        return ExitCode.Ok;
      } finally {
        await lease.release().catch(() => undefined);
      }
    }
  }
}

const RUN_HELP = commandHelp({
  usage: 's3jobs run show <runId> [--json]\n       s3jobs run report <runId> [--out FILE] [--report-to s3://B/P/] [--wait]\n       s3jobs run delete <runId> [--force]',
  summary: `One bulk run (a metadata migration, tag-run, acl-run, copy-run) kept in Redis:

  show     its options, state, counters, listing position, jobs still queued, the producer
           driving it (if any), its report and where that is uploaded
  report   drains the report rows still in Redis into the run's CSV report (or into FILE, which then
           becomes the run's report, with the rows written so far copied in). Use it after a run
           command's --no-wait, or when the producer stopped before the workers finished. A run
           whose jobs have all finished is marked completed. Once the run has ended (completed or
           stopped) it also writes the completion report in S3 Batch Operations' form next to it
           (<report>.batchops.csv) and, when the run has a --report-to (given to the run command or
           here), uploads it as <prefix><run id>.csv with <prefix><run id>.summary.txt, printing the
           summary line on stderr. A run that has not ended gets only its rows drained (a note says
           so); with --wait the command drains every second until the run ends, then does the rest
  delete   removes the run from Redis: its counters, listing position, unreported rows and its
           dead-lettered jobs (the report file stays). Refused while jobs of the run are queued,
           unless --force, which cancels them first. After a delete the same migration command
           starts a new run.`,
  examples: [
    's3jobs run show mig-3f2a9c0d1e4b5a6f',
    's3jobs run report mig-3f2a9c0d1e4b5a6f --out /tmp/report.csv',
    's3jobs run report mig-3f2a9c0d1e4b5a6f --wait --report-to s3://reports/runs/',
    's3jobs run delete mig-3f2a9c0d1e4b5a6f',
  ],
  flags: `Run flags:
  --out FILE              report: write the report here (default: the run's own report file)
  --report-to s3://B/P/   report: upload the Batch Operations report to bucket B, key prefix P (may
                          be empty), when the run has ended; kept with the run, like the run
                          commands' own (default: the one kept with the run, if any). Uploaded
                          with the run's profile (sync runs: the "default" profile)
  --wait                  report: keep draining until the run has ended (completed or stopped),
                          holding the run; Ctrl-C stops waiting (exit code 130), the run goes on.
                          A run still listing with no producer is not waited for (exit code 1):
                          resume it first
  --force                 delete: cancel the run's queued jobs and delete it anyway`,
});

export const runCommand: CliCommand = {
  name: 'run',
  summary: 'show a bulk run, bring its report up to date, or delete it',
  help: RUN_HELP,
  async run(argv, io) {
    const parsed = parseRunArgs(argv);
    if (parsed.help) {
      io.stdout(RUN_HELP);
      return ExitCode.Ok;
    }
    const config = loadCliConfig(parsed.request.globals, io);
    try {
      return await withRuns(config, (ctx) => runAction(parsed.request, ctx, config, io));
    } catch (err) {
      const code = exitCodeOf(err);
      if (code === undefined) throw err;
      io.stderr(`s3jobs run: ${(err as Error).message}\n`);
      return code;
    }
  },
};
