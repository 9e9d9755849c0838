import { createHash, createHmac } from 'node:crypto';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  isCopyRequest,
  startFaultProxy,
  type Fault,
  type FaultProxy,
} from '../../support/fault-proxy.js';
import { s3Target, uniqueBucketName } from '../../support/s3-env.js';
import { startS3rver, type S3rverProcess } from '../../support/s3rver-process.js';

/**
 * These tests send raw requests through the proxy to s3rver. s3rver accepts unsigned requests
 * (it never answers AccessDenied), which keeps them independent of our S3 client. With an external
 * S3_TEST_ENDPOINT (which would refuse them) they use a private s3rver instead.
 */
let upstream: { endpoint: string; accessKey: string; secretKey: string };
let privateS3rver: S3rverProcess | undefined;
let bucket: string;
const listingKeys = Array.from({ length: 20 }, (_, i) => `listing/key-${String(i).padStart(3, '0')}`);
const bigBody = Buffer.alloc(256 * 1024, 'x');

let proxy: FaultProxy;
let dispatcher: Agent;

beforeAll(async () => {
  const target = s3Target();
  if (target.kind === 's3rver') {
    upstream = target;
  } else {
    privateS3rver = await startS3rver();
    upstream = privateS3rver;
  }
  bucket = uniqueBucketName('fault-proxy');
  const direct = new Agent();
  try {
    const put = async (path: string, body?: Buffer | string): Promise<void> => {
      const res = await request(`${upstream.endpoint}${path}`, { method: 'PUT', body, dispatcher: direct });
      expect(res.statusCode, await res.body.text()).toBe(200);
    };
    await put(`/${bucket}`);
    await put(`/${bucket}/big`, bigBody);
    await put(`/${bucket}/source`, 'copy me');
    for (const key of listingKeys) await put(`/${bucket}/${key}`, key);
  } finally {
    await direct.close();
  }
});

afterAll(async () => {
  await privateS3rver?.stop();
});

beforeEach(async () => {
  proxy = await startFaultProxy({ upstream: upstream.endpoint });
  dispatcher = new Agent();
});

afterEach(async () => {
  await proxy.close();
  await dispatcher.destroy();
});

const via = (path: string): string => `${proxy.endpoint}${path}`;
const direct = (path: string): string => `${upstream.endpoint}${path}`;

/** Rejection of a promise, or a failure if it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<{ code?: string; name?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { code?: string; name?: string };
  }
  throw new Error('expected a rejection');
}

/**
 * Minimal SigV4 header signing for a bodiless request — only to prove that signatures survive the
 * proxy. Not the product signer (that lives in shared/), deliberately independent of it.
 */
