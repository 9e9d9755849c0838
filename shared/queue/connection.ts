import { Redis, type RedisOptions } from 'ioredis';

/**
 * Opens an ioredis connection for BullMQ. Workers and blocking consumers need
 * `maxRetriesPerRequest: null` (BullMQ requires it: a blocking command must not be cut short);
 * producers keep ioredis's default so a call fails instead of hanging while Redis is down.
 */
export function createRedisConnection(url: string, options: { blocking?: boolean } & RedisOptions = {}): Redis {
  const { blocking = false, ...rest } = options;
  return new Redis(url, {
    ...(blocking ? { maxRetriesPerRequest: null } : {}),
    enableReadyCheck: true,
    ...rest,
  });
}
