/**
 * Each sub-command's command line into what it runs: the payload the job gets, or a UsageError
 * naming the flag. Pure: no Redis.
 */
import { describe, expect, it } from 'vitest';
import { parseBucketArgs } from '../../../producers/cli/bucket.js';
import { envReport, parseConfigArgs } from '../../../producers/cli/config.js';
import { parseCopyArgs } from '../../../producers/cli/copy.js';
import { parseDlqArgs, parsePatch, patchExample } from '../../../producers/cli/dlq.js';
import type { EnqueueRequest } from '../../../producers/cli/enqueue.js';
import { parseRewriteMetadataArgs } from '../../../producers/cli/rewrite-metadata.js';
import { parseQueueArgs, parseStatusArgs } from '../../../producers/cli/status.js';
import type { Parsed } from '../../../producers/cli/args.js';
import { expectUsage } from './expect-usage.js';

function request(parsed: Parsed<EnqueueRequest>): EnqueueRequest {
  if (parsed.help) throw new Error('expected a request, got help');
  return parsed;
}

describe('s3jobs copy', () => {
  it('the minimal command line', () => {
    const r = request(parseCopyArgs(['src-bucket/a/b.txt', 'dst-bucket/c.txt', '--acl', 'private']));
    expect(r.payload).toEqual({ kind: 'copy', profile: 'default', source: { bucket: 'src-bucket', key: 'a/b.txt' }, destination: { bucket: 'dst-bucket', key: 'c.txt' }, acl: 'private' });
    expect(r.options).toEqual({});
    expect(r.wait).toBeUndefined();
    expect(r.globals).toEqual({ overrides: { redisUrl: undefined, queue: undefined, prefix: undefined }, json: false });
  });

  it('every flag', () => {
    const r = request(
      parseCopyArgs([
        'src-bucket/k',
        'dst-bucket/k2',
        '--acl=replicate-source',
        '--metadata',
        'owner=alice',
        '--metadata',
        'note=a=b',
        '--mimetype',
        'image/jpeg',
        '--header',
        'cache-control=max-age=60',
        '--if-match',
        '"9b2cf535f27731c974343645a3985328"',
        '--storage-class',
        'STANDARD_IA',
        '--source-version-id',
        'v1',
        '--profile',
        'prod',
        '--job-id',
        'copy-1',
        '--timeout-ms',
        'none',
        '--wait',
        '--json',
        '--queue',
        'q1',
      ]),
    );
    expect(r.payload).toEqual({
      kind: 'copy',
      profile: 'prod',
      source: { bucket: 'src-bucket', key: 'k', versionId: 'v1' },
      destination: { bucket: 'dst-bucket', key: 'k2' },
      acl: 'replicate-source',
      metadata: { owner: 'alice', note: 'a=b' },
      mimetype: 'image/jpeg',
      headers: { 'cache-control': 'max-age=60' },
      expectedSourceEtag: '"9b2cf535f27731c974343645a3985328"',
      storageClass: 'STANDARD_IA',
      timeoutMs: null,
    });
    expect(r.options).toEqual({ jobId: 'copy-1', timeoutMs: null });
    expect(r.wait).toEqual({ timeoutMs: 300_000 });
    expect(r.globals.json).toBe(true);
    expect(r.globals.overrides.queue).toBe('q1');
  });

  it('--help wins over missing arguments', () => {
    expect(parseCopyArgs(['--help'])).toEqual({ help: true });
  });

  it.each([
    [['src-b/k', 'dst-b/k'], '--acl', /is required: the canned ACL the copy gets; allowed: private, .*replicate-source/],
    [['src-b/k', 'dst-b/k', '--acl', 'secret'], '--acl', /must be a canned ACL/],
    [['src-b/k'], '<dst>', /is missing/],
    [['src-b', 'dst-b/k', '--acl', 'private'], '<src>', /has no "\/"/],
    [['src-b/k', 'X/k', '--acl', 'private'], '<dst> bucket', /bucket names/],
    [['src-b/k', 'dst-b/k', '--acl', 'private', '--metadata', 'owner'], '--metadata', /"owner" is not name=value/],
    [['src-b/k', 'dst-b/k', '--acl', 'private', '--metadata', 'a b=1'], '--metadata "a b"', /not a valid metadata name/],
    [['src-b/k', 'dst-b/k', '--acl', 'private', '--storage-class', 'cheap'], '--storage-class', /STANDARD/],
    [['src-b/k', 'dst-b/k', '--acl', 'private', '--profile', 'no good'], '--profile', /profile name/],
    [['src-b/k', 'dst-b/k', '--acl', 'private', '--prio', '1'], '--prio', /unknown flag/],
    [['src-b/k', 'dst-b/k', '--acl', 'private', '--priority', 'x'], '--priority', /integer from 1/],
    [['src-b/k', 'dst-b/k', '--acl', 'private', '--location', 'EU'], '--location', /unknown flag for 'copy'/],
  ])('%j → error naming %s', (argv, flag, message) => {
    expectUsage(() => parseCopyArgs(argv), flag, message);
  });
});

