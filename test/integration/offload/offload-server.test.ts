/**
 * The backend offloading example (`examples/offload-server.ts`) against real Redis, the S3 test
 * server and an in-process worker: a request becomes a job and is answered at once with 202 and
 * its id; polling (and long polling) reports the job's state and result, and the object really is
 * copied or rewritten; bad input is answered 400 (403, 404, 405, 413, 415) naming the field, with
 * nothing enqueued; no response carries a secret. The example also runs as a program.
 */
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOffloadServer, offloadSettings, parseWait } from '../../../examples/offload-server.js';
import { createLogger } from '../../../shared/log/logger.js';
import type { S3Bucket } from '../../../shared/s3/index.js';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { s3Target } from '../../support/s3-env.js';
import { DECOY_SECRET, PREFIX, PROFILE, workerTestEnv, type WorkerTestEnv } from '../workers/helpers.js';

afterAll(cleanupBuckets);

let env: WorkerTestEnv;
let server: Server | undefined;
let base: string;
const serverLogs: string[] = [];

async function listen(options: Parameters<typeof createOffloadServer>[1] = {}): Promise<void> {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      serverLogs.push(chunk.toString());
      done();
    },
  });
  const created = createOffloadServer(env.producer, { profile: PROFILE, logger: createLogger({ level: 'debug' }, sink), maxWaitMs: 15_000, ...options });
  server = created;
  await new Promise<void>((resolve) => created.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(created.address() as AddressInfo).port}`;
}

beforeEach(async () => {
  env = await workerTestEnv();
  serverLogs.length = 0;
});
afterEach(async () => {
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  }
  await env.cleanup();
});

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as Record<string, unknown>, text };
}

function expectNoSecrets(text: string): void {
  expect(text).not.toContain(s3Target().secretKey);
  expect(text).not.toContain(DECOY_SECRET);
  expect(text).not.toMatch(/secretKey|accessKey|redis:\/\//i);
}

async function source(): Promise<{ src: S3Bucket; dst: S3Bucket }> {
  const src = await freshBucket('offload-src');
  const dst = await freshBucket('offload-dst');
  await src.put('in/photo.jpg', 'jpeg bytes', { mimetype: 'image/jpeg', metadata: { owner: 'ann' } });
  return { src, dst };
}

describe('offload server', () => {
  it('copy: 202 with a job id at once; the poll reports waiting, then completed with the result; the object is copied', async () => {
    const { src, dst } = await source();
    await listen();
    const accepted = await call('POST', '/jobs/copy', { source: { bucket: src.name, key: 'in/photo.jpg' }, destination: { bucket: dst.name, key: 'out/photo.jpg' }, acl: 'private', metadata: { owner: 'bob' } });
    expect(accepted.status).toBe(202);
    const jobId = accepted.body.jobId as string;
    expect(accepted.body).toEqual({ jobId, kind: 'copy', status: `/jobs/${jobId}` });
    expect(accepted.headers.get('location')).toBe(`/jobs/${jobId}`);
    env.track(jobId);

    // No worker yet: the job waits.
    expect((await call('GET', `/jobs/${jobId}`)).body).toMatchObject({ jobId, kind: 'copy', state: 'waiting', attemptsMade: 0 });

    await env.startWorker();
    const done = await call('GET', `/jobs/${jobId}?wait=10000`);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ jobId, kind: 'copy', state: 'completed', attemptsMade: 1, result: { kind: 'copy', bytes: 10, changed: true } });
    expect((done.body.result as { etag: string }).etag).toMatch(/^"[0-9a-f]{32}"$/);
    const copied = await dst.head('out/photo.jpg');
    expect(copied.metadata).toEqual({ owner: 'bob' });
    expect(copied.contentType).toBe('image/jpeg');
    expectNoSecrets(done.text);
    await env.settle();
  });

  it('rewrite-metadata: offloaded and awaited with a long poll', async () => {
    const { src } = await source();
    await env.startWorker();
    await listen();
    const accepted = await call('POST', '/jobs/rewrite-metadata', { bucket: src.name, key: 'in/photo.jpg', acl: 'private', set: { stage: 'reviewed' }, remove: ['owner'] });
    expect(accepted.status).toBe(202);
    env.track(accepted.body.jobId as string);
    const done = await call('GET', `${accepted.body.status as string}?wait=10000`);
    expect(done.body).toMatchObject({ state: 'completed', result: { kind: 'metadata-rewrite', changed: true } });
    expect((await src.head('in/photo.jpg')).metadata).toEqual({ stage: 'reviewed' });
    await env.settle();
  });

  it('a long poll returns the current state when the wait is over before the job', async () => {
    const { src, dst } = await source();
    await listen();
    const accepted = await call('POST', '/jobs/copy', { source: { bucket: src.name, key: 'in/photo.jpg' }, destination: { bucket: dst.name, key: 'x' }, acl: 'private' });
    env.track(accepted.body.jobId as string);
    const started = Date.now();
    const answer = await call('GET', `/jobs/${accepted.body.jobId as string}?wait=300`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(answer.body).toMatchObject({ state: 'waiting' });
    await env.startWorker();
    await env.settle();
  });

  it('a job that fails for good is reported dead-lettered with its error code, and nothing secret', async () => {
    const { src, dst } = await source();
    await env.startWorker();
    await listen();
    const accepted = await call('POST', '/jobs/copy', { source: { bucket: src.name, key: 'in/missing.jpg' }, destination: { bucket: dst.name, key: 'y' }, acl: 'private' });
    env.track(accepted.body.jobId as string);
    const done = await call('GET', `/jobs/${accepted.body.jobId as string}?wait=10000`);
    expect(done.body).toMatchObject({ state: 'dead-lettered', error: { code: expect.stringMatching(/NoSuchKey|NotFound/) } });
    expect(Object.keys(done.body).sort()).toEqual(['attemptsMade', 'enqueuedAt', 'error', 'finishedAt', 'jobId', 'kind', 'state']);
    expectNoSecrets(done.text);
    await env.settle();
  });

  it('an Idempotency-Key makes a repeated request enqueue one job', async () => {
    const { src, dst } = await source();
    await listen();
    const body = { source: { bucket: src.name, key: 'in/photo.jpg' }, destination: { bucket: dst.name, key: 'z' }, acl: 'private' };
    const first = await call('POST', '/jobs/copy', body, { 'idempotency-key': 'order-1234-copy' });
    const second = await call('POST', '/jobs/copy', body, { 'idempotency-key': 'order-1234-copy' });
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(first.body.jobId).toBe('order-1234-copy');
    expect(second.body.jobId).toBe('order-1234-copy');
    expect(await env.producer.queue.count()).toBe(1);
    env.track('order-1234-copy');
    await env.startWorker();
    await env.settle();
  });

  it.each([
    ['missing acl', '/jobs/copy', { source: { bucket: 'src-bucket', key: 'k' }, destination: { bucket: 'dst-bucket', key: 'k' } }, {}, 400, 'acl'],
    ['bad bucket name', '/jobs/copy', { source: { bucket: 'Bad_Bucket', key: 'k' }, destination: { bucket: 'dst-bucket', key: 'k' }, acl: 'private' }, {}, 400, 'source.bucket'],
    ['bad metadata entry', '/jobs/rewrite-metadata', { bucket: 'b-bucket', key: 'k', acl: 'private', set: { 'bad name': 'x' } }, {}, 400, 'set.bad name'],
    ['unknown field', '/jobs/copy', { source: { bucket: 'src-bucket', key: 'k' }, destination: { bucket: 'dst-bucket', key: 'k' }, acl: 'private', colour: 'red' }, {}, 400, 'job'],
    ['a credential', '/jobs/copy', { source: { bucket: 'src-bucket', key: 'k' }, destination: { bucket: 'dst-bucket', key: 'k' }, acl: 'private', secretKey: 'hunter2-SECRET' }, {}, 400, 'secretKey'],
    ['the profile', '/jobs/copy', { profile: 'admin', source: { bucket: 'src-bucket', key: 'k' }, destination: { bucket: 'dst-bucket', key: 'k' }, acl: 'private' }, {}, 400, 'profile'],
    ['not JSON', '/jobs/copy', '{"source": ', {}, 400, 'body'],
    ['not an object', '/jobs/copy', '[1,2]', {}, 400, 'body'],
    ['bad idempotency key', '/jobs/copy', { source: { bucket: 'src-bucket', key: 'k' }, destination: { bucket: 'dst-bucket', key: 'k' }, acl: 'private' }, { 'idempotency-key': 'a:b' }, 400, 'Idempotency-Key'],
    ['not application/json', '/jobs/copy', 'acl=private', { 'content-type': 'application/x-www-form-urlencoded' }, 415, 'content-type'],
    ['too large', '/jobs/copy', { source: { bucket: 'src-bucket', key: 'k' }, destination: { bucket: 'dst-bucket', key: 'k' }, acl: 'private', metadata: { big: 'x'.repeat(70_000) } }, {}, 413, 'body'],
  ])('refused before anything is enqueued: %s', async (_name, path, body, headers, status, field) => {
    await listen();
    const answer = await call('POST', path, body, headers);
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ error: { code: expect.any(String), field, message: expect.any(String) } });
    expect(answer.text).not.toContain('hunter2');
    expect(await env.producer.queue.count()).toBe(0);
  });

  it('buckets outside the allowed list are refused with 403 naming the field', async () => {
    await listen({ allowedBuckets: ['src-bucket', 'dst-bucket'] });
    const answer = await call('POST', '/jobs/copy', { source: { bucket: 'src-bucket', key: 'k' }, destination: { bucket: 'elsewhere', key: 'k' }, acl: 'private' });
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ error: { code: 'S3JOBS_BUCKET_NOT_ALLOWED', field: 'destination.bucket' } });
    expect(await env.producer.queue.count()).toBe(0);
  });

  it('unknown jobs 404, bad waits 400, wrong methods 405, unknown routes 404', async () => {
    await listen();
    expect(await call('GET', '/jobs/no-such-job')).toMatchObject({ status: 404, body: { error: { code: 'S3JOBS_JOB_NOT_FOUND', field: 'jobId' } } });
    expect(await call('GET', '/jobs/x1?wait=soon')).toMatchObject({ status: 400, body: { error: { field: 'wait' } } });
    expect(await call('GET', '/jobs/x1?wait=999999')).toMatchObject({ status: 400, body: { error: { field: 'wait' } } });
    const get = await call('GET', '/jobs/copy');
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await call('DELETE', '/jobs/x1')).status).toBe(405);
    expect((await call('GET', '/admin')).status).toBe(404);
  });

  it('Redis going away is a 503 that says nothing about it', async () => {
    await listen();
    await env.producer.close();
    const answer = await call('POST', '/jobs/copy', { source: { bucket: 'src-bucket', key: 'k' }, destination: { bucket: 'dst-bucket', key: 'k' }, acl: 'private' });
    expect([500, 503]).toContain(answer.status);
    expect(answer.body).toEqual({ error: { code: expect.stringMatching(/^S3JOBS_(QUEUE_UNAVAILABLE|INTERNAL)$/), message: expect.any(String) } });
    expectNoSecrets(answer.text);
    expect(answer.text).not.toMatch(/at .*\.ts:\d+/);
  });
});

describe('offload settings and wait parsing', () => {
  it('reads the environment once, naming a bad variable', () => {
    expect(offloadSettings({})).toEqual({ port: 8080, host: '127.0.0.1', profile: 'default', allowedBuckets: undefined, maxWaitMs: 30_000 });
    expect(offloadSettings({ OFFLOAD_PORT: '9000', OFFLOAD_HOST: '0.0.0.0', OFFLOAD_PROFILE: 'p', OFFLOAD_BUCKETS: 'a-1, b-2,', OFFLOAD_MAX_WAIT_MS: '5000' })).toEqual({
      port: 9000,
      host: '0.0.0.0',
      profile: 'p',
      allowedBuckets: ['a-1', 'b-2'],
      maxWaitMs: 5_000,
    });
    expect(() => offloadSettings({ OFFLOAD_PORT: 'eighty' })).toThrow(/OFFLOAD_PORT/);
    expect(() => offloadSettings({ OFFLOAD_PORT: '70000' })).toThrow(/OFFLOAD_PORT/);
  });
  it('parseWait', () => {
    expect(parseWait(null, 1000)).toBe(0);
    expect(parseWait('500', 1000)).toBe(500);
    expect(() => parseWait('1001', 1000)).toThrow(/0 to 1000/);
    expect(() => parseWait('-1', 1000)).toThrow();
  });
});

describe('the example as a program', () => {
  it('npx tsx examples/offload-server.ts: listens, offloads a copy, stops on SIGTERM', { timeout: 60_000 }, async () => {
    const { src, dst } = await source();
    await env.startWorker();
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/offload-server.ts'], {
      cwd: new URL('../../../', import.meta.url),
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', S3JOBS_REDIS_URL: env.config.redisUrl, S3JOBS_QUEUE: env.queue, S3JOBS_PREFIX: PREFIX, OFFLOAD_PORT: '0', OFFLOAD_PROFILE: PROFILE },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
          if (m !== null) resolve(m[1]!);
        });
        child.once('exit', () => reject(new Error(`exited early: ${out}`)));
      });
      const res = await fetch(`${url}/jobs/copy`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ source: { bucket: src.name, key: 'in/photo.jpg' }, destination: { bucket: dst.name, key: 'by-program.jpg' }, acl: 'private' }),
      });
      expect(res.status).toBe(202);
      const { jobId, status } = (await res.json()) as { jobId: string; status: string };
      env.track(jobId);
      const done = (await (await fetch(`${url}${status}?wait=10000`)).json()) as { state: string };
      expect(done.state).toBe('completed');
      expect((await dst.head('by-program.jpg')).size).toBe(10);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
    await env.settle();
  });
});
