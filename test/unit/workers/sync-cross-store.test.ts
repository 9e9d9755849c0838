/** Sync between stores, the pure parts: orphans for `delete`, the id base, the recorded source ETag, the flags. */
import { describe, expect, it } from 'vitest';
import { parseScheduleArgs } from '../../../producers/cli/schedule.js';
import { parseSyncArgs } from '../../../producers/cli/sync.js';
import { validateJob, type SyncJob } from '../../../shared/jobs/index.js';
import type { ListedObject } from '../../../shared/s3/index.js';
import { copyJobFor } from '../../../workers/processors/sync.js';
import { isStreamedCopyOf } from '../../../workers/processors/sync-cross-store.js';
import { diffListings, syncBase } from '../../../workers/processors/sync-diff.js';
import { expectUsage } from '../producers/expect-usage.js';

const obj = (key: string, size = 1, etag = '"e"'): ListedObject => ({ key, size, etag, lastModified: undefined, storageClass: undefined });
async function* pages(list: ListedObject[][]): AsyncGenerator<readonly ListedObject[]> {
  for (const p of list) yield p;
}
async function* objects(list: ListedObject[]): AsyncGenerator<ListedObject> {
  for (const o of list) yield o;
}

describe('diffListings with orphans', () => {
  it('hands over every destination object without a source, including those after the source ends', async () => {
    const orphans: string[] = [];
    const decided: string[] = [];
    const source = [[obj('s/b'), obj('s/d')]];
    const destination = [obj('d/a'), obj('d/b'), obj('d/c'), obj('d/e'), obj('d/f')];
    for await (const page of diffListings(pages(source), objects(destination), { source: 's/', destination: 'd/' }, (o) => orphans.push(o.key))) decided.push(...page.map((d) => `${d.suffix}:${d.status}`));
    expect(decided).toEqual(['b:unchanged', 'd:missing']);
    expect(orphans).toEqual(['d/a', 'd/c', 'd/e', 'd/f']);
  });

  it('yields an empty page after every 1,000 trailing orphans (deleted page by page)', async () => {
    const destination = Array.from({ length: 2500 }, (_, i) => obj(`d/${String(i).padStart(5, '0')}`));
    const seen: number[] = [];
    let orphans = 0;
    for await (const page of diffListings(pages([]), objects(destination), { source: 's/', destination: 'd/' }, () => orphans++)) seen.push(page.length, orphans);
    expect(seen).toEqual([0, 1000, 0, 2000]);
    expect(orphans).toBe(2500);
  });

  it('without orphans, the destination is read only as far as the source goes', async () => {
    let read = 0;
    async function* counted(): AsyncGenerator<ListedObject> {
      for (const k of ['d/a', 'd/b', 'd/c', 'd/d']) {
        read++;
        yield obj(k);
      }
    }
    for await (const _ of diffListings(pages([[obj('s/a')]]), counted(), { source: 's/', destination: 'd/' })) void _;
    expect(read).toBeLessThanOrEqual(2);
  });
});

describe('sync between stores: jobs', () => {
  const job: SyncJob = { kind: 'sync', profile: 'backup', sourceProfile: 'onprem', source: { bucket: 'media', prefix: 'in/' }, destination: { bucket: 'media', prefix: 'in/' }, acl: 'private' };

  it('the same bucket and prefix under two profiles is not an overlap; under one it is', () => {
    expect(validateJob(job)).toMatchObject({ sourceProfile: 'onprem' });
    expect(() => validateJob({ ...job, sourceProfile: 'backup' })).toThrow(/destination\.prefix: source and destination overlap/);
  });

  it('copy jobs carry the source profile; the id base tells two source profiles apart and keeps old ids', () => {
    const decision = { status: 'missing' as const, suffix: 'a.jpg', source: obj('in/a.jpg'), destination: undefined };
    expect(copyJobFor(job, decision, undefined)).toMatchObject({ profile: 'backup', sourceProfile: 'onprem', source: { bucket: 'media', key: 'in/a.jpg' } });
    const { sourceProfile: _, ...sameStore } = job;
    expect(copyJobFor(sameStore, decision, undefined)).not.toHaveProperty('sourceProfile');
    expect(syncBase(job)).not.toBe(syncBase({ ...job, sourceProfile: 'other' }));
    expect(syncBase(sameStore)).toBe(syncBase({ ...sameStore, sourceProfile: undefined }));
  });

  it('a destination is the streamed copy of its source when its size and recorded source ETag match', () => {
    const src = obj('in/a', 10, '"ABCDEF0123456789abcdef0123456789-3"');
    expect(isStreamedCopyOf(src, obj('out/a', 10, '"x-2"'), { 's3jobs-source-etag': 'abcdef0123456789abcdef0123456789-3' })).toBe(true);
    expect(isStreamedCopyOf(src, obj('out/a', 11, '"x-2"'), { 's3jobs-source-etag': 'abcdef0123456789abcdef0123456789-3' })).toBe(false);
    expect(isStreamedCopyOf(src, obj('out/a', 10, '"x-2"'), { 's3jobs-source-etag': 'something-else' })).toBe(false);
    expect(isStreamedCopyOf(src, obj('out/a', 10, '"x-2"'), {})).toBe(false);
  });

  it('s3jobs sync --from-profile --delete --dry-run, and a dry run waits for its listing', () => {
    const parsed = parseSyncArgs(['--from-profile', 'onprem', 'media/in/', '--profile', 'backup', 'media-bak/in/', '--acl', 'private', '--delete', '--dry-run']);
    if (parsed.help) throw new Error('expected a request');
    expect(parsed.payload).toEqual({ kind: 'sync', profile: 'backup', sourceProfile: 'onprem', source: { bucket: 'media', prefix: 'in/' }, destination: { bucket: 'media-bak', prefix: 'in/' }, acl: 'private', delete: true, dryRun: true });
    expect(parsed.wait).toBeDefined();
    const plain = parseSyncArgs(['media/in/', 'media-bak/in/', '--acl', 'private']);
    if (plain.help) throw new Error('expected a request');
    expect(plain.payload).not.toHaveProperty('delete');
    expect(plain.wait).toBeUndefined();
    const scheduled = parseScheduleArgs(['add', 'nightly-offsite', '--every', '1d', 'sync', '--from-profile', 'onprem', 'media/', '--profile', 'backup', 'media-bak/', '--acl', 'private', '--delete']);
    if (scheduled.help || scheduled.request.action !== 'add') throw new Error('expected an add request');
    expect(scheduled.request.payload).toMatchObject({ kind: 'sync', profile: 'backup', sourceProfile: 'onprem', delete: true });
    expectUsage(() => parseSyncArgs(['--from-profile', 'bad name', 'media/', 'media-bak/', '--acl', 'private']), '--from-profile', /profile name/);
  });
});
