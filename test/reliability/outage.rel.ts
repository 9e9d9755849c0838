/**
 * S3 and Redis outages during a migration (#14): 2,000 objects rewritten by `runMigration` (the
 * producer, in this process) and two worker processes, while the store is
 *   (a) stopped for 60 s and started again (same port, same storage),
 *   (b) frozen (SIGSTOP) for 30 s and thawed — connections hang rather than fail,
 *   (c) untouched, and Redis (AOF, as docker-compose runs it) SIGKILLed and restarted.
 * Each must end by itself with 0 dead-lettered, 0 lost, every object migrated and reported once.
 * Measured: how long after the store's return the completions reach their pre-outage rate again.
 *
 * The store is an s3rver child of this file (test/support/s3rver-process.ts), never the suite's
 * shared one; Redis a private redis-server on a spare port. The migration runs at --rate 50/s so
 * that the outage (started once 400 objects are done) falls mid-run. Workers run with the default
 * breaker (5 store-down failures) and probes capped at 10 s (S3JOBS_BREAKER_MAX_PROBE_MS; the
 * default 30 s would add up to 20 s to each recovery).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigration, type MigrationResult, type MigrationStatus } from '../../producers/migrate/migration.js';
import { deadLetterQueueName } from '../../shared/queue/names.js';
import { RunStore } from '../../shared/runs/index.js';
import { S3Bucket } from '../../shared/s3/index.js';
import { readReport } from '../integration/migrate/helpers.js';
import { startS3rver, type S3rverProcess } from '../support/s3rver-process.js';
import { startWorkerProcess, workerEnv, type WorkerProcess } from '../support/worker-process.js';
import { uniqueBucketName } from '../support/s3-env.js';
import { inBatches, PREFIX, PROFILE, relConfig, sleep } from './support/harness.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';
import { report } from './support/report.js';

const OBJECTS = 2_000;
const RATE = 50;
const OUTAGE_AT_COMPLETED = 400;
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** A store this file may stop and freeze: its own s3rver child, or its own Ceph RGW. */
interface OutageStore {
  readonly kind: 's3rver' | 'ceph';
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  close(): Promise<void>;
}