describe('s3jobs rewrite-metadata', () => {
  const base = ['photos/a.jpg', '--acl', 'replicate-source'];

  it('--set and --remove', () => {
    const r = request(parseRewriteMetadataArgs([...base, '--set', 'owner=bob', '--remove', 'draft', '--remove', 'tmp', '--if-match', 'etag1', '--mimetype', 'image/png']));
    expect(r.payload).toEqual({
      kind: 'metadata-rewrite',
      profile: 'default',
      bucket: 'photos',
      key: 'a.jpg',
      set: { owner: 'bob' },
      remove: ['draft', 'tmp'],
      mimetype: 'image/png',
      acl: 'replicate-source',
      expectedEtag: 'etag1',
    });
  });

  it('--replace makes the pairs the whole metadata', () => {
    expect(request(parseRewriteMetadataArgs([...base, '--replace', '--set', 'owner=bob'])).payload).toMatchObject({ replace: { owner: 'bob' } });
    expect(request(parseRewriteMetadataArgs([...base, '--replace', '--set', 'owner=bob'])).payload).not.toHaveProperty('set');
  });

  it('--replace alone clears the metadata', () => {
    expect(request(parseRewriteMetadataArgs([...base, '--replace'])).payload).toMatchObject({ replace: {} });
  });

  it('headers and enqueue options', () => {
    const r = request(parseRewriteMetadataArgs([...base, '--header', 'cache-control=', '--priority', '1', '--delay-ms', '5000', '--attempts', '2']));
    expect(r.payload).toMatchObject({ headers: { 'cache-control': '' } });
    expect(r.options).toEqual({ priority: 1, delayMs: 5000, attempts: 2 });
  });

  it.each([
    [['photos/a.jpg'], '--acl', /is required: the rewrite is a copy onto itself/],
    [[...base, '--replace', '--remove', 'x'], '--replace', /cannot be combined with --remove/],
    [[...base, '--set', 'Owner=1', '--remove', 'owner'], '--remove', /"owner" is also given to --set \("Owner"\)/],
    [[...base, '--set', 'novalue'], '--set', /not name=value/],
    [[...base, '--storage-class', 'GLACIER'], '--storage-class', /unknown flag for 'rewrite-metadata'/],
    [['photos', '--acl', 'private'], '<bucket>/<key>', /has no "\/"/],
  ])('%j → error naming %s', (argv, flag, message) => {
    expectUsage(() => parseRewriteMetadataArgs(argv), flag, message);
  });
});

describe('s3jobs bucket', () => {
  it('create with location and ACL', () => {
    const r = request(parseBucketArgs(['create', 'logs-2024', '--location', 'EU', '--acl', 'private']));
    expect(r.payload).toEqual({ kind: 'bucket', action: 'create', profile: 'default', bucket: 'logs-2024', location: 'EU', acl: 'private' });
  });

  it('delete, emptying first', () => {
    expect(request(parseBucketArgs(['delete', 'old-bucket', '--empty'])).payload).toEqual({ kind: 'bucket', action: 'delete', profile: 'default', bucket: 'old-bucket', empty: true });
    expect(request(parseBucketArgs(['delete', 'old-bucket'])).payload).toEqual({ kind: 'bucket', action: 'delete', profile: 'default', bucket: 'old-bucket' });
  });

  it.each([
    [['create'], '<bucket>', /is missing/],
    [['make', 'b-1'], 'create|delete', /"make" is not a bucket action; allowed: create, delete/],
    [['create', 'b-1', '--empty'], '--empty', /only applies to "bucket delete"/],
    [['delete', 'b-1', '--location', 'EU'], '--location', /only applies to "bucket create"/],
    [['create', 'Bad_Bucket'], '<bucket>', /./],
    [['create', 'b-1', '--acl', 'aws-exec-read'], '--acl', /./],
    [['create', 'b-1', '--location', 'eu west'], '--location', /region/],
  ])('%j → error naming %s', (argv, flag, message) => {
    expectUsage(() => parseBucketArgs(argv), flag, message);
  });
});

