/**
 * What S3Bucket sends and returns on stores that differ, checked request by request with a
 * recording transport (no network): condition header names per StoreProfile, the guard, ETag form,
 * the empty multipart ETag, bucket creation on stores that answer 200, SSE headers carried.
 * The same behaviours run against real stores in test/integration/s3/store-differences.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { S3Error } from '../../../shared/errors.js';
import { S3Bucket, type Transport } from '../../../shared/s3/bucket.js';
import type { S3Request, S3Response } from '../../../shared/s3/request.js';
import { SseCustomerKey } from '../../../shared/s3/sse.js';
import { DOCUMENTED_S3, PROVIDER_PROFILES, type StoreProfile } from '../../../shared/s3/store-profile.js';

interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
}

type Script = (req: S3Request) => Answer;

function response(answer: Answer): S3Response {
  const text = answer.body ?? '';
  const body = { text: async () => text, dump: async () => undefined, on: () => body, pipe: () => body, destroyed: false, destroy: () => undefined };
  return { status: answer.status ?? 200, headers: answer.headers ?? {}, body: body as unknown as S3Response['body'], bodyError: (err) => err as never };
}

class RecordingBucket extends S3Bucket {
  readonly requests: S3Request[] = [];
  constructor(store: StoreProfile | undefined, script: Script, extra: { requireGuard?: boolean } = {}) {
    super({ name: 'bkt', accessKey: 'AK', secretKey: 'SK', endpoint: 'http://127.0.0.1:1', store, ...extra });
    this.script = script;
  }
  readonly script: Script;
  protected override createTransport(): Transport {
    return {
      send: async (req) => {
        this.requests.push(req);
        const answer = this.script(req);
        if ((answer.status ?? 200) >= 300) throw new S3Error({ code: answer.status === 404 ? 'NotFound' : 'Error', message: '', status: answer.status!, retryable: false });
        return response(answer);
      },
      close: async () => undefined,
    };
  }
}

const ETAG = '9b2cf535f27731c974343645a3985328';
const headOf = (extra: Record<string, string> = {}): Record<string, string> => ({ etag: `"${ETAG}"`, 'content-length': '5', 'content-type': 'text/plain', 'x-amz-meta-a': '1', ...extra });
const copyResult = (etag: string): string => `<CopyObjectResult><ETag>${etag}</ETag><LastModified>2026-12-03T00:00:00.000Z</LastModified></CopyObjectResult>`;

/** A store that answers HEAD with `head` and every copy with an unquoted ETag (as Ceph does). */
const simpleStore = (head: Record<string, string> = headOf()): Script => (req) => (req.method === 'HEAD' ? { headers: head } : { body: copyResult('0123456789abcdef0123456789abcdef') });

const conditionHeaders = (req: S3Request): Record<string, string> => Object.fromEntries(Object.entries(req.headers ?? {}).filter(([name]) => /^x-amz-copy(-source)?-if-/.test(name)));

