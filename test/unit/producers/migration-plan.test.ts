import { describe, expect, it } from 'vitest';
import { validateJob } from '../../../shared/jobs/index.js';
import { mimetypeFromKey } from '../../../shared/s3/mime.js';
import { globToRegExp, keyFilter } from '../../../producers/migrate/key-filter.js';
import { defaultRunId, rewriteJobFor, type MigrationSpec } from '../../../producers/migrate/migration.js';

describe('globToRegExp', () => {
  it.each<[string, string, boolean]>([
    ['*.jpg', 'a.jpg', true],
    ['*.jpg', 'dir/a.jpg', false],
    ['**/*.jpg', 'dir/sub/a.jpg', true],
    ['**/*.jpg', 'a.jpg', true],
    ['images/**/*.png', 'images/a.png', true],
    ['images/**/*.png', 'images/x/y/a.png', true],
    ['images/**/*.png', 'other/a.png', false],
    ['file?.txt', 'file1.txt', true],
    ['file?.txt', 'file10.txt', false],
    ['a+b (1).txt', 'a+b (1).txt', true],
    ['a.txt', 'abtxt', false],
    ['**', 'anything/at all', true],
  ])('%j vs %j → %s', (glob, key, expected) => {
    expect(globToRegExp(glob).test(key)).toBe(expected);
  });

  it('refuses an empty glob naming the field', () => {
    expect(() => globToRegExp('')).toThrow(/filter/);
  });

  it('filters on size too', () => {
    const f = keyFilter({ glob: '*.log', minSize: 10, maxSize: 100 });
    expect([f({ key: 'a.log', size: 5 }), f({ key: 'a.log', size: 50 }), f({ key: 'a.log', size: 500 }), f({ key: 'a.txt', size: 50 })]).toEqual([false, true, false, false]);
  });
});

describe('mimetypeFromKey', () => {
  it.each<[string, string | undefined]>([
    ['index.html', 'text/html; charset=utf-8'],
    ['dir/PHOTO.JPG', 'image/jpeg'],
    ['a.tar.gz', 'application/gzip'],
    ['.hidden', undefined],
    ['noext', undefined],
    ['dir.v2/file', undefined],
    ['x.unknownext', undefined],
  ])('%j → %j', (key, type) => {
    expect(mimetypeFromKey(key)).toBe(type);
  });
});

describe('rewriteJobFor', () => {
  const spec: MigrationSpec = { profile: 'default', bucket: 'media-bucket', prefix: 'p/', set: { owner: 'team' }, mimetypeFromExtension: true, headers: { 'cache-control': 'max-age=60' }, acl: 'private' };
  const object = { key: 'p/a.css', size: 1, etag: '"e"', lastModified: undefined, storageClass: undefined };

  it('builds a valid rewrite job carrying the run slot', () => {
    const job = rewriteJobFor(spec, object, 'mig-1', 1002);
    expect(job).toEqual({ kind: 'metadata-rewrite', profile: 'default', bucket: 'media-bucket', key: 'p/a.css', acl: 'private', set: { owner: 'team' }, headers: { 'cache-control': 'max-age=60' }, mimetype: 'text/css; charset=utf-8', runId: 'mig-1', runSlot: 1002 });
    expect(validateJob(job)).toEqual(job);
  });

  it('leaves the type alone for unknown extensions', () => {
    expect(rewriteJobFor(spec, { ...object, key: 'p/blob' }, undefined, undefined).mimetype).toBeUndefined();
  });

  it('the default run id is stable for the same spec and differs for another', () => {
    expect(defaultRunId(spec)).toBe(defaultRunId({ ...spec }));
    expect(defaultRunId(spec)).not.toBe(defaultRunId({ ...spec, prefix: 'q/' }));
    expect(defaultRunId(spec)).toMatch(/^mig-[0-9a-f]{16}$/);
  });
});
