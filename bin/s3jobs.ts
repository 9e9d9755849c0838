/**
 * The `s3jobs` command: a thin dispatcher. It finds the sub-command and hands the rest of the
 * command line to its side — `worker` to `workers/cli.ts`, `dashboard` to
 * `producers/dashboard/command.ts`, everything else to `producers/cli/`. It is the one module that
 * knows both sides; neither imports the other.
 *
 * Global flags may come before the command (`s3jobs --queue q status id`): they are passed on.
 */
import { readFileSync } from 'node:fs';
import { loadProducerCommand, PRODUCER_COMMANDS, processIo, reportError, runProducerCommand, TOP_LEVEL_HELP, ExitCode, type CliIo } from '../producers/cli/index.js';

/** Global flags that take a value, so the value is not mistaken for the command. */
const VALUE_FLAGS = new Set(['--redis-url', '--queue', '--prefix']);

/**
 * Loaded on demand, by a computed specifier: the worker side (and its dependencies) is only
 * loaded to run a worker, and this file compiles without it.
 */
const WORKER_CLI = new URL('../workers/cli.js', import.meta.url).href;

/** The first argument that is neither a flag nor a global flag's value, and the others. Pure. */
export function splitCommand(argv: readonly string[]): { command: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (VALUE_FLAGS.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith('-')) continue;
    return { command: arg, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { command: undefined, rest: [...argv] };
}

/** The package version: package.json is one level up from bin/, two from the compiled dist/bin/. */
function version(): string {
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 's3jobs' && pkg.version !== undefined) return pkg.version;
    } catch {
      // Not there: try the next place.
    }
  }
  return 'unknown';
}

/** The dashboard (a web server and its UI) is loaded only to run it. */
async function runDashboard(argv: string[], io: CliIo): Promise<number> {
  const { runDashboardCommand } = await import('../producers/dashboard/command.js');
  return runDashboardCommand(argv, io);
}

async function runWorker(argv: string[], io: CliIo): Promise<number> {
  let mod: { runWorkerCommand?: unknown };
  try {
    mod = (await import(WORKER_CLI)) as { runWorkerCommand?: unknown };
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes('workers/cli')) {
      io.stderr('s3jobs worker: the worker side (workers/cli.ts) is not part of this installation\n');
      return ExitCode.Failed;
    }
    return reportError(err, 'worker', io);
  }
  if (typeof mod.runWorkerCommand !== 'function') {
    io.stderr('s3jobs worker: workers/cli.ts does not export runWorkerCommand(argv)\n');
    return ExitCode.Failed;
  }
  // The worker side takes the same streams and environment, plus a hard exit for a second signal.
  const workerIo = { ...io, exit: (code: number) => process.exit(code) };
  return (mod.runWorkerCommand as (argv: string[], io: CliIo & { exit(code: number): void }) => Promise<number>)(argv, workerIo);
}

/**
 * Runs `s3jobs` with `argv` (without node and script); returns the exit code. `io` carries the
 * output streams and the environment (tests pass their own).
 */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const { command, rest } = splitCommand(argv);
  const commands = [...Object.keys(PRODUCER_COMMANDS), 'dashboard', 'worker'].join(', ');
  if (command === undefined) {
    if (argv.includes('--version')) {
      io.stdout(`s3jobs ${version()}\n`);
      return ExitCode.Ok;
    }
    if (argv.includes('--help') || argv.includes('-h')) {
      io.stdout(TOP_LEVEL_HELP);
      return ExitCode.Ok;
    }
    io.stderr(`s3jobs: a command is missing; commands: ${commands} (see 's3jobs --help')\n`);
    return ExitCode.Usage;
  }
  if (command === 'help') {
    const topic = splitCommand(rest).command;
    if (topic === 'worker') return runWorker(['--help'], io);
    if (topic === 'dashboard') return runDashboard(['--help'], io);
    const help = topic === undefined ? undefined : (await loadProducerCommand(topic))?.help;
    io.stdout(help ?? TOP_LEVEL_HELP);
    return ExitCode.Ok;
  }
  if (command === 'worker') return runWorker(rest, io);
  if (command === 'dashboard') return runDashboard(rest, io);
  if (Object.hasOwn(PRODUCER_COMMANDS, command)) return runProducerCommand(command, rest, io);
  io.stderr(`s3jobs: unknown command "${command}"; commands: ${commands} (see 's3jobs --help')\n`);
  return ExitCode.Usage;
}
