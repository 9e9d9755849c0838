/**
 * Process faults: workers SIGKILLed at random points, Redis killed and restarted (with and without
 * persistence), a producer killed in the middle of a bulk enqueue and run again.
 *
 * Redis here is a private redis-server on a spare loopback port (support/redis-server.ts), never
 * the shared one on 6379. Workers are child processes (`workers/main.ts`). Every S3 copy is held
 * 50–200 ms by the fault proxy so that kills land while jobs are in flight (and a fast machine
 * does not finish the run before the kills are done).
 *
 * Every run ends with: enqueued = completed + dead-lettered, each job in exactly one, nothing
 * stuck; the run store (one bit per job) counts each job once whatever ran twice; every
 * destination object holds the right bytes and metadata — no duplicates in effect.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Error } from '../../shared/errors.js';
import { RunStore } from '../../shared/runs/index.js';
import type { S3Bucket } from '../../shared/s3/index.js';
import { cleanupBuckets, freshBucket } from '../support/buckets.js';
import { isCopyRequest, mulberry32, startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { s3Target } from '../support/s3-env.js';
import { inBatches, PREFIX, PROFILE, runEnv, sleep, type RunEnv } from './support/harness.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';
import { report } from './support/report.js';

const SEED = Number(process.env.RELIABILITY_SEED ?? 20_261_125);
const JOBS = 1_000;
const SOURCES = 100;
/** Short locks: a killed worker's jobs are picked up again within ~2-3 s. */
const WORKER = { concurrency: 8, lockDurationMs: 2_000, stalledIntervalMs: 1_000, jobTimeoutMs: 10_000, shutdownGraceMs: 1_000 };
const target = s3Target();
const rand = mulberry32(SEED);

let src: S3Bucket;
let proxy: FaultProxy;
const sourceBodies: Buffer[] = [];
const servers: RedisServer[] = [];
const envs: RunEnv[] = [];

beforeAll(async () => {
  src = await freshBucket('rel-pf-src');
  await inBatches(Array.from({ length: SOURCES }, (_, i) => i), 16, async (i) => {
    sourceBodies[i] = Buffer.from(`source ${i} `.repeat(1 + (i % 40)));
    await src.put(`s/${i}`, sourceBodies[i]!, { mimetype: 'text/plain', metadata: { source: String(i) } });
  });
  const latency = mulberry32(SEED + 7);
  proxy = await startFaultProxy({ upstream: target.endpoint, decide: (r) => (isCopyRequest(r) ? { type: 'stall', afterMs: 50 + Math.floor(latency() * 150) } : undefined) });
});
afterAll(async () => {
  for (const env of envs.splice(0)) await env.cleanup().catch(() => undefined);
  for (const server of servers.splice(0)) await server.stop();
  await proxy?.close();
  await cleanupBuckets();
});

async function redisServer(persistence: 'aof' | 'none'): Promise<RedisServer> {
  const server = await startRedisServer({ persistence });
  servers.push(server);
  return server;
}

async function env(redis: RedisServer, name: string): Promise<RunEnv> {
  const e = await runEnv({ endpoint: proxy.endpoint, redisUrl: redis.url, name, overrides: { worker: WORKER, retry: { attempts: 5, backoffBaseMs: 100, backoffMaxMs: 500 } } });
  envs.push(e);
  return e;
}

const copyPayload = (dst: string, i: number, runId?: string) => ({
  kind: 'copy' as const,
  profile: PROFILE,
  source: { bucket: src.name, key: `s/${i % SOURCES}` },
  destination: { bucket: dst, key: `d/${i}` },
  acl: 'private' as const,
  metadata: { job: String(i) },
  ...(runId === undefined ? {} : { runId, runSlot: i }),
});

/** Destinations present and correct, missing, or wrong (bytes or metadata). */
async function checkDestinations(dst: S3Bucket, keyOf: (i: number) => string, sourceOf: (i: number) => number | undefined, n: number) {
  const wrong: string[] = [];
  let present = 0;
  await inBatches(Array.from({ length: n }, (_, i) => i), 32, async (i) => {
    const s = sourceOf(i);
    try {
      const info = await dst.head(keyOf(i));
      const body = await dst.getBuffer(keyOf(i));
      present++;
      if (s === undefined) wrong.push(`${keyOf(i)}: exists but its source does not`);
      else if (!body.equals(sourceBodies[s]!) || info.metadata.job !== String(i) || info.contentType !== 'text/plain') wrong.push(`${keyOf(i)}: wrong bytes or metadata`);
    } catch (err) {
      if (!(err instanceof S3Error && err.status === 404)) throw err;
    }
  });
  return { present, wrong };
}

