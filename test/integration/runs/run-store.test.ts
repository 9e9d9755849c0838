import { afterAll, describe, expect, it } from 'vitest';
import { RunStore, REPORT_HEADER, csvField, outcomeRow } from '../../../shared/runs/index.js';
import { createRedis, deleteKeysWithPrefix, uniqueQueueName } from '../../support/redis.js';

const redis = createRedis();
const prefix = `{t${process.pid}}`;
afterAll(async () => {
  await deleteKeysWithPrefix(`${prefix}:`, redis);
  await redis.quit();
});

describe('RunStore', () => {
  it('creates a run once and resumes it by id', async () => {
    const store = new RunStore(redis, prefix, uniqueQueueName('runs'));
    const first = await store.createOrGet('mig-1', 'metadata-migration', { bucket: 'b', prefix: 'p/' });
    expect(first.created).toBe(true);
    expect(first.run).toMatchObject({ id: 'mig-1', state: 'listing', nextPage: 0, listed: 0, spec: { bucket: 'b', prefix: 'p/' } });
    const again = await store.createOrGet('mig-1', 'metadata-migration', { other: true });
    expect(again.created).toBe(false);
    expect(again.run.spec).toEqual({ bucket: 'b', prefix: 'p/' });
    expect((await store.list()).map((r) => r.id)).toEqual(['mig-1']);
  });

  it('moves counters and cursor together, and marks the end of the listing', async () => {
    const store = new RunStore(redis, prefix, uniqueQueueName('runs'));
    await store.createOrGet('r', 'k', {});
    await store.pageEnqueued('r', { listed: 1000, matched: 900, enqueued: 900, nextCursor: 'token-1', nextPage: 1 });
    expect(await store.get('r')).toMatchObject({ listed: 1000, matched: 900, enqueued: 900, cursor: 'token-1', nextPage: 1, state: 'listing' });
    await store.pageEnqueued('r', { listed: 10, matched: 10, enqueued: 10, nextCursor: undefined, nextPage: 2 });
    expect(await store.get('r')).toMatchObject({ listed: 1010, cursor: undefined, nextPage: 2, state: 'draining' });
  });

  it('counts each object once however often its outcome is recorded', async () => {
    const store = new RunStore(redis, prefix, uniqueQueueName('runs'));
    await store.createOrGet('r', 'k', {});
    const ok = { status: 'completed' as const, bucket: 'b', key: 'a', changed: true, attempts: 1, etag: '"e"' };
    expect(await store.recordOutcome('r', RunStore.slot(0, 0), ok)).toBe(true);
    expect(await store.recordOutcome('r', RunStore.slot(0, 0), ok)).toBe(false);
    expect(await store.recordOutcome('r', RunStore.slot(0, 1), { ...ok, key: 'b', changed: false })).toBe(true);
    expect(await store.recordOutcome('r', RunStore.slot(1, 0), { status: 'dead-lettered', bucket: 'b', key: 'c', errorCode: 'AccessDenied', message: 'no, "really"', attempts: 1 })).toBe(true);
    expect(await store.get('r')).toMatchObject({ completed: 2, changed: 1, deadLettered: 1 });
    expect(await store.finishedInPage('r', 0, 3)).toEqual([true, true, false]);
    const { ids, rows } = await store.readOutcomes('r');
    expect(rows).toEqual(['b,a,completed,true,,,1,"""e"""', 'b,b,completed,false,,,1,"""e"""', 'b,c,dead-lettered,,AccessDenied,"no, ""really""",1,']);
    await store.ackOutcomes('r', ids);
    expect((await store.readOutcomes('r')).rows).toEqual([]);
  });

  it('refuses bad run ids and deletes everything of a run', async () => {
    const store = new RunStore(redis, prefix, uniqueQueueName('runs'));
    await expect(store.createOrGet('bad id', 'k', {})).rejects.toMatchObject({ field: 'runId' });
    await store.createOrGet('gone', 'k', {});
    await store.recordOutcome('gone', 0, { status: 'completed', bucket: 'b', key: 'k', attempts: 1 });
    await store.delete('gone');
    expect(await store.get('gone')).toBeUndefined();
    expect(await store.list()).toEqual([]);
  });
});

describe('CSV rows', () => {
  it('quotes only what needs quoting', () => {
    expect(REPORT_HEADER.split(',')).toHaveLength(8);
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(outcomeRow({ status: 'completed', bucket: 'b', key: 'k', attempts: 2 })).toBe('b,k,completed,,,,2,');
  });
});
