/**
 * The pure half of a prefix sync: key order, the merge-join of two listings into copy decisions,
 * the copy job ids that make a retried fan-out add each job once, and run ids.
 */
import { describe, expect, it } from 'vitest';
import { validateJob, type SyncJob } from '../../../shared/jobs/index.js';
import type { ListedObject } from '../../../shared/s3/index.js';
import { copyJobFor } from '../../../workers/processors/sync.js';
import { compareKeys, copyJobId, diffListings, isMultipartEtag, isSameObject, needsCopyRecord, normalizeEtag, recognizeOwnCopies, runIdFor, syncBase, type SyncDecision } from '../../../workers/processors/sync-diff.js';

const at = new Date('2024-05-01T00:00:00Z');
function obj(key: string, etag = '"0123456789abcdef0123456789abcdef"', size = 10, lastModified = at): ListedObject {
  return { key, size, etag, lastModified, storageClass: 'STANDARD' };
}

async function* pagesOf<T>(pages: T[][]): AsyncGenerator<T[]> {
  for (const page of pages) yield page;
}

async function* objectsOf(objects: ListedObject[], read: string[] = []): AsyncGenerator<ListedObject> {
  for (const o of objects) {
    read.push(o.key);
    yield o;
  }
}

async function diff(source: ListedObject[][], destination: ListedObject[], prefixes = { source: 's/', destination: 'd/' }): Promise<[string, string][][]> {
  const out: [string, string][][] = [];
  for await (const page of diffListings(pagesOf(source), objectsOf(destination), prefixes)) out.push(page.map((d) => [d.suffix, d.status]));
  return out;
}

describe('compareKeys: UTF-8 byte order, as S3 lists keys', () => {
  it.each([
    ['a', 'b', -1],
    ['a', 'a', 0],
    ['a', 'ab', -1],
    ['B', 'a', -1],
    ['a/b', 'a.b', 1], // "/" (0x2F) sorts after "." (0x2E)
    ['\uFFFD', '\u{1F600}', -1], // a BMP character sorts before any character above U+FFFF...
    ['\u{1F600}', '\uE000', 1], // ...though JavaScript's "<" on UTF-16 units says the opposite
    ['\u{1F600}', '\u{1F601}', -1],
    ['é', 'z', 1],
  ])('%j vs %j', (a, b, sign) => {
    expect(Math.sign(compareKeys(a, b))).toBe(sign);
    expect(Math.sign(compareKeys(b, a)) === -sign).toBe(true);
  });

  it('agrees with comparing the UTF-8 bytes', () => {
    const keys = ['a', 'a/', 'a/b', 'a-b', 'é', 'z', '\uE000', '\u{1F600}', '\u{10FFFF}', 'Z', '0', '~', '\u00A0'];
    const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...keys].sort(compareKeys)).toEqual(byBytes);
  });
});

describe('isSameObject: size and ETag', () => {
  it('ignores quotes and case of ETags', () => {
    expect(normalizeEtag('"ABC"')).toBe('abc');
    expect(isSameObject(obj('k', '"ABC"'), obj('other', 'abc'))).toBe(true);
  });
  it('a different size or ETag is a change', () => {
    expect(isSameObject(obj('k', '"a"', 1), obj('k', '"a"', 2))).toBe(false);
    expect(isSameObject(obj('k', '"a"'), obj('k', '"b"'))).toBe(false);
  });
  it('a multipart ETag never matches a single-part copy of the same bytes (such objects are copied again)', () => {
    expect(isSameObject(obj('k', '"9b2cf535f27731c974343645a3985328-3"'), obj('k', '"d41d8cd98f00b204e9800998ecf8427e"'))).toBe(false);
  });
});

