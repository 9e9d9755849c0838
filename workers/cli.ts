/**
 * `s3jobs worker …`: runs a worker until SIGTERM/SIGINT.
 *
 * `bin/s3jobs.ts` hands the arguments after `worker` to `runWorkerCommand`; `workers/main.ts` runs
 * it on its own (`node --import tsx workers/main.ts --concurrency 8`). Configuration is read once
 * here: defaults < `S3JOBS_CONFIG` file < environment < flags.
 *
 * Exit codes: 0 clean shutdown, 1 runtime failure, 2 bad usage or configuration (the message names
 * the flag or setting and the environment variable behind it), 3 Redis unreachable at start-up for
 * `worker.redisStartupTimeoutMs` (the same codes as the producer CLI's).
 */
import { parseArgs } from 'node:util';
import { ErrorCodes, isS3JobsError, ValidationError } from '../shared/errors.js';
import { loadConfig, redactUrl, type ConfigOverrides, type S3JobsConfig } from '../shared/config/config.js';
import { createLogger } from '../shared/log/logger.js';
import { installSignalHandlers } from './shutdown.js';
import { startWorker } from './worker.js';

export const WorkerExitCode = { Ok: 0, Failed: 1, Usage: 2, RedisUnavailable: 3 } as const;

export interface CommandIO {
  env: Record<string, string | undefined>;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Hard exit after a second signal when closing hangs. Default process.exit. */
  exit(code: number): void;
}

const defaultIO: CommandIO = {
  env: process.env,
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  exit: (code) => process.exit(code),
};

type Kind = 'int' | 'bytes' | 'string';

/** Each flag, the setting it overrides, and the environment variable that sets it too. */
const FLAGS = [
  { flag: 'concurrency', setting: 'worker.concurrency', env: 'S3JOBS_CONCURRENCY', kind: 'int', value: '<n>', help: 'jobs this process runs at once (default 16)' },
  { flag: 'rate-limit', setting: 'worker.rateLimitPerSecond', env: 'S3JOBS_RATE_LIMIT', kind: 'int', value: '<n>', help: 'max jobs started per second, across all workers of the queue (default: none)' },
  { flag: 'job-timeout-ms', setting: 'worker.jobTimeoutMs', env: 'S3JOBS_JOB_TIMEOUT_MS', kind: 'int', value: '<ms>', help: 'default per-job deadline; a job may set its own (default 30000)' },
  { flag: 'large-transfer-bytes', setting: 'worker.largeTransferBytes', env: 'S3JOBS_LARGE_TRANSFER_BYTES', kind: 'bytes', value: '<bytes>', help: 'copies of larger sources run without the job deadline; accepts 512MiB, 1GiB (default 1GiB)' },
  { flag: 'shutdown-grace-ms', setting: 'worker.shutdownGraceMs', env: 'S3JOBS_SHUTDOWN_GRACE_MS', kind: 'int', value: '<ms>', help: 'on SIGTERM/SIGINT, time running jobs get to finish before being requeued (default 25000)' },
  { flag: 'metrics-port', setting: 'worker.metricsPort', env: 'S3JOBS_METRICS_PORT', kind: 'int', value: '<port>', help: 'serve /metrics (Prometheus), /healthz and /readyz on this port (default: off)' },
  { flag: 'queue', setting: 'queue', env: 'S3JOBS_QUEUE', kind: 'string', value: '<name>', help: 'queue to work on (default "s3jobs"; dead letters go to "<name>-dead")' },
  { flag: 'prefix', setting: 'prefix', env: 'S3JOBS_PREFIX', kind: 'string', value: '<prefix>', help: 'BullMQ key prefix (default "{s3jobs}")' },
  { flag: 'redis-startup-timeout-ms', setting: 'worker.redisStartupTimeoutMs', env: 'S3JOBS_REDIS_STARTUP_TIMEOUT_MS', kind: 'int', value: '<ms>', help: 'how long start-up waits for Redis before exiting with code 3 (default 60000)' },
  { flag: 'redis-url', setting: 'redisUrl', env: 'S3JOBS_REDIS_URL', kind: 'string', value: '<url>', help: 'Redis, e.g. redis://127.0.0.1:6379 (REDIS_URL also read)' },
  { flag: 'log-level', setting: 'logLevel', env: 'S3JOBS_LOG_LEVEL', kind: 'string', value: '<level>', help: 'fatal, error, warn, info, debug, trace or silent (default info)' },
] as const satisfies readonly { flag: string; setting: string; env: string; kind: Kind; value: string; help: string }[];

