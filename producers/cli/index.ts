/**
 * The producer side of the `s3jobs` command: every sub-command except `worker`, by name.
 * `bin/s3jobs.ts` dispatches here; each command parses its own flags (pure) and then runs.
 *
 * This module stays light: it imports no command. A command's module (and bullmq, ioredis, zod,
 * the S3 client behind it) is loaded when that command runs, so `s3jobs --help` loads none of
 * them and `s3jobs copy` loads only what enqueueing needs (BENCHMARKS.md "CLI start-up").
 */
import type { CliCommand } from './context.js';
import { processIo, type CliIo } from './io.js';

export { TOP_LEVEL_HELP } from './help.js';
export { ExitCode, EXIT_CODES_HELP } from './exit-codes.js';
export { processIo, type CliIo } from './io.js';
export type { CliCommand } from './context.js';

/**
 * The command table: name → how to load the command. Add a command as one line here (its
 * module exports a `CliCommand` whose `name` is the key; the dispatcher test checks both agree).
 */
export const PRODUCER_COMMANDS: Readonly<Record<string, () => Promise<CliCommand>>> = {
  copy: async () => (await import('./copy.js')).copyCommand,
  'rewrite-metadata': async () => (await import('./rewrite-metadata.js')).rewriteMetadataCommand,
  bucket: async () => (await import('./bucket.js')).bucketCommand,
  sync: async () => (await import('./sync.js')).syncCommand,
  tag: async () => (await import('./tag.js')).tagCommand,
  acl: async () => (await import('./acl.js')).aclCommand,
  schedule: async () => (await import('./schedule.js')).scheduleCommand,
  'migrate-metadata': async () => (await import('./migrate.js')).migrateMetadataCommand,
  'tag-run': async () => (await import('./migrate.js')).tagRunCommand,
  'acl-run': async () => (await import('./migrate.js')).aclRunCommand,
  'copy-run': async () => (await import('./migrate.js')).copyRunCommand,
  status: async () => (await import('./status.js')).statusCommand,
  queue: async () => (await import('./status.js')).queueCommand,
  runs: async () => (await import('./runs.js')).runsCommand,
  run: async () => (await import('./runs.js')).runCommand,
  dlq: async () => (await import('./dlq.js')).dlqCommand,
  config: async () => (await import('./config.js')).configCommand,
  doctor: async () => (await import('./doctor.js')).doctorCommand,
};

/** The command called `name`, loaded; undefined when there is none. */
export async function loadProducerCommand(name: string): Promise<CliCommand | undefined> {
  return Object.hasOwn(PRODUCER_COMMANDS, name) ? PRODUCER_COMMANDS[name]!() : undefined;
}

/**
 * Prints one line for an error on stderr and returns its exit code (context.ts's reportError,
 * loaded only when there is an error to report).
 */
export async function reportError(err: unknown, command: string, io: CliIo): Promise<number> {
  const context = await import('./context.js');
  return context.reportError(err, command, io);
}

/** Runs one producer sub-command; errors become one stderr line and their exit code. */
export async function runProducerCommand(name: string, argv: string[], io: CliIo = processIo): Promise<number> {
  if (!Object.hasOwn(PRODUCER_COMMANDS, name)) throw new Error(`not a producer command: ${name}`);
  try {
    const command = (await loadProducerCommand(name))!;
    return await command.run(argv, io);
  } catch (err) {
    return reportError(err, name, io);
  }
}