describe('diffListings: the merge-join', () => {
  it('first sync: everything is missing', async () => {
    expect(await diff([[obj('s/a'), obj('s/b')]], [])).toEqual([[['a', 'missing'], ['b', 'missing']]]);
  });

  it('missing, changed and unchanged, with destination-only keys passed over', async () => {
    const source = [[obj('s/a'), obj('s/b', '"new"'), obj('s/c')], [obj('s/e'), obj('s/f', '"x"', 5)]];
    const destination = [obj('d/0-extra'), obj('d/a'), obj('d/b', '"old"'), obj('d/c'), obj('d/d-extra'), obj('d/f', '"x"', 6), obj('d/g-extra')];
    expect(await diff(source, destination)).toEqual([
      [['a', 'unchanged'], ['b', 'changed'], ['c', 'unchanged']],
      [['e', 'missing'], ['f', 'changed']],
    ]);
  });

  it('yields one decision list per source page, empty pages included', async () => {
    expect(await diff([[], [obj('s/a')]], [obj('d/a')])).toEqual([[], [['a', 'unchanged']]]);
  });

  it('compares suffixes, so prefixes of different lengths line up', async () => {
    const out = await diff([[obj('photos/2024/a.jpg'), obj('photos/2024/b.jpg')]], [obj('bk/a.jpg')], { source: 'photos/2024/', destination: 'bk/' });
    expect(out).toEqual([[['a.jpg', 'unchanged'], ['b.jpg', 'missing']]]);
  });

  it('reads the destination only as far as the source goes, one object at a time', async () => {
    const read: string[] = [];
    const decisions: SyncDecision[] = [];
    for await (const page of diffListings(pagesOf([[obj('s/b')]]), objectsOf([obj('d/a'), obj('d/b'), obj('d/c'), obj('d/d')], read), { source: 's/', destination: 'd/' })) decisions.push(...page);
    expect(decisions.map((d) => d.status)).toEqual(['unchanged']);
    expect(read).toEqual(['d/a', 'd/b', 'd/c']);
  });

  it('keys with characters above U+FFFF merge in S3 order', async () => {
    const keys = ['s/\uE000', 's/\u{1F600}'];
    const source = [keys.map((k) => obj(k))];
    const destination = keys.map((k) => obj(k.replace('s/', 'd/')));
    expect(await diff(source, destination)).toEqual([[['\uE000', 'unchanged'], ['\u{1F600}', 'unchanged']]]);
  });

  it('a destination listed in another order never makes an object look unchanged: at worst it is copied again', async () => {
    const source = [[obj('s/a'), obj('s/b'), obj('s/c')]];
    const shuffled = [obj('d/c'), obj('d/a'), obj('d/b')];
    const out = (await diff(source, shuffled)).flat();
    for (const [suffix, status] of out) if (status === 'unchanged') expect(['a', 'b', 'c']).toContain(suffix);
    expect(out.filter(([, s]) => s === 'missing').length).toBeGreaterThan(0);
  });
});

describe('copy job ids', () => {
  const decision = (over: Partial<SyncDecision> = {}): SyncDecision => ({ status: 'missing', suffix: 'a.jpg', source: obj('s/a.jpg'), destination: undefined, ...over });

  it('are deterministic, and BullMQ accepts them as custom ids (no ":", not numeric)', () => {
    const id = copyJobId('sync-0123456789abcdef', decision());
    expect(id).toBe(copyJobId('sync-0123456789abcdef', decision()));
    expect(id).toMatch(/^sync-0123456789abcdef\.[0-9a-f]{32}$/);
  });

  it('change with the key, the source version, and the destination state', () => {
    const ids = new Set([
      copyJobId('b', decision()),
      copyJobId('b', decision({ suffix: 'b.jpg' })),
      copyJobId('b', decision({ source: obj('s/a.jpg', '"other"') })),
      copyJobId('b', decision({ source: obj('s/a.jpg', undefined, 10, new Date('2024-06-01')) })),
      copyJobId('b', decision({ status: 'changed', destination: obj('d/a.jpg', '"old"') })),
      copyJobId('b', decision({ status: 'changed', destination: obj('d/a.jpg', '"old"', 10, new Date('2024-06-01')) })),
      copyJobId('c', decision()),
    ]);
    expect(ids.size).toBe(7);
  });

  it('the id base is the sync definition: every firing of a schedule shares it', () => {
    const spec = { profile: 'p', source: { bucket: 'a', prefix: 'x/' }, destination: { bucket: 'b', prefix: '' }, acl: 'private' };
    expect(syncBase(spec)).toBe(syncBase({ ...spec }));
    expect(syncBase(spec)).not.toBe(syncBase({ ...spec, acl: 'public-read' }));
    expect(syncBase(spec)).toMatch(/^sync-[0-9a-f]{16}$/);
  });
});

describe('runIdFor', () => {
  it.each([
    ['17', 'sync-17'],
    ['nightly-2024', 'sync-nightly-2024'],
  ])('%s → %s', (jobId, runId) => expect(runIdFor(jobId)).toBe(runId));

  it('a scheduled job id: colons replaced, a hash keeps it unique', () => {
    const id = runIdFor('repeat:nightly:1717000000000');
    expect(id).toMatch(/^sync-repeat\.nightly\.1717000000000-[0-9a-f]{8}$/);
    expect(id).not.toBe(runIdFor('repeat.nightly.1717000000000'));
  });

  it('stays within the 100 characters of a run id', () => {
    const id = runIdFor('x'.repeat(200));
    expect(id.length).toBeLessThanOrEqual(100);
    expect(id).toMatch(/^[A-Za-z0-9_.-]{1,100}$/);
  });
});

