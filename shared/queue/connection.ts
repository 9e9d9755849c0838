/**
 * Redis connections: the one place s3jobs opens them. A `redis://` / `rediss://` URL gives an
 * ioredis `Redis`; a `redis+cluster://` / `rediss+cluster://` URL (see `redis-url.ts`) gives an
 * ioredis `Cluster`. Both go to BullMQ (Queue, Worker, QueueEvents take either) and to the run
 * store; code that needs a second connection calls `duplicateConnection`, because the two
 * classes duplicate differently.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { parseRedisUrl } from './redis-url.js';

/** What `createRedisConnection` returns: a standalone connection or a cluster client. */
export type RedisConnection = Redis | Cluster;

export interface RedisConnectionOptions extends RedisOptions {
  /**
   * For workers and blocking consumers: `maxRetriesPerRequest: null` (BullMQ requires it: a
   * blocking command must not be cut short). Default false: producers keep ioredis's default, so a
   * call fails instead of hanging while Redis is down.
   */
  blocking?: boolean | undefined;
}

/** True for an ioredis `Cluster` (checked by its `isCluster` flag, so it holds across ioredis copies). */
export function isClusterConnection(connection: RedisConnection): connection is Cluster {
  return (connection as { isCluster?: unknown }).isCluster === true;
}

/**
 * Opens an ioredis connection for BullMQ. `options` are ioredis `RedisOptions`; for a cluster they
 * apply to every node, except the client-wide ones, which go where `Cluster` reads them:
 * `lazyConnect`, `enableOfflineQueue`, `enableReadyCheck` (wait for `cluster_state:ok`) and
 * `retryStrategy` (as `clusterRetryStrategy`: when to reconnect the whole client).
 */
export function createRedisConnection(url: string, options: RedisConnectionOptions = {}): RedisConnection {
  const { blocking = false, ...rest } = options;
  const blockingOptions = blocking ? { maxRetriesPerRequest: null } : {};
  const target = parseRedisUrl(url);
  if (target.mode === 'standalone') return new Redis(url, { ...blockingOptions, enableReadyCheck: true, ...rest });

  const { lazyConnect, enableOfflineQueue, enableReadyCheck = true, retryStrategy, host: _host, port: _port, path: _path, sentinels: _sentinels, readOnly: _readOnly, ...perNode } = rest;
  const clusterOptions: ClusterOptions = {
    enableReadyCheck,
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(retryStrategy === undefined ? {} : { clusterRetryStrategy: retryStrategy }),
    redisOptions: {
      ...(target.username === undefined ? {} : { username: target.username }),
      ...(target.password === undefined ? {} : { password: target.password }),
      ...(target.tls ? { tls: {} } : {}),
      ...blockingOptions,
      ...perNode,
    },
    // With TLS, keep the seed host names as given (certificates name hosts, not the addresses
    // they resolve to); ioredis's advice for managed clusters such as ElastiCache.
    ...(target.tls ? { dnsLookup: (address: string, callback: (err: Error | null, address: string) => void) => callback(null, address) } : {}),
  };
  return new Cluster(target.nodes, clusterOptions);
}

/**
 * A new connection to the same Redis with the same options (blocking ones with
 * `maxRetriesPerRequest: null`). `Redis.duplicate(options)` and `Cluster.duplicate(nodes,
 * options)` differ: a cluster's per-node options live under `redisOptions`.
 */
export function duplicateConnection(connection: RedisConnection, options: { blocking?: boolean } = {}): RedisConnection {
  const blockingOptions = options.blocking === true ? { maxRetriesPerRequest: null } : {};
  if (isClusterConnection(connection)) return connection.duplicate([], { redisOptions: { ...connection.options.redisOptions, ...blockingOptions } });
  return connection.duplicate(blockingOptions);
}

/**
 * Replaces the reconnect policy of an open connection (read by ioredis at each reconnect, and
 * copied by `duplicateConnection`): `retryStrategy` of a `Redis`, `clusterRetryStrategy` of a `Cluster`.
 */
export function setRetryStrategy(connection: RedisConnection, strategy: (times: number) => number | null): void {
  if (isClusterConnection(connection)) connection.options.clusterRetryStrategy = strategy;
  else connection.options.retryStrategy = strategy;
}
