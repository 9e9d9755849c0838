/**
 * The run store's pieces a resumable migration relies on, against real Redis: atomic creation,
 * saved pages counted once, the exact "which slots still need a job" read, the one-GETRANGE
 * bitmap read, cancelled outcomes, outcomes of deleted runs ignored, and the lease.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { RunStore, type PendingPage } from '../../../shared/runs/index.js';
import { createRedis, deleteKeysWithPrefix, uniqueQueueName } from '../../support/redis.js';

const redis = createRedis();
const prefix = `{tm${process.pid}}`;
afterAll(async () => {
  await deleteKeysWithPrefix(`${prefix}:`, redis);
  await redis.quit();
});

function store(): { store: RunStore; queue: string } {
  const queue = uniqueQueueName('runs');
  return { store: new RunStore(redis, prefix, queue), queue };
}

const ok = { status: 'completed' as const, bucket: 'b', key: 'k', changed: true, attempts: 1 };

describe('RunStore for migrations', () => {
  it('creates a run whole, with every counter, and records its report path', async () => {
    const { store: s } = store();
    const { run, created } = await s.createOrGet('r1', 'metadata-migration', { bucket: 'b' }, 1_000);
    expect(created).toBe(true);
    expect(run).toMatchObject({ listed: 0, matched: 0, enqueued: 0, completed: 0, changed: 0, deadLettered: 0, cancelled: 0, createdAt: 1_000, updatedAt: 1_000, report: undefined });
    await s.setReport('r1', '/tmp/r1.csv');
    expect((await s.get('r1'))?.report).toBe('/tmp/r1.csv');
    expect((await s.createOrGet('r1', 'metadata-migration', { bucket: 'other' })).created).toBe(false);
  });

  it('counts a saved page once, and clears it when the page is recorded', async () => {
    const { store: s } = store();
    await s.createOrGet('r', 'k', {});
    const page: PendingPage = { page: 0, listed: 5, nextCursor: 'next', items: [[0, 'a'], [3, 'd']] };
    await s.beginPage('r', page);
    expect(await s.pendingPage('r')).toEqual(page);
    expect(await s.get('r')).toMatchObject({ listed: 5, matched: 2, enqueued: 2, nextPage: 0, cursor: undefined });
    await s.pageEnqueued('r', { listed: 0, matched: 0, enqueued: 0, nextCursor: 'next', nextPage: 1 });
    expect(await s.pendingPage('r')).toBeUndefined();
    expect(await s.get('r')).toMatchObject({ listed: 5, matched: 2, enqueued: 2, nextPage: 1, cursor: 'next', state: 'listing' });
  });

  it('a slot needs a job only when its job is not queued and its object has no outcome', async () => {
    const { store: s } = store();
    await s.createOrGet('r', 'k', {});
    const jobKey = (slot: number) => `${prefix}:jobs:r-${slot}`;
    await redis.hset(jobKey(1), 'name', 'queued');
    await s.recordOutcome('r', 2, ok);
    expect(await s.slotsWithoutJob('r', [0, 1, 2], [jobKey(0), jobKey(1), jobKey(2)])).toEqual([true, false, false]);
    expect(await s.slotsWithoutJob('r', [], [])).toEqual([]);
    await redis.del(jobKey(1));
  });

  it('reads a page of the bitmap in one go, bits in SETBIT order', async () => {
    const { store: s } = store();
    await s.createOrGet('r', 'k', {});
    for (const slot of [RunStore.slot(1, 0), RunStore.slot(1, 7), RunStore.slot(1, 8), RunStore.slot(1, 999), RunStore.slot(2, 0)]) await s.recordOutcome('r', slot, ok);
    const bits = await s.finishedInPage('r', 1, 1000);
    expect(bits.flatMap((b, i) => (b ? [i] : []))).toEqual([0, 7, 8, 999]);
    expect(await s.finishedInPage('r', 5, 3)).toEqual([false, false, false]);
  });

  it('counts cancelled objects apart, and ignores outcomes of a deleted run', async () => {
    const { store: s, queue } = store();
    await s.createOrGet('r', 'k', {});
    expect(await s.recordOutcome('r', 0, { status: 'cancelled', bucket: 'b', key: 'a', errorCode: 'RunStopped', message: 'run stopped', attempts: 0 })).toBe(true);
    expect(await s.get('r')).toMatchObject({ cancelled: 1, completed: 0, deadLettered: 0 });
    expect((await s.readOutcomes('r')).rows).toEqual(['b,a,cancelled,,RunStopped,run stopped,0,,']);
    expect(await s.outcomesPending('r')).toBe(1);

    await s.delete('r');
    expect(await s.recordOutcome('r', 1, ok)).toBe(false);
    // Nothing of the run is left behind (an orphan hash would never be listed or deleted).
    expect(await redis.keys(`${prefix}:${queue}:run:r*`)).toEqual([]);
  });

  it('a lease has one holder; it is renewed by it, taken over from a named dead holder, and released', async () => {
    const { store: s } = store();
    expect(await s.acquireLease('r', 'a', 10_000)).toEqual({ acquired: true });
    const refused = await s.acquireLease('r', 'b', 10_000);
    expect(refused).toMatchObject({ acquired: false, holder: { owner: 'a' } });
    expect(refused.acquired === false && refused.holder.ttlMs).toBeGreaterThan(9_000);
    expect(await s.renewLease('r', 'a', 10_000)).toBe(true);
    expect(await s.renewLease('r', 'b', 10_000)).toBe(false);
    expect(await s.acquireLease('r', 'b', 10_000, 'someone-else')).toMatchObject({ acquired: false });
    expect(await s.acquireLease('r', 'b', 10_000, 'a')).toEqual({ acquired: true });
    expect((await s.leaseHolder('r'))?.owner).toBe('b');
    await s.releaseLease('r', 'a');
    expect((await s.leaseHolder('r'))?.owner).toBe('b');
    await s.releaseLease('r', 'b');
    expect(await s.leaseHolder('r')).toBeUndefined();
  });
});
