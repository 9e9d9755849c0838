/**
 * `s3jobs schedule add <name> (--every 1h | --cron "0 3 * * *" [--tz Europe/Paris]) <job command>`,
 * `s3jobs schedule list`, `s3jobs schedule remove <name>`.
 *
 * The job command is a whole `copy`, `sync` or `rewrite-metadata` command line, parsed by that
 * command's own parser: a schedule fires exactly the job that command would enqueue. Schedule
 * flags go before it; everything after it belongs to the job.
 */
import { ValidationError } from '../../shared/errors.js';
import type { JobPayload } from '../../shared/jobs/index.js';
import { addSchedule, checkRepeat, listSchedules, removeSchedule, ScheduleExistsError, type Repeat, type ScheduleInfo, type ScheduleOptions } from '../schedule/schedules.js';
import { formatDuration, parseDuration } from '../schedule/duration.js';
import { booleanFlag, GLOBAL_OPTIONS, globalsFrom, parseCommandLine, stringFlag, type GlobalOptions, type Parsed } from './args.js';
import { isoTime, loadCliConfig, printJson, withProducer, type CliCommand, type CliIo } from './context.js';
import { parseCopyArgs } from './copy.js';
import type { EnqueueRequest } from './enqueue.js';
import { ExitCode, UsageError } from './exit-codes.js';
import { commandHelp } from './help.js';
import { parseRewriteMetadataArgs } from './rewrite-metadata.js';
import { parseSyncArgs } from './sync.js';
import { parseTagArgs } from './tag.js';
import { parseAclArgs } from './acl.js';

const ACTIONS = ['add', 'list', 'remove'] as const;
type Action = (typeof ACTIONS)[number];

/** The job commands a schedule can fire, by the word that starts them. */
const JOB_COMMANDS: Readonly<Record<string, (argv: readonly string[]) => Parsed<EnqueueRequest>>> = {
  copy: parseCopyArgs,
  sync: parseSyncArgs,
  'rewrite-metadata': parseRewriteMetadataArgs,
  tag: parseTagArgs,
  acl: parseAclArgs,
};

const SCHEDULE_OPTIONS = {
  ...GLOBAL_OPTIONS,
  every: { type: 'string' },
  cron: { type: 'string' },
  tz: { type: 'string' },
  replace: { type: 'boolean' },
} as const;

/** Flags of the schedule itself that take a value (their value is not the job command). */
const VALUE_FLAGS = new Set(Object.entries(SCHEDULE_OPTIONS).filter(([, spec]) => spec.type === 'string').map(([name]) => `--${name}`));

export type ScheduleRequest =
  | { action: 'add'; name: string; repeat: Repeat; payload: JobPayload; options: ScheduleOptions }
  | { action: 'list' }
  | { action: 'remove'; name: string };

/** Index of the job command word in `schedule add <name> [flags] <job> ...`, or -1. */
function jobCommandIndex(argv: readonly string[]): number {
  let positionals = 0;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (VALUE_FLAGS.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith('-')) continue;
    positionals++;
    // add, <name>, then the job command.
    if (positionals === 3) return i;
  }
  return -1;
}

/** `--every` / `--cron` / `--tz` into a checked repeat rule; errors name the flag. */
export function repeatFrom(every: string | undefined, cron: string | undefined, tz: string | undefined, now = Date.now()): Repeat {
  if (every !== undefined && cron !== undefined) throw new UsageError('--cron', 'give --every or --cron, not both');
  if (every === undefined && cron === undefined) throw new UsageError('--every', 'a schedule needs --every INTERVAL (30s, 15m, 1h, 1h30m, 1d) or --cron PATTERN ("0 3 * * *")');
  if (tz !== undefined && cron === undefined) throw new UsageError('--tz', 'only applies to --cron (an interval does not depend on the time zone)');
  try {
    const repeat: Repeat = every !== undefined ? { every: parseDuration(every) } : { cron: cron!, ...(tz === undefined ? {} : { tz }) };
    checkRepeat(repeat, now);
    return repeat;
  } catch (err) {
    if (err instanceof ValidationError && !(err instanceof UsageError)) throw new UsageError(`--${err.field}`, err.message.slice(err.field.length + 2));
    throw err;
  }
}