describe('the sync job and its copies', () => {
  const sync = (over: Partial<SyncJob> = {}): SyncJob =>
    ({ kind: 'sync', profile: 'default', source: { bucket: 'src-bucket', prefix: 'in/' }, destination: { bucket: 'dst-bucket', prefix: 'out/' }, acl: 'private', ...over }) as SyncJob;

  it('a valid sync payload', () => {
    expect(validateJob(sync({ metadata: { owner: 'ann' }, mimetype: 'image/png', asRun: true }))).toMatchObject({ kind: 'sync', asRun: true });
    expect(validateJob(sync({ source: { bucket: 'src-bucket', prefix: '' } }))).toMatchObject({ source: { prefix: '' } });
  });

  it.each([
    [{ source: { bucket: 'same-bucket', prefix: 'a/' }, destination: { bucket: 'same-bucket', prefix: 'a/b/' } }, 'destination.prefix', /overlap/],
    [{ source: { bucket: 'same-bucket', prefix: '' }, destination: { bucket: 'same-bucket', prefix: 'copy/' } }, 'destination.prefix', /overlap/],
    [{ source: { bucket: 'src-bucket', prefix: 'a\u0001' } }, 'source.prefix', /control character/],
    [{ source: { bucket: 'Bad_Bucket', prefix: '' } }, 'source.bucket', /.+/],
    [{ acl: 'everyone' }, 'acl', /canned ACL/],
    [{ deleteExtraneous: true }, 'job', /deleteExtraneous|unrecognized/i],
    [{ runId: 'r1' }, 'job', /runId|unrecognized/i],
  ])('refused: %j', (over, field, message) => {
    let caught: unknown;
    try {
      validateJob(sync(over as Partial<SyncJob>));
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'S3JOBS_INVALID_JOB', field });
    expect((caught as Error).message).toMatch(message);
  });

  it('same bucket, disjoint prefixes is fine', () => {
    expect(() => validateJob(sync({ source: { bucket: 'b-bucket', prefix: 'a/' }, destination: { bucket: 'b-bucket', prefix: 'b/' } }))).not.toThrow();
  });

  it('each copy keeps the key below the prefix and carries the sync’s ACL, metadata and run slot', () => {
    const copy = copyJobFor(sync({ metadata: { owner: 'ann' }, mimetype: 'text/plain' }), { status: 'missing', suffix: 'x/y.txt', source: obj('in/x/y.txt'), destination: undefined }, { runId: 'sync-1', slot: 1003 });
    expect(copy).toEqual({
      kind: 'copy',
      profile: 'default',
      source: { bucket: 'src-bucket', key: 'in/x/y.txt' },
      destination: { bucket: 'dst-bucket', key: 'out/x/y.txt' },
      acl: 'private',
      metadata: { owner: 'ann' },
      mimetype: 'text/plain',
      listedSourceEtag: '0123456789abcdef0123456789abcdef',
      runId: 'sync-1',
      runSlot: 1003,
    });
    expect(validateJob(copy)).toEqual(copy);
  });
});

describe('recognising the sync own copies of multipart objects', () => {
  const src = (etag: string, size = 10) => obj('s/a', etag, size);
  const dst = (etag: string, size = 10) => obj('d/a', etag, size);
  const changed = (s: ListedObject, d: ListedObject): SyncDecision => ({ status: 'changed', suffix: 'a', source: s, destination: d });

  it('tells multipart ETags apart', () => {
    expect(isMultipartEtag('"0123456789abcdef0123456789abcdef-3"')).toBe(true);
    expect(isMultipartEtag('"0123456789abcdef0123456789abcdef"')).toBe(false);
  });

  it('only a multipart source of the same size is worth a look-up', () => {
    expect(needsCopyRecord(changed(src('"aa-2"'), dst('"bb"')))).toBe(true);
    expect(needsCopyRecord(changed(src('"aa"'), dst('"bb"')))).toBe(false);
    // A single-part source copied in parts.
    expect(needsCopyRecord(changed(src('"aa"'), dst('"bb-2"')))).toBe(true);
    expect(needsCopyRecord(changed(src('"aa-2"', 10), dst('"bb"', 11)))).toBe(false);
    expect(needsCopyRecord({ status: 'missing', suffix: 'a', source: src('"aa-2"'), destination: undefined })).toBe(false);
  });

  it('a record matching both sides makes the decision unchanged; anything else leaves it changed', () => {
    const d = changed(src('"AA-2"'), dst('"bb"'));
    expect(recognizeOwnCopies([d], [{ sourceEtag: 'aa-2', copyEtag: 'bb' }])[0]!.status).toBe('unchanged');
    // The source was overwritten since the copy (another multipart ETag).
    expect(recognizeOwnCopies([d], [{ sourceEtag: 'cc-2', copyEtag: 'bb' }])[0]!.status).toBe('changed');
    // The destination was overwritten since the copy.
    expect(recognizeOwnCopies([d], [{ sourceEtag: 'aa-2', copyEtag: 'zz' }])[0]!.status).toBe('changed');
    expect(recognizeOwnCopies([d], [undefined])[0]!.status).toBe('changed');
    const other = changed(src('"aa-2"', 10), dst('"bb"', 12));
    expect(recognizeOwnCopies([other], [{ sourceEtag: 'aa-2', copyEtag: 'bb' }])[0]!.status).toBe('changed');
  });

  it('a copy job carries the source ETag it was listed with', () => {
    const job: SyncJob = { kind: 'sync', profile: 'p', source: { bucket: 'src', prefix: 's/' }, destination: { bucket: 'dst', prefix: 'd/' }, acl: 'private' };
    const multipart = copyJobFor(job, { status: 'missing', suffix: 'a', source: src('"AA-2"'), destination: undefined }, undefined);
    expect(multipart.listedSourceEtag).toBe('aa-2');
    expect(validateJob(multipart)).toEqual(multipart);
  });
});
