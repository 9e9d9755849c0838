import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertRedisAnswers,
  createRedis,
  deleteKeysWithPrefix,
  deleteQueueKeys,
  escapeGlob,
  queueJanitor,
  redactUrl,
  uniqueQueueName,
} from '../../support/redis.js';

describe('redis test helpers', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = createRedis();
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('makes unique queue names without ":" or glob characters', () => {
    const names = Array.from({ length: 500 }, () => uniqueQueueName('copy:*?[x]'));
    expect(new Set(names).size).toBe(500);
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('deletes only the keys of its own queue', async () => {
    const mine = uniqueQueueName('mine');
    const neighbour = `${mine}x`; // shares the prefix as a string, but is another queue
    await redis.set(`bull:${mine}:id`, '1');
    await redis.rpush(`bull:${mine}:wait`, 'a', 'b');
    await redis.hset(`bull:${mine}:1`, 'name', 'job');
    await redis.set(`bull:${neighbour}:id`, '1');
    try {
      expect(await deleteQueueKeys(mine, { redis })).toBe(3);
      expect(await redis.exists(`bull:${mine}:id`, `bull:${mine}:wait`, `bull:${mine}:1`)).toBe(0);
      expect(await redis.exists(`bull:${neighbour}:id`)).toBe(1);
    } finally {
      await redis.unlink(`bull:${neighbour}:id`);
    }
  });

  it('treats the prefix literally, not as a glob', async () => {
    const base = uniqueQueueName('glob');
    await redis.set(`${base}:*:literal`, '1');
    await redis.set(`${base}:other`, '1');
    try {
      expect(escapeGlob('a*b?[c]\\')).toBe('a\\*b\\?\\[c\\]\\\\');
      expect(await deleteKeysWithPrefix(`${base}:*`)).toBe(1);
      expect(await redis.exists(`${base}:other`)).toBe(1);
    } finally {
      await redis.unlink(`${base}:other`, `${base}:*:literal`);
    }
    await expect(deleteKeysWithPrefix('')).rejects.toThrow(/empty prefix/);
  });

  it('queueJanitor cleans up every queue it named, across SCAN batches', async () => {
    const janitor = queueJanitor();
    const a = janitor.name('a');
    const b = janitor.name('b');
    const many = Array.from({ length: 1200 }, (_, i) => [`bull:${a}:${i}`, 'v']).flat();
    await redis.mset(...many);
    await redis.set(`bull:${b}:meta`, 'v');
    await janitor.cleanup();
    expect(await redis.exists(`bull:${a}:0`, `bull:${a}:1199`, `bull:${b}:meta`)).toBe(0);
    await janitor.cleanup(); // idempotent
  });

  it('fails fast with a clear message when Redis does not answer, without leaking passwords', async () => {
    await expect(assertRedisAnswers('redis://:hunter2@127.0.0.1:1', 1000)).rejects.toThrow(
      /Redis does not answer at redis:\/\/:\*\*\*@127\.0\.0\.1:1/,
    );
    await expect(assertRedisAnswers('redis://:hunter2@127.0.0.1:1', 1000)).rejects.not.toThrow(/hunter2/);
    expect(redactUrl('redis://user:pw@h:1/0')).toBe('redis://user:***@h:1/0');
  });
});