function parseAdd(argv: readonly string[]): Parsed<{ request: ScheduleRequest; globals: GlobalOptions }> {
  const at = jobCommandIndex(argv);
  const head = at < 0 ? argv : argv.slice(0, at);
  const { values, positionals } = parseCommandLine('schedule', head, SCHEDULE_OPTIONS, { names: ['add', '<name>'], min: 1 });
  if (values.help === true) return { help: true };
  const name = positionals[1];
  if (name === undefined) throw new UsageError('<name>', 'is missing (usage: s3jobs schedule add <name> --every 1h copy|sync|rewrite-metadata ...)');
  if (at < 0) throw new UsageError('<job>', `is missing: after the schedule flags, give the job to fire as a command line: ${Object.keys(JOB_COMMANDS).join(', ')} (e.g. s3jobs schedule add ${name} --every 1h sync src/ dst/ --acl private)`);
  const word = argv[at]!;
  const parse = JOB_COMMANDS[word];
  if (parse === undefined) throw new UsageError('<job>', `${JSON.stringify(word)} cannot be scheduled; give one of ${Object.keys(JOB_COMMANDS).join(', ')}`);
  const tail = argv.slice(at + 1);
  const every = stringFlag(values, 'every');
  const cron = stringFlag(values, 'cron');
  for (const flag of ['--every', '--cron', '--tz', '--replace']) {
    // `--replace` is also a rewrite-metadata flag: after the job command it is the job's.
    if (flag === '--replace' && word === 'rewrite-metadata') continue;
    if (tail.some((arg) => arg === flag || arg.startsWith(`${flag}=`)))
      throw new UsageError(flag, `is a schedule flag: put it before the job command (s3jobs schedule add ${name} ${flag === '--replace' ? '--replace ' : ''}--every 1h ${word} ...)`);
  }
  const repeat = repeatFrom(every, cron, stringFlag(values, 'tz'));

  const job = parse(tail);
  if (job.help) return { help: true };
  if (job.options.jobId !== undefined) throw new UsageError('--job-id', 'does not apply to a schedule: each firing gets its own id (repeat:<name>:<time>)');
  if (job.options.delayMs !== undefined) throw new UsageError('--delay-ms', 'does not apply to a schedule: its firings are timed by --every or --cron');
  if (job.wait !== undefined) throw new UsageError('--wait', 'does not apply to a schedule: it fires later (follow it with s3jobs schedule list, and each firing with s3jobs status)');
  const top = globalsFrom(values);
  const globals: GlobalOptions = {
    overrides: {
      redisUrl: job.globals.overrides.redisUrl ?? top.overrides.redisUrl,
      queue: job.globals.overrides.queue ?? top.overrides.queue,
      prefix: job.globals.overrides.prefix ?? top.overrides.prefix,
    },
    json: top.json || job.globals.json,
  };
  const options: ScheduleOptions = {};
  if (booleanFlag(values, 'replace')) options.replace = true;
  if (job.options.priority !== undefined) options.priority = job.options.priority;
  if (job.options.attempts !== undefined) options.attempts = job.options.attempts;
  return { help: false, globals, request: { action: 'add', name, repeat, payload: job.payload, options } };
}

/** Pure: the command line into what to do; UsageError naming the flag or argument otherwise. */
export function parseScheduleArgs(argv: readonly string[]): Parsed<{ request: ScheduleRequest; globals: GlobalOptions }> {
  const first = argv.find((arg, i) => !arg.startsWith('-') && !VALUE_FLAGS.has(argv[i - 1] ?? ''));
  if (first === 'add') return parseAdd(argv);
  const { values, positionals } = parseCommandLine('schedule', argv, GLOBAL_OPTIONS, { names: ['add|list|remove', '<name>'], min: 1 });
  if (values.help === true) return { help: true };
  const action = positionals[0]!;
  if (!(ACTIONS as readonly string[]).includes(action)) throw new UsageError('add|list|remove', `${JSON.stringify(action)} is not a schedule action; allowed: ${ACTIONS.join(', ')}`);
  const globals = globalsFrom(values);
  const name = positionals[1];
  switch (action as Exclude<Action, 'add'>) {
    case 'list':
      if (name !== undefined) throw new UsageError(JSON.stringify(name), 'unexpected argument; "schedule list" takes none');
      return { help: false, globals, request: { action: 'list' } };
    case 'remove':
      if (name === undefined) throw new UsageError('<name>', 'is missing (usage: s3jobs schedule remove <name>)');
      return { help: false, globals, request: { action: 'remove', name } };
  }
}

/** `every 1h`, `cron "0 3 * * *" Europe/Paris`. */
export function describeRepeat(repeat: Repeat): string {
  return 'every' in repeat ? `every ${formatDuration(repeat.every)}` : `cron "${repeat.cron}"${repeat.tz === undefined ? '' : ` ${repeat.tz}`}`;
}

/** One line saying what a payload does: `sync photos/2024/ -> backup/2024/`. */
export function describeJob(payload: unknown): string {
  const p = (payload ?? {}) as Record<string, unknown>;
  const ref = (v: unknown, part: 'key' | 'prefix'): string => {
    const o = (v ?? {}) as Record<string, unknown>;
    return `${String(o.bucket)}/${String(o[part] ?? '')}`;
  };
  switch (p.kind) {
    case 'copy':
      return `copy ${ref(p.source, 'key')} -> ${ref(p.destination, 'key')}`;
    case 'sync':
      return `sync ${ref(p.source, 'prefix')} -> ${ref(p.destination, 'prefix')}`;
    case 'metadata-rewrite':
      return `rewrite-metadata ${String(p.bucket)}/${String(p.key)}`;
    case 'bucket':
      return `bucket ${String(p.action)} ${String(p.bucket)}`;
    case 'tagging':
      return `tag ${String(p.bucket)}/${String(p.key)}${p.mode === 'merge' ? ' (merge)' : ''}`;
    case 'acl':
      return `acl ${String(p.bucket)}/${String(p.key)} ${String(p.acl)}`;
    default:
      return String(p.kind ?? '-');
  }
}