/** Successful CopyObject requests per destination key (> 1: the job ran again after a crash). */
function copiesPerDestination(dst: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of proxy.log) if (isCopyRequest(e) && e.pathname.startsWith(`/${dst}/`) && e.status === 200) counts.set(e.pathname, (counts.get(e.pathname) ?? 0) + 1);
  return counts;
}

async function runCounters(redis: RedisServer, queue: string, runId: string) {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    const run = await new RunStore(client, PREFIX, queue).get(runId);
    const base = `${PREFIX}:${queue}:run:${runId}`;
    return { completed: run?.completed ?? 0, deadLettered: run?.deadLettered ?? 0, bitsSet: await client.bitcount(`${base}:done`), outcomeRows: await client.xlen(`${base}:outcomes`) };
  } finally {
    client.disconnect();
  }
}

async function createRun(redis: RedisServer, queue: string, runId: string): Promise<void> {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    await new RunStore(client, PREFIX, queue).createOrGet(runId, 'reliability', { jobs: JOBS });
  } finally {
    client.disconnect();
  }
}

async function waitForCompleted(e: RunEnv, n: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await e.counts()).completed! < n) {
    if (Date.now() > until) throw new Error(`fewer than ${n} jobs completed within ${timeoutMs} ms`);
    await sleep(50);
  }
}

