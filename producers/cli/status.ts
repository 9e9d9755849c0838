/** `s3jobs status <jobId>` and `s3jobs queue`: where a job is, and how many jobs are where. */
import { formatBreakerRecord, type BreakerRecord } from '../../shared/queue/breakers.js';
import { S3JobsError } from '../../shared/errors.js';
import type { JobStatus } from '../producer.js';
import { GLOBAL_OPTIONS, globalsFrom, parseCommandLine, type GlobalOptions, type Parsed } from './args.js';
import { isoTime, loadCliConfig, printJson, withProducer, type CliCommand, type CliIo } from './context.js';
import { ExitCode } from './exit-codes.js';
import { commandHelp } from './help.js';

export function parseStatusArgs(argv: readonly string[]): Parsed<{ jobId: string; globals: GlobalOptions }> {
  const { values, positionals } = parseCommandLine('status', argv, GLOBAL_OPTIONS, { names: ['<jobId>'] });
  if (values.help === true) return { help: true };
  return { help: false, jobId: positionals[0]!, globals: globalsFrom(values) };
}

/** Human lines for a job status. */
export function formatStatus(status: JobStatus): string {
  const lines = [
    `Job ${status.jobId}: ${status.state}`,
    `  kind:        ${status.kind ?? '-'}`,
    `  attempts:    ${status.attemptsMade}`,
    `  enqueued:    ${isoTime(status.timestamps.enqueuedAt)}`,
    `  started:     ${isoTime(status.timestamps.processedAt)}`,
    `  finished:    ${isoTime(status.timestamps.finishedAt)}`,
  ];
  if (status.result !== undefined) lines.push(`  result:      ${JSON.stringify(status.result)}`);
  if (status.error !== undefined) lines.push(`  error:       ${status.error.code}: ${status.error.message}`);
  if (status.deadLetter !== undefined)
    lines.push(`  dead-letter: ${isoTime(status.deadLetter.deadLetteredAt)}, reason: ${status.deadLetter.reason} (s3jobs dlq show ${status.jobId})`);
  return `${lines.join('\n')}\n`;
}

const STATUS_HELP = commandHelp({
  usage: 's3jobs status <jobId> [--json]',
  summary: `Shows where a job is: waiting, prioritized, delayed, active, completed (with its result),
failed (between attempts) or dead-lettered (with the error). Exits 4 if no job has that id in the
queue or its dead-letter queue (completed jobs are kept for S3JOBS_KEEP_COMPLETED_SECONDS).`,
  examples: ['s3jobs status report-2024-05', 's3jobs status report-2024-05 --json | jq -r .state'],
});

export const statusCommand: CliCommand = {
  name: 'status',
  summary: "show a job's state and result",
  help: STATUS_HELP,
  async run(argv, io) {
    const parsed = parseStatusArgs(argv);
    if (parsed.help) {
      io.stdout(STATUS_HELP);
      return ExitCode.Ok;
    }
    const config = loadCliConfig(parsed.globals, io);
    return withProducer(config, async (producer) => {
      const status = await producer.status(parsed.jobId);
      if (status.state === 'unknown')
        throw new S3JobsError('S3JOBS_JOB_NOT_FOUND', `no job ${parsed.jobId} in queue ${producer.queueName} or its dead-letter queue ${producer.deadLetters.name}`);
      if (parsed.globals.json) printJson(io, status);
      else io.stdout(formatStatus(status));
      return ExitCode.Ok;
    });
  },
};

export function parseQueueArgs(argv: readonly string[]): Parsed<{ globals: GlobalOptions }> {
  const { values } = parseCommandLine('queue', argv, GLOBAL_OPTIONS, { names: [] });
  if (values.help === true) return { help: true };
  return { help: false, globals: globalsFrom(values) };
}

/** Order in which counts are printed. */
const STATES = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed', 'dead-lettered'] as const;

export function formatCounts(queue: string, prefix: string, counts: Record<string, number>): string {
  const lines = STATES.map((state) => `  ${state.padEnd(15)}${String(counts[state] ?? 0).padStart(8)}`);
  return `Queue ${queue} (prefix ${prefix}):\n${lines.join('\n')}\n`;
}

/** Pure: the open circuit breakers under the counts ("S3 endpoints: all answering" when none). */
export function formatBreakers(breakers: readonly BreakerRecord[], now: number): string {
  if (breakers.length === 0) return 'S3 endpoints: all answering (no circuit breaker open)\n';
  return `S3 endpoints held back by workers (circuit breaker open; jobs wait without using attempts):\n${breakers.map((b) => `  ${formatBreakerRecord(b, now)}`).join('\n')}\n`;
}

const QUEUE_HELP = commandHelp({
  usage: 's3jobs queue [--json]',
  summary: `Prints how many jobs are in each state: waiting, prioritized, delayed, active, completed (kept
for a while), failed (between attempts, or being dead-lettered) and dead-lettered (failed for good:
see s3jobs dlq list). Then the S3 endpoints whose circuit breaker is open on some worker: the store
stopped answering, so that worker holds its jobs back, without using attempts, until a probe gets
an answer (with --json: "s3Breakers").`,
  examples: ['s3jobs queue', "s3jobs queue --json | jq '.\"dead-lettered\"'"],
});

export const queueCommand: CliCommand = {
  name: 'queue',
  summary: 'job counts per state, including dead-lettered',
  help: QUEUE_HELP,
  async run(argv, io: CliIo) {
    const parsed = parseQueueArgs(argv);
    if (parsed.help) {
      io.stdout(QUEUE_HELP);
      return ExitCode.Ok;
    }
    const config = loadCliConfig(parsed.globals, io);
    return withProducer(config, async (producer) => {
      const counts = await producer.counts();
      const breakers = await producer.breakers();
      const ordered = Object.fromEntries(STATES.map((state) => [state, counts[state] ?? 0]));
      if (parsed.globals.json) printJson(io, { ...ordered, s3Breakers: breakers });
      else io.stdout(formatCounts(producer.queueName, producer.prefix, ordered) + formatBreakers(breakers, Date.now()));
      return ExitCode.Ok;
    });
  },
};