/** The `schedule list` table. */
export function formatSchedules(schedules: readonly ScheduleInfo[], queue: string): string {
  if (schedules.length === 0) return `No schedules on queue ${queue}.\n`;
  const rows = [['NAME', 'WHEN', 'NEXT', 'JOB'], ...schedules.map((s) => [s.name, describeRepeat(s.repeat), isoTime(s.next), describeJob(s.payload)])];
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  return `${rows.map((r) => r.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]!) : cell)).join('  ')).join('\n')}\n`;
}

const HELP = commandHelp({
  usage: `s3jobs schedule add <name> (--every INTERVAL | --cron PATTERN [--tz ZONE]) [--replace] <job command>
       s3jobs schedule list [--json]
       s3jobs schedule remove <name>`,
  summary: `Schedules keep firing a job: every INTERVAL (fires at once, then every INTERVAL) or at the times
a cron PATTERN matches (in ZONE, default UTC). The job is a copy, sync, rewrite-metadata, tag or acl command
line exactly as you would run it, and is validated now. Schedules live in Redis: they survive
worker and producer restarts, and fire while at least one worker runs (a firing missed while none
ran happens once when one is back). Each fired job is an ordinary job, with the usual attempts,
backoff and dead-lettering; its id is repeat:<name>:<time>.

A scheduled sync copies only what is missing or changed since the last firing, and a firing
that finds nothing different enqueues nothing.`,
  examples: [
    's3jobs schedule add nightly-photos --cron "0 3 * * *" --tz Europe/Paris sync photos/ photos-backup/ --acl private',
    's3jobs schedule add hourly-report --every 1h copy reports/latest.csv archive/latest.csv --acl private',
    's3jobs schedule list',
    's3jobs schedule remove hourly-report',
  ],
  flags: `Schedule flags (before the job command):
  <name>               1-64 letters, digits, "_", "." or "-"; refused if taken, unless --replace
  --every INTERVAL     a number and a unit, largest first: 30s, 15m, 1h, 1h30m, 1d (1s to 366d)
  --cron PATTERN       5 fields (minute hour day-of-month month day-of-week) or 6 with seconds
                       first, e.g. "0 3 * * *" (03:00 daily), "*/15 * * * *", "0 6 * * 1-5"
  --tz ZONE            time zone of --cron, an IANA name such as Europe/Paris (default UTC)
  --replace            replace the schedule of that name

Job command: copy, sync or rewrite-metadata with its arguments and flags (s3jobs copy --help,
s3jobs sync --help, s3jobs rewrite-metadata --help). Of the job flags, --priority, --attempts,
--timeout-ms and --profile apply to every firing; --job-id, --delay-ms and --wait do not apply.`,
});

async function run(request: ScheduleRequest, globals: GlobalOptions, io: CliIo): Promise<number> {
  const config = loadCliConfig(globals, io);
  return withProducer(config, async (producer) => {
    switch (request.action) {
      case 'add': {
        let info: ScheduleInfo;
        try {
          info = await addSchedule(producer, request.name, request.repeat, request.payload, request.options);
        } catch (err) {
          if (err instanceof ScheduleExistsError)
            throw new UsageError('<name>', `a schedule named "${request.name}" exists on queue ${producer.queueName}; add --replace to replace it, or remove it first (s3jobs schedule remove ${request.name})`);
          throw err;
        }
        if (globals.json) printJson(io, info);
        else io.stdout(`Schedule ${info.name} on queue ${producer.queueName}: ${describeJob(info.payload)}, ${describeRepeat(info.repeat)}; next firing ${isoTime(info.next)}.\n`);
        return ExitCode.Ok;
      }
      case 'list': {
        const schedules = await listSchedules(producer);
        if (globals.json) printJson(io, schedules);
        else io.stdout(formatSchedules(schedules, producer.queueName));
        return ExitCode.Ok;
      }
      case 'remove': {
        const removed = await removeSchedule(producer, request.name);
        if (globals.json) printJson(io, { name: request.name, removed });
        if (!removed) {
          io.stderr(`s3jobs schedule: no schedule named "${request.name}" on queue ${producer.queueName} (see s3jobs schedule list)\n`);
          return ExitCode.NotFound;
        }
        if (!globals.json) io.stdout(`Removed schedule ${request.name} from queue ${producer.queueName}; a firing already running finishes.\n`);
        return ExitCode.Ok;
      }
    }
  });
}

export const scheduleCommand: CliCommand = {
  name: 'schedule',
  summary: 'add, list or remove schedules (jobs fired every interval or on a cron pattern)',
  help: HELP,
  async run(argv, io) {
    const parsed = parseScheduleArgs(argv);
    if (parsed.help) {
      io.stdout(HELP);
      return ExitCode.Ok;
    }
    return run(parsed.request, parsed.globals, io);
  },
};
