import { describe, expect, it, vi } from 'vitest';
import { ErrorCodes, ValidationError } from '../../../shared/errors.js';
import { pathFor, resolveBucketConfig } from '../../../shared/s3/bucket-config.js';
import { ReadOnlyS3Bucket, S3Bucket } from '../../../shared/s3/index.js';

const base = { name: 'my-bucket', accessKey: 'AK', secretKey: 'SK' };

describe('resolveBucketConfig: where requests go', () => {
  it.each<[string, Record<string, unknown>, string, string, string]>([
    ['AWS us-east-1, virtual host', {}, 'https://my-bucket.s3.amazonaws.com', 'my-bucket.s3.amazonaws.com', ''],
    ['AWS region, virtual host', { region: 'eu-west-1' }, 'https://my-bucket.s3.eu-west-1.amazonaws.com', 'my-bucket.s3.eu-west-1.amazonaws.com', ''],
    ['AWS forced path style', { forcePathStyle: true }, 'https://s3.amazonaws.com', 's3.amazonaws.com', '/my-bucket'],
    ['custom endpoint: path style by default', { endpoint: 'http://127.0.0.1:9000' }, 'http://127.0.0.1:9000', '127.0.0.1:9000', '/my-bucket'],
    ['custom endpoint, default port dropped from Host', { endpoint: 'https://minio.local:443' }, 'https://minio.local', 'minio.local', '/my-bucket'],
    ['custom endpoint, virtual host on request', { endpoint: 'http://s3.local:9000', forcePathStyle: false }, 'http://my-bucket.s3.local:9000', 'my-bucket.s3.local:9000', ''],
    ['own domain (baseUrl)', { baseUrl: 'https://files.example.com' }, 'https://files.example.com', 'files.example.com', ''],
    ['own domain with a path', { baseUrl: 'https://cdn.example.com/assets' }, 'https://cdn.example.com', 'cdn.example.com', '/assets'],
  ])('%s', (_name, extra, origin, host, basePath) => {
    const config = resolveBucketConfig({ ...base, ...extra });
    expect(config.endpoint).toEqual({ origin, host, basePath });
  });

  it('dotted bucket names fall back to path style on AWS (virtual hosts break TLS for them)', () => {
    const config = resolveBucketConfig({ ...base, name: 'my.dotted.bucket' });
    expect(config.endpoint).toEqual({ origin: 'https://s3.amazonaws.com', host: 's3.amazonaws.com', basePath: '/my.dotted.bucket' });
  });

  it('another bucket of the same service (copy sources) follows the same addressing', () => {
    const config = resolveBucketConfig({ ...base, endpoint: 'http://127.0.0.1:9000' });
    expect(config.endpointFor('other-bucket')).toEqual({ origin: 'http://127.0.0.1:9000', host: '127.0.0.1:9000', basePath: '/other-bucket' });
    expect(config.endpointFor('my-bucket')).toBe(config.endpoint);
  });

  it('pathFor: the bucket path has no trailing slash; keys are appended raw (encoded when signed)', () => {
    const config = resolveBucketConfig({ ...base, endpoint: 'http://h:1' });
    expect(pathFor(config.endpoint)).toBe('/my-bucket');
    expect(pathFor(config.endpoint, 'a b/c')).toBe('/my-bucket/a b/c');
    expect(pathFor(resolveBucketConfig(base).endpoint)).toBe('/');
  });
});

describe('resolveBucketConfig: every option validated at construction', () => {
  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['bad bucket name', { name: 'My_Bucket' }, 'name', /bucket/],
    ['IP-address bucket name', { name: '192.168.1.1' }, 'name', /IP/],
    ['missing secret', { secretKey: '' }, 'secretKey', /missing/],
    ['missing access key', { accessKey: undefined }, 'accessKey', /missing/],
    ['baseUrl with trailing slash', { baseUrl: 'https://files.example.com/' }, 'baseUrl', /trailing slash/],
    ['baseUrl not a URL', { baseUrl: 'files.example.com' }, 'baseUrl', /not a valid URL/],
    ['ftp endpoint', { endpoint: 'ftp://h' }, 'endpoint', /protocol/],
    ['endpoint with credentials', { endpoint: 'http://u:p@h' }, 'endpoint', /credentials/],
    ['endpoint and baseUrl', { endpoint: 'http://h', baseUrl: 'http://b' }, 'baseUrl', /not both/],
    ['bad region', { region: 'EU West' }, 'region', /region/],
    ['negative timeout', { timeout: -1 }, 'timeout', /positive/],
    ['timeout in a string', { timeout: '10' }, 'timeout', /milliseconds/],
  ])('%s', (_name, extra, field, message) => {
    let caught: unknown;
    try {
      new S3Bucket({ ...base, ...extra } as never);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect(caught).toMatchObject({ field, code: ErrorCodes.InvalidInput });
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).not.toContain('SK');
  });
});

describe('presigned URLs, offline', () => {
  const now = () => Date.UTC(2026, 0, 1, 0, 0, 0);
  it('carries the expiry, signs only host and keeps the key encoded', () => {
    const bucket = new ReadOnlyS3Bucket({ ...base, endpoint: 'http://127.0.0.1:1' }, { now });
    const url = new URL(bucket.makeUrlAuthed('dir/a b+c.txt', { expire: 120 }));
    expect(url.pathname).toBe('/my-bucket/dir/a%20b%2Bc.txt');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('120');
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20260101T000000Z');
    expect(url.searchParams.get('X-Amz-Credential')).toBe('AK/20260101/us-east-1/s3/aws4_request');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('every expiry form gives the same URL for the same instant', () => {
    const bucket = new ReadOnlyS3Bucket(base, { now });
    const at = new Date(now() + 600_000);
    const urls = [600, at, at.getTime() / 1000, { seconds: 600 }, { until: at }].map((expire) => bucket.makeUrlAuthed('k', { expire }));
    expect(new Set(urls).size).toBe(1);
    expect(bucket.makeUrlAuthed('k')).toContain('X-Amz-Expires=300');
  });

  it('urlFor is a deprecated alias that warns once', () => {
    const bucket = new ReadOnlyS3Bucket(base, { now });
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    expect(bucket.urlFor('k', { expire: 60 })).toBe(bucket.makeUrlAuthed('k', { expire: 60 }));
    bucket.urlFor('k');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/deprecated.*makeUrlAuthed/);
    warn.mockRestore();
  });

  it('a read-only bucket rejects network methods without creating a transport', async () => {
    const bucket = new ReadOnlyS3Bucket(base);
    await expect(bucket.head('k')).rejects.toMatchObject({ code: ErrorCodes.ReadOnly });
    await expect(bucket.putBucket()).rejects.toMatchObject({ code: ErrorCodes.ReadOnly });
  });
});
