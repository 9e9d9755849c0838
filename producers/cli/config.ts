/** `s3jobs config check`: validate the configuration and print it with secrets masked. */
import { maskConfig } from '../../shared/config/config.js';
import { ENV_VARS, isKnownEnvVar } from '../../shared/config/env-vars.js';
import { GLOBAL_OPTIONS, globalsFrom, parseCommandLine, type GlobalOptions, type Parsed } from './args.js';
import { loadCliConfig, printJson, type CliCommand, type CliIo } from './context.js';
import { ExitCode, UsageError } from './exit-codes.js';
import { commandHelp } from './help.js';

export function parseConfigArgs(argv: readonly string[]): Parsed<{ globals: GlobalOptions }> {
  const { values, positionals } = parseCommandLine('config', argv, GLOBAL_OPTIONS, { names: ['check'] });
  if (values.help === true) return { help: true };
  if (positionals[0] !== 'check') throw new UsageError('check', `${JSON.stringify(positionals[0])} is not a config action; allowed: check`);
  return { help: false, globals: globalsFrom(values) };
}

/** Names of the environment variables s3jobs reads that are set, and `S3JOBS_*` names it does not read (typos). */
export function envReport(env: Record<string, string | undefined>): { read: string[]; unknown: string[] } {
  const names = Object.keys(env)
    .filter((name) => env[name] !== undefined)
    .sort();
  return {
    read: names.filter((name) => isKnownEnvVar(name)),
    unknown: names.filter((name) => name.startsWith('S3JOBS_') && name !== 'S3JOBS_DEBUG' && !isKnownEnvVar(name)),
  };
}

const HELP = commandHelp({
  usage: 's3jobs config check [--json] [--redis-url URL] [--queue NAME] [--prefix PREFIX]',
  summary: `Builds the effective configuration the way every s3jobs process does (defaults < JSON file named
by S3JOBS_CONFIG < environment < flags), validates it and prints it with secret keys, session tokens
and Redis passwords masked. Exits 2 naming the setting when something is invalid. Warns about
S3JOBS_* variables it does not know (typos). Does not contact Redis or S3.`,
  examples: ['s3jobs config check', 'S3JOBS_CONCURRENCY=32 s3jobs config check --json | jq .worker'],
  env: false,
  flags: `Environment (everything s3jobs reads):
${Object.entries(ENV_VARS)
  .map(([name, text]) => `  ${name}\n      ${text}`)
  .join('\n')}
  S3JOBS_DEBUG=1
      Print stack traces with errors.`,
});

export const configCommand: CliCommand = {
  name: 'config',
  summary: 'validate the configuration and print it, secrets masked',
  help: HELP,
  async run(argv, io: CliIo) {
    const parsed = parseConfigArgs(argv);
    if (parsed.help) {
      io.stdout(HELP);
      return ExitCode.Ok;
    }
    const config = loadCliConfig(parsed.globals, io);
    const env = envReport(io.env);
    for (const name of env.unknown) io.stderr(`s3jobs config: warning: ${name} is not a setting s3jobs reads (ignored; typo?)\n`);
    const masked = maskConfig(config);
    if (parsed.globals.json) printJson(io, { valid: true, config: masked, env: env.read, unknownEnv: env.unknown });
    else
      io.stdout(
        `Configuration is valid.\nEnvironment variables read: ${env.read.length === 0 ? '(none)' : env.read.join(', ')}\nEffective configuration (secrets masked):\n${JSON.stringify(masked, null, 2)}\n`,
      );
    return ExitCode.Ok;
  },
};
