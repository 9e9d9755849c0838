import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  amzDate,
  canonicalHeaders,
  canonicalQuery,
  presignRequest,
  sha256Hex,
  signRequest,
  uriEncode,
  uriEncodePath,
  signingKey,
} from '../../../shared/s3/signer/index.js';

interface VectorCase {
  name: string;
  presigned?: boolean;
  method: string;
  path: string;
  query?: Record<string, string>;
  headers: Record<string, string>;
  body?: string;
  expiresSeconds?: number;
  payloadSha256: string;
  signedHeaders: string;
  signature: string;
}
interface Vectors {
  credentials: { accessKeyId: string; secretAccessKey: string; region: string; service: string; amzDate: string };
  host: string;
  cases: VectorCase[];
}

const vectors = JSON.parse(readFileSync(new URL('../../fixtures/sigv4-s3.json', import.meta.url), 'utf8')) as Vectors;
const { credentials: c } = vectors;
const date = new Date(Date.UTC(2013, 4, 24, 0, 0, 0));
const ctx = { credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey }, region: c.region, service: c.service, date };

describe('SigV4 against the AWS documentation vectors', () => {
  it('the vectors use the date the context injects', () => {
    expect(amzDate(date)).toBe(c.amzDate);
  });

  for (const v of vectors.cases.filter((x) => !x.presigned)) {
    it(`header signature: ${v.name}`, () => {
      if (v.body !== undefined) expect(sha256Hex(v.body)).toBe(v.payloadSha256);
      const signed = signRequest({ method: v.method, path: v.path, query: v.query, headers: { host: vectors.host, ...v.headers } }, v.payloadSha256, ctx);
      const auth = signed.headers.authorization ?? '';
      expect(auth).toContain(`SignedHeaders=${v.signedHeaders},`);
      expect(auth).toBe(`AWS4-HMAC-SHA256 Credential=${c.accessKeyId}/20130524/us-east-1/s3/aws4_request, SignedHeaders=${v.signedHeaders}, Signature=${v.signature}`);
    });
  }

  for (const v of vectors.cases.filter((x) => x.presigned)) {
    it(`presigned URL: ${v.name}`, () => {
      const { path, query } = presignRequest({ method: v.method, path: v.path, headers: { host: vectors.host } }, v.expiresSeconds ?? 0, ctx);
      expect(path).toBe(v.path);
      const params = new URLSearchParams(query);
      expect(params.get('X-Amz-SignedHeaders')).toBe(v.signedHeaders);
      expect(params.get('X-Amz-Expires')).toBe(String(v.expiresSeconds));
      expect(params.get('X-Amz-Signature')).toBe(v.signature);
    });
  }

  it('a different secret gives a different signature (the test can fail)', () => {
    const v = vectors.cases[0]!;
    const signed = signRequest({ method: v.method, path: v.path, headers: { host: vectors.host, ...v.headers } }, v.payloadSha256, {
      ...ctx,
      credentials: { accessKeyId: c.accessKeyId, secretAccessKey: `${c.secretAccessKey}x` },
    });
    expect(signed.headers.authorization).not.toContain(v.signature);
  });

  it('adds the session token as a signed header', () => {
    const signed = signRequest({ method: 'GET', path: '/k', headers: { host: 'h' } }, sha256Hex(''), {
      ...ctx,
      credentials: { ...ctx.credentials, sessionToken: 'TOKEN' },
    });
    expect(signed.headers['x-amz-security-token']).toBe('TOKEN');
    expect(signed.headers.authorization).toContain('SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,');
  });
});

describe('uriEncode', () => {
  it.each([
    ['abcXYZ019-._~', 'abcXYZ019-._~'],
    ['a b', 'a%20b'],
    ['a+b', 'a%2Bb'],
    ['$', '%24'],
    ["!'()*", '%21%27%28%29%2A'],
    ['é', '%C3%A9'],
    ['日本', '%E6%97%A5%E6%9C%AC'],
    ['a/b', 'a%2Fb'],
    ['?#%', '%3F%23%25'],
  ])('%j -> %j', (input, expected) => {
    expect(uriEncode(input)).toBe(expected);
  });
});

describe('uriEncodePath', () => {
  it.each([
    ['/bucket/key', '/bucket/key'],
    ['/bucket/dir/my file+1.txt', '/bucket/dir/my%20file%2B1.txt'],
    ['/bucket/a//b', '/bucket/a//b'],
    ['/bucket/./../x', '/bucket/./../x'],
    ['/bucket/ünï', '/bucket/%C3%BCn%C3%AF'],
  ])('%j -> %j (segments encoded, never normalised)', (input, expected) => {
    expect(uriEncodePath(input)).toBe(expected);
  });
});

describe('canonicalQuery', () => {
  it.each<[Record<string, string | string[] | undefined>, string]>([
    [{}, ''],
    [{ acl: '' }, 'acl='],
    [{ prefix: 'J', 'max-keys': '2' }, 'max-keys=2&prefix=J'],
    [{ b: ['2', '1'], a: 'x y' }, 'a=x%20y&b=1&b=2'],
    [{ 'continuation-token': 'a+b/c=', skip: undefined }, 'continuation-token=a%2Bb%2Fc%3D'],
  ])('%j -> %j', (input, expected) => {
    expect(canonicalQuery(input)).toBe(expected);
  });
});

describe('canonicalHeaders', () => {
  it('lower-cases, trims, folds spaces, sorts and skips unsignable headers', () => {
    const result = canonicalHeaders({ Host: 'h', 'X-Amz-Meta-A': '  a   b  ', 'user-agent': 'ua', Range: 'bytes=0-9' });
    expect(result.canonical).toBe('host:h\nrange:bytes=0-9\nx-amz-meta-a:a b\n');
    expect(result.signedHeaders).toBe('host;range;x-amz-meta-a');
  });
});

describe('signingKey', () => {
  it('matches the AWS documentation example key derivation', () => {
    // From the AWS "Examples of how to derive a signing key" page (service iam, 2015-08-30).
    const key = signingKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20150830', 'us-east-1', 'iam');
    expect(key.toString('hex')).toBe('c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9');
  });
});