async function s3rverStore(): Promise<OutageStore> {
  const dir = await mkdtemp(join(tmpdir(), 's3jobs-outage-'));
  let child: S3rverProcess = await startS3rver({ directory: dir });
  const port = child.port;
  return {
    kind: 's3rver',
    endpoint: child.endpoint,
    accessKey: child.accessKey,
    secretKey: child.secretKey,
    stop: () => child.stop(),
    start: async () => {
      child = await startS3rver({ directory: dir, port });
    },
    freeze: async () => void process.kill(child.pid!, 'SIGSTOP'),
    thaw: async () => void process.kill(child.pid!, 'SIGCONT'),
    close: async () => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGCONT');
      await child.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Our own Ceph RGW (never the shared one on 7480): its own directory and ports. Undefined, with
 * the reason printed, when ceph is not installed or RELIABILITY_CEPH=0.
 */
const CEPH_SCRIPT = join(process.cwd(), 'test/stores/ceph-rgw.sh');
const CEPH_ENV = { ...process.env, CEPH_RGW_DIR: '/tmp/ceph-outage', CEPH_RGW_PORT: '7491', CEPH_MON_PORT: '3311' };
const run = promisify(execFile);
const ceph = (command: string) => run(CEPH_SCRIPT, [command], { env: CEPH_ENV, timeout: 240_000 });
function cephSkipReason(): string | undefined {
  if (process.env.RELIABILITY_CEPH === '0') return 'RELIABILITY_CEPH=0';
  if (!existsSync('/usr/bin/radosgw') && !existsSync('/usr/local/bin/radosgw')) return 'ceph (radosgw) is not installed';
  return undefined;
}
async function cephStore(): Promise<OutageStore> {
  await ceph('start');
  const env = (await ceph('env')).stdout;
  const value = (name: string) => new RegExp(`${name}=(\\S+)`).exec(env)?.[1] ?? '';
  return {
    kind: 'ceph',
    endpoint: value('S3_TEST_ENDPOINT'),
    accessKey: value('S3_TEST_ACCESS_KEY'),
    secretKey: value('S3_TEST_SECRET_KEY'),
    stop: async () => void (await ceph('kill-rgw')),
    start: async () => void (await ceph('start-rgw')),
    freeze: async () => void (await ceph('freeze')),
    thaw: async () => void (await ceph('thaw')),
    close: async () => void (await ceph('thaw').catch(() => undefined), await ceph('stop')),
  };
}

type Outage = (ctx: { store: OutageStore; redis: RedisServer }) => Promise<{ downAt: number; backAt: number }>;

/** Completions per second over [from, to), from (time, completed) samples. */
function rateBetween(samples: readonly [number, number][], from: number, to: number): number {
  const inside = samples.filter(([t]) => t >= from && t <= to);
  if (inside.length < 2) return 0;
  const [t0, c0] = inside[0]!;
  const [t1, c1] = inside[inside.length - 1]!;
  return t1 > t0 ? ((c1 - c0) * 1000) / (t1 - t0) : 0;
}

async function migrationThrough(name: string, store: OutageStore, outage: Outage): Promise<Record<string, unknown>> {
  const redis = await startRedisServer({ persistence: 'aof' });
  cleanups.push(() => redis.stop());
  const dir = await mkdtemp(join(tmpdir(), 's3jobs-outage-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const endpoint = store.endpoint;
  const client = (timeout: number | null) => new S3Bucket({ name: bucketName, endpoint, accessKey: store.accessKey, secretKey: store.secretKey, region: 'us-east-1', forcePathStyle: true, timeout });
  const bucketName = uniqueBucketName(`out-${name}`);
  const setup = client(30_000);
  await setup.putBucket();
  const keys = Array.from({ length: OBJECTS }, (_, i) => `m/${String(i).padStart(5, '0')}.txt`);
  await inBatches(keys, 32, (key) => setup.put(key, `body of ${key}`, { metadata: { v: '1' } }));

  const queueName = `outage-${name}-${process.pid}`;
  const config = relConfig(queueName, endpoint, redis.url, {
    profiles: { [PROFILE]: { endpoint, accessKey: store.accessKey, secretKey: store.secretKey, region: 'us-east-1', forcePathStyle: true } },
    worker: { concurrency: 16, jobTimeoutMs: 10_000, lockDurationMs: 30_000, stalledIntervalMs: 15_000 } });
  const env = { ...workerEnv(config), S3JOBS_BREAKER_MAX_PROBE_MS: '10000', S3JOBS_LOG_LEVEL: 'info' };
  const workers: WorkerProcess[] = [startWorkerProcess({ env }), startWorkerProcess({ env })];
  cleanups.push(() => Promise.all(workers.map((w) => w.stop())));
  await Promise.all(workers.map((w) => w.waitForLog((e) => e.msg === 'worker ready', 30_000)));

  const connection = new Redis(redis.url);
  // Scenario (c) takes Redis away: ioredis reconnects; its 'error' events are expected then.
  connection.on('error', () => undefined);
  cleanups.push(async () => connection.disconnect());
  const queue = new Queue(queueName, { connection, prefix: PREFIX });
  const deadLetters = new Queue(deadLetterQueueName(queueName), { connection, prefix: PREFIX });
  cleanups.push(() => Promise.all([queue.close(), deadLetters.close()]));
  const runs = new RunStore(connection, PREFIX, queueName);
  const listing = client(20_000);
  const reportPath = join(dir, 'report.csv');
  const statuses: MigrationStatus['phase'][] = [];
  const samples: [number, number][] = [];
  let completedNow = 0;
  const started = Date.now();
  let restarts = 0;
  const migrate = async (): Promise<MigrationResult> => {
    for (;;) {
      try {
        return await runMigration({ bucket: listing, queue, store: runs }, { profile: PROFILE, bucket: bucketName, acl: 'private', set: { migrated: 'yes' } }, {
          runId: `run-${name}`,
          ratePerSecond: RATE,
          reportPath,
          pollMs: 250,
          attempts: 5,
          backoffMs: 1_000,
          onProgress: (_run, status) => {
            if (statuses.at(-1) !== status.phase) statuses.push(status.phase);
          },
        });
      } catch (err) {
        // Only Redis going away may stop the producer (scenario c): it is run again, as a user
        // would, and resumes the same run. Counted and reported.
        if (restarts++ >= 3) throw err;
        await sleep(1_000);
      }
    }
  };
  const migration = migrate();
  let sampling = true;
  // Completions as the run store counts them (the producer's progress comes only between pages).
  const sampler = (async () => {
    while (sampling) {
      const run = await runs.get(`run-${name}`).catch(() => undefined);
      if (run !== undefined) samples.push([Date.now(), (completedNow = run.completed)]);
      await sleep(250);
    }
  })();
  while (completedNow < OUTAGE_AT_COMPLETED) await sleep(100);
  const { downAt, backAt } = await outage({ store, redis });
  const result = await migration;
  const endedAt = Date.now();
  sampling = false;
  await sampler;
  await listing.close();

  // Why anything was dead-lettered (printed before the assertions below, to be diagnosable).
  const dead = (await deadLetters.getJobs(['waiting'], 0, 20)).map((j) => {
    const d = j.data as { error?: { code?: string; message?: string }; reason?: string; payload?: { key?: string } };
    return `${d.payload?.key ?? j.id}: ${d.reason ?? ''} ${d.error?.code ?? ''} ${d.error?.message ?? ''}`;
  });
  if (dead.length > 0) console.log(`[reliability] outage-${name} dead letters: ${JSON.stringify(dead)}`);
  // The run: finished by itself, every object counted once, nothing dead-lettered or lost.
  expect(result.run).toMatchObject({ state: 'completed', listed: OBJECTS, enqueued: OBJECTS, completed: OBJECTS, deadLettered: 0, cancelled: 0 });
  expect(await deadLetters.getJobCounts('waiting')).toEqual({ waiting: 0 });
  const counts = await queue.getJobCounts('waiting', 'delayed', 'active', 'failed');
  expect(counts).toEqual({ waiting: 0, delayed: 0, active: 0, failed: 0 });
  const { rows } = readReport(reportPath);
  expect(rows).toHaveLength(OBJECTS);
  expect(new Set(rows.map((r) => r.key)).size).toBe(OBJECTS);
  expect(rows.every((r) => r.status === 'completed')).toBe(true);
  // Every object migrated, read back from the store.
  const check = client(30_000);
  const unmigrated: string[] = [];
  await inBatches(keys, 32, async (key) => {
    const info = await check.head(key);
    if (info.metadata.migrated !== 'yes') unmigrated.push(key);
  });
  await check.close();
  await setup.close();
  expect(unmigrated).toEqual([]);

  // What the workers saw and did.
  const entries = workers.flatMap((w) => w.entries());
  const opened = entries.filter((e) => /circuit breaker open/.test(e.msg ?? '')).length;
  const closed = entries.filter((e) => /circuit breaker closed/.test(e.msg ?? '')).length;
  const retried = entries.filter((e) => /will retry/.test(e.msg ?? '')).length;
  const attemptsOver1 = rows.filter((r) => Number(r.attempts) > 1).length;
  const notPutBack = entries.filter((e) => /could not put the job back/.test(e.msg ?? '')).length;
  const stalled = entries.filter((e) => /job stalled/.test(e.msg ?? '')).length;
  const probesFailed = entries.filter((e) => /still unavailable: probe/.test(e.msg ?? '')).length;
  const closedAt = entries.filter((e) => /circuit breaker closed/.test(e.msg ?? '')).map((e) => Number(e.time));
  // Full throughput again: the first 3 s window after the return at ≥ 90% of the 5 s before the outage.
  const before = rateBetween(samples, downAt - 5_000, downAt);
  let recoveredAt: number | undefined;
  for (const [t] of samples) if (t >= backAt && rateBetween(samples, t, t + 3_000) >= 0.9 * before) { recoveredAt = t; break; }
  const firstAfter = samples.find(([t, c]) => t >= backAt && c > (samples.find(([s]) => s >= backAt)?.[1] ?? 0));
  const data = {
    store: store.kind,
    objects: OBJECTS,
    ratePerSecond: RATE,
    outageSeconds: Math.round((backAt - downAt) / 100) / 10,
    totalSeconds: Math.round((endedAt - started) / 100) / 10,
    completed: result.run.completed,
    deadLettered: result.run.deadLettered,
    reportRows: rows.length,
    producerRestarts: restarts - 0,
    producerPhases: statuses,
    breakerOpened: opened,
    breakerClosed: closed,
    attemptsRetried: retried,
    objectsWithMoreThanOneAttempt: attemptsOver1,
    probesUnanswered: probesFailed,
    secondsFromReturnToBreakerClosed: closedAt.map((t) => Math.round((t - backAt) / 100) / 10),
    jobsNotPutBack: notPutBack,
    jobsStalled: stalled,
    completionsPerSecondBefore: Math.round(before * 10) / 10,
    secondsFromReturnToFirstCompletion: firstAfter === undefined ? null : Math.round((firstAfter[0] - backAt) / 100) / 10,
    secondsFromReturnToFullThroughput: recoveredAt === undefined ? null : Math.round((recoveredAt - backAt) / 100) / 10,
  };
  report(`outage-${name}`, data);
  return data;
}

const stopped60s: Outage = async ({ store }) => {
  const downAt = Date.now();
  await store.stop();
  await sleep(60_000);
  await store.start();
  return { downAt, backAt: Date.now() };
};
const frozen30s: Outage = async ({ store }) => {
  const downAt = Date.now();
  await store.freeze();
  await sleep(30_000);
  await store.thaw();
  return { downAt, backAt: Date.now() };
};

describe('a migration rides out outages (s3rver)', () => {
  let store: OutageStore;
  beforeAll(async () => {
    store = await s3rverStore();
    cleanups.push(() => store.close());
  });

  it('(a) the store stopped for 60 s and started again: 0 dead-lettered, 0 lost, every object migrated and reported once', { timeout: 420_000 }, async () => {
    const data = await migrationThrough('s3-stopped-60s', store, stopped60s);
    expect(data.breakerOpened).toBeGreaterThan(0);
    // The first refusal's probe is refused too: each worker's breaker opens there, and the jobs
    // that met the outage are put back like the rest — no attempt spent on it (8 before, 4 a worker).
    expect(data.attemptsRetried).toBe(0);
  });

  it('(b) the store frozen (SIGSTOP) for 30 s and thawed: the same', { timeout: 420_000 }, async () => {
    const data = await migrationThrough('s3-frozen-30s', store, frozen30s);
    expect(data.completed).toBe(OBJECTS);
  });

  it('(c) Redis (AOF) SIGKILLed and restarted mid-run: the same', { timeout: 420_000 }, async () => {
    const data = await migrationThrough('redis-restarted', store, async ({ redis }) => {
      const downAt = Date.now();
      await redis.crash();
      await sleep(2_000);
      await redis.start();
      return { downAt, backAt: Date.now() };
    });
    expect(data.completed).toBe(OBJECTS);
  });
});

const cephSkip = cephSkipReason();
if (cephSkip !== undefined) console.log(`[reliability] outage on Ceph skipped: ${cephSkip}`);

describe.skipIf(cephSkip !== undefined)('a migration rides out outages (own Ceph RGW on 7491)', () => {
  let store: OutageStore;
  beforeAll(async () => {
    store = await cephStore();
    cleanups.push(() => store.close());
  }, 300_000);

  it('(a) the gateway killed for 60 s and started again: 0 dead-lettered, 0 lost', { timeout: 480_000 }, async () => {
    const data = await migrationThrough('ceph-stopped-60s', store, stopped60s);
    expect(data.breakerOpened).toBeGreaterThan(0);
    expect(data.attemptsRetried).toBe(0);
  });

  it('(b) the gateway frozen (SIGSTOP) for 30 s and thawed: the same', { timeout: 480_000 }, async () => {
    const data = await migrationThrough('ceph-frozen-30s', store, frozen30s);
    expect(data.completed).toBe(OBJECTS);
  });
});
