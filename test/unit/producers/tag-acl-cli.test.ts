/** `s3jobs tag` and `s3jobs acl`: their flags into validated jobs, and clear errors naming the flag. */
import { describe, expect, it } from 'vitest';
import { parseAclArgs } from '../../../producers/cli/acl.js';
import { parseScheduleArgs } from '../../../producers/cli/schedule.js';
import { parseTagArgs } from '../../../producers/cli/tag.js';
import type { Parsed } from '../../../producers/cli/args.js';
import type { EnqueueRequest } from '../../../producers/cli/enqueue.js';
import { validateJob } from '../../../shared/jobs/index.js';
import { expectUsage } from './expect-usage.js';

function request(parsed: Parsed<EnqueueRequest>): EnqueueRequest {
  if (parsed.help) throw new Error('unexpected help');
  return parsed;
}

describe('s3jobs tag', () => {
  it('replaces by default; --merge with --remove; --version-id targets a version', () => {
    expect(request(parseTagArgs(['photos/a b.jpg', '--tag', 'team=média', '--tag', 'stage=']))).toMatchObject({
      payload: { kind: 'tagging', profile: 'default', bucket: 'photos', key: 'a b.jpg', tags: { team: 'média', stage: '' } },
    });
    const merged = request(parseTagArgs(['photos/a.jpg', '--merge', '--tag', 'x=1', '--remove', 'draft', '--version-id', 'v1', '--wait'])).payload;
    expect(merged).toEqual({ kind: 'tagging', profile: 'default', bucket: 'photos', key: 'a.jpg', versionId: 'v1', mode: 'merge', tags: { x: '1' }, remove: ['draft'] });
    expect(request(parseTagArgs(['photos/a.jpg', '--clear'])).payload).toMatchObject({ tags: {} });
  });

  it.each<[string[], string, RegExp]>([
    [['photos/a', '--tag', 'a=1', '--tag', 'a=2'], '--tag', /tag key "a" is given twice/],
    [['photos/a', '--tag', 'nokey'], '--tag', /"nokey" is not KEY=VALUE/],
    [['photos/a', '--tag', 'bad!=1'], '--tag', /"!" \(U\+0021\)/],
    [['photos/a', ...Array.from({ length: 11 }, (_, i) => ['--tag', `k${i}=v`]).flat()], '--tag', /at most 10 tags; 11 given/],
    [['photos/a', '--tag', `k=${'v'.repeat(257)}`], '--tag', /at most 256 characters/],
    [['photos/a'], '--tag', /at least one --tag/],
    [['photos/a', '--tag', 'a=1', '--remove', 'b'], '--remove', /applies with --merge/],
    [['photos/a', '--merge', '--tag', 'a=1', '--remove', 'a'], '--remove', /both set and removed/],
    [['photos/a', '--clear', '--tag', 'a=1'], '--clear', /takes no --tag/],
  ])('refuses %j naming %s', (argv, flag, message) => {
    expectUsage(() => parseTagArgs(argv), flag, message);
  });
});

describe('s3jobs acl', () => {
  it('a canned ACL on an object, maybe one version', () => {
    expect(request(parseAclArgs(['photos/a.jpg', 'public-read', '--version-id', 'v9'])).payload).toEqual({ kind: 'acl', profile: 'default', bucket: 'photos', key: 'a.jpg', versionId: 'v9', acl: 'public-read' });
  });

  it('refuses an ACL that is not canned, listing the allowed ones', () => {
    expectUsage(() => parseAclArgs(['photos/a.jpg', 'replicate-source']), '<acl>', /must be a canned ACL: private, public-read/);
  });
});

describe('schedules of tag and acl jobs', () => {
  it('accepts them as the job command', () => {
    const parsed = parseScheduleArgs(['add', 'nightly-tags', '--every', '1d', 'tag', 'photos/a.jpg', '--merge', '--tag', 'checked=yes']);
    if (parsed.help) throw new Error('help');
    expect(parsed.request).toMatchObject({ action: 'add', payload: { kind: 'tagging', mode: 'merge', tags: { checked: 'yes' } } });
    const acl = parseScheduleArgs(['add', 'lock', '--cron', '0 3 * * *', 'acl', 'photos/a.jpg', 'private']);
    if (acl.help) throw new Error('help');
    expect(acl.request).toMatchObject({ payload: { kind: 'acl', acl: 'private' } });
  });
});

describe('tagging and acl payloads', () => {
  it('are validated before Redis, naming the field', () => {
    const base = { kind: 'tagging', profile: 'p', bucket: 'photos', key: 'a.jpg' };
    expect(() => validateJob({ ...base, tags: { 'a?': 'v' } })).toThrow(expect.objectContaining({ field: 'tags.a?' }));
    expect(() => validateJob({ ...base, tags: {}, remove: ['x'] })).toThrow(expect.objectContaining({ field: 'remove' }));
    expect(() => validateJob({ ...base, tags: {}, mode: 'append' })).toThrow(expect.objectContaining({ field: 'mode' }));
    expect(() => validateJob({ kind: 'acl', profile: 'p', bucket: 'photos', key: 'a.jpg', acl: 'public-read', secretKey: 'x' })).toThrow(expect.objectContaining({ field: 'secretKey' }));
  });
});

