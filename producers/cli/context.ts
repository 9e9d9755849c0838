/**
 * The CLI's edge: where configuration is loaded, Redis is connected and output is written. Commands
 * get a `CliIo` (so tests can capture output) and run their work inside `withProducer`.
 */
import { ErrorCodes, S3JobsError, ValidationError } from '../../shared/errors.js';
import { loadConfig, redactUrl, type S3JobsConfig } from '../../shared/config/config.js';
import { scrubSecrets } from '../../shared/log/scrub-secrets.js';
import { createRedisConnection, setRetryStrategy, type RedisConnection } from '../../shared/queue/connection.js';
import { S3JobsProducer } from '../producer.js';
import { flagForConfigField, type GlobalOptions } from './args.js';
import { exitCodeFor, isRedisUnavailable, RedisUnavailableError, UsageError } from './exit-codes.js';
import type { CliIo } from './io.js';

export { processIo, type CliIo } from './io.js';

/** How long the CLI waits for Redis to accept a connection before exiting with code 3. */
const CONNECT_TIMEOUT_MS = 5_000;

/** The effective configuration: env (and S3JOBS_CONFIG) overridden by the global flags. */
export function loadCliConfig(globals: GlobalOptions, io: CliIo): S3JobsConfig {
  try {
    return loadConfig(io.env, globals.overrides);
  } catch (err) {
    if (err instanceof ValidationError) {
      const flag = flagForConfigField(err.field, globals.overrides);
      if (flag !== undefined) throw new UsageError(flag, err.message.slice(err.field.length + 2));
      // Exit 2 like any validation error (by its code), with the setting's name in the message.
      throw new S3JobsError(ErrorCodes.InvalidConfig, `invalid configuration: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/**
 * Connects to Redis failing fast: no reconnect attempts until the first connection is made, then
 * RedisUnavailableError naming the URL (password masked) and the socket error. Once connected, a
 * few reconnects ride out a blip (a long `--wait`); after that commands fail instead of queueing.
 */
export async function connectRedis(url: string): Promise<RedisConnection> {
  const redis = createRedisConnection(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  // `connect()` rejects with "Connection is closed."; the socket's own error comes as an event.
  let socketError: Error | undefined;
  redis.on('error', (err: Error) => {
    socketError ??= err;
  });
  // ioredis's connectTimeout ends at the TCP handshake: a server that accepts and never answers
  // (a frozen Redis) would hold the ready check forever. The whole connect gets the same bound.
  let connectTimer: NodeJS.Timeout | undefined;
  const noAnswer = new Promise<never>((_, reject) => {
    connectTimer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
  });
  try {
    await Promise.race([redis.connect(), noAnswer]);
    clearTimeout(connectTimer);
  } catch (err) {
    clearTimeout(connectTimer);
    if (err instanceof Error && err.message.startsWith('no answer within')) socketError ??= err;
    closeRedis(redis);
    const reason = socketError?.message ?? (err instanceof Error ? err.message : String(err));
    throw new RedisUnavailableError(`Redis is unreachable at ${redactUrl(url)} (${reason}); check --redis-url / REDIS_URL`, err);
  }
  // Read by ioredis at each reconnect, and copied by `duplicate()` (the --wait event stream).
  setRetryStrategy(redis, (times) => (times > 5 ? null : Math.min(200 * times, 1_000)));
  return redis;
}

/**
 * Closes a connection without leaving a timer behind: ioredis's `disconnect()` on a connection
 * whose socket already closed arms a 2 s destroy timer that nothing clears (the CLI would linger).
 */
export function closeRedis(redis: RedisConnection): void {
  if (redis.status !== 'end') redis.disconnect();
}

/** Runs `fn` with a producer on the configured queue, always closing it. */
export async function withProducer<T>(config: S3JobsConfig, fn: (producer: S3JobsProducer) => Promise<T>): Promise<T> {
  const connection = await connectRedis(config.redisUrl);
  const producer = new S3JobsProducer({ connection, config });
  try {
    return await fn(producer);
  } catch (err) {
    if (isRedisUnavailable(err) && !(err instanceof RedisUnavailableError))
      throw new RedisUnavailableError(`lost Redis at ${redactUrl(config.redisUrl)} (${err instanceof Error ? err.message : String(err)})`, err);
    throw err;
  } finally {
    await producer.close().catch(() => undefined);
    closeRedis(connection);
  }
}

/** Pretty JSON plus a newline. */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

/** `2024-05-01T12:00:00.000Z`, or "-" for a missing time. */
export function isoTime(ms: number | undefined): string {
  return ms === undefined || !Number.isFinite(ms) ? '-' : new Date(ms).toISOString();
}

/**
 * Prints one line for an error on stderr and returns its exit code. The stack only with
 * S3JOBS_DEBUG=1; messages go through `scrubSecrets` (they never should hold any).
 */
export function reportError(err: unknown, command: string, io: CliIo): number {
  const message = err instanceof Error ? err.message : String(err);
  io.stderr(`s3jobs ${command}: ${scrubSecrets(message).replace(/\s*\n\s*/g, ' ')}\n`);
  if (io.env.S3JOBS_DEBUG === '1' && err instanceof Error && err.stack !== undefined) io.stderr(`${scrubSecrets(err.stack)}\n`);
  return exitCodeFor(err);
}

/** One sub-command: its name, a one-line summary, its `--help`, and how to run it. */
export interface CliCommand {
  name: string;
  summary: string;
  help: string;
  /** Returns the exit code; may throw (the dispatcher reports the error and maps its exit code). */
  run(argv: string[], io: CliIo): Promise<number>;
}
