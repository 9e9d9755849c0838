/** `s3jobs dlq list | show <id> | retry <id>|--all [--patch JSON] | purge <id>|--all` */
import type { DeadLetterRecord } from '../../shared/queue/dead-letter.js';
import { DeadLetters, InvalidDeadLetterPayloadError, type DeadLetterPage } from '../dead-letters.js';
import { booleanFlag, GLOBAL_OPTIONS, globalsFrom, parseCommandLine, parseInteger, stringFlag, type GlobalOptions, type Parsed } from './args.js';
import { isoTime, loadCliConfig, printJson, withProducer, type CliCommand, type CliIo } from './context.js';
import { ExitCode, UsageError } from './exit-codes.js';
import { commandHelp } from './help.js';

const OPTIONS = {
  ...GLOBAL_OPTIONS,
  limit: { type: 'string' },
  offset: { type: 'string' },
  all: { type: 'boolean' },
  patch: { type: 'string' },
} as const;

/** Which flags each action takes (besides the global ones). */
const ACTION_FLAGS = {
  list: ['limit', 'offset'],
  show: [],
  retry: ['all', 'patch'],
  purge: ['all'],
} as const;
type Action = keyof typeof ACTION_FLAGS;

/** A single job id, or every dead letter (`--all`). */
export type Target = { jobId: string } | { all: true };

export type DlqRequest =
  | { action: 'list'; limit: number; offset: number }
  | { action: 'show'; jobId: string }
  | { action: 'retry'; target: Target; patch: Record<string, unknown> | undefined }
  | { action: 'purge'; target: Target };

function isAction(value: string): value is Action {
  return Object.hasOwn(ACTION_FLAGS, value);
}

/** `--patch` must be a JSON object (a merge patch of the payload). */
export function parsePatch(raw: string | undefined): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new UsageError('--patch', `is not valid JSON (${(err as Error).message}); give a JSON object such as '{"acl":"private"}'`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new UsageError('--patch', `must be a JSON object merged into the payload (null deletes a field), such as '{"acl":"private"}'`);
  return value as Record<string, unknown>;
}

/** Pure: the command line into a dead-letter request; UsageError naming the flag otherwise. */
export function parseDlqArgs(argv: readonly string[]): Parsed<{ request: DlqRequest; globals: GlobalOptions }> {
  const { values, positionals } = parseCommandLine('dlq', argv, OPTIONS, { names: ['list|show|retry|purge', '<jobId>'], min: 1 });
  if (values.help === true) return { help: true };
  const action = positionals[0]!;
  if (!isAction(action)) throw new UsageError('list|show|retry|purge', `${JSON.stringify(action)} is not a dlq action; allowed: list, show, retry, purge`);
  const allowed: readonly string[] = ACTION_FLAGS[action];
  for (const flag of ['limit', 'offset', 'all', 'patch']) {
    if (values[flag] !== undefined && !allowed.includes(flag)) throw new UsageError(`--${flag}`, `does not apply to "dlq ${action}"${allowed.length > 0 ? `; it takes ${allowed.map((f) => `--${f}`).join(', ')}` : ''}`);
  }
  const jobId = positionals[1];
  const globals = globalsFrom(values);
  const target = (): Target => {
    const all = booleanFlag(values, 'all');
    if (all && jobId !== undefined) throw new UsageError('--all', `give a job id or --all, not both`);
    if (!all && jobId === undefined) throw new UsageError('<jobId>', `is missing; give a job id or --all (usage: s3jobs dlq ${action} <jobId>|--all)`);
    return all ? { all: true } : { jobId: jobId! };
  };
  switch (action) {
    case 'list':
      if (jobId !== undefined) throw new UsageError(JSON.stringify(jobId), 'unexpected argument; "dlq list" takes no job id (use "dlq show <jobId>")');
      return {
        help: false,
        globals,
        request: { action, limit: parseInteger(stringFlag(values, 'limit'), '--limit', 1, 1000) ?? 20, offset: parseInteger(stringFlag(values, 'offset'), '--offset', 0, Number.MAX_SAFE_INTEGER) ?? 0 },
      };
    case 'show':
      if (jobId === undefined) throw new UsageError('<jobId>', 'is missing (usage: s3jobs dlq show <jobId>)');
      return { help: false, globals, request: { action, jobId } };
    case 'retry':
      return { help: false, globals, request: { action, target: target(), patch: parsePatch(stringFlag(values, 'patch')) } };
    case 'purge':
      return { help: false, globals, request: { action, target: target() } };
  }
}

/** `{"source":{"bucket":…}}` for `source.bucket`: what a patch fixing that field looks like. */
export function patchExample(field: string): string {
  const parts = field.split('.').filter((p) => p !== '' && !/^\d+$/.test(p));
  return parts.reduceRight((inner, name) => `{"${name}":${inner}}`, '…');
}

