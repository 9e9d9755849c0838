/**
 * Reading the objects of a run back from a job payload (`runRefOf`, `batchRefsOf`, `runRefsOf`):
 * a report row names the task as the run's input did — a copy by its source and source version —
 * and a malformed payload still yields what can be read. Pure.
 */
import { describe, expect, it } from 'vitest';
import { batchRefsOf, copyDestinationOf, runRefOf, runRefsOf } from '../../../shared/jobs/index.js';

const copy = {
  kind: 'copy',
  profile: 'default',
  source: { bucket: 'src', key: 'a/b.txt', versionId: 'v1' },
  destination: { bucket: 'dst', key: 'backup/a/b.txt' },
  acl: 'private',
  runId: 'run-1',
  runSlot: 7,
};

describe('runRefOf', () => {
  it('a copy is named by its source and source version, not by where it went', () => {
    expect(runRefOf(copy)).toEqual({ runId: 'run-1', slot: 7, bucket: 'src', key: 'a/b.txt', versionId: 'v1' });
    expect(copyDestinationOf(copy)).toBe('s3://dst/backup/a/b.txt');
  });

  it('a tagging or acl job by its bucket, key and version; a rewrite has no version', () => {
    expect(runRefOf({ kind: 'tagging', bucket: 'b', key: 'k', versionId: 'v9', runId: 'r', runSlot: 0 })).toEqual({ runId: 'r', slot: 0, bucket: 'b', key: 'k', versionId: 'v9' });
    expect(runRefOf({ kind: 'metadata-rewrite', bucket: 'b', key: 'k', runId: 'r', runSlot: 3 })).toEqual({ runId: 'r', slot: 3, bucket: 'b', key: 'k' });
    expect(copyDestinationOf({ kind: 'tagging', bucket: 'b', key: 'k' })).toBeUndefined();
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['no run', { ...copy, runId: undefined }],
    ['a negative slot', { ...copy, runSlot: -1 }],
    ['a fractional slot', { ...copy, runSlot: 1.5 }],
    ['a slot as text', { ...copy, runSlot: '7' }],
  ])('%s → not a run object', (_what, payload) => {
    expect(runRefOf(payload)).toBeUndefined();
    expect(runRefsOf(payload)).toEqual([]);
  });

  it('a copy without a readable source still counts, with what can be read', () => {
    expect(runRefOf({ ...copy, source: 'x' })).toEqual({ runId: 'run-1', slot: 7, bucket: '', key: '' });
    expect(runRefOf({ ...copy, source: { bucket: 'src', key: 5, versionId: '' } })).toEqual({ runId: 'run-1', slot: 7, bucket: 'src', key: '' });
  });
});

describe('batchRefsOf', () => {
  it('a copy batch is named by its source bucket, with each object\'s version', () => {
    const batch = { kind: 'copy-batch', runId: 'r', source: { bucket: 'src' }, destination: { bucket: 'dst', prefix: 'p/' }, objects: [{ key: 'a', slot: 1, versionId: 'v1' }, { key: 'b', slot: 2 }] };
    expect(batchRefsOf(batch)).toEqual([
      { runId: 'r', slot: 1, bucket: 'src', key: 'a', versionId: 'v1' },
      { runId: 'r', slot: 2, bucket: 'src', key: 'b' },
    ]);
    expect(runRefsOf(batch)).toEqual(batchRefsOf(batch));
  });

  it('runRefsOf of a single job is that one object', () => {
    expect(runRefsOf(copy)).toEqual([runRefOf(copy)]);
  });
});
