/**
 * The dashboard against real Redis, looked at through real HTTP and a real headless Chromium:
 * a unique queue holding waiting, completed, failed and dead-lettered jobs (made with BullMQ
 * directly) and one migration run must show on the pages; the pages need credentials; the
 * credentials never come back in a page; a screenshot shows a rendered page, not a blank one.
 */
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig, type S3JobsConfig } from '../../../shared/config/config.js';
import { deadLetterQueueName, type DeadLetterRecord } from '../../../shared/queue/index.js';
import { RunStore } from '../../../shared/runs/run-store.js';
import { runDashboardCommand, startDashboard, type Dashboard } from '../../../producers/dashboard/index.js';
import { createRedis, deleteQueueKeys, redisUrl, uniqueQueueName } from '../../support/redis.js';
import { chromiumMissingReason, imageStats, launchBrowser, type Browser } from './browser.js';

const PREFIX = 'dash-test';
const USER = 'ops';
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
const TOKEN = `tok-${randomBytes(16).toString('hex')}`;
const RUN_ID = 'run-dash-1';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const copyPayload = (key: string) => ({
  kind: 'copy',
  profile: 'default',
  source: { bucket: 'src', key },
  destination: { bucket: 'dst', key },
  acl: 'private',
});

let redis: Redis;
let queueName: string;
let config: S3JobsConfig;
let dashboard: Dashboard;

async function seedQueue(): Promise<void> {
  const queue = new Queue(queueName, { connection: redis, prefix: PREFIX });
  const dead = new Queue(deadLetterQueueName(queueName), { connection: redis, prefix: PREFIX });
  try {
    // Finished jobs first, with a worker that completes "copy" jobs and fails the rest…
    await queue.add('copy', copyPayload('done-a.txt'), { jobId: 'done-a' });
    await queue.add('copy', copyPayload('done-b.txt'), { jobId: 'done-b' });
    await queue.add('metadata-rewrite', { kind: 'metadata-rewrite' }, { jobId: 'failed-a', attempts: 1 });
    const finished = new Set<string>();
    const worker = new Worker(
      queueName,
      async (job) => {
        if (job.name !== 'copy') throw new Error('S3JOBS_INVALID_JOB: payload has no bucket');
        return { kind: 'copy', etag: '"abc"', bytes: 3 };
      },
      { connection: createRedis(), prefix: PREFIX },
    );
    await new Promise<void>((resolve, reject) => {
      const settle = (id: string | undefined) => {
        if (id !== undefined) finished.add(id);
        if (finished.size === 3) resolve();
      };
      worker.on('completed', (job) => settle(job.id));
      worker.on('failed', (job) => settle(job?.id));
      worker.on('error', reject);
    });
    await worker.close();
    // …then jobs no worker takes: waiting in the work queue, and dead letters.
    for (const id of ['wait-a', 'wait-b', 'wait-c']) await queue.add('copy', copyPayload(`${id}.txt`), { jobId: id });
    for (const id of ['dead-a', 'dead-b']) {
      const now = Date.now();
      const record: DeadLetterRecord = {
        jobId: id,
        queue: queueName,
        name: 'copy',
        kind: 'copy',
        payload: copyPayload(`${id}.txt`),
        error: { code: 'AccessDenied', message: 'Access Denied', retryable: false, status: 403, requestId: 'REQ123' },
        attemptsMade: 1,
        reason: 'permanent',
        enqueuedAt: now - 1_000,
        failedAt: now,
        deadLetteredAt: now,
      };
      await dead.add('copy', record, { jobId: id });
    }
    await new RunStore(redis, PREFIX, queueName).createOrGet(RUN_ID, 'metadata-rewrite', { bucket: 'src', prefix: 'photos/' });
  } finally {
    await queue.close();
    await dead.close();
  }
}

beforeAll(async () => {
  redis = createRedis();
  queueName = uniqueQueueName('dash');
  config = buildConfig({ overrides: { redisUrl: redisUrl(), queue: queueName, prefix: PREFIX, logLevel: 'silent' } });
  await seedQueue();
  dashboard = await startDashboard({ config, host: '127.0.0.1', port: 0, auth: { basic: { user: USER, password: PASSWORD }, token: TOKEN } });
}, 60_000);

afterAll(async () => {
  await dashboard?.close();
  for (const name of [queueName, deadLetterQueueName(queueName)]) await deleteQueueKeys(name, { bullPrefix: PREFIX, redis });
  await redis?.quit();
});