export function formatList(page: DeadLetterPage, queue: string): string {
  if (page.total === 0) return `No dead-lettered jobs in ${queue}.\n`;
  if (page.items.length === 0) return `${page.total} dead-lettered jobs in ${queue}; none at offset ${page.offset}.\n`;
  const rows = page.items.map((item) => [item.jobId, item.kind, item.errorCode, String(item.attemptsMade), isoTime(item.deadLetteredAt), oneLine(item.message, 70)]);
  const header = ['JOB ID', 'KIND', 'ERROR', 'ATTEMPTS', 'DEAD-LETTERED AT', 'MESSAGE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const first = page.offset + 1;
  return `${page.total} dead-lettered job${page.total === 1 ? '' : 's'} in ${queue}, newest first (showing ${first}-${page.offset + page.items.length}):\n${[header, ...rows].map(line).join('\n')}\n`;
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function formatRecord(record: DeadLetterRecord): string {
  const payload = JSON.stringify(record.payload, null, 2) ?? 'undefined';
  return [
    `Job ${record.jobId} (${record.kind ?? record.name}) dead-lettered at ${isoTime(record.deadLetteredAt)}, reason: ${record.reason}`,
    `  error:     ${record.error.code}: ${record.error.message}${record.error.status === undefined ? '' : ` [HTTP ${record.error.status}]`}`,
    `  attempts:  ${record.attemptsMade}`,
    `  enqueued:  ${isoTime(record.enqueuedAt)}`,
    `  failed:    ${isoTime(record.failedAt)}`,
    ...(record.runId === undefined ? [] : [`  run:       ${record.runId}`]),
    `  payload:`,
    payload.replace(/^/gm, '    '),
    `Retry it with: s3jobs dlq retry ${record.jobId} [--patch JSON]`,
    '',
  ].join('\n');
}

async function run(request: DlqRequest, dlq: DeadLetters, json: boolean, io: CliIo): Promise<number> {
  switch (request.action) {
    case 'list': {
      const page = await dlq.list({ limit: request.limit, offset: request.offset });
      if (json) printJson(io, page);
      else io.stdout(formatList(page, dlq.queueName));
      return ExitCode.Ok;
    }
    case 'show': {
      const record = await dlq.show(request.jobId);
      if (json) printJson(io, record);
      else io.stdout(formatRecord(record));
      return ExitCode.Ok;
    }
    case 'retry': {
      if ('all' in request.target) {
        const outcome = await dlq.retryAll({ payloadPatch: request.patch });
        if (json) printJson(io, outcome);
        else io.stdout(`Retried ${outcome.retried.length} dead-lettered job${outcome.retried.length === 1 ? '' : 's'}${outcome.skipped.length > 0 ? `; ${outcome.skipped.length} left in ${dlq.queueName} (invalid payload)` : ''}.\n`);
        for (const skip of outcome.skipped) io.stderr(`s3jobs dlq: job ${skip.jobId} not retried: ${skip.field}: ${skip.message}\n`);
        return outcome.skipped.length > 0 ? ExitCode.Usage : ExitCode.Ok;
      }
      const jobId = request.target.jobId;
      try {
        const outcome = await dlq.retry(jobId, { payloadPatch: request.patch });
        if (json) printJson(io, outcome);
        else
          io.stdout(
            `Retried ${outcome.kind} job ${outcome.jobId}: queued again${outcome.requeuedAs === outcome.jobId ? '' : ` as ${outcome.requeuedAs}`} with a fresh attempt count${outcome.alreadyQueued ? ' (it was already back in the queue)' : ''}.\n`,
          );
        return ExitCode.Ok;
      } catch (err) {
        if (err instanceof InvalidDeadLetterPayloadError)
          throw new UsageError(err.field, `${err.problem}; job ${jobId} stays dead-lettered: fix its payload with --patch '${patchExample(err.payloadField)}'`);
        throw err;
      }
    }
    case 'purge': {
      if ('all' in request.target) {
        const purged = await dlq.purgeAll();
        if (json) printJson(io, { purged });
        else io.stdout(`Purged ${purged} dead-lettered job${purged === 1 ? '' : 's'} from ${dlq.queueName}.\n`);
        return ExitCode.Ok;
      }
      await dlq.purge(request.target.jobId);
      if (json) printJson(io, { purged: 1, jobId: request.target.jobId });
      else io.stdout(`Purged dead-lettered job ${request.target.jobId} from ${dlq.queueName}.\n`);
      return ExitCode.Ok;
    }
  }
}

const HELP = commandHelp({
  usage: 's3jobs dlq list [--limit N] [--offset N]\n       s3jobs dlq show <jobId>\n       s3jobs dlq retry <jobId>|--all [--patch JSON]\n       s3jobs dlq purge <jobId>|--all',
  summary: `Manages the dead-letter queue "<queue>-dead": jobs that failed for good (retries used up, or an
error that retrying cannot fix, or an invalid payload), each kept with its original payload, error,
attempts and times, under its original job id.

  list    dead-lettered jobs, newest first (id, kind, error code, attempts, time, message)
  show    one job's full record, payload included
  retry   put the original payload back in the queue under the same job id, attempts starting
          from zero, and remove it from the dead-letter queue. The payload is validated first: an
          invalid one is refused (exit 2) until fixed with --patch. Safe to run again if interrupted.
  purge   delete dead letters for good`,
  examples: [
    's3jobs dlq list --limit 50',
    's3jobs dlq show copy-a-1',
    's3jobs dlq retry copy-a-1',
    `s3jobs dlq retry copy-a-1 --patch '{"acl":"private","metadata":{"bad name":null}}'`,
    `s3jobs dlq retry --all --patch '{"profile":"prod"}'`,
    's3jobs dlq purge --all',
  ],
  flags: `Dead-letter flags:
  --limit N      list: how many (1-1000, default 20)
  --offset N     list: skip the N newest (default 0)
  --all          retry / purge: every dead-lettered job (retry --all skips, and reports, invalid payloads
                 and exits 2 if there were any)
  --patch JSON   retry: a JSON merge patch applied to the payload first (objects merge, null deletes)`,
});

export const dlqCommand: CliCommand = {
  name: 'dlq',
  summary: 'list, show, retry or purge dead-lettered jobs',
  help: HELP,
  async run(argv, io) {
    const parsed = parseDlqArgs(argv);
    if (parsed.help) {
      io.stdout(HELP);
      return ExitCode.Ok;
    }
    const config = loadCliConfig(parsed.globals, io);
    return withProducer(config, (producer) => run(parsed.request, new DeadLetters(producer), parsed.globals.json, io));
  },
};
