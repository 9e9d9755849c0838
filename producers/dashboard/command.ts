/**
 * `s3jobs dashboard`: the edge of the dashboard. Parses flags and the environment (flags win),
 * loads the config, refuses unsafe bindings, serves until SIGINT/SIGTERM (or `signal`).
 *
 * Exit codes (the same table as the rest of `s3jobs`): 0 stopped by a signal, 1 runtime error
 * (e.g. the port is in use), 2 usage or configuration error (including listening beyond localhost
 * without auth), 3 Redis unreachable.
 */
import { parseArgs } from 'node:util';
import { loadConfig, type ConfigOverrides } from '../../shared/config/config.js';
import { ValidationError } from '../../shared/errors.js';
import { scrubSecrets } from '../../shared/log/logger.js';
import { deadLetterQueueName } from '../../shared/queue/names.js';
import { assertSafeBinding, describeAuth, validateAuth, type DashboardAuth } from './auth.js';
import { DASHBOARD_PATHS, DEFAULT_DASHBOARD_HOST, DEFAULT_DASHBOARD_PORT, LISTEN_FAILED, REDIS_UNAVAILABLE, startDashboard } from './server.js';

export const DASHBOARD_EXIT = { Ok: 0, Failed: 1, Usage: 2, RedisUnavailable: 3 } as const;

export const DASHBOARD_HELP = `Usage: s3jobs dashboard [--host ADDR] [--port N] [--user U --password P | --token T] [--read-only]

Serves a web UI over the queue and its dead-letter queue (bull-board: waiting, active, completed,
failed, delayed and dead-lettered jobs) and the migration runs (${DASHBOARD_PATHS.runs}, ${DASHBOARD_PATHS.runsJson}), until
SIGINT or SIGTERM. ${DASHBOARD_PATHS.health} answers "ok" without auth, for health checks.

Examples:
  s3jobs dashboard                                   # http://127.0.0.1:3000/, no auth (this machine only)
  S3JOBS_DASHBOARD_USER=ops S3JOBS_DASHBOARD_PASSWORD=… s3jobs dashboard --host 0.0.0.0
  S3JOBS_DASHBOARD_TOKEN=… s3jobs dashboard --host 0.0.0.0 --port 8080
  curl -H "Authorization: Bearer $S3JOBS_DASHBOARD_TOKEN" http://host:8080/runs.json

Flags:
  --host ADDR       address to listen on (default ${DEFAULT_DASHBOARD_HOST}). Any address but loopback
                    (127.0.0.0/8, ::1, localhost) needs auth: without it the command refuses to start
  --port N          port (default ${DEFAULT_DASHBOARD_PORT}; 0 = any free port)
  --user U          basic-auth user (default: S3JOBS_DASHBOARD_USER)
  --password P      basic-auth password (default: S3JOBS_DASHBOARD_PASSWORD)
  --token T         bearer token (default: S3JOBS_DASHBOARD_TOKEN); browsers may send it as the
                    basic-auth password with any user name
                    Prefer the environment variables for secrets: flags show in \`ps\`.
  --read-only       no retry/promote/clean/add from the UI on the work queue (the dead-letter
                    queue is always read-only: use s3jobs dlq)
  --redis-url URL   Redis (default: S3JOBS_REDIS_URL, REDIS_URL, then redis://127.0.0.1:6379)
  --queue NAME      queue (default: S3JOBS_QUEUE or "s3jobs"; dead letters in "<NAME>-dead")
  --prefix PREFIX   BullMQ key prefix (default: S3JOBS_PREFIX or "{s3jobs}")
  --json            print {"url": …} on stdout once listening
  -h, --help        this help

Exit codes:
  0    stopped by SIGINT/SIGTERM
  1    runtime error (e.g. the port is in use)
  2    usage or configuration error, or --host beyond localhost without auth
  3    Redis unreachable (check --redis-url / REDIS_URL)
`;

const OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  user: { type: 'string' },
  password: { type: 'string' },
  token: { type: 'string' },
  'read-only': { type: 'boolean' },
  'redis-url': { type: 'string' },
  queue: { type: 'string' },
  prefix: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface DashboardArgs {
  host: string;
  port: number;
  auth: DashboardAuth | undefined;
  readOnly: boolean;
  json: boolean;
  overrides: ConfigOverrides;
}

type Env = Record<string, string | undefined>;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Flags and environment into what to run (pure). Throws ValidationError naming the flag for
 * anything wrong, including an unsafe binding.
 */