describe.skipIf(!target.endpoint.startsWith('http:'))('process faults', () => {
  it(`SIGKILL of a worker at random points, several times, in a run of ${JOBS} jobs: nothing lost, each job counted once`, async () => {
    const redis = await redisServer('aof');
    const e = await env(redis, 'rel-kill');
    const dst = await freshBucket('rel-pf-kill');
    const runId = 'kill-run';
    await createRun(redis, e.queue, runId);
    const workers = [await e.startChild(), await e.startChild()];
    await e.addBulk(Array.from({ length: JOBS }, (_, i) => ({ payload: copyPayload(dst.name, i, runId), options: { jobId: `kill-${i}` } })));

    const kills: { atCompleted: number; active: number }[] = [];
    const until = Date.now() + 60_000;
    for (let k = 0; k < 4 && Date.now() < until; k++) {
      await sleep(500 + Math.floor(rand() * 1_000));
      const counts = await e.counts();
      if (counts.completed! + counts.dead! >= JOBS) break;
      const victim = Math.floor(rand() * workers.length);
      workers[victim]!.kill('SIGKILL');
      await workers[victim]!.exited;
      kills.push({ atCompleted: counts.completed!, active: counts.active! });
      workers[victim] = await e.startChild();
    }
    expect(kills.length).toBeGreaterThanOrEqual(3);

    const { completed, deadLettered, waitedMs } = await e.settle({ timeoutMs: 90_000 });
    const run = await runCounters(redis, e.queue, runId);
    expect(run).toEqual({ completed: completed.size, deadLettered: deadLettered.size, bitsSet: JOBS, outcomeRows: JOBS });
    const { present, wrong } = await checkDestinations(dst, (i) => `d/${i}`, (i) => i % SOURCES, JOBS);
    expect(wrong).toEqual([]);
    expect(present).toBeGreaterThanOrEqual(completed.size);
    const ranTwice = [...copiesPerDestination(dst.name).values()].filter((n) => n > 1).length;
    const stalledLogs = workers.flatMap((w) => w.entries()).filter((l) => l.msg === 'job stalled (its worker died or lost the lock): requeued').length;
    report('process-sigkill', {
      jobs: JOBS,
      kills: kills.length,
      killedAt: kills,
      completed: completed.size,
      deadLettered: deadLettered.size,
      deadLetteredBy: [...deadLettered.values()].reduce<Record<string, number>>((by, d) => ({ ...by, [`${d.reason}:${d.error.code}`]: (by[`${d.reason}:${d.error.code}`] ?? 0) + 1 }), {}),
      jobsRunTwiceByACrash: ranTwice,
      stalledJobsRequeued: stalledLogs,
      runStore: run,
      settleMs: waitedMs,
    });
  });

  it(`Redis killed (SIGKILL) and restarted mid-run with AOF persistence: no job lost of ${JOBS}`, async () => {
    const redis = await redisServer('aof');
    const e = await env(redis, 'rel-aof');
    const dst = await freshBucket('rel-pf-aof');
    const runId = 'aof-run';
    await createRun(redis, e.queue, runId);
    const workers = [await e.startChild(), await e.startChild()];
    await e.addBulk(Array.from({ length: JOBS }, (_, i) => ({ payload: copyPayload(dst.name, i, runId), options: { jobId: `aof-${i}` } })));

    await waitForCompleted(e, JOBS * 0.3, 60_000);
    const before = await e.counts();
    await redis.crash();
    const downAt = Date.now();
    await sleep(2_000);
    await redis.start();
    const downMs = Date.now() - downAt;
    const after = await e.counts();

    const { completed, deadLettered, waitedMs } = await e.settle({ timeoutMs: 120_000 });
    expect(completed.size + deadLettered.size).toBe(JOBS);
    const run = await runCounters(redis, e.queue, runId);
    expect(run).toEqual({ completed: completed.size, deadLettered: deadLettered.size, bitsSet: JOBS, outcomeRows: JOBS });
    const { wrong } = await checkDestinations(dst, (i) => `d/${i}`, (i) => i % SOURCES, JOBS);
    expect(wrong).toEqual([]);
    // The workers rode it out: still the same processes, reconnected.
    for (const w of workers) expect(await Promise.race([w.exited.then(() => 'exited'), sleep(100).then(() => 'running')])).toBe('running');
    report('process-redis-restart-aof', {
      jobs: JOBS,
      completedBeforeCrash: before.completed,
      completedRightAfterRestart: after.completed,
      redisDownMs: downMs,
      completed: completed.size,
      deadLettered: deadLettered.size,
      lost: JOBS - completed.size - deadLettered.size,
      jobsRunTwice: [...copiesPerDestination(dst.name).values()].filter((n) => n > 1).length,
      workerProcessesRestarted: 0,
      settleMs: waitedMs,
    });
  });

  it('without persistence a Redis restart loses every job it held; re-running the enqueue with the same ids recovers them', async () => {
    const redis = await redisServer('none');
    const e = await env(redis, 'rel-nopersist');
    const dst = await freshBucket('rel-pf-none');
    await e.startChild();
    await e.startChild();
    const items = Array.from({ length: JOBS }, (_, i) => ({ payload: copyPayload(dst.name, i), options: { jobId: `np-${i}` } }));
    await e.addBulk(items);

    await waitForCompleted(e, JOBS * 0.3, 60_000);
    await redis.crash();
    await redis.start();
    await sleep(1_500);
    const keysAfterRestart = await redis.dbsize();
    const afterRestart = await e.counts();
    // Redis came back empty: the waiting jobs, the completed records and the run's ids are gone.
    expect(afterRestart).toMatchObject({ waiting: 0, active: 0, completed: 0, dead: 0 });
    const { present } = await checkDestinations(dst, (i) => `d/${i}`, (i) => i % SOURCES, JOBS);
    const lost = JOBS - present;
    expect(lost).toBeGreaterThan(0);

    // Recovery: the producer enqueues the same jobs again. Ids are deterministic, so nothing is
    // doubled in Redis; jobs that had completed before the crash run again (their records went with
    // Redis) — harmlessly, because a copy is idempotent.
    e.enqueued.clear();
    await e.addBulk(items);
    const { completed, deadLettered } = await e.settle({ timeoutMs: 120_000 });
    expect(completed.size).toBe(JOBS);
    expect(deadLettered.size).toBe(0);
    const { present: finalPresent, wrong } = await checkDestinations(dst, (i) => `d/${i}`, (i) => i % SOURCES, JOBS);
    expect({ finalPresent, wrong }).toEqual({ finalPresent: JOBS, wrong: [] });
    report('process-redis-restart-no-persistence', {
      jobs: JOBS,
      keysAfterRestart,
      queueAfterRestart: afterRestart,
      doneInS3BeforeCrash: present,
      lostWithRedis: lost,
      recoveredByReEnqueue: completed.size,
      rerunAfterReEnqueue: present,
    });
  });

  it('producer killed in the middle of a bulk enqueue, then run again: every batch all-or-nothing, no job doubled, each ran once', async () => {
    const redis = await redisServer('aof');
    const e = await env(redis, 'rel-producer');
    const dst = await freshBucket('rel-pf-prod');
    const batch = 50;
    const failEvery = 97;
    const orders = { redisUrl: redis.url, queue: e.queue, prefix: PREFIX, profile: PROFILE, source: src.name, destination: dst.name, count: JOBS, batch, idPrefix: 'bulk', failEvery, pauseMs: 40 };
    await e.startChild();
    await e.startChild();

    const script = fileURLToPath(new URL('./support/bulk-producer.ts', import.meta.url));
    const runProducer = (killAfter?: number) =>
      new Promise<{ enqueued: number; killed: boolean }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { PATH: process.env.PATH ?? '', REL_PRODUCER: JSON.stringify(orders) }, stdio: ['ignore', 'pipe', 'pipe'] });
        let enqueued = 0;
        let killed = false;
        let err = '';
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          for (const line of chunk.split('\n').filter(Boolean)) {
            const msg = JSON.parse(line) as { enqueued?: number };
            if (msg.enqueued !== undefined) enqueued = msg.enqueued;
            if (killAfter !== undefined && enqueued >= killAfter && !killed) {
              killed = true;
              child.kill('SIGKILL');
            }
          }
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('exit', (code, signal) => {
          clearTimeout(timer);
          if (!killed && code !== 0) reject(new Error(`producer exited ${code ?? signal}: ${err}`));
          else resolve({ enqueued, killed });
        });
      });

    const killAfter = 300 + Math.floor(rand() * 300);
    const first = await runProducer(killAfter);
    expect(first.killed).toBe(true);
    // What the dead producer left: whole batches only (addBulk is one MULTI per batch). A job may
    // already have run: completed (kept in the queue) or dead-lettered (moved to `<queue>-dead`).
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    const present = await inBatches(Array.from({ length: JOBS }, (_, i) => i), 64, async (i) => (await client.exists(`${PREFIX}:${e.queue}:bulk-${i}`, `${PREFIX}:${e.queue}-dead:bulk-${i}`)) > 0);
    client.disconnect();
    const perBatch = Array.from({ length: JOBS / batch }, (_, b) => present.slice(b * batch, (b + 1) * batch).filter(Boolean).length);
    expect(perBatch.every((n) => n === 0 || n === batch)).toBe(true);
    const enqueuedBeforeKill = present.filter(Boolean).length;
    expect(enqueuedBeforeKill).toBeGreaterThanOrEqual(first.enqueued);

    // Let the first part finish (and its bad jobs be dead-lettered) before the producer resumes from the start.
    await sleep(2_000);
    const second = await runProducer();
    expect(second).toEqual({ enqueued: JOBS, killed: false });
    for (let i = 0; i < JOBS; i++) e.enqueued.add(`bulk-${i}`);

    const { completed, deadLettered } = await e.settle({ timeoutMs: 120_000 });
    const failing = Array.from({ length: JOBS }, (_, i) => i).filter((i) => i % failEvery === 0);
    expect(deadLettered.size).toBe(failing.length);
    expect(completed.size).toBe(JOBS - failing.length);
    const { wrong, present: done } = await checkDestinations(dst, (i) => `p/${i}`, (i) => (i % failEvery === 0 ? undefined : i % SOURCES), JOBS);
    expect(wrong).toEqual([]);
    expect(done).toBe(JOBS - failing.length);
    // Each job's copy ran exactly once: re-adding an existing id added nothing.
    const copies = copiesPerDestination(dst.name);
    expect([...copies.values()].filter((n) => n !== 1)).toEqual([]);
    // Dead-lettered jobs ran once each too — even those whose id was enqueued again by the resumed
    // producer after they had been dead-lettered (one HEAD of the missing source per job).
    const heads = new Map<string, number>();
    for (const l of proxy.log) if (l.method === 'HEAD' && l.pathname.startsWith(`/${src.name}/missing/`)) heads.set(l.pathname, (heads.get(l.pathname) ?? 0) + 1);
    expect([...heads.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(heads.size).toBe(failing.length);
    report('process-producer-crash', {
      jobs: JOBS,
      batch,
      killedAfterReporting: first.enqueued,
      enqueuedBeforeKill,
      batchesAllOrNothing: true,
      completed: completed.size,
      deadLettered: deadLettered.size,
      copiesRunTwice: [...copies.values()].filter((n) => n > 1).length,
    });
  });
});
