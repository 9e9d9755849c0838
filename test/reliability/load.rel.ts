/**
 * Load, bounded in time, loopback only.
 *
 *   1. Burst: 100,000 jobs enqueued as fast as the producer can (addBulk, 1,000 a round trip)
 *      while two worker processes drain them: the queue depth must come back to zero, every job
 *      completed. The drain rate is the capacity of this machine.
 *   2. The highest rate held: steady enqueue rates in steps of 10% of that capacity (from 50%), 8 s each,
 *      until the backlog grows — the producer shares the two cores, so this is below the burst's.
 *   3. Sustained: 90% of that rate (a margin for the other work on a shared machine) for SUSTAIN_S
 *      seconds: the depth must stay bounded, and
 *      enqueue→completion latency is measured on every job (BullMQ's `timestamp` → `finishedOn`,
 *      both taken on this machine's clock).
 *
 * The jobs are the cheapest real ones: metadata rewrites that change nothing (two HEADs each, no
 * copy) against a fake S3 in its own process (support/fake-s3.ts) — the full worker path
 * (validation, profile, deadline, S3 client, SigV4 signing, BullMQ bookkeeping) without an S3
 * server's cost. Redis is a private redis-server without persistence, so 100,000 jobs do not
 * land in the shared one. Workers log at `info`, as in production (one line per job).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREFIX, PROFILE, percentile, runEnv, sleep, type RunEnv } from './support/harness.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';
import { report } from './support/report.js';

const BURST = Number(process.env.RELIABILITY_BURST_JOBS ?? 100_000);
const SUSTAIN_S = Number(process.env.RELIABILITY_SUSTAIN_SECONDS ?? 40);
const STEP_S = 8;
const WORKERS = 2;
const CONCURRENCY = 64;

let redis: RedisServer;
let fake: ChildProcess;
let fakeEndpoint: string;
let env: RunEnv;

beforeAll(async () => {
  redis = await startRedisServer({ persistence: 'none' });
  fake = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./support/fake-s3.ts', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
  fakeEndpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('fake S3 did not start')), 15_000);
    fake.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const port = /"port":(\d+)/.exec(chunk)?.[1];
      if (port !== undefined) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${port}`);
      }
    });
  });
  env = await runEnv({
    endpoint: fakeEndpoint,
    redisUrl: redis.url,
    name: 'rel-load',
    overrides: { logLevel: 'info', worker: { concurrency: CONCURRENCY, jobTimeoutMs: 30_000, lockDurationMs: 30_000, stalledIntervalMs: 30_000 }, retry: { attempts: 3 } },
  });
  for (let i = 0; i < WORKERS; i++) await env.startChild();
});

afterAll(async () => {
  await env?.cleanup();
  fake?.stdin?.end();
  fake?.kill('SIGKILL');
  await redis?.stop();
});

const job = { kind: 'metadata-rewrite', profile: PROFILE, bucket: 'load-bucket', key: 'object.txt', set: { rw: 'done' }, acl: 'private' } as const;
const depthOf = (c: Record<string, number>) => c.waiting! + c.prioritized! + c.delayed! + c.active!;

/** enqueue→completion latencies (ms) of the given ids, read straight from their job hashes. */
async function latencies(ids: readonly string[]): Promise<number[]> {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  const out: number[] = [];
  try {
    for (let i = 0; i < ids.length; i += 2_000) {
      const pipe = client.pipeline();
      for (const id of ids.slice(i, i + 2_000)) pipe.hmget(`${PREFIX}:${env.queue}:${id}`, 'timestamp', 'finishedOn');
      for (const [, fields] of (await pipe.exec()) ?? []) {
        const [ts, fin] = fields as [string | null, string | null];
        if (ts !== null && fin !== null) out.push(Number(fin) - Number(ts));
      }
    }
  } finally {
    client.disconnect();
  }
  return out;
}

// reduce, not Math.max(...values): a spread of 100,000+ arguments overflows the stack.
const summary = (values: number[]) => ({ count: values.length, p50: percentile(values, 50), p90: percentile(values, 90), p99: percentile(values, 99), max: values.reduce((m, v) => Math.max(m, v), 0) });

