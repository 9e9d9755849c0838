/** What `copy`, `rewrite-metadata` and `bucket` share once their flags are parsed: enqueue, maybe wait. */
import type { JobPayload } from '../../shared/jobs/index.js';
import type { EnqueueOptions } from '../producer.js';
import type { GlobalOptions, Parsed, WaitOptions } from './args.js';
import { loadCliConfig, printJson, reportError, withProducer, type CliCommand, type CliIo } from './context.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';

/** A parsed enqueue command line: the validated payload and how to enqueue it. */
export interface EnqueueRequest {
  payload: JobPayload;
  options: EnqueueOptions;
  /** Set by `--wait`. */
  wait: WaitOptions | undefined;
  globals: GlobalOptions;
}

/**
 * Enqueues the job and prints its id; with `--wait`, waits and prints the result (exit 0), the
 * failure (exit 1) or the state it was left in when the wait timed out (exit 124).
 */
export async function runEnqueue(command: string, request: EnqueueRequest, io: CliIo): Promise<number> {
  const config = loadCliConfig(request.globals, io);
  const json = request.globals.json;
  return withProducer(config, async (producer) => {
    const { jobId, kind } = await producer.add(request.payload, request.options);
    const enqueued = { jobId, kind, queue: producer.queueName };
    if (request.wait === undefined) {
      if (json) printJson(io, enqueued);
      else io.stdout(`Enqueued ${kind} job ${jobId} on queue ${producer.queueName}.\n`);
      return ExitCode.Ok;
    }
    if (!json) io.stdout(`Enqueued ${kind} job ${jobId} on queue ${producer.queueName}; waiting up to ${request.wait.timeoutMs} ms for it to finish...\n`);
    try {
      const result = await producer.waitFor(jobId, { timeoutMs: request.wait.timeoutMs });
      if (json) printJson(io, { ...enqueued, state: 'completed', result });
      else io.stdout(`Job ${jobId} completed:\n${Object.entries(result).map(([k, v]) => `  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('\n')}\n`);
      return ExitCode.Ok;
    } catch (err) {
      const code = exitCodeFor(err);
      if (code !== ExitCode.Failed && code !== ExitCode.WaitTimeout) throw err;
      // The job failed or is still going: say where it is, then report the error line.
      if (json) {
        const status = await producer.status(jobId);
        printJson(io, { ...enqueued, state: status.state, attemptsMade: status.attemptsMade, error: status.error });
      }
      return reportError(err, command, io);
    }
  });
}

/**
 * The command object of an enqueue command (copy, rewrite-metadata, bucket, sync): parse the
 * flags (pure), print the help when asked, otherwise enqueue the job the flags describe.
 */
export function enqueueCommand(name: string, summary: string, help: string, parse: (argv: readonly string[]) => Parsed<EnqueueRequest>): CliCommand {
  return {
    name,
    summary,
    help,
    async run(argv, io) {
      const parsed = parse(argv);
      if (parsed.help) {
        io.stdout(help);
        return 0;
      }
      return runEnqueue(name, parsed, io);
    },
  };
}