function signedHeaders(
  method: string,
  url: string,
  creds: { accessKey: string; secretKey: string },
): Record<string, string> {
  const u = new URL(url);
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/us-east-1/s3/aws4_request`;
  const headers = { host: u.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-date': amzDate };
  const names = Object.keys(headers).sort();
  const canonical = [
    method,
    u.pathname,
    '',
    ...names.map((n) => `${n}:${headers[n as keyof typeof headers]}`),
    '',
    names.join(';'),
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonical).digest('hex'),
  ].join('\n');
  let key: Buffer = Buffer.from(`AWS4${creds.secretKey}`);
  for (const part of [day, 'us-east-1', 's3', 'aws4_request']) {
    key = createHmac('sha256', key).update(part).digest();
  }
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  return {
    'x-amz-content-sha256': headers['x-amz-content-sha256'],
    'x-amz-date': amzDate,
    authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKey}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  };
}

describe('fault-proxy pass-through', () => {
  it('forwards requests and streams bodies both ways', async () => {
    const upload = Buffer.alloc(300 * 1024, 'u');
    const put = await request(via(`/${bucket}/through-proxy`), { method: 'PUT', body: upload, dispatcher });
    expect(put.statusCode).toBe(200);
    await put.body.dump();

    const get = await request(direct(`/${bucket}/through-proxy`), { dispatcher });
    expect(Buffer.from(await get.body.arrayBuffer()).equals(upload)).toBe(true);

    const big = await request(via(`/${bucket}/big`), { dispatcher });
    expect(big.headers['content-length']).toBe(String(bigBody.length));
    expect(Buffer.from(await big.body.arrayBuffer()).equals(bigBody)).toBe(true);

    expect(proxy.log.map((e) => [e.method, e.pathname, e.fault, e.status])).toEqual([
      ['PUT', `/${bucket}/through-proxy`, 'none', 200],
      ['GET', `/${bucket}/big`, 'none', 200],
    ]);
  });

  it('keeps the Host header, so a SigV4 signature made for the proxy verifies upstream', async () => {
    const good = await request(via('/'), { dispatcher, headers: signedHeaders('GET', via('/'), upstream) });
    expect(good.statusCode).toBe(200);
    expect(await good.body.text()).toContain('ListAllMyBucketsResult');
    expect(proxy.log[0]?.headers.host).toBe(new URL(proxy.endpoint).host);

    const wrong = { ...upstream, secretKey: 'not-the-secret' };
    const bad = await request(via('/'), { dispatcher, headers: signedHeaders('GET', via('/'), wrong) });
    expect(bad.statusCode).toBe(403);
    expect(await bad.body.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });
});

describe('fault-proxy faults', () => {
  it('slowdown: 503 SlowDown with Retry-After, upstream untouched', async () => {
    proxy.enqueue({ type: 'slowdown' }, { type: 'slowdown', retryAfter: 7 }, { type: 'slowdown', retryAfter: null });
    const key = `/${bucket}/never-written`;
    const first = await request(via(key), { method: 'PUT', body: 'x', dispatcher });
    expect(first.statusCode).toBe(503);
    expect(first.headers['retry-after']).toBe('1');
    expect(await first.body.text()).toContain('<Code>SlowDown</Code>');
    const second = await request(via('/'), { dispatcher });
    expect(second.headers['retry-after']).toBe('7');
    await second.body.dump();
    const third = await request(via('/'), { dispatcher });
    expect(third.headers['retry-after']).toBeUndefined();
    await third.body.dump();

    const check = await request(direct(key), { method: 'HEAD', dispatcher });
    expect(check.statusCode).toBe(404);
    await check.body.dump();
    expect(proxy.log.map((e) => [e.fault, e.forwarded, e.status])).toEqual([
      ['slowdown', false, 503],
      ['slowdown', false, 503],
      ['slowdown', false, 503],
    ]);
  });

  it('forward: true lets the write happen upstream while the client sees the failure', async () => {
    proxy.enqueue({ type: 'internal', forward: true });
    const key = `/${bucket}/written-anyway`;
    const res = await request(via(key), { method: 'PUT', body: 'landed', dispatcher });
    expect(res.statusCode).toBe(500);
    expect(await res.body.text()).toContain('<Code>InternalError</Code>');
    const check = await request(direct(key), { dispatcher });
    expect(await check.body.text()).toBe('landed');
    expect(proxy.log[0]).toMatchObject({ fault: 'internal', forwarded: true, upstreamStatus: 200, status: 500 });
  });

  it('internal and generic errors carry S3 error XML', async () => {
    proxy.enqueue({ type: 'internal' }, { type: 'error', status: 400, code: 'RequestTimeout', message: 'idle' });
    const a = await request(via('/'), { dispatcher });
    expect(a.statusCode).toBe(500);
    expect(a.headers['content-type']).toBe('application/xml');
    expect(await a.body.text()).toMatch(/<Error><Code>InternalError<\/Code>.*<RequestId>FAULTPROXY1<\/RequestId>/);
    const b = await request(via('/'), { dispatcher });
    expect(b.statusCode).toBe(400);
    expect(await b.body.text()).toContain('<Code>RequestTimeout</Code><Message>idle</Message>');
  });

  it('reset-before: the client sees a socket error and no response', async () => {
    proxy.enqueue({ type: 'reset-before' });
    const err = await rejectionOf(request(via('/'), { dispatcher }));
    expect(err.code).toMatch(/^(ECONNRESET|UND_ERR_SOCKET)$/);
    expect(proxy.log[0]).toMatchObject({ fault: 'reset-before', status: undefined, forwarded: false });
  });

  it('reset-during: headers and part of the body arrive, then the socket is reset', async () => {
    proxy.enqueue({ type: 'reset-during', bytes: 1000 });
    const res = await request(via(`/${bucket}/big`), { dispatcher });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe(String(bigBody.length));
    let received = 0;
    const err = await rejectionOf(
      (async () => {
        for await (const chunk of res.body) received += (chunk as Buffer).length;
      })(),
    );
    expect(err.code).toMatch(/^(ECONNRESET|UND_ERR_SOCKET)$/);
    expect(received).toBe(1000);
  });

  it('stall: never answers, the client times out, and the proxy sees it hang up', async () => {
    proxy.enqueue({ type: 'stall' });
    const err = await rejectionOf(request(via('/'), { dispatcher, signal: AbortSignal.timeout(300) }));
    expect(err.name).toMatch(/AbortError|TimeoutError/);
    await expect.poll(() => proxy.log[0]?.clientAborted).toBe(true);
    expect(proxy.log[0]).toMatchObject({ fault: 'stall', forwarded: false, status: undefined });
  });

  it('stall with afterMs: answers normally, late', async () => {
    proxy.enqueue({ type: 'stall', afterMs: 300 });
    const started = Date.now();
    const res = await request(via('/'), { dispatcher });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toContain('ListAllMyBucketsResult');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('error-200 hits only matching requests: a copy gets 200 + <Error>, other requests pass', async () => {
    proxy.setMatch(isCopyRequest);
    proxy.enqueue({ type: 'error-200', code: 'InternalError' });
    const dest = `/${bucket}/copy-dest`;

    const plain = await request(via(`/${bucket}/source`), { dispatcher });
    expect(await plain.body.text()).toBe('copy me');

    const copy = await request(via(dest), {
      method: 'PUT',
      headers: { 'x-amz-copy-source': `/${bucket}/source` },
      dispatcher,
    });
    expect(copy.statusCode).toBe(200);
    expect(await copy.body.text()).toContain('<Error><Code>InternalError</Code>');

    const check = await request(direct(dest), { method: 'HEAD', dispatcher });
    expect(check.statusCode).toBe(404);
    await check.body.dump();

    const again = await request(via(dest), {
      method: 'PUT',
      headers: { 'x-amz-copy-source': `/${bucket}/source` },
      dispatcher,
    });
    expect(again.statusCode).toBe(200);
    expect(await again.body.text()).toContain('<CopyObjectResult>');
    expect(proxy.log.map((e) => e.fault)).toEqual(['none', 'error-200', 'none']);
  });

  it('truncated-xml: a consistent HTTP response whose XML is cut short', async () => {
    const full = await (await request(direct(`/${bucket}?list-type=2&prefix=listing/`), { dispatcher })).body.text();
    expect(full).toContain('</ListBucketResult>');

    proxy.enqueue({ type: 'truncated-xml' });
    const res = await request(via(`/${bucket}?list-type=2&prefix=listing/`), { dispatcher });
    expect(res.statusCode).toBe(200);
    const body = await res.body.text();
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(body.length).toBe(Math.floor(full.length / 2));
    expect(full.startsWith(body)).toBe(true);
    expect(body).not.toContain('</ListBucketResult>');
    expect(proxy.log[0]?.query.get('list-type')).toBe('2');
  });

  it('wrong-length: Content-Length larger than the body, then the connection closes', async () => {
    proxy.enqueue({ type: 'wrong-length', extraBytes: 100 });
    const res = await request(via(`/${bucket}?list-type=2&prefix=listing/`), { dispatcher });
    expect(res.statusCode).toBe(200);
    const announced = Number(res.headers['content-length']);
    let received = 0;
    const err = await rejectionOf(
      (async () => {
        for await (const chunk of res.body) received += (chunk as Buffer).length;
      })(),
    );
    expect(err.code).toMatch(/^(UND_ERR_SOCKET|ECONNRESET|UND_ERR_RES_CONTENT_LENGTH_MISMATCH)$/);
    expect(received).toBe(announced - 100);
  });
});

describe('fault-proxy fault selection', () => {
  it('uses the queue first, then the decision function, else passes through', async () => {
    proxy.setDecide((r) => (r.method === 'HEAD' ? { type: 'internal' } : undefined));
    proxy.enqueue({ type: 'slowdown' });
    const statuses: number[] = [];
    for (const method of ['HEAD', 'HEAD', 'GET'] as const) {
      const res = await request(via(`/${bucket}/source`), { method, dispatcher });
      statuses.push(res.statusCode);
      await res.body.dump();
    }
    expect(statuses).toEqual([503, 500, 200]);
    expect(proxy.log.map((e) => e.fault)).toEqual(['slowdown', 'internal', 'none']);
    expect(proxy.faulted()).toHaveLength(2);
    expect(proxy.pending()).toBe(0);
  });

  it('random mode is reproducible from its seed and respects the rate', async () => {
    const faults: Fault[] = [{ type: 'slowdown' }, { type: 'internal' }];
    const run = async (seed: number, rate: number): Promise<string[]> => {
      proxy.clearLog();
      proxy.setRandom({ rate, seed, faults });
      for (let i = 0; i < 30; i++) {
        const res = await request(via('/'), { dispatcher });
        await res.body.dump();
      }
      return proxy.log.map((e) => e.fault);
    };
    const a = await run(42, 0.5);
    const b = await run(42, 0.5);
    expect(a).toEqual(b);
    expect(a).toContain('none');
    expect(a.some((f) => f !== 'none')).toBe(true);
    expect(new Set(await run(7, 0))).toEqual(new Set(['none']));
    expect((await run(7, 1)).every((f) => f === 'slowdown' || f === 'internal')).toBe(true);
  });

  it('waitForRequests resolves once requests arrived', async () => {
    const waiting = proxy.waitForRequests(2);
    await (await request(via('/'), { dispatcher })).body.dump();
    await (await request(via('/'), { dispatcher })).body.dump();
    expect(await waiting).toHaveLength(2);
  });
});
