import type { Redis } from 'ioredis';
import type { Logger } from '../shared/log/logger.js';
import { isClusterConnection, type RedisConnection } from '../shared/queue/connection.js';

/**
 * Warns when Redis may evict keys: with any `maxmemory-policy` but `noeviction`, a Redis under
 * memory pressure silently deletes job keys — jobs lost without a trace, the one thing s3jobs
 * promises never happens. Managed services that disable CONFIG are reported at debug level.
 * Returns the policy (on a cluster: the first master's that is not `noeviction`, else
 * `noeviction`), or undefined when it could not be read.
 */
export async function checkEvictionPolicy(redis: RedisConnection, logger: Logger): Promise<string | undefined> {
  // Each master of a cluster has its own setting; the queue's slot is on one of them (and may move).
  const nodes: Redis[] = isClusterConnection(redis) ? redis.nodes('master') : [redis];
  let policy: string | undefined;
  try {
    for (const node of nodes) {
      const answer = (await node.config('GET', 'maxmemory-policy')) as unknown;
      if (Array.isArray(answer) && typeof answer[1] === 'string' && (policy === undefined || policy === 'noeviction')) policy = answer[1];
    }
  } catch (err) {
    logger.debug({ err }, 'could not read Redis maxmemory-policy (CONFIG disabled?); make sure it is "noeviction"');
    return undefined;
  }
  if (policy !== undefined && policy !== 'noeviction')
    logger.warn({ maxmemoryPolicy: policy }, `Redis maxmemory-policy is "${policy}": under memory pressure Redis may evict job keys and lose jobs. Set it to "noeviction".`);
  return policy;
}