describe('s3jobs tag-run / acl-run', () => {
  it('build a run spec with the operation; metadata flags do not apply', async () => {
    const { parseMigrateArgs } = await import('../../../producers/cli/migrate.js');
    const tag = parseMigrateArgs(['--bucket', 'media', '--manifest', 's3://inv/m/manifest.json', '--tag', 'a=1', '--merge', '--remove', 'b'], 'tagging');
    if (tag.help) throw new Error('help');
    expect(tag.request.spec).toEqual({ profile: 'default', bucket: 'media', manifest: 's3://inv/m/manifest.json', operation: { kind: 'tagging', tags: { a: '1' }, mode: 'merge', remove: ['b'] } });
    const acl = parseMigrateArgs(['--bucket', 'media', '--prefix', 'p/', '--acl', 'public-read'], 'acl');
    if (acl.help) throw new Error('help');
    expect(acl.request.spec).toEqual({ profile: 'default', bucket: 'media', prefix: 'p/', operation: { kind: 'acl', acl: 'public-read' } });
    expectUsage(() => parseMigrateArgs(['--bucket', 'media', '--acl', 'replicate-source'], 'acl'), '--acl', /canned ACL/);
    expectUsage(() => parseMigrateArgs(['--bucket', 'media', '--tag', 'a=1', '--set', 'x=y'], 'tagging'), '--set', /does not apply to tag-run/);
    expectUsage(() => parseMigrateArgs(['--bucket', 'media', '--tag', 'a=1', '--tag', 'a=2'], 'tagging'), '--tag', /given twice/);
    expectUsage(() => parseMigrateArgs(['--bucket', 'media', '--acl', 'private', '--set', 'x=y', '--tag', 'a=1']), '--tag', /does not apply to migrate-metadata/);
  });
});

describe('s3jobs copy-run', () => {
  it('takes the copy job\'s options (storage class, metadata, Content-Type, system headers), only those given', async () => {
    const { parseMigrateArgs } = await import('../../../producers/cli/migrate.js');
    const base = ['--bucket', 'media', '--prefix', '2023/', '--to', 'archive/old/', '--acl', 'private'];
    const plain = parseMigrateArgs(base, 'copy');
    if (plain.help) throw new Error('help');
    expect(plain.request.spec).toEqual({ profile: 'default', bucket: 'media', prefix: '2023/', operation: { kind: 'copy', bucket: 'archive', prefix: 'old/', acl: 'private' } });
    const full = parseMigrateArgs([...base, '--storage-class', 'STANDARD_IA', '--metadata', 'owner=ann', '--mimetype', 'image/png', '--header', 'cache-control=max-age=60', '--batch-size', '50'], 'copy');
    if (full.help) throw new Error('help');
    expect(full.request.spec?.operation).toEqual({ kind: 'copy', bucket: 'archive', prefix: 'old/', acl: 'private', storageClass: 'STANDARD_IA', metadata: { owner: 'ann' }, mimetype: 'image/png', headers: { 'cache-control': 'max-age=60' } });
    expect(full.request.batchSize).toBe(50);
  });

  it('refuses what does not apply, naming the flag', async () => {
    const { parseMigrateArgs } = await import('../../../producers/cli/migrate.js');
    const base = ['--bucket', 'media', '--to', 'archive', '--acl', 'private'];
    expectUsage(() => parseMigrateArgs([...base, '--set', 'a=b'], 'copy'), '--set', /does not apply to copy-run/);
    expectUsage(() => parseMigrateArgs([...base, '--storage-class', 'COLD'], 'copy'), '--storage-class', /COLD/);
    expectUsage(() => parseMigrateArgs([...base, '--header', 'x-custom=1'], 'copy'), '--header x-custom', /is not a header that can be set here; allowed: content-type, cache-control/);
    expectUsage(() => parseMigrateArgs(['--bucket', 'media', '--tag', 'a=1', '--metadata', 'a=b'], 'tagging'), '--metadata', /does not apply to tag-run/);
    expectUsage(() => parseMigrateArgs(['--bucket', 'media', '--acl', 'private', '--mimetype', 'text/plain'], 'acl'), '--mimetype', /does not apply to acl-run/);
    expectUsage(() => parseMigrateArgs(['--bucket', 'media', '--acl', 'private', '--set', 'x=y', '--metadata', 'a=b']), '--metadata', /does not apply to migrate-metadata \(use --set\/--remove\)/);
    expectUsage(() => parseMigrateArgs(['--bucket', 'media', '--acl', 'private', '--set', 'x=y', '--to', 'b']), '--to', /does not apply to migrate-metadata \(see s3jobs copy-run\)/);
  });
});

describe('run commands filter the listing', () => {
  it('--filter, --min-size and --max-size apply to tag-run, acl-run and copy-run as to migrate-metadata (not with a manifest)', async () => {
    const { parseMigrateArgs } = await import('../../../producers/cli/migrate.js');
    const copy = parseMigrateArgs(['--bucket', 'media', '--prefix', 'p/', '--to', 'arch', '--acl', 'private', '--filter', '*.jpg', '--min-size', '1024'], 'copy');
    if (copy.help) throw new Error('help');
    expect(copy.request.spec?.filter).toEqual({ glob: '*.jpg', minSize: 1024 });
    const tag = parseMigrateArgs(['--bucket', 'media', '--tag', 'a=1', '--max-size', '10'], 'tagging');
    if (tag.help) throw new Error('help');
    expect(tag.request.spec?.filter).toEqual({ maxSize: 10 });
    expectUsage(() => parseMigrateArgs(['--bucket', 'media', '--acl', 'private', '--min-size', '9', '--max-size', '1'], 'acl'), '--min-size', /is larger than --max-size/);
    expectUsage(() => parseMigrateArgs(['--bucket', 'media', '--acl', 'private', '--manifest', '/m.csv', '--filter', '*.png'], 'acl'), '--filter', /does not apply with --manifest/);
  });
});
