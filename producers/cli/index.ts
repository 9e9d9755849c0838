/**
 * The producer side of the `s3jobs` command: every sub-command except `worker`, by name.
 * `bin/s3jobs.ts` dispatches here; each command parses its own flags (pure) and then runs.
 */
import { bucketCommand } from './bucket.js';
import { configCommand } from './config.js';
import { processIo, reportError, type CliCommand, type CliIo } from './context.js';
import { copyCommand } from './copy.js';
import { dlqCommand } from './dlq.js';
import { migrateMetadataCommand } from './migrate.js';
import { rewriteMetadataCommand } from './rewrite-metadata.js';
import { scheduleCommand } from './schedule.js';
import { runCommand, runsCommand } from './runs.js';
import { queueCommand, statusCommand } from './status.js';
import { syncCommand } from './sync.js';

export { TOP_LEVEL_HELP } from './help.js';
export { ExitCode, EXIT_CODES_HELP } from './exit-codes.js';
export { processIo, reportError, type CliCommand, type CliIo } from './context.js';

export const PRODUCER_COMMANDS: Readonly<Record<string, CliCommand>> = Object.fromEntries(
  [copyCommand, rewriteMetadataCommand, bucketCommand, syncCommand, scheduleCommand, migrateMetadataCommand, statusCommand, queueCommand, runsCommand, runCommand, dlqCommand, configCommand].map((c) => [c.name, c]),
);

/** Runs one producer sub-command; errors become one stderr line and their exit code. */
export async function runProducerCommand(name: string, argv: string[], io: CliIo = processIo): Promise<number> {
  const command = PRODUCER_COMMANDS[name];
  if (command === undefined) throw new Error(`not a producer command: ${name}`);
  try {
    return await command.run(argv, io);
  } catch (err) {
    return reportError(err, name, io);
  }
}