export const WORKER_HELP = `Usage: s3jobs worker [options]

Runs a worker: takes copy, metadata-rewrite and bucket jobs from the queue and runs them against S3,
until it receives SIGTERM or SIGINT (Ctrl-C).

Options (each also settable by the environment variable shown; a flag wins over the variable):
${FLAGS.map((f) => `  --${`${f.flag} ${f.value}`.padEnd(30)} ${f.help}\n  ${' '.repeat(32)} env ${f.env}`).join('\n')}
  -h, --help                       show this help

Connection profiles (jobs name one; credentials live only here, never in Redis):
  S3JOBS_PROFILE_<NAME>_ACCESS_KEY, _SECRET_KEY    credentials of profile <name> (lower-cased)
  S3JOBS_PROFILE_<NAME>_ENDPOINT, _REGION          S3-compatible endpoint and signing region
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY         define profile "default" when no S3JOBS_PROFILE_DEFAULT_* is set
  S3JOBS_CONFIG=<file.json>                        all settings as JSON (environment and flags win over it)
  Other settings (retries, locks, multipart): S3JOBS_ATTEMPTS, S3JOBS_BACKOFF_MS, S3JOBS_BACKOFF_MAX_MS,
  S3JOBS_STALL_TIMEOUT_MS, S3JOBS_LOCK_DURATION_MS, S3JOBS_STALLED_INTERVAL_MS,
  S3JOBS_MULTIPART_PART_BYTES, S3JOBS_MULTIPART_CONCURRENCY; the S3 circuit breaker:
  S3JOBS_BREAKER_FAILURES, S3JOBS_BREAKER_MAX_PROBE_MS.

When an S3 endpoint stops answering (refused, reset, timeouts, 503 across jobs), the worker opens a
circuit breaker for it: its jobs are put back without using an attempt, one cheap request probes
the endpoint at growing intervals (1 s doubling to 30 s), and jobs resume once it answers. Jobs for
other endpoints keep running.

Example:
  S3JOBS_PROFILE_DEFAULT_ACCESS_KEY=AKIA... S3JOBS_PROFILE_DEFAULT_SECRET_KEY=... \\
    s3jobs worker --concurrency 8 --rate-limit 500

Stopping: the first SIGTERM/SIGINT stops taking jobs and gives running ones the shutdown grace to
finish; those still running are then aborted and requeued (no attempt used). A second signal aborts
them at once.

Exit codes:
  0  clean shutdown
  1  runtime failure (see the log)
  2  bad usage or configuration: the message names the flag or setting
  3  Redis unreachable at start-up for --redis-startup-timeout-ms (the message names the URL)
`;

class UsageError extends ValidationError {}

const BYTES = /^(\d[\d_]*)\s*(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)?$/i;
const UNITS: Record<string, number> = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12 };

function parseValue(kind: Kind, flag: string, raw: string): string | number {
  if (kind === 'string') return raw;
  if (kind === 'int') {
    const n = Number(raw.replace(/_/g, ''));
    if (raw.trim() === '' || !Number.isInteger(n)) throw new UsageError(`--${flag}`, `"${raw}" is not an integer`);
    return n;
  }
  const m = BYTES.exec(raw.trim());
  if (m === null) throw new UsageError(`--${flag}`, `"${raw}" is not a size; give bytes (1073741824) or a unit (512MiB, 1GiB)`);
  const n = Number(m[1]!.replace(/_/g, '')) * UNITS[(m[2] ?? 'b').toLowerCase()]!;
  if (!Number.isSafeInteger(n)) throw new UsageError(`--${flag}`, `"${raw}" is too large`);
  return n;
}

/** Parses the flags into config overrides (or `help`). Pure; throws UsageError naming the flag. */
export function parseWorkerArgs(argv: readonly string[]): { help: true } | { help: false; overrides: ConfigOverrides } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { help: { type: 'boolean', short: 'h' }, ...Object.fromEntries(FLAGS.map((f) => [f.flag, { type: 'string' as const }])) },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError('arguments', message);
  }
  if (parsed.values.help === true) return { help: true };
  if (parsed.positionals.length > 0) throw new UsageError(parsed.positionals[0]!, 'unexpected argument; s3jobs worker takes only options');
  const overrides: Record<string, unknown> = {};
  const worker: Record<string, unknown> = {};
  for (const f of FLAGS) {
    const raw = parsed.values[f.flag];
    if (typeof raw !== 'string') continue;
    const value = parseValue(f.kind, f.flag, raw);
    if (f.setting.startsWith('worker.')) worker[f.setting.slice('worker.'.length)] = value;
    else overrides[f.setting] = value;
  }
  if (Object.keys(worker).length > 0) overrides.worker = worker;
  return { help: false, overrides: overrides as ConfigOverrides };
}

