import type { Redis } from 'ioredis';
import type { Logger } from '../shared/log/logger.js';

/**
 * Warns when Redis may evict keys: with any `maxmemory-policy` but `noeviction`, a Redis under
 * memory pressure silently deletes job keys — jobs lost without a trace, the one thing s3jobs
 * promises never happens. Managed services that disable CONFIG are reported at debug level.
 * Returns the policy, or undefined when it could not be read.
 */
export async function checkEvictionPolicy(redis: Redis, logger: Logger): Promise<string | undefined> {
  let policy: string | undefined;
  try {
    const answer = (await redis.config('GET', 'maxmemory-policy')) as unknown;
    if (Array.isArray(answer) && typeof answer[1] === 'string') policy = answer[1];
  } catch (err) {
    logger.debug({ err }, 'could not read Redis maxmemory-policy (CONFIG disabled?); make sure it is "noeviction"');
    return undefined;
  }
  if (policy !== undefined && policy !== 'noeviction')
    logger.warn({ maxmemoryPolicy: policy }, `Redis maxmemory-policy is "${policy}": under memory pressure Redis may evict job keys and lose jobs. Set it to "noeviction".`);
  return policy;
}
