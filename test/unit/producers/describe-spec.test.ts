/** A run's spec in words (dry run, `run show`): every operation, what it covers. Pure. */
import { describe, expect, it } from 'vitest';
import { describeChanges, describeSelection, resumeHint } from '../../../producers/migrate/describe-spec.js';

describe('describeChanges', () => {
  it('says what each kind of run does to an object', () => {
    expect(describeChanges({ set: { owner: 'web' }, remove: ['old'], mimetypeFromExtension: true, headers: { 'cache-control': 'max-age=5' }, acl: 'private' })).toBe(
      'set owner=web; remove old; Content-Type from the extension; cache-control: max-age=5; ACL private',
    );
    expect(describeChanges({ operation: { kind: 'acl', acl: 'public-read' } })).toBe('ACL public-read');
    expect(describeChanges({ operation: { kind: 'tagging', tags: { a: '1', b: '2' }, mode: 'merge', remove: ['c'] } })).toBe('merge tags a=1, b=2; remove c');
    expect(describeChanges({ operation: { kind: 'copy', bucket: 'arch', prefix: 'p/', acl: 'private' } })).toBe('copy to s3://arch/p/ (ACL private)');
    expect(
      describeChanges({ operation: { kind: 'copy', bucket: 'arch', prefix: '', acl: 'replicate-source', storageClass: 'GLACIER', metadata: { o: 'x' }, mimetype: 'text/plain', headers: { 'cache-control': 'no-cache' } } }),
    ).toBe('copy to s3://arch/ (ACL replicate-source, GLACIER, metadata o=x, Content-Type text/plain, cache-control: no-cache)');
  });
});

describe('describeSelection', () => {
  it('a prefix with its filter, or a manifest', () => {
    expect(describeSelection({ bucket: 'media', prefix: 'a/', filter: { glob: '*.jpg', minSize: 1024 } })).toBe('s3://media/a/, keys matching *.jpg, at least 1,024 bytes');
    expect(describeSelection({ bucket: 'media', manifest: '/data/m.csv' })).toBe('of s3://media named in the manifest /data/m.csv');
  });
});

describe('resumeHint', () => {
  it('names the command that started the run', () => {
    expect(resumeHint('mig-1')).toBe('s3jobs migrate-metadata --resume mig-1');
    expect(resumeHint('mig-2', { operation: { kind: 'copy', bucket: 'b', prefix: '', acl: 'private' } })).toBe('s3jobs copy-run --resume mig-2');
    expect(resumeHint('mig-3', { operation: { kind: 'tagging', tags: {} } })).toBe('s3jobs tag-run --resume mig-3');
    expect(resumeHint('mig-4', { operation: { kind: 'acl', acl: 'private' } })).toBe('s3jobs acl-run --resume mig-4');
  });
});