describe('rewriteMetadata on stores that differ', () => {
  it.each<[string, StoreProfile | undefined, Record<string, string>, boolean | 'unverified']>([
    ['ceph (legacy names only)', PROVIDER_PROFILES.ceph, { 'x-amz-copy-if-match': `"${ETAG}"` }, true],
    ['aws (documented names)', PROVIDER_PROFILES.aws, { 'x-amz-copy-source-if-match': `"${ETAG}"` }, true],
    ['an unknown store (both names)', undefined, { 'x-amz-copy-source-if-match': `"${ETAG}"`, 'x-amz-copy-if-match': `"${ETAG}"` }, 'unverified'],
    ['s3rver (honours none)', PROVIDER_PROFILES.s3rver, { 'x-amz-copy-source-if-match': `"${ETAG}"` }, false],
  ])('%s: sends %j, reports guarded %j, returns the quoted ETag', async (_name, store, expected, guarded) => {
    const bucket = new RecordingBucket(store, simpleStore());
    const result = await bucket.rewriteMetadata('o', { acl: 'private', set: { a: '2' } });
    const copy = bucket.requests.find((r) => r.method === 'PUT')!;
    expect(conditionHeaders(copy)).toEqual(expected);
    expect(result).toMatchObject({ changed: true, guarded, etag: '"0123456789abcdef0123456789abcdef"', previousEtag: `"${ETAG}"` });
  });

  it('requireGuard refuses before any request where the guard does not hold (bucket option or call option)', async () => {
    for (const [store, extra, call] of [
      [PROVIDER_PROFILES.s3rver, { requireGuard: true }, {}],
      [DOCUMENTED_S3, {}, { requireGuard: true }],
    ] as const) {
      const bucket = new RecordingBucket(store, simpleStore(), extra);
      await expect(bucket.rewriteMetadata('o', { acl: 'private', set: { a: '2' }, ...call })).rejects.toMatchObject({ code: 'S3JOBS_UNGUARDED', retryable: false });
      expect(bucket.requests).toEqual([]);
    }
    const guarded = new RecordingBucket(PROVIDER_PROFILES.ceph, simpleStore(), { requireGuard: true });
    await expect(guarded.rewriteMetadata('o', { acl: 'private', set: { a: '2' } })).resolves.toMatchObject({ guarded: true });
  });

  it('accepts an unquoted ifMatch', async () => {
    const bucket = new RecordingBucket(PROVIDER_PROFILES.ceph, simpleStore());
    await expect(bucket.rewriteMetadata('o', { acl: 'private', set: { a: '2' }, ifMatch: ETAG })).resolves.toMatchObject({ changed: true });
    await expect(bucket.rewriteMetadata('o', { acl: 'private', set: { a: '2' }, ifMatch: 'ffff' })).rejects.toMatchObject({ code: 'PreconditionFailed' });
  });
});