describe('s3jobs status / queue / config', () => {
  it('status takes one job id', () => {
    expect(parseStatusArgs(['job-1', '--json'])).toMatchObject({ help: false, jobId: 'job-1', globals: { json: true } });
    expectUsage(() => parseStatusArgs([]), '<jobId>', /is missing/);
    expectUsage(() => parseStatusArgs(['a', 'b']), '"b"', /unexpected argument/);
  });

  it('queue takes no arguments', () => {
    expect(parseQueueArgs(['--queue', 'q'])).toMatchObject({ help: false, globals: { overrides: { queue: 'q' } } });
    expectUsage(() => parseQueueArgs(['extra']), '"extra"', /takes no arguments/);
  });

  it('config takes "check"', () => {
    expect(parseConfigArgs(['check'])).toMatchObject({ help: false });
    expectUsage(() => parseConfigArgs(['show']), 'check', /"show" is not a config action; allowed: check/);
  });

  it('envReport lists what is read and flags S3JOBS_ typos, never values', () => {
    const report = envReport({ REDIS_URL: 'redis://x', S3JOBS_PROFILE_PROD_SECRET_KEY: 'sekrit', S3JOBS_CONCURENCY: '3', S3JOBS_DEBUG: '1', HOME: '/root' });
    expect(report).toEqual({ read: ['REDIS_URL', 'S3JOBS_PROFILE_PROD_SECRET_KEY'], unknown: ['S3JOBS_CONCURENCY'] });
    expect(JSON.stringify(report)).not.toContain('sekrit');
  });
});

describe('s3jobs dlq', () => {
  it.each([
    [['list'], { action: 'list', limit: 20, offset: 0 }],
    [['list', '--limit', '5', '--offset', '10'], { action: 'list', limit: 5, offset: 10 }],
    [['show', 'j-1'], { action: 'show', jobId: 'j-1' }],
    [['retry', 'j-1'], { action: 'retry', target: { jobId: 'j-1' }, patch: undefined }],
    [['retry', '--all', '--patch', '{"profile":"prod"}'], { action: 'retry', target: { all: true }, patch: { profile: 'prod' } }],
    [['retry', 'j-1', '--patch', '{"metadata":{"bad":null}}'], { action: 'retry', target: { jobId: 'j-1' }, patch: { metadata: { bad: null } } }],
    [['purge', 'j-1'], { action: 'purge', target: { jobId: 'j-1' } }],
    [['purge', '--all'], { action: 'purge', target: { all: true } }],
  ])('%j', (argv, expected) => {
    expect(parseDlqArgs(argv)).toMatchObject({ help: false, request: expected });
  });

  it.each([
    [[], 'list|show|retry|purge', /is missing/],
    [['drop', 'j'], 'list|show|retry|purge', /"drop" is not a dlq action/],
    [['show'], '<jobId>', /is missing/],
    [['retry'], '<jobId>', /give a job id or --all/],
    [['purge', 'j-1', '--all'], '--all', /not both/],
    [['list', '--all'], '--all', /does not apply to "dlq list"; it takes --limit, --offset/],
    [['show', 'j', '--patch', '{}'], '--patch', /does not apply to "dlq show"/],
    [['purge', 'j', '--patch', '{}'], '--patch', /does not apply to "dlq purge"; it takes --all/],
    [['list', 'j'], '"j"', /"dlq list" takes no job id/],
    [['list', '--limit', '0'], '--limit', /from 1 to 1000/],
    [['retry', 'j', '--patch', '{acl:private}'], '--patch', /is not valid JSON/],
    [['retry', 'j', '--patch', '"private"'], '--patch', /must be a JSON object/],
  ])('%j → error naming %s', (argv, flag, message) => {
    expectUsage(() => parseDlqArgs(argv), flag, message);
  });

  it('parsePatch keeps nulls (they delete)', () => {
    expect(parsePatch('{"a":null,"b":{"c":1}}')).toEqual({ a: null, b: { c: 1 } });
    expect(parsePatch(undefined)).toBeUndefined();
  });

  it.each([
    ['acl', '{"acl":…}'],
    ['source.bucket', '{"source":{"bucket":…}}'],
    ['remove.0', '{"remove":…}'],
  ])('patchExample(%s) = %s', (field, example) => {
    expect(patchExample(field)).toBe(example);
  });
});
