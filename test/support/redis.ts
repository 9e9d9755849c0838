/**
 * Redis for integration tests. Test files run in parallel against one Redis, so every test uses its
 * own queue names and cleans up only its own keys (SCAN + UNLINK on its prefix) — never FLUSHALL.
 *
 * Use:
 *   const queues = queueJanitor();            // in the test file
 *   afterAll(() => queues.cleanup());
 *   const name = queues.name('copy');         // unique queue name, keys removed by cleanup()
 */
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** BullMQ's default key prefix (`bull:<queue>:...`). */
export const BULLMQ_DEFAULT_PREFIX = 'bull';

/** `REDIS_URL`, default redis://127.0.0.1:6379. */
export function redisUrl(): string {
  return process.env.REDIS_URL?.trim() || DEFAULT_REDIS_URL;
}

/**
 * A new ioredis connection to `redisUrl()`. `maxRetriesPerRequest: null` is what BullMQ workers
 * require; pass other options to override. The caller must `quit()` it.
 */
export function createRedis(options: RedisOptions = {}): Redis {
  return new Redis(redisUrl(), { maxRetriesPerRequest: null, ...options });
}

let queueCounter = 0;

/** A queue name unique per test: `<prefix>-<pid>-<counter>-<random>` (no `:` or glob characters). */
export function uniqueQueueName(prefix = 'q'): string {
  queueCounter += 1;
  const clean = prefix.replace(/[^A-Za-z0-9_-]+/g, '-') || 'q';
  return `${clean}-${process.pid.toString(36)}-${queueCounter.toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Escape Redis glob characters so a literal string can be used in `SCAN MATCH`. */
export function escapeGlob(literal: string): string {
  return literal.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * Delete every key whose name starts with `keyPrefix` (SCAN + UNLINK, in batches).
 * Returns how many keys were removed. Refuses an empty prefix.
 */
export async function deleteKeysWithPrefix(keyPrefix: string, redis?: Redis): Promise<number> {
  if (keyPrefix === '') throw new Error('deleteKeysWithPrefix: refusing an empty prefix');
  const connection = redis ?? createRedis({ maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    let removed = 0;
    const match = `${escapeGlob(keyPrefix)}*`;
    do {
      const [next, keys] = await connection.scan(cursor, 'MATCH', match, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) removed += await connection.unlink(...keys);
    } while (cursor !== '0');
    return removed;
  } finally {
    if (!redis) await connection.quit();
  }
}

/**
 * Delete all keys of one BullMQ queue: `<bullPrefix>:<queueName>:*` (and the bare
 * `<bullPrefix>:<queueName>` key if present). `bullPrefix` defaults to BullMQ's `bull`.
 */
export async function deleteQueueKeys(
  queueName: string,
  options: { bullPrefix?: string; redis?: Redis } = {},
): Promise<number> {
  if (queueName === '') throw new Error('deleteQueueKeys: empty queue name');
  const base = `${options.bullPrefix ?? BULLMQ_DEFAULT_PREFIX}:${queueName}`;
  const connection = options.redis ?? createRedis({ maxRetriesPerRequest: 1 });
  try {
    const bare = await connection.unlink(base);
    return bare + (await deleteKeysWithPrefix(`${base}:`, connection));
  } finally {
    if (!options.redis) await connection.quit();
  }
}

export interface QueueJanitor {
  /** A unique queue name whose keys `cleanup()` will delete. */
  name(prefix?: string): string;
  /** Delete the keys of every queue named so far. Safe to call more than once. */
  cleanup(): Promise<void>;
}

/** Hands out unique queue names and deletes their keys afterwards (call `cleanup` in afterAll/afterEach). */
export function queueJanitor(options: { bullPrefix?: string } = {}): QueueJanitor {
  const names = new Set<string>();
  return {
    name(prefix) {
      const queueName = uniqueQueueName(prefix);
      names.add(queueName);
      return queueName;
    },
    async cleanup() {
      if (names.size === 0) return;
      const redis = createRedis({ maxRetriesPerRequest: 1 });
      try {
        for (const queueName of names) {
          await deleteQueueKeys(queueName, { redis, ...options });
        }
        names.clear();
      } finally {
        await redis.quit();
      }
    },
  };
}

/** The URL with any password replaced by `***`, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable REDIS_URL)';
  }
}

/**
 * PING Redis once, failing fast (no reconnect loop) with a message that says what to do.
 * Used by the vitest globalSetup before any test starts.
 */
export async function assertRedisAnswers(url = redisUrl(), timeoutMs = 3000): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // connect() only says "Connection is closed."; the socket error itself arrives here.
  let socketError: Error | undefined;
  redis.on('error', (err: Error) => {
    socketError ??= err;
  });
  try {
    await redis.connect();
    const answer = await redis.ping();
    if (answer !== 'PONG') throw new Error(`PING answered ${answer}`);
  } catch (err) {
    const reason = socketError?.message ?? (err instanceof Error ? err.message : String(err));
    throw new Error(
      `Redis does not answer at ${redactUrl(url)} (${reason}). Start one (e.g. \`redis-server --port 6379\`) ` +
        'or set REDIS_URL.',
    );
  } finally {
    redis.disconnect();
  }
}
