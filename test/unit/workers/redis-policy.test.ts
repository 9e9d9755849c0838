import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../shared/log/logger.js';
import { checkEvictionPolicy } from '../../../workers/redis-policy.js';

function capture(): { logger: ReturnType<typeof createLogger>; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as { level: number; msg: string });
      done();
    },
  });
  return { logger: createLogger({ level: 'debug' }, sink), lines };
}

const redisAnswering = (answer: () => Promise<unknown>) => ({ config: answer }) as unknown as Redis;

describe('checkEvictionPolicy', () => {
  it('warns when Redis may evict job keys', async () => {
    const { logger, lines } = capture();
    expect(await checkEvictionPolicy(redisAnswering(async () => ['maxmemory-policy', 'allkeys-lru']), logger)).toBe('allkeys-lru');
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, maxmemoryPolicy: 'allkeys-lru' });
    expect(lines[0]!.msg).toContain('Set it to "noeviction"');
  });

  it('is quiet with noeviction, and only notes (debug) a Redis that hides its CONFIG', async () => {
    const { logger, lines } = capture();
    expect(await checkEvictionPolicy(redisAnswering(async () => ['maxmemory-policy', 'noeviction']), logger)).toBe('noeviction');
    expect(await checkEvictionPolicy(redisAnswering(async () => Promise.reject(new Error("ERR unknown command 'CONFIG'"))), logger)).toBeUndefined();
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l.level)).toEqual([20]);
  });
});
