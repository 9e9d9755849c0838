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
    // The last column, version_id, is empty: these tasks named no version.
    expect(rows).toEqual(['b,a,completed,true,,,1,"""e""",', 'b,b,completed,false,,,1,"""e""",', 'b,c,dead-lettered,,AccessDenied,"no, ""really""",1,,']);
    expect(await store.recordOutcome('r', RunStore.slot(1, 1), { ...ok, key: 'v', versionId: '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY' })).toBe(true);
    expect((await store.readOutcomes('r')).rows.at(-1)).toBe('b,v,completed,true,,,1,"""e""",3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY');
    const more = await store.readOutcomes('r');
    await store.ackOutcomes('r', [...ids, ...more.ids]);
    expect((await store.readOutcomes('r')).rows).toEqual([]);
  });

  it('a dead-lettered object that completes later moves from deadLettered to completed once, with a revising row', async () => {
    const store = new RunStore(redis, prefix, uniqueQueueName('runs'));
    await store.createOrGet('r', 'k', {});
    await store.pageEnqueued('r', { listed: 2, matched: 2, enqueued: 2, nextCursor: undefined, nextPage: 1 });
    const dead = { status: 'dead-lettered' as const, bucket: 'b', key: 'x', errorCode: 'NoSuchKey', message: 'gone', attempts: 1 };
    const ok = { status: 'completed' as const, bucket: 'b', key: 'x', changed: true, attempts: 1, etag: '"e2"' };
    expect(await store.recordOutcome('r', 0, { ...ok, key: 'y' })).toBe(true);
    expect(await store.recordOutcome('r', 1, dead)).toBe(true);
    // A second dead letter of the same object (it failed again after a retry) changes nothing.
    expect(await store.recordOutcome('r', 1, { ...dead, attempts: 3 })).toBe(false);
    expect(await store.get('r')).toMatchObject({ completed: 1, changed: 1, deadLettered: 1, state: 'completed' });
    expect(await store.recordOutcome('r', 1, ok)).toBe(true);
    // The retried job run twice (a crash after recording): counted once.
    expect(await store.recordOutcome('r', 1, ok)).toBe(false);
    expect(await store.recordOutcome('r', 1, dead)).toBe(false);
    expect(await store.get('r')).toMatchObject({ completed: 2, changed: 2, deadLettered: 0 });
    const { rows, revises } = await store.readOutcomes('r');
    expect(rows).toEqual(['b,y,completed,true,,,1,"""e2""",', 'b,x,dead-lettered,,NoSuchKey,gone,1,,', 'b,x,completed,true,,,1,"""e2""",']);
    expect(revises).toEqual([false, false, true]);
    // A completed or cancelled object is never revised.
    expect(await store.recordOutcome('r', 0, { ...ok, key: 'y', changed: false })).toBe(false);
  });

  it('a draining run becomes completed with its last outcome, or at the end of its listing if they are all in', async () => {
    const store = new RunStore(redis, prefix, uniqueQueueName('runs'));
    await store.createOrGet('r', 'k', {});
    await store.pageEnqueued('r', { listed: 3, matched: 3, enqueued: 3, nextCursor: 'c', nextPage: 1 });
    await store.recordOutcome('r', 0, { status: 'completed', bucket: 'b', key: 'a', attempts: 1 });
    await store.pageEnqueued('r', { listed: 0, matched: 0, enqueued: 0, nextCursor: undefined, nextPage: 1 });
    expect(await store.get('r')).toMatchObject({ state: 'draining', finishedAt: undefined });
    await store.recordOutcome('r', 1, { status: 'cancelled', bucket: 'b', key: 'b', attempts: 0 });
    expect((await store.get('r'))!.state).toBe('draining');
    await store.recordOutcome('r', 2, { status: 'dead-lettered', bucket: 'b', key: 'c', attempts: 1 });
    const done = (await store.get('r'))!;
    expect(done).toMatchObject({ state: 'completed', completed: 1, cancelled: 1, deadLettered: 1 });
    expect(done.finishedAt).toBeGreaterThan(0);

    // Every outcome in while still listing: the last page's record settles it.
    await store.createOrGet('s', 'k', {});
    await store.pageEnqueued('s', { listed: 1, matched: 1, enqueued: 1, nextCursor: 'c', nextPage: 1 });
    await store.recordOutcome('s', 0, { status: 'completed', bucket: 'b', key: 'a', attempts: 1 });
    expect((await store.get('s'))!.state).toBe('listing');
    await store.pageEnqueued('s', { listed: 0, matched: 0, enqueued: 0, nextCursor: undefined, nextPage: 1 });
    expect((await store.get('s'))!.state).toBe('completed');

    // A stopped run stays stopped.
    await store.createOrGet('t', 'k', {});
    await store.pageEnqueued('t', { listed: 2, matched: 2, enqueued: 2, nextCursor: undefined, nextPage: 1 });
    await store.setState('t', 'stopped', 'operator');
    await store.recordOutcome('t', 0, { status: 'completed', bucket: 'b', key: 'a', attempts: 1 });
    await store.recordOutcome('t', 1, { status: 'completed', bucket: 'b', key: 'b', attempts: 1 });
    expect((await store.get('t'))!.state).toBe('stopped');
  });

  it('keeps a run window and rate; a field not given keeps its value', async () => {
    const store = new RunStore(redis, prefix, uniqueQueueName('runs'));
    await store.createOrGet('r', 'k', {});
    expect(await store.get('r')).toMatchObject({ window: undefined, ratePerSecond: undefined });
    await store.setPacing('r', { window: 50, ratePerSecond: 0.5 });
    await store.setPacing('r', { window: undefined, ratePerSecond: 20 });
    expect(await store.get('r')).toMatchObject({ window: 50, ratePerSecond: 20 });
  });

  it('remembers the source and copy ETags of a synced object per destination bucket', async () => {
    const store = new RunStore(redis, prefix, uniqueQueueName('runs'));
    await store.recordSyncedCopy('dst', 'a/b', 'abc-2', 'def');
    expect(await store.syncedCopies('dst', ['a/b', 'other'])).toEqual([{ sourceEtag: 'abc-2', copyEtag: 'def' }, undefined]);
    expect(await store.syncedCopies('elsewhere', ['a/b'])).toEqual([undefined]);
    expect(await store.syncedCopies('dst', [])).toEqual([]);
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
    expect(REPORT_HEADER.split(',')).toHaveLength(9);
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(outcomeRow({ status: 'completed', bucket: 'b', key: 'k', attempts: 2 })).toBe('b,k,completed,,,,2,,');
  });
});
