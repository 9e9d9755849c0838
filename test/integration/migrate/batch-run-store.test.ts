/**
 * The run store's batch operations against real Redis: `recordOutcomes` (one script call for many
 * objects) counts and reports each object once whatever repeats it is given — within one call,
 * across calls, and mixed with `recordOutcome` — keeps completed, changed, dead-lettered and
 * cancelled apart, and records nothing for a deleted run; `finishedSlots` reads the same bitmap.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { RunStore, type Outcome } from '../../../shared/runs/index.js';
import { createRedis, deleteKeysWithPrefix, uniqueQueueName } from '../../support/redis.js';

const redis = createRedis();
const prefix = `{tb${process.pid}}`;
afterAll(async () => {
  await deleteKeysWithPrefix(`${prefix}:`, redis);
  await redis.quit();
});

function store(): { store: RunStore; queue: string } {
  const queue = uniqueQueueName('batchruns');
  return { store: new RunStore(redis, prefix, queue), queue };
}

const completed = (slot: number, changed = true): { slot: number; outcome: Outcome } => ({ slot, outcome: { status: 'completed', bucket: 'b', key: `k${slot}`, changed, attempts: 1, etag: `"e${slot}"` } });
const dead = (slot: number): { slot: number; outcome: Outcome } => ({ slot, outcome: { status: 'dead-lettered', bucket: 'b', key: `k${slot}`, errorCode: 'NoSuchKey', message: 'gone', attempts: 2 } });
const cancelled = (slot: number): { slot: number; outcome: Outcome } => ({ slot, outcome: { status: 'cancelled', bucket: 'b', key: `k${slot}`, errorCode: 'RunStopped', message: 'run stopped: test', attempts: 0 } });

describe('RunStore.recordOutcomes / finishedSlots', () => {
  it('counts each object once: repeats in one call, across calls and against recordOutcome change nothing', async () => {
    const { store: s } = store();
    await s.createOrGet('r', 'metadata-migration', {}, 1_000);

    // Slot 0 twice in the same call: the first outcome wins.
    expect(await s.recordOutcomes('r', [completed(0), completed(1, false), dead(2), cancelled(3), dead(0)], 2_000)).toBe(4);
    expect(await s.get('r')).toMatchObject({ completed: 2, changed: 1, deadLettered: 1, cancelled: 1, updatedAt: 2_000 });
    expect((await s.readOutcomes('r')).rows).toEqual([
      'b,k0,completed,true,,,1,"""e0""",',
      'b,k1,completed,false,,,1,"""e1""",',
      'b,k2,dead-lettered,,NoSuchKey,gone,2,,',
      'b,k3,cancelled,,RunStopped,run stopped: test,0,,',
    ]);

    // Again, with one new object among the old ones (a batch attempt after a crash).
    expect(await s.recordOutcomes('r', [cancelled(0), completed(1), dead(2), completed(3), completed(4)], 3_000)).toBe(1);
    expect(await s.get('r')).toMatchObject({ completed: 3, changed: 2, deadLettered: 1, cancelled: 1, updatedAt: 3_000 });

    // Nothing new at all: nothing counted, nothing reported, not even the time touched.
    expect(await s.recordOutcomes('r', [dead(0), dead(1), dead(4)], 4_000)).toBe(0);
    expect(await s.get('r')).toMatchObject({ completed: 3, changed: 2, deadLettered: 1, cancelled: 1, updatedAt: 3_000 });

    // The single-object script and the batch one share the bitmap, both ways.
    expect(await s.recordOutcome('r', 4, dead(4).outcome)).toBe(false);
    expect(await s.recordOutcome('r', 5, dead(5).outcome)).toBe(true);
    expect(await s.recordOutcomes('r', [dead(5), completed(6)])).toBe(1);
    expect(await s.get('r')).toMatchObject({ completed: 4, changed: 3, deadLettered: 2, cancelled: 1 });

    const { rows } = await s.readOutcomes('r');
    expect(rows.map((row) => row.split(',')[1])).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6']);
    expect(await s.recordOutcomes('r', [])).toBe(0);

    // The one exception: a dead-lettered object that completes later (a DLQ retry) moves from
    // deadLettered to completed, once however often its completion is recorded.
    expect(await s.recordOutcomes('r', [completed(2), completed(2)])).toBe(1);
    expect(await s.recordOutcomes('r', [completed(2)])).toBe(0);
    expect(await s.get('r')).toMatchObject({ completed: 5, changed: 4, deadLettered: 1, cancelled: 1 });
  });

  it('a whole cancelled batch of 1,000 objects, half already finished, counts the other half', async () => {
    const { store: s } = store();
    await s.createOrGet('r', 'metadata-migration', {});
    const slots = Array.from({ length: 1000 }, (_, i) => 7_000 + i);
    expect(await s.recordOutcomes('r', slots.filter((slot) => slot % 2 === 0).map((slot) => completed(slot)))).toBe(500);
    expect(await s.recordOutcomes('r', slots.map(cancelled))).toBe(500);
    expect(await s.get('r')).toMatchObject({ completed: 500, changed: 500, cancelled: 500, deadLettered: 0 });
    expect(await s.outcomesPending('r')).toBe(1000);
    expect((await s.finishedSlots('r', slots)).every(Boolean)).toBe(true);
  });

  it('finishedSlots reads the bitmap per slot, in the order asked, across pages', async () => {
    const { store: s } = store();
    await s.createOrGet('r', 'metadata-migration', {});
    await s.recordOutcomes('r', [completed(RunStore.slot(0, 3)), dead(RunStore.slot(2, 999)), cancelled(RunStore.slot(5, 0))]);
    expect(await s.finishedSlots('r', [5000, 0, 3, 2999, 2998, 3, 1_000_000])).toEqual([true, false, true, true, false, true, false]);
    expect(await s.finishedSlots('r', [])).toEqual([]);
    // The same bits as the one-GETRANGE page read.
    const page2 = await s.finishedInPage('r', 2, 1000);
    expect(page2.flatMap((b, i) => (b ? [i] : []))).toEqual([999]);
    // A run with no outcome yet (no bitmap): nothing finished.
    const { store: other } = store();
    await other.createOrGet('fresh', 'metadata-migration', {});
    expect(await other.finishedSlots('fresh', [0, 1])).toEqual([false, false]);
  });

  it('records nothing for a deleted run, and leaves no key behind', async () => {
    const { store: s, queue } = store();
    await s.createOrGet('r', 'metadata-migration', {});
    expect(await s.recordOutcomes('r', [completed(0)])).toBe(1);
    await s.delete('r');
    expect(await s.recordOutcomes('r', [completed(1), dead(2), cancelled(3)])).toBe(0);
    expect(await s.get('r')).toBeUndefined();
    expect(await s.finishedSlots('r', [0, 1, 2, 3])).toEqual([false, false, false, false]);
    expect(await redis.keys(`${prefix}:${queue}:run:r*`)).toEqual([]);
    // A run never created is the same.
    expect(await s.recordOutcomes('never', [completed(0)])).toBe(0);
    expect(await redis.keys(`${prefix}:${queue}:run:never*`)).toEqual([]);
  });
});
