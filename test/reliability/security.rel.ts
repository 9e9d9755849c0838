/**
 * Security: nothing secret leaks, presigned URLs cannot be stretched, the dashboard keeps its door
 * shut, production dependencies are audited.
 *
 * The leak scan: a run with a worker process at `debug` level (its metrics port on), jobs that
 * succeed, retry, fail for good with credentials the server refuses, and fail with an error whose
 * message carries a real presigned URL — then everything it emitted is collected (worker
 * stdout/stderr, the test-side worker log, the Redis values of every key of the queue and its
 * dead-letter queue, the dead-letter records, CLI output, the dashboard's pages and JSON API, the
 * metrics) and searched for every secret key, session token and dashboard credential configured,
 * and for every request signature and presigned signature that went over the wire.
 */
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/log/logger.js';
import { S3Bucket } from '../../shared/s3/index.js';
import { runProducerCommand, type CliIo } from '../../producers/cli/index.js';
import { startDashboard, type Dashboard } from '../../producers/dashboard/server.js';
import { bucketClient, cleanupBuckets, freshBucket } from '../support/buckets.js';
import { isCopyRequest, startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { freePort } from './support/redis-server.js';
import { redisUrl } from '../support/redis.js';
import { s3Target } from '../support/s3-env.js';
import { DECOY_SECRET, DECOY_TOKEN, PREFIX, PROFILE, runEnv, type RunEnv } from './support/harness.js';
import { report } from './support/report.js';

const target = s3Target();
const SEC_SECRET = 'rel-SECRET-key-4f0c9d2e8b7a61f3c5d4';
const SEC_TOKEN = 'rel-SESSION-token-a7c3e9f1b2d4';
const DASH_PASSWORD = 'rel-dash-PASSWORD-91be';
const DASH_TOKEN = 'rel-dash-TOKEN-0d6a3c';

let env: RunEnv;
let proxy: FaultProxy;
let src: S3Bucket;
let dst: S3Bucket;
let dashboard: Dashboard;
const dashboardLogs: string[] = [];

beforeAll(async () => {
  src = await freshBucket('rel-sec-src');
  dst = await freshBucket('rel-sec-dst');
  proxy = await startFaultProxy({ upstream: target.endpoint });
  env = await runEnv({
    endpoint: proxy.endpoint,
    name: 'rel-sec',
    overrides: {
      logLevel: 'debug',
      retry: { attempts: 3, backoffBaseMs: 50, backoffMaxMs: 200 },
      // Credentials the server does not know: every request signed with them is refused.
      profiles: { sec: { endpoint: proxy.endpoint, accessKey: 'AKIARELIABILITYSEC01', secretKey: SEC_SECRET, sessionToken: SEC_TOKEN, region: target.region, forcePathStyle: true } },
    },
  });
  dashboard = await startDashboard({
    config: env.config,
    host: '127.0.0.1',
    port: 0,
    auth: { basic: { user: 'ops', password: DASH_PASSWORD }, token: DASH_TOKEN },
    logger: createLogger({ level: 'debug' }, new Writable({ write: (c: Buffer, _e, done) => (dashboardLogs.push(c.toString()), done()) })),
  });
});

afterAll(async () => {
  await dashboard?.close();
  await env?.cleanup();
  await proxy?.close();
  await cleanupBuckets();
});

/** Every value of every key under `prefix`, as text. */
async function redisDump(prefix: string): Promise<{ keys: number; text: string }> {
  const client = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  const parts: string[] = [];
  let keys = 0;
  try {
    let cursor = '0';
    do {
      const [next, found] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      for (const key of found) {
        keys++;
        const type = await client.type(key);
        parts.push(`## ${key} (${type})`);
        if (type === 'string') parts.push((await client.getBuffer(key))?.toString('latin1') ?? '');
        else if (type === 'hash') parts.push(JSON.stringify(await client.hgetall(key)));
        else if (type === 'list') parts.push(JSON.stringify(await client.lrange(key, 0, -1)));
        else if (type === 'set') parts.push(JSON.stringify(await client.smembers(key)));
        else if (type === 'zset') parts.push(JSON.stringify(await client.zrange(key, 0, -1, 'WITHSCORES')));
        else if (type === 'stream') parts.push(JSON.stringify(await client.xrange(key, '-', '+')));
      }
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return { keys, text: parts.join('\n') };
}

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const res = await request(url, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
}

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

describe('security', () => {
  it('secrets and signatures never appear in logs, errors, job payloads (Redis), dead letters, CLI output, the dashboard or metrics', async () => {
    const metricsPort = await freePort();
    const worker = await env.startChild({}, { S3JOBS_METRICS_PORT: String(metricsPort) });
    // A real presigned URL of a real object: its signature must not travel into any record.
    await src.put('shared.txt', 'shared');
    const presigned = bucketClient(src.name).makeUrlAuthed('shared.txt', { expire: 600 });
    const presignedSig = new URL(presigned).searchParams.get('X-Amz-Signature')!;
    expect(presignedSig).toMatch(/^[0-9a-f]{64}$/);

    const copy = (i: number, extra: Record<string, unknown> = {}) => ({
      payload: { kind: 'copy', profile: PROFILE, source: { bucket: src.name, key: `o${i}` }, destination: { bucket: dst.name, key: `o${i}` }, acl: 'private', metadata: { n: String(i) }, ...extra },
      options: { jobId: `sec-${i}` },
    });
    for (let i = 0; i < 30; i++) await src.put(`o${i}`, `object ${i}`);
    // Jobs 20-24: a server error echoing a presigned URL (some servers echo the request line);
    // 25-29: the first copy fails with a 500, then succeeds.
    const echoed = new Set(Array.from({ length: 5 }, (_, k) => `/${dst.name}/o${20 + k}`));
    const flaky = new Set(Array.from({ length: 5 }, (_, k) => `/${dst.name}/o${25 + k}`));
    proxy.setDecide((r) => {
      if (!isCopyRequest(r)) return undefined;
      if (echoed.has(r.pathname)) return { type: 'error', status: 400, code: 'InvalidArgument', message: `Invalid request ${presigned} (Authorization: ${String(r.headers.authorization)})` };
      if (flaky.has(r.pathname)) {
        flaky.delete(r.pathname);
        return { type: 'internal' };
      }
      return undefined;
    });
    await env.addBulk([
      ...Array.from({ length: 30 }, (_, i) => copy(i)),
      // Signed with credentials the server refuses (and a session token).
      ...Array.from({ length: 5 }, (_, i) => ({ ...copy(100 + i, { profile: 'sec', source: { bucket: src.name, key: 'o1' } }) })),
    ]);
    const { completed, deadLettered } = await env.settle({ timeoutMs: 60_000 });
    expect(completed.size).toBe(25);
    expect(deadLettered.size).toBe(10);

    // Everything the run emitted.
    const io = (): CliIo & { out: string[] } => {
      const out: string[] = [];
      return { out, stdout: (t) => void out.push(t), stderr: (t) => void out.push(t), env: { S3JOBS_REDIS_URL: redisUrl(), S3JOBS_QUEUE: env.queue, S3JOBS_PREFIX: PREFIX } };
    };
    const cli = io();
    const exitCodes: Record<string, number> = {};
    for (const argv of [['status', 'sec-20'], ['status', 'sec-100'], ['status', 'sec-100', '--json'], ['dlq', 'list'], ['dlq', 'list', '--json'], ['dlq', 'show', 'sec-20'], ['dlq', 'show', 'sec-101', '--json'], ['queue']])
      exitCodes[argv.join(' ')] = await runProducerCommand(argv[0]!, argv.slice(1), cli);
    // Every command really printed what it shows (a usage error would scan nothing of interest).
    expect(Object.entries(exitCodes).filter(([, code]) => code !== 0 && code !== 1)).toEqual([]);
    const auth = { authorization: `Bearer ${DASH_TOKEN}` };
    const board: string[] = [];
    for (const path of ['queues', 'runs', 'runs.json', 'queues/api/queues', 'queues/api/redis/stats'])
      board.push((await get(`${dashboard.url}${path}`, auth)).body);
    for (const queue of [env.queue, `${env.queue}-dead`])
      for (const status of ['completed', 'failed', 'waiting', 'latest'])
        board.push((await get(`${dashboard.url}queues/api/queues?activeQueue=${encodeURIComponent(queue)}&status=${status}&page=1&jobsPerPage=100`, auth)).body);
    board.push((await get(`${dashboard.url}queues/api/queues/${encodeURIComponent(`${env.queue}-dead`)}/sec-20`, auth)).body);
    expect(board.join('\n')).toContain('sec-20'); // the API really served the jobs
    let metrics = '';
    try {
      metrics = (await get(`http://127.0.0.1:${metricsPort}/metrics`)).body;
    } catch {
      metrics = '';
    }
    const dump = await redisDump(`${PREFIX}:${env.queue}`);
    const records = JSON.stringify([...deadLettered.values()]);
    await worker.stop();

    // What to look for: every configured secret, and every signature that went over the wire.
    const wireSignatures = new Set<string>();
    for (const e of proxy.log) {
      const sig = /Signature=([0-9a-f]{64})/.exec(String(e.headers.authorization ?? ''))?.[1];
      if (sig !== undefined) wireSignatures.add(sig);
    }
    expect(wireSignatures.size).toBeGreaterThan(50);
    const needles: [string, string][] = [
      // s3rver's secret key is also its access key id ("S3RVER"), which is not secret and may be
      // named (Credential=S3RVER/…): searched only on a server where the two differ.
      ...(target.secretKey === target.accessKey ? [] : [['S3 secret key', target.secretKey] as [string, string]]),
      ['refused profile secret key', SEC_SECRET],
      ['session token', SEC_TOKEN],
      ['decoy secret key', DECOY_SECRET],
      ['decoy session token', DECOY_TOKEN],
      ['dashboard password', DASH_PASSWORD],
      ['dashboard token', DASH_TOKEN],
      ['presigned URL signature', presignedSig],
      ...[...wireSignatures].map((s): [string, string] => ['request signature', s]),
    ];
    const haystacks: [string, string][] = [
      ['worker process stdout', worker.lines.join('\n')],
      ['worker process stderr', worker.stderr.join('')],
      ['test-side logs', env.logs.join('\n')],
      ['Redis (every key of the queue and its dead-letter queue)', dump.text],
      ['dead-letter records', records],
      ['CLI output', cli.out.join('')],
      ['dashboard pages and API', board.join('\n')],
      ['dashboard log', dashboardLogs.join('')],
      ['metrics', metrics],
    ];
    const leaks: string[] = [];
    for (const [where, text] of haystacks) for (const [what, needle] of needles) if (text.includes(needle)) leaks.push(`${what} in ${where}`);
    expect(leaks).toEqual([]);
    // The echoed presigned URL did arrive — scrubbed: the errors say where a signature was.
    expect(records).toContain('X-Amz-Signature=[redacted]');
    expect([...deadLettered.values()].filter((d) => d.payload !== undefined && d.jobId.startsWith('sec-10')).map((d) => d.error.code).sort()).toEqual(expect.arrayContaining([expect.stringMatching(/InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|Forbidden/)]));
    report('security-leak-scan', {
      jobs: completed.size + deadLettered.size,
      completed: completed.size,
      deadLettered: deadLettered.size,
      secretsAndSignaturesSearched: needles.length,
      wireSignatures: wireSignatures.size,
      redisKeysDumped: dump.keys,
      bytesScanned: Object.fromEntries(haystacks.map(([w, t]) => [w, t.length])),
      metricsServed: metrics.length > 0,
      leaks: leaks.length,
    });
  });

  it('presigned URLs cannot be extended, re-targeted, re-used for another method or parameters: the server refuses every tampering', async () => {
    const bucket = await freshBucket('rel-sec-url');
    const other = await freshBucket('rel-sec-url2');
    await bucket.put('a.txt', 'object a');
    await bucket.put('b.txt', 'object b');
    await other.put('a.txt', 'other a');
    const client = bucketClient(bucket.name);
    const url = new URL(client.makeUrlAuthed('a.txt', { expire: 60 }));
    expect((await get(url.toString())).body).toBe('object a');

    const tamper = (fn: (u: URL) => void): string => {
      const u = new URL(url.toString());
      fn(u);
      return u.toString();
    };
    const cases: [string, string, string?][] = [
      ['extended (X-Amz-Expires 60 → 604800)', tamper((u) => u.searchParams.set('X-Amz-Expires', '604800'))],
      ['re-dated (X-Amz-Date moved forward a day)', tamper((u) => u.searchParams.set('X-Amz-Date', u.searchParams.get('X-Amz-Date')!.replace(/^(\d{8})/, (d) => String(Number(d) + 1))))],
      ['re-targeted to another key', tamper((u) => (u.pathname = u.pathname.replace('a.txt', 'b.txt')))],
      ['re-targeted to another bucket', tamper((u) => (u.pathname = u.pathname.replace(bucket.name, other.name)))],
      ['a response header added (response-content-type)', tamper((u) => u.searchParams.set('response-content-type', 'text/html'))],
      ['signature of another URL', tamper((u) => u.searchParams.set('X-Amz-Signature', new URL(client.makeUrlAuthed('b.txt', { expire: 60 })).searchParams.get('X-Amz-Signature')!))],
      ['used for DELETE', url.toString(), 'DELETE'],
      ['used for PUT', url.toString(), 'PUT'],
    ];
    const expired = new S3Bucket({ name: bucket.name, accessKey: target.accessKey, secretKey: target.secretKey, endpoint: target.endpoint, region: target.region }, { now: () => Date.now() - 600_000 }).makeUrlAuthed('a.txt', { expire: 60 });
    cases.push(['expired (signed 10 min ago for 60 s)', expired]);
    const outcomes: Record<string, number> = {};
    for (const [name, u, method] of cases) {
      const res = await request(u, { method: (method ?? 'GET') as 'GET', ...(method === 'PUT' ? { body: 'overwritten' } : {}), signal: AbortSignal.timeout(10_000) });
      await res.body.dump();
      outcomes[name] = res.statusCode;
    }
    expect(Object.entries(outcomes).filter(([, status]) => status !== 403)).toEqual([]);
    // Nothing was changed by the refused attempts.
    expect((await bucket.getBuffer('a.txt')).toString()).toBe('object a');
    report('security-presigned-tampering', outcomes);
  });

  it('the dashboard refuses unauthenticated access when auth is configured, on every route but /healthz', async () => {
    const paths = ['', 'queues', 'queues/', 'queues/api/queues', `queues/api/queues/${env.queue}/sec-1`, 'runs', 'runs.json', 'queues/static/../../runs.json'];
    const attempts: [string, Record<string, string>][] = [
      ['no credentials', {}],
      ['wrong password', basic('ops', 'wrong')],
      ['right password, wrong user', basic('root', DASH_PASSWORD)],
      ['wrong bearer token', { authorization: 'Bearer nope' }],
      ['token in the wrong scheme', { authorization: `Token ${DASH_TOKEN}` }],
      ['malformed basic', { authorization: 'Basic !!!' }],
    ];
    const refused: string[] = [];
    for (const path of paths)
      for (const [name, headers] of attempts) {
        const res = await get(`${dashboard.url}${path}`, headers);
        if (res.status !== 401) refused.push(`/${path} with ${name}: ${res.status}`);
        if (res.body.includes(DASH_PASSWORD) || res.body.includes(DASH_TOKEN)) refused.push(`/${path}: the 401 echoes a credential`);
        if (path === 'queues' && name === 'no credentials') expect(String(res.headers['www-authenticate'])).toContain('Basic realm="s3jobs dashboard"');
      }
    expect(refused).toEqual([]);
    expect((await get(`${dashboard.url}healthz`)).status).toBe(200);
    for (const headers of [basic('ops', DASH_PASSWORD), { authorization: `Bearer ${DASH_TOKEN}` }, basic('anyone', DASH_TOKEN)]) expect((await get(`${dashboard.url}runs.json`, headers)).status).toBe(200);
    // Refuses to start beyond localhost without auth at all.
    await expect(startDashboard({ config: env.config, host: '0.0.0.0', port: 0 })).rejects.toMatchObject({ name: 'ValidationError', field: 'host' });
    report('security-dashboard-auth', { routes: paths.length, badCredentialKinds: attempts.length, refused401: paths.length * attempts.length });
  });

  it('npm audit --omit=dev --audit-level=high: no high or critical advisory in production dependencies', async (ctx) => {
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile('npm', ['audit', '--omit=dev', '--audit-level=high', '--json'], { cwd: process.cwd(), timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
      ),
    );
    const unreachable = /audit endpoint returned an error|ENOTFOUND|ECONNREFUSED|EAI_AGAIN|ETIMEDOUT|\b40[345]\b|\b5\d\d\b/.exec(`${result.stderr}\n${result.stdout.slice(0, 2_000)}`);
    let parsed: { metadata?: { vulnerabilities?: Record<string, number> } } | undefined;
    try {
      parsed = JSON.parse(result.stdout) as typeof parsed;
    } catch {
      parsed = undefined;
    }
    if (parsed?.metadata?.vulnerabilities === undefined && unreachable !== null) {
      report('security-npm-audit', { status: 'registry audit endpoint unreachable', detail: (result.stderr.split('\n').find((l) => /audit|npm (warn|error)/.test(l)) ?? unreachable[0]).trim() });
      ctx.skip();
      return;
    }
    const v = parsed?.metadata?.vulnerabilities ?? {};
    report('security-npm-audit', { status: 'ran', vulnerabilities: v });
    expect({ high: v.high ?? 0, critical: v.critical ?? 0 }).toEqual({ high: 0, critical: 0 });
    expect(result.code).toBe(0);
  });
});