describe('load', () => {
  let capacity = 0;

  it(`a burst of ${BURST.toLocaleString('en')} jobs: the queue depth recovers to zero, every job completed`, async () => {
    const samples: { t: number; depth: number; completed: number }[] = [];
    const started = Date.now();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const c = await env.counts();
        samples.push({ t: Date.now() - started, depth: depthOf(c), completed: c.completed! });
        await sleep(500);
      }
    })();

    for (let i = 0; i < BURST; i += 1_000) await env.producer.addBulk(Array.from({ length: Math.min(1_000, BURST - i) }, (_, j) => ({ payload: job, options: { jobId: `burst-${i + j}` } })));
    const enqueuedMs = Date.now() - started;

    const until = started + 300_000;
    let c = await env.counts();
    while (depthOf(c) > 0 || c.completed! + c.failed! + c.dead! < BURST) {
      if (Date.now() > until) break;
      await sleep(250);
      c = await env.counts();
    }
    const drainedMs = Date.now() - started;
    sampling = false;
    await sampler;
    expect(c).toMatchObject({ waiting: 0, active: 0, delayed: 0, prioritized: 0, failed: 0, dead: 0, completed: BURST });

    const peak = samples.reduce((m, s) => (s.depth > m.depth ? s : m), samples[0]!);
    // With the producer competing for the two cores while it enqueues; the drain after it is faster.
    capacity = Math.round(BURST / (drainedMs / 1000));
    const drainOnly = Math.round(peak.depth / ((drainedMs - peak.t) / 1000));
    const lat = summary(await latencies(Array.from({ length: BURST }, (_, i) => `burst-${i}`)));
    report('load-burst', {
      jobs: BURST,
      enqueueMs: enqueuedMs,
      enqueueRatePerS: Math.round(BURST / (enqueuedMs / 1000)),
      peakDepth: peak.depth,
      peakAtMs: peak.t,
      drainedMs,
      throughputPerS: capacity,
      drainRateAfterEnqueuePerS: drainOnly,
      latencyMsIncludingQueueing: lat,
      depthEvery5s: samples.filter((_, i) => i % 10 === 0).map((s) => s.depth),
      workers: WORKERS,
      concurrencyPerWorker: CONCURRENCY,
    });
  });

  /** Enqueues at `rate` jobs/s for `seconds`, open loop (100 ms ticks); samples the depth every second. */
  async function offer(rate: number, seconds: number, prefix: string) {
    const tickMs = 100;
    const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
    const ids: string[] = [];
    const depths: number[] = [];
    const started = Date.now();
    let late = 0;
    for (let tick = 0; Date.now() - started < seconds * 1000; tick++) {
      const wait = started + tick * tickMs - Date.now();
      if (wait > 0) await sleep(wait);
      else late++;
      const batch = Array.from({ length: perTick }, (_, j) => `${prefix}-${tick}-${j}`);
      await env.producer.addBulk(batch.map((id) => ({ payload: job, options: { jobId: id } })));
      ids.push(...batch);
      if (tick % 10 === 9) depths.push(depthOf(await env.counts()));
    }
    return { ids, depths, achieved: Math.round(ids.length / ((Date.now() - started) / 1000)), late };
  }

  /** Waits (bounded) until every job offered so far has finished. */
  async function drain(total: number, timeoutMs: number): Promise<Record<string, number>> {
    const until = Date.now() + timeoutMs;
    let c = await env.counts();
    while (c.completed! + c.failed! + c.dead! < total && Date.now() < until) {
      await sleep(100);
      c = await env.counts();
    }
    return c;
  }

  let held = 0;
  let offeredSoFar = 0;

  it('the highest rate held: steps of 10% of the burst capacity, 8 s each, until the backlog grows', async () => {
    expect(capacity).toBeGreaterThan(0);
    await env.producer.queue.clean(0, BURST, 'completed');
    const steps: { rate: number; achieved: number; depths: number[]; held: boolean }[] = [];
    for (let share = 0.5; share <= 1.2001; share += 0.1) {
      const rate = Math.round(capacity * share);
      const run = await offer(rate, STEP_S, `step${Math.round(share * 100)}`);
      offeredSoFar += run.ids.length;
      // Held: the producer kept the pace, and the backlog left at the end of the step (beyond the
      // batch just enqueued, which is always there) is under 3% of the step's arrivals — the
      // workers completed at least 97% of what arrived while it arrived.
      const backlog = run.depths[run.depths.length - 1]! - Math.round(rate / 10);
      const ok = run.achieved >= rate * 0.9 && backlog < Math.max(100, run.ids.length * 0.03);
      steps.push({ rate, achieved: run.achieved, depths: run.depths, held: ok });
      const c = await drain(offeredSoFar, 60_000);
      expect(c).toMatchObject({ failed: 0, dead: 0 });
      if (!ok) break;
      held = rate;
    }
    report('load-steps', { capacityFromBurstPerS: capacity, steps, highestHeldPerS: held });
    expect(held).toBeGreaterThan(0);
  });

  it(`a sustained run at 90% of the highest rate held, for ${SUSTAIN_S} s: depth bounded, p50/p99 enqueue→completion latency`, async () => {
    expect(held).toBeGreaterThan(0);
    // The jobs' latencies and the completed count are read from the completed set, which keeps
    // `retention.completedCount` jobs: on a fast machine 90% of the held rate for SUSTAIN_S seconds
    // is more than that (5,062/s x 40 s = 202,505 > 200,000 once), so the rate is capped to fit.
    const retained = Math.floor(env.config.retention.completedCount * 0.95);
    const rate = Math.min(Math.round(held * 0.9), Math.floor(retained / SUSTAIN_S));
    await env.producer.queue.clean(0, 1_000_000, 'completed');
    offeredSoFar = 0;
    const completedBefore = (await env.counts()).completed!;
    const run = await offer(rate, SUSTAIN_S, 'sus');
    const completedDuring = (await env.counts()).completed! - completedBefore;
    offeredSoFar += run.ids.length;
    const c = await drain(offeredSoFar, 60_000);
    expect(c).toMatchObject({ waiting: 0, active: 0, failed: 0, dead: 0, completed: run.ids.length });
    const lat = summary(await latencies(run.ids));
    const maxDepth = Math.max(...run.depths);
    report('load-sustained', {
      ratePerS: rate,
      highestHeldPerS: held,
      cappedByRetention: rate < Math.round(held * 0.9),
      achievedRatePerS: run.achieved,
      seconds: SUSTAIN_S,
      jobs: run.ids.length,
      latencyMs: lat,
      maxDepth,
      depthEverySecond: run.depths,
      // What the workers kept up with while jobs arrived, and how fast the backlog grew (> 0: the
      // offered rate was above what the machine held during this window).
      completionRatePerS: Math.round(completedDuring / SUSTAIN_S),
      depthGrowthPerS: Math.round((run.depths[run.depths.length - 1]! - run.depths[0]!) / SUSTAIN_S),
      producerTicksLate: run.late,
    });
    expect(run.achieved).toBeGreaterThanOrEqual(rate * 0.9);
    // Sanity bounds, loose on purpose: the machine is shared (CI, other test runs) and this rate
    // is near the edge of what it holds. The measured numbers are the result.
    expect(maxDepth).toBeLessThan(rate * 8);
    expect(lat.p99).toBeLessThan(15_000);
  });
});