export function parseDashboardArgs(argv: readonly string[], env: Env): { help: true } | ({ help: false } & DashboardArgs) {
  let values: Record<string, string | boolean | undefined>;
  try {
    const parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
    if (parsed.positionals.length > 0) throw new ValidationError(JSON.stringify(parsed.positionals[0]), "unexpected argument; 'dashboard' takes no arguments (see 's3jobs dashboard --help')");
    values = parsed.values;
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    const flag = /'(--?[^'\s]+)/.exec(message)?.[1] ?? 'arguments';
    throw new ValidationError(flag, `${message.replace(/\. To specify a positional.*$/s, '')} (see 's3jobs dashboard --help')`);
  }
  if (values.help === true) return { help: true };
  const str = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);

  const host = str('host') ?? DEFAULT_DASHBOARD_HOST;
  if (host.trim() === '') throw new ValidationError('--host', 'is empty; give an address such as 127.0.0.1 or 0.0.0.0');

  let port = DEFAULT_DASHBOARD_PORT;
  const rawPort = str('port');
  if (rawPort !== undefined) {
    port = /^\d{1,5}$/.test(rawPort.trim()) ? Number(rawPort.trim()) : NaN;
    if (!(port >= 0 && port <= 65535)) throw new ValidationError('--port', `${JSON.stringify(rawPort)} is not a port; give an integer from 0 to 65535`);
  }

  const user = nonEmpty(str('user')) ?? nonEmpty(env.S3JOBS_DASHBOARD_USER);
  const password = nonEmpty(str('password')) ?? nonEmpty(env.S3JOBS_DASHBOARD_PASSWORD);
  const token = nonEmpty(str('token')) ?? nonEmpty(env.S3JOBS_DASHBOARD_TOKEN);
  if (user !== undefined && password === undefined) throw new ValidationError('--password', 'is missing: a basic-auth user needs a password (--password or S3JOBS_DASHBOARD_PASSWORD)');
  if (password !== undefined && user === undefined) throw new ValidationError('--user', 'is missing: a basic-auth password needs a user (--user or S3JOBS_DASHBOARD_USER)');
  const auth: DashboardAuth | undefined =
    user === undefined && token === undefined ? undefined : { ...(user === undefined ? {} : { basic: { user, password: password! } }), ...(token === undefined ? {} : { token }) };
  try {
    validateAuth(auth);
    assertSafeBinding(host, auth);
  } catch (err) {
    if (err instanceof ValidationError) {
      const flag = err.field === 'host' ? '--host' : err.field === 'auth.basic.user' ? '--user' : err.field === 'auth.token' ? '--token' : '--password';
      throw new ValidationError(flag, err.message.slice(err.field.length + 2));
    }
    throw err;
  }

  return {
    help: false,
    host,
    port,
    auth,
    readOnly: values['read-only'] === true,
    json: values.json === true,
    overrides: { redisUrl: str('redis-url'), queue: str('queue'), prefix: str('prefix') },
  };
}

export interface DashboardIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Env;
}

const processIo: DashboardIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
};

/** Resolves when SIGINT or SIGTERM arrives (or `signal` aborts). */
function untilStopped(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    if (signal?.aborted === true) return done();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function exitCodeFor(err: unknown): number {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  if (err instanceof ValidationError || (err instanceof Error && err.name === 'ValidationError')) return DASHBOARD_EXIT.Usage;
  if (code === REDIS_UNAVAILABLE) return DASHBOARD_EXIT.RedisUnavailable;
  if (code === LISTEN_FAILED) return DASHBOARD_EXIT.Failed;
  return DASHBOARD_EXIT.Failed;
}

/**
 * Runs `s3jobs dashboard` with the arguments after the command name; resolves with the exit code
 * once stopped. `options.signal` stops it like SIGTERM (for tests and embedding).
 */
export async function runDashboardCommand(argv: string[], io: DashboardIo = processIo, options: { signal?: AbortSignal } = {}): Promise<number> {
  try {
    const args = parseDashboardArgs(argv, io.env);
    if (args.help) {
      io.stdout(DASHBOARD_HELP);
      return DASHBOARD_EXIT.Ok;
    }
    const config = loadConfig(io.env, args.overrides);
    const dashboard = await startDashboard({ config, host: args.host, port: args.port, auth: args.auth, readOnly: args.readOnly });
    io.stderr(
      `s3jobs dashboard: listening on ${dashboard.url} — queues "${config.queue}" and "${deadLetterQueueName(config.queue)}", runs at ${DASHBOARD_PATHS.runs}; auth: ${describeAuth(args.auth)}\n`,
    );
    if (args.json) io.stdout(`${JSON.stringify({ url: dashboard.url, queue: config.queue, deadLetterQueue: deadLetterQueueName(config.queue) })}\n`);
    await untilStopped(options.signal);
    io.stderr('s3jobs dashboard: stopping\n');
    await dashboard.close();
    return DASHBOARD_EXIT.Ok;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`s3jobs dashboard: ${scrubSecrets(message).replace(/\s*\n\s*/g, ' ')}\n`);
    return exitCodeFor(err);
  }
}