describe('copy', () => {
  it('returns the quoted ETag of an unquoted answer and says whether its condition holds', async () => {
    const bucket = new RecordingBucket(PROVIDER_PROFILES.ceph, simpleStore());
    const result = await bucket.copy('src/a', 'b', { acl: 'private', ifMatch: `"${ETAG}"` });
    expect(result.etag).toBe('"0123456789abcdef0123456789abcdef"');
    expect(result.guarded).toBe(true);
    expect(conditionHeaders(bucket.requests[0]!)).toEqual({ 'x-amz-copy-if-match': `"${ETAG}"` });
    const plain = new RecordingBucket(PROVIDER_PROFILES.ceph, simpleStore());
    expect((await plain.copy('src/a', 'b', { acl: 'private' })).guarded).toBeUndefined();
  });

  it('carries the source SSE-KMS encryption on a REPLACE copy', async () => {
    const kms = { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:eu-west-1:1:key/k' };
    const bucket = new RecordingBucket(PROVIDER_PROFILES.aws, simpleStore(headOf(kms)));
    await bucket.copy('src/a', 'b', { acl: 'private', metadata: { n: '1' } });
    expect(bucket.requests.find((r) => r.method === 'PUT')!.headers).toMatchObject(kms);
  });

  it('SSE-C: the source key read with copy-source headers, the destination key written, MD5s computed', async () => {
    const source = SseCustomerKey.from(randomBytes(32));
    const destination = SseCustomerKey.from(randomBytes(32));
    const bucket = new RecordingBucket(PROVIDER_PROFILES.aws, simpleStore(headOf({ 'x-amz-server-side-encryption-customer-algorithm': 'AES256' })));
    await bucket.copy('src/a', 'b', { acl: 'private', metadata: { n: '1' }, sourceSseCustomerKey: source, sseCustomerKey: destination });
    const [head, copy] = bucket.requests;
    expect(head!.headers).toMatchObject(source.headers('x-amz-'));
    expect(copy!.headers).toMatchObject({ ...source.headers('x-amz-copy-source-'), ...destination.headers('x-amz-') });
    expect(copy!.headers!['x-amz-server-side-encryption']).toBeUndefined();
  });
});

describe('multipart copy', () => {
  const big = 12 * 1024 * 1024;
  const multipartStore = (completedEtag: string, sizeAfter: number): Script => {
    let completed = false;
    return (req) => {
      if (req.method === 'HEAD') return { headers: completed ? { etag: '"abc-3"', 'content-length': String(sizeAfter) } : headOf({ 'content-length': String(big), 'x-amz-server-side-encryption': 'AES256' }) };
      if (req.method === 'POST' && req.query?.uploads !== undefined) return { body: '<InitiateMultipartUploadResult><UploadId>u1</UploadId></InitiateMultipartUploadResult>' };
      if (req.method === 'PUT') return { body: `<CopyPartResult><ETag>p${String(req.query?.partNumber)}</ETag><LastModified>2026-12-03T00:00:00.000Z</LastModified></CopyPartResult>` };
      if (req.method === 'POST') {
        completed = true;
        return { body: `<CompleteMultipartUploadResult><Bucket>bkt</Bucket><Key>b</Key><ETag>${completedEtag}</ETag></CompleteMultipartUploadResult>` };
      }
      return {};
    };
  };
  const options = { acl: 'private' as const, multipart: { threshold: 5 * 1024 * 1024, partSize: 5 * 1024 * 1024, concurrency: 2 } };

  it('an empty <ETag> on completion: HEAD for it, sizes match; parts sent back quoted', async () => {
    const bucket = new RecordingBucket(PROVIDER_PROFILES.ceph, multipartStore('', big));
    const result = await bucket.copy('src/a', 'b', options);
    // Ceph ignores conditions on UploadPartCopy: the source is HEADed again before completing.
    expect(result).toMatchObject({ etag: '"abc-3"', multipart: true, guarded: false });
    const parts = bucket.requests.filter((r) => r.method === 'PUT');
    expect(parts).toHaveLength(3);
    for (const part of parts) expect(conditionHeaders(part)).toEqual({ 'x-amz-copy-source-if-match': `"${ETAG}"` });
    const methods = bucket.requests.map((r) => (r.method === 'POST' ? (r.query?.uploads !== undefined ? 'CREATE' : 'COMPLETE') : r.method));
    // The HEAD gave no tag count: the tags are read (a multipart copy brings nothing of the source's); none here.
    expect(methods).toEqual(['HEAD', 'GET', 'CREATE', 'PUT', 'PUT', 'PUT', 'HEAD', 'COMPLETE', 'HEAD']);
    const complete = bucket.requests.find((r) => r.method === 'POST' && r.query?.uploadId !== undefined)!;
    expect(String(complete.body)).toContain('<ETag>&quot;p1&quot;</ETag>');
    // The source's SSE-S3 goes on CreateMultipartUpload.
    expect(bucket.requests.find((r) => r.query?.uploads !== undefined)!.headers).toMatchObject({ 'x-amz-server-side-encryption': 'AES256' });
    expect(bucket.requests.at(-1)!.method).toBe('HEAD');
  });

  it('an empty <ETag> and a result of another size: S3JOBS_SIZE_MISMATCH, not retried', async () => {
    const bucket = new RecordingBucket(PROVIDER_PROFILES.ceph, multipartStore('', big - 1));
    await expect(bucket.copy('src/a', 'b', options)).rejects.toMatchObject({ code: 'S3JOBS_SIZE_MISMATCH', retryable: false });
  });

  it('an ETag on completion is used as it comes (quoted), no HEAD; parts guarded where the store honours it', async () => {
    const bucket = new RecordingBucket(PROVIDER_PROFILES.aws, multipartStore('abc-3', big));
    expect(await bucket.copy('src/a', 'b', options)).toMatchObject({ etag: '"abc-3"', guarded: true });
    expect(bucket.requests.at(-1)!.method).toBe('POST');
    expect(bucket.requests.filter((r) => r.method === 'HEAD')).toHaveLength(1);
  });

  it('where parts are not guarded, a source that changed during the copy is refused before completing', async () => {
    let heads = 0;
    const store = multipartStore('', big);
    const bucket = new RecordingBucket(PROVIDER_PROFILES.ceph, (req) => (req.method === 'HEAD' && ++heads === 2 ? { headers: { etag: '"changed"', 'content-length': String(big) } } : store(req)));
    await expect(bucket.copy('src/a', 'b', options)).rejects.toMatchObject({ code: 'PreconditionFailed', status: 412 });
    expect(bucket.requests.some((r) => r.method === 'POST' && r.query?.uploadId !== undefined)).toBe(false);
    expect(bucket.requests.at(-1)).toMatchObject({ method: 'DELETE' });
  });
});

describe('tags through copies (tag-carry.ts)', () => {
  const TAGS_XML = '<Tagging><TagSet><Tag><Key>team</Key><Value>a b</Value></Tag><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>';
  const big = 12 * 1024 * 1024;
  /** A store whose source has `count` tags (undefined: HEAD does not say); `destTags` answers GET ?tagging of the copy. */
  const taggedStore = (count: number | undefined, size: number, destTags = '', sourceTagging: Answer = { body: TAGS_XML }): Script => {
    const countHeader: Record<string, string> = count === undefined ? {} : { 'x-amz-tagging-count': String(count) };
    return (req) => {
      const tagging = req.query?.tagging !== undefined;
      if (req.method === 'HEAD') return { headers: headOf({ 'content-length': String(size), ...countHeader }) };
      if (req.method === 'GET' && tagging) return req.key === 'b' ? { body: destTags } : sourceTagging;
      if (req.method === 'PUT' && tagging) return {};
      if (req.method === 'POST' && req.query?.uploads !== undefined) return { body: '<InitiateMultipartUploadResult><UploadId>u1</UploadId></InitiateMultipartUploadResult>' };
      if (req.method === 'PUT' && req.query?.partNumber !== undefined) return { body: `<CopyPartResult><ETag>p${String(req.query.partNumber)}</ETag><LastModified>2026-12-03T00:00:00.000Z</LastModified></CopyPartResult>` };
      if (req.method === 'POST') return { headers: { 'x-amz-version-id': 'v9' }, body: '<CompleteMultipartUploadResult><Bucket>bkt</Bucket><Key>b</Key><ETag>abc-3</ETag></CompleteMultipartUploadResult>' };
      return { headers: { 'x-amz-version-id': 'v9' }, body: copyResult('0123456789abcdef0123456789abcdef') };
    };
  };
  const multipart = { threshold: 5 * 1024 * 1024, partSize: 5 * 1024 * 1024, concurrency: 2 };
  const steps = (bucket: RecordingBucket) =>
    bucket.requests.map((r) => {
      if (r.query?.tagging !== undefined) return `${r.method} ?tagging ${r.bucket}/${r.key ?? ''}`;
      if (r.method === 'POST') return r.query?.uploads !== undefined ? 'CREATE' : 'COMPLETE';
      return r.method === 'PUT' && r.query?.partNumber !== undefined ? 'PART' : r.method;
    });

  it('ceph: a multipart copy sends the tags on create and puts them on the written version after (the store ignores the header)', async () => {
    const bucket = new RecordingBucket(PROVIDER_PROFILES.ceph, taggedStore(2, big));
    const result = await bucket.copy('src/a', 'b', { acl: 'private', multipart });
    expect(steps(bucket)).toEqual(['HEAD', 'GET ?tagging src/a', 'CREATE', 'PART', 'PART', 'PART', 'HEAD', 'COMPLETE', 'PUT ?tagging bkt/b']);
    expect(bucket.requests.find((r) => r.query?.uploads !== undefined)!.headers!['x-amz-tagging']).toBe('team=a%20b&k=v');
    const put = bucket.requests.at(-1)!;
    expect(put.query).toMatchObject({ versionId: 'v9' });
    expect(String(put.body)).toContain('<Key>team</Key><Value>a b</Value>');
    expect(result.tags).toBe('reapplied');
  });

  it('aws: the header on create is enough; nothing after', async () => {
    const bucket = new RecordingBucket(PROVIDER_PROFILES.aws, taggedStore(2, big));
    const result = await bucket.copy('src/a', 'b', { acl: 'private', multipart });
    expect(steps(bucket)).toEqual(['HEAD', 'GET ?tagging src/a', 'CREATE', 'PART', 'PART', 'PART', 'COMPLETE']);
    expect(result.tags).toBe('carried');
  });

  it('a metadata rewrite: ceph reads and puts the tags back; aws trusts the copy; an unknown store checks and puts only if they are gone', async () => {
    const ceph = new RecordingBucket(PROVIDER_PROFILES.ceph, taggedStore(2, 5));
    expect((await ceph.rewriteMetadata('o', { acl: 'private', set: { a: '2' } })).tags).toBe('reapplied');
    expect(steps(ceph)).toEqual(['HEAD', 'GET ?tagging bkt/o', 'PUT', 'PUT ?tagging bkt/o']);

    const aws = new RecordingBucket(PROVIDER_PROFILES.aws, taggedStore(2, 5));
    expect((await aws.rewriteMetadata('o', { acl: 'private', set: { a: '2' } })).tags).toBeUndefined();
    expect(steps(aws)).toEqual(['HEAD', 'PUT']);

    // A self-copy: the tags read back after are the same object's; the store kept them here.
    const kept = new RecordingBucket(DOCUMENTED_S3, taggedStore(2, 5));
    expect((await kept.rewriteMetadata('o', { acl: 'private', set: { a: '2' } })).tags).toBeUndefined();
    expect(steps(kept)).toEqual(['HEAD', 'GET ?tagging bkt/o', 'PUT', 'GET ?tagging bkt/o']);

    let reads = 0;
    const store = taggedStore(2, 5);
    const lost = new RecordingBucket(DOCUMENTED_S3, (req) => (req.method === 'GET' && req.query?.tagging !== undefined && ++reads === 2 ? { body: '' } : store(req)));
    expect((await lost.rewriteMetadata('o', { acl: 'private', set: { a: '2' } })).tags).toBe('reapplied');
    expect(steps(lost)).toEqual(['HEAD', 'GET ?tagging bkt/o', 'PUT', 'GET ?tagging bkt/o', 'PUT ?tagging bkt/o']);
  });

  it('no tags (count 0), or a plain copy: no tagging request on any store', async () => {
    for (const store of [PROVIDER_PROFILES.ceph, PROVIDER_PROFILES.aws, DOCUMENTED_S3]) {
      const rewrite = new RecordingBucket(store, taggedStore(0, big));
      await rewrite.rewriteMetadata('o', { acl: 'private', set: { a: '2' }, multipart });
      const copy = new RecordingBucket(store, taggedStore(3, 5));
      await copy.copy('src/a', 'b', { acl: 'private' });
      for (const bucket of [rewrite, copy]) expect(bucket.requests.filter((r) => r.query?.tagging !== undefined)).toEqual([]);
    }
  });

  it('a store that cannot say (no count, GET ?tagging refused): the copy goes on, tags "not-read"; a known count that cannot be read fails it', async () => {
    const unknown = new RecordingBucket(PROVIDER_PROFILES.ceph, taggedStore(undefined, big, '', { status: 501 }));
    expect((await unknown.copy('src/a', 'b', { acl: 'private', multipart })).tags).toBe('not-read');
    const known = new RecordingBucket(PROVIDER_PROFILES.ceph, taggedStore(2, big, '', { status: 403 }));
    await expect(known.copy('src/a', 'b', { acl: 'private', multipart })).rejects.toMatchObject({ status: 403 });
    expect(known.requests.some((r) => r.query?.uploads !== undefined)).toBe(false);
  });
});

describe('putBucket: created means created', () => {
  it('where an owned bucket answers 200 (ceph), HEAD first: found → created false, no CreateBucket', async () => {
    const bucket = new RecordingBucket(PROVIDER_PROFILES.ceph, () => ({}));
    expect(await bucket.putBucket()).toEqual({ created: false });
    expect(bucket.requests.map((r) => r.method)).toEqual(['HEAD']);
  });

  it('HEAD 404 → CreateBucket → created true', async () => {
    const bucket = new RecordingBucket(PROVIDER_PROFILES.ceph, (req) => (req.method === 'HEAD' ? { status: 404 } : {}));
    expect(await bucket.putBucket()).toEqual({ created: true });
    expect(bucket.requests.map((r) => r.method)).toEqual(['HEAD', 'PUT']);
  });

  it('a store that answers 409 for an owned bucket needs no HEAD', async () => {
    const bucket = new RecordingBucket(PROVIDER_PROFILES.s3rver, () => ({}));
    expect(await bucket.putBucket()).toEqual({ created: true });
    expect(bucket.requests.map((r) => r.method)).toEqual(['PUT']);
  });
});