/** `worker.concurrency` → `worker.concurrency (--concurrency, env S3JOBS_CONCURRENCY)`. */
function describeSetting(field: string): string {
  const f = FLAGS.find((x) => x.setting === field);
  return f === undefined ? field : `${field} (--${f.flag}, env ${f.env})`;
}

function configError(err: unknown): string | undefined {
  if (err instanceof ValidationError && err.code === ErrorCodes.InvalidConfig) {
    const problem = err.message.startsWith(`${err.field}: `) ? err.message.slice(err.field.length + 2) : err.message;
    return `invalid configuration: ${describeSetting(err.field)}: ${problem}`;
  }
  if (isS3JobsError(err) && err.code === ErrorCodes.InvalidConfig) return `invalid configuration: ${err.message}`;
  return undefined;
}

function noProfiles(config: S3JobsConfig): boolean {
  return Object.keys(config.profiles).length === 0;
}

/** Runs `s3jobs worker` with `argv` (the arguments after `worker`); resolves with the exit code. */
export async function runWorkerCommand(argv: string[], io: CommandIO = defaultIO): Promise<number> {
  let config: S3JobsConfig;
  try {
    const args = parseWorkerArgs(argv);
    if (args.help) {
      io.stdout(WORKER_HELP);
      return WorkerExitCode.Ok;
    }
    config = loadConfig(io.env, args.overrides);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`s3jobs worker: ${err.message}\nRun "s3jobs worker --help" for usage.\n`);
      return WorkerExitCode.Usage;
    }
    const message = configError(err);
    if (message !== undefined) {
      io.stderr(`s3jobs worker: ${message}\n`);
      return WorkerExitCode.Usage;
    }
    io.stderr(`s3jobs worker: ${(err as Error).message}\n`);
    return WorkerExitCode.Failed;
  }
  if (noProfiles(config)) {
    io.stderr(
      's3jobs worker: invalid configuration: profiles: no connection profile is configured, so every job would fail. ' +
        'Set S3JOBS_PROFILE_<NAME>_ACCESS_KEY and S3JOBS_PROFILE_<NAME>_SECRET_KEY (and _ENDPOINT for S3-compatible stores), ' +
        'or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for profile "default".\n',
    );
    return WorkerExitCode.Usage;
  }

  const logger = createLogger({ level: config.logLevel });
  let handle;
  try {
    handle = startWorker({ config, logger });
  } catch (err) {
    logger.fatal({ err }, 'worker could not start');
    return WorkerExitCode.Failed;
  }
  const uninstall = installSignalHandlers(handle, { graceMs: config.worker.shutdownGraceMs, logger, forceExit: io.exit });
  try {
    let startupTimer: NodeJS.Timeout | undefined;
    const startupTimeoutMs = config.worker.redisStartupTimeoutMs;
    const timedOut = new Promise<'timeout'>((resolve) => {
      startupTimer = setTimeout(() => resolve('timeout'), startupTimeoutMs);
    });
    try {
      const started = await Promise.race([handle.ready, handle.closed, timedOut]);
      if (started === 'timeout') {
        // Without a bound, `ready` waits for Redis forever and the process looks alive but idle.
        const reason = handle.lastRedisError instanceof Error ? handle.lastRedisError.message : 'no answer';
        const message = `Redis unreachable at ${redactUrl(config.redisUrl)} for ${startupTimeoutMs} ms at start-up (${reason}); check --redis-url / REDIS_URL (S3JOBS_REDIS_STARTUP_TIMEOUT_MS sets the wait)`;
        logger.fatal({ redis: redactUrl(config.redisUrl), startupTimeoutMs, code: 'S3JOBS_REDIS_UNAVAILABLE' }, message);
        io.stderr(`s3jobs worker: ${message}\n`);
        // Nothing was taken, so nothing to record; BullMQ's close may still wait on a connection
        // that never became ready (a server that resets), so it gets a few seconds at most.
        await Promise.race([handle.close(0, { force: true }).catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 3_000).unref())]);
        return WorkerExitCode.RedisUnavailable;
      }
    } catch (err) {
      logger.fatal({ err }, 'worker failed to start');
      await handle.close(0).catch(() => undefined);
      return WorkerExitCode.Failed;
    } finally {
      clearTimeout(startupTimer);
    }
    await handle.closed;
    return handle.fatalError === undefined ? WorkerExitCode.Ok : WorkerExitCode.Failed;
  } finally {
    uninstall();
  }
}