function url(path: string): string {
  return new URL(path.replace(/^\//, ''), dashboard.url).href;
}

describe('dashboard over HTTP', () => {
  it('answers 401 with a Basic challenge to requests without valid credentials', async () => {
    const attempts: [string, Record<string, string>][] = [
      ['/queues', {}],
      ['/queues/api/queues', {}],
      ['/runs', {}],
      ['/runs.json', {}],
      ['/runs.json', { authorization: basic(USER, `${PASSWORD}x`) }],
      ['/runs.json', { authorization: basic('someone', PASSWORD) }],
      ['/runs.json', { authorization: `Bearer ${TOKEN}x` }],
      ['/runs.json', { authorization: `Bearer ${PASSWORD}` }],
      ['/runs.json', { authorization: 'Basic not-base64!' }],
    ];
    for (const [path, headers] of attempts) {
      const res = await fetch(url(path), { headers, redirect: 'manual' });
      const body = await res.text();
      expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="s3jobs dashboard"/);
      expect(body).not.toContain(PASSWORD);
      expect(body).not.toContain(TOKEN);
    }
  });

  it('lets basic auth, the bearer token, and the token as basic password in', async () => {
    for (const authorization of [basic(USER, PASSWORD), `Bearer ${TOKEN}`, basic('anyone', TOKEN)]) {
      const res = await fetch(url('/runs.json'), { headers: { authorization } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { queue: string; runs: { id: string; kind: string }[] };
      expect(body.queue).toBe(queueName);
      expect(body.runs.map((r) => r.id)).toEqual([RUN_ID]);
    }
  });

  it('serves /healthz without auth, and redirects / to the queues', async () => {
    const health = await fetch(url('/healthz'));
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');
    const root = await fetch(url('/'), { headers: { authorization: `Bearer ${TOKEN}` }, redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/queues');
    for (const path of ['/queues', '/queues/']) {
      const page = await fetch(url(path), { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(page.status, path).toBe(200);
      expect(await page.text(), path).toContain('<base href="/queues/"');
    }
  });

  it('counts the seeded jobs through the bull-board API', async () => {
    const res = await fetch(url('/queues/api/queues?activeQueue=' + encodeURIComponent(queueName)), { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { queues: { name: string; readOnlyMode: boolean; counts: Record<string, number> }[] };
    const byName = new Map(body.queues.map((q) => [q.name, q]));
    expect(byName.get(queueName)?.counts).toMatchObject({ waiting: 3, completed: 2, failed: 1 });
    expect(byName.get(deadLetterQueueName(queueName))?.counts).toMatchObject({ waiting: 2 });
    expect(byName.get(deadLetterQueueName(queueName))?.readOnlyMode).toBe(true);
  });

  it('never puts the password or the token into a page', async () => {
    for (const path of ['/queues', `/queues/queue/${queueName}`, '/runs', '/runs.json', '/queues/api/queues', '/healthz']) {
      const res = await fetch(url(path), { headers: { authorization: basic(USER, PASSWORD) } });
      const body = await res.text();
      expect(res.status, path).toBe(200);
      expect(body, path).not.toContain(PASSWORD);
      expect(body, path).not.toContain(TOKEN);
      for (const [name, value] of res.headers) {
        expect(value, `${path} header ${name}`).not.toContain(PASSWORD);
        expect(value, `${path} header ${name}`).not.toContain(TOKEN);
      }
    }
  });
});

const missing = chromiumMissingReason();
if (missing !== undefined) console.warn(`[dashboard browser tests] SKIPPED: ${missing}`);

describe.skipIf(missing !== undefined)('dashboard in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  async function openPage(authorization: string | undefined) {
    const page = await browser.context.newPage();
    if (authorization !== undefined) await page.setExtraHTTPHeaders({ authorization });
    return page;
  }

  it('refuses a browser without credentials (401)', async () => {
    const page = await openPage(undefined);
    try {
      // Chromium answers the Basic challenge by asking for credentials; with none to give, the
      // navigation ends in net::ERR_INVALID_AUTH_CREDENTIALS (its body is never read). The response is the 401.
      const target = url('/queues');
      const [response] = await Promise.all([page.waitForResponse((r) => r.url() === target), page.goto(target).catch(() => undefined)]);
      expect(response.status()).toBe(401);
      expect(response.headers()['www-authenticate']).toMatch(/^Basic /);
    } finally {
      await page.close();
    }
  });

  it('lists both queues, then the waiting, completed, failed and dead-lettered jobs', async () => {
    const page = await openPage(basic(USER, PASSWORD));
    try {
      const response = await page.goto(url('/queues'));
      expect(response?.status()).toBe(200);
      await page.getByText(deadLetterQueueName(queueName), { exact: true }).first().waitFor();
      await page.getByText(queueName, { exact: true }).first().waitFor();

      const shows = async (path: string, ids: string[], absent: string[] = []) => {
        await page.goto(url(path));
        for (const id of ids) await page.getByText(id).first().waitFor({ timeout: 15_000 });
        const text = await page.innerText('body');
        for (const id of absent) expect(text, `${path} should not show ${id}`).not.toContain(id);
        return text;
      };
      await shows(`/queues/queue/${queueName}?status=waiting`, ['wait-a', 'wait-b', 'wait-c'], ['done-a', 'dead-a']);
      await shows(`/queues/queue/${queueName}?status=completed`, ['done-a', 'done-b'], ['wait-a']);
      // The failed job's reason, and the dead letters' recorded S3 error, are on the page too.
      await shows(`/queues/queue/${queueName}?status=failed`, ['failed-a', 'S3JOBS_INVALID_JOB: payload has no bucket']);
      const dead = await shows(`/queues/queue/${deadLetterQueueName(queueName)}?status=waiting`, ['dead-a', 'dead-b', '"AccessDenied"']);
      expect(dead).toContain('Dead letters');

      const html = await page.content();
      expect(html).not.toContain(PASSWORD);
      expect(html).not.toContain(TOKEN);
    } finally {
      await page.close();
    }
  });

  it('takes a screenshot that shows a rendered page with the jobs, not a blank one', async () => {
    const page = await openPage(`Bearer ${TOKEN}`);
    try {
      await page.goto(url(`/queues/queue/${queueName}?status=waiting`));
      await page.getByText('wait-c', { exact: true }).first().waitFor({ timeout: 15_000 });
      const shot = await page.screenshot({ type: 'png' });
      const stats = imageStats(shot);
      expect(stats.width).toBe(1280);
      expect(stats.height).toBe(800);

      // The same browser's rendering of an empty white page, as the baseline of "nothing shown".
      await page.setContent('<html><body style="margin:0;background:#fff"></body></html>');
      const blank = imageStats(await page.screenshot({ type: 'png' }));
      expect(blank.lumaVariance).toBeLessThan(1);
      expect(blank.colours).toBe(1);

      expect(stats.lumaVariance).toBeGreaterThan(100);
      expect(stats.nonWhiteShare).toBeGreaterThan(0.05);
      expect(stats.colours).toBeGreaterThan(20);
      expect(shot.length).toBeGreaterThan(10_000);
    } finally {
      await page.close();
    }
  });

  it('shows the migration run on the runs page', async () => {
    const page = await openPage(basic(USER, PASSWORD));
    try {
      const response = await page.goto(url('/runs'));
      expect(response?.status()).toBe(200);
      const row = page.locator(`tr[data-run-id="${RUN_ID}"]`);
      await row.waitFor();
      const cells = await row.locator('td').allInnerTexts();
      expect(cells.slice(0, 3)).toEqual([RUN_ID, 'metadata-rewrite', 'listing']);
      expect(await page.content()).not.toContain(PASSWORD);
    } finally {
      await page.close();
    }
  });
});

describe('s3jobs dashboard command', () => {
  function captureIo(env: Record<string, string | undefined>) {
    const out = { stdout: '', stderr: '' };
    return { out, io: { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t), env } };
  }

  it('serves with credentials from the environment, never printing them, and stops on its signal with 0', async () => {
    const env = { REDIS_URL: redisUrl(), S3JOBS_QUEUE: queueName, S3JOBS_PREFIX: PREFIX, S3JOBS_LOG_LEVEL: 'silent', S3JOBS_DASHBOARD_USER: USER, S3JOBS_DASHBOARD_PASSWORD: PASSWORD, S3JOBS_DASHBOARD_TOKEN: TOKEN };
    const { out, io } = captureIo(env);
    const stop = new AbortController();
    const exit = runDashboardCommand(['--port', '0', '--json'], io, { signal: stop.signal });
    for (let i = 0; i < 100 && !out.stdout.includes('\n'); i++) await new Promise((r) => setTimeout(r, 50));
    const { url: base } = JSON.parse(out.stdout) as { url: string };
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await fetch(new URL('runs.json', base))).status).toBe(401);
    expect((await fetch(new URL('runs.json', base), { headers: { authorization: basic(USER, PASSWORD) } })).status).toBe(200);
    stop.abort();
    expect(await exit).toBe(0);
    expect(out.stderr).toContain('auth: basic (user "ops") or bearer token');
    expect(out.stdout + out.stderr).not.toContain(PASSWORD);
    expect(out.stdout + out.stderr).not.toContain(TOKEN);
  });

  it('exits 2 before touching Redis when asked to listen beyond localhost without auth', async () => {
    const { out, io } = captureIo({ REDIS_URL: 'redis://127.0.0.1:1' });
    expect(await runDashboardCommand(['--host', '0.0.0.0'], io)).toBe(2);
    expect(out.stderr).toMatch(/--host: "0\.0\.0\.0" makes the dashboard reachable beyond this machine, and no auth is configured/);
  });

  it('exits 3 naming the URL (password masked) when Redis does not answer', async () => {
    const { out, io } = captureIo({ REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:1` });
    expect(await runDashboardCommand(['--port', '0'], io)).toBe(3);
    expect(out.stderr).toContain('Redis is unreachable at redis://:****@127.0.0.1:1');
    expect(out.stderr).not.toContain(PASSWORD);
  });
});
