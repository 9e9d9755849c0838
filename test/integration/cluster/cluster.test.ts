/**
 * s3jobs on a real Redis Cluster: 3 masters started for this file (test/support/redis-cluster.ts),
 * producers (the API and addBulk) and two worker processes given the cluster's
 * `redis+cluster://` URL, against the S3 test server.
 *
 * What it proves: every job completes exactly once (enqueued = completed + dead-lettered, each job
 * started once, by one worker), both workers share the queue, objects are copied and rewritten
 * with the right content and metadata, a failing job is dead-lettered, a run is recorded through
 * the run store, `waitFor` (QueueEvents), the dashboard and the CLI work over the cluster, and every
 * key sits on the one master that serves the prefix's hash tag.
 *
 * When the machine cannot run a cluster (no redis-server), the tests skip and say why.
 */
import { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { buildConfig, type S3JobsConfig } from '../../../shared/config/config.js';
import type { CopyJobResult, MetadataRewriteJobResult } from '../../../shared/jobs/index.js';
import { createRedisConnection, isClusterConnection, type RedisConnection } from '../../../shared/queue/connection.js';
import type { DeadLetterRecord } from '../../../shared/queue/dead-letter.js';
import { deadLetterJobId } from '../../../shared/queue/names.js';
import { RunStore } from '../../../shared/runs/index.js';
import { JobFailedError, S3JobsProducer } from '../../../producers/producer.js';
import { startDashboard } from '../../../producers/dashboard/server.js';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { startRedisCluster, RedisClusterUnavailable, type RedisCluster } from '../../support/redis-cluster.js';
import { uniqueQueueName } from '../../support/redis.js';
import { s3Target } from '../../support/s3-env.js';
import { startWorkerProcess, workerEnv, type LogEntry, type WorkerProcess } from '../../support/worker-process.js';
import { expectInvariant, expectNoSecretIn, PROFILE, testConfig } from '../workers/helpers.js';

const PREFIX = '{s3jobs-cluster}';
const COPIES = 200;
const REWRITES = 100;
const RUN_ID = 'cluster-rewrite-run';

// `bin/s3jobs.js` is the executable shim; the TypeScript entry is imported by its real name.
const cliEntry = '../../../bin/s3jobs.ts';

let cluster: RedisCluster | undefined;
let unavailable: string | undefined;
let config: S3JobsConfig;
let producer: S3JobsProducer;
let redis: RedisConnection;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  try {
    cluster = await startRedisCluster();
  } catch (err) {
    if (!(err instanceof RedisClusterUnavailable)) throw err;
    unavailable = err.message;
    console.warn(`[redis-cluster] SKIPPING the cluster tests: ${unavailable}`);
    return;
  }
  config = testConfig(uniqueQueueName('cluster'), s3Target().endpoint, {
    redisUrl: cluster.url,
    prefix: PREFIX,
    logLevel: 'debug',
    worker: { concurrency: 8, jobTimeoutMs: 15_000 },
  });
  producer = new S3JobsProducer({ config });
  redis = createRedisConnection(cluster.url);
}, 40_000);

afterAll(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await producer?.close();
  await redis?.quit().catch(() => undefined);
  await cluster?.stop();
  await cleanupBuckets();
}, 30_000);

function requireCluster(ctx: TestContext): RedisCluster {
  if (cluster === undefined) ctx.skip(`no Redis Cluster on this machine: ${unavailable ?? 'not started'}`);
  return cluster!;
}

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T, index: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map((item, j) => fn(item, i + j)));
}

const indices = (n: number) => Array.from({ length: n }, (_, i) => i);
const copyKey = (i: number) => `in/object-${String(i).padStart(3, '0')}.txt`;
const rewriteKey = (i: number) => `docs/doc-${String(i).padStart(3, '0')}.txt`;

describe('on a 3-master Redis Cluster', () => {
  it('uses an ioredis Cluster, and refuses a prefix without a hash tag', (ctx) => {
    const c = requireCluster(ctx);
    expect(isClusterConnection(redis)).toBe(true);
    expect(() => buildConfig({ overrides: { redisUrl: c.url, prefix: 'no-tag' } })).toThrow(/prefix: "no-tag" has no Redis Cluster hash tag/);
  });

  it('producers and two worker processes: every job completes once, both workers share the work', async (ctx) => {
    const c = requireCluster(ctx);
    const started = Date.now();

    // Two worker processes, started while the S3 side is prepared.
    const env = workerEnv(config);
    workers.push(startWorkerProcess({ env }), startWorkerProcess({ env }));
    const ready = Promise.all(workers.map((w) => w.waitForLog((l) => l.msg === 'worker ready', 30_000)));

    const src = await freshBucket('cl-src');
    const dst = await freshBucket('cl-dst');
    const docs = await freshBucket('cl-docs');
    await inBatches(indices(COPIES), 25, (i) => src.put(copyKey(i), `copy body ${i}`, { mimetype: 'text/plain', metadata: { index: String(i) } }));
    await inBatches(indices(REWRITES), 25, (i) => docs.put(rewriteKey(i), `doc body ${i}`, { mimetype: 'text/plain', metadata: { stage: 'draft', keep: 'yes' } }));
    await ready;

    // A run, recorded through the run store (producer side) and reported into by the workers.
    const runs = new RunStore(redis, config.prefix, config.queue);
    await runs.createOrGet(RUN_ID, 'metadata-rewrite', { bucket: docs.name, set: { stage: 'final' } });

    const enqueued = new Set<string>();
    // addBulk: the copies, in one round trip per 100.
    const copyIds: string[] = [];
    for (let i = 0; i < COPIES; i += 100) {
      const batch = indices(Math.min(100, COPIES - i)).map((j) => i + j);
      const jobs = await producer.addBulk(
        batch.map((n) => ({
          payload: { kind: 'copy', profile: PROFILE, source: { bucket: src.name, key: copyKey(n) }, destination: { bucket: dst.name, key: `out/${n}.txt` }, acl: 'private', metadata: { index: String(n), copied: 'yes' } },
        })),
      );
      copyIds.push(...jobs.map((j) => j.jobId));
    }
    // The API, one call per job: the rewrites of the run, and one rewrite of an object that does
    // not exist (dead-lettered: NotFound is permanent), in the run too.
    const rewriteIds: string[] = [];
    await inBatches(indices(REWRITES), 25, async (i) => {
      const { jobId } = await producer.rewriteMetadata({ profile: PROFILE, bucket: docs.name, key: rewriteKey(i), set: { stage: 'final' }, acl: 'private', runId: RUN_ID, runSlot: i });
      rewriteIds[i] = jobId;
    });
    const { jobId: doomedId } = await producer.rewriteMetadata(
      { profile: PROFILE, bucket: docs.name, key: 'docs/missing.txt', set: { stage: 'final' }, acl: 'private', runId: RUN_ID, runSlot: REWRITES },
      { jobId: 'cluster-missing-doc' },
    );
    await runs.pageEnqueued(RUN_ID, { listed: REWRITES + 1, matched: REWRITES + 1, enqueued: REWRITES + 1, nextCursor: undefined, nextPage: 1 });
    for (const id of [...copyIds, ...rewriteIds, doomedId]) enqueued.add(id);
    expect(enqueued.size).toBe(COPIES + REWRITES + 1);

    // waitFor over the cluster (QueueEvents on a duplicated Cluster connection).
    const first = (await producer.waitFor(copyIds[0]!, { timeoutMs: 20_000 })) as CopyJobResult;
    expect(first).toMatchObject({ kind: 'copy', changed: true });
    await expect(producer.waitFor(doomedId, { timeoutMs: 20_000 })).rejects.toBeInstanceOf(JobFailedError);

    // Settle: every job completed or dead-lettered, nothing anywhere else.
    const deadline = Date.now() + 40_000;
    for (;;) {
      const counts = await producer.counts();
      // failed too: a dead-lettered job's record is written before the original leaves the failed set.
      if ((counts.completed ?? 0) + (counts['dead-lettered'] ?? 0) >= enqueued.size && (counts.active ?? 0) === 0 && (counts.waiting ?? 0) === 0 && (counts.delayed ?? 0) === 0 && (counts.failed ?? 0) === 0) break;
      if (Date.now() > deadline) throw new Error(`jobs not settled: ${JSON.stringify(counts)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await expectInvariant(producer, enqueued.size, COPIES + REWRITES, 1);

    // Each job: completed after one attempt, processed by one of the two workers.
    const workerNames = await Promise.all(workers.map(async (w) => String((await w.waitForLog((l) => l.msg === 'worker ready')).worker)));
    const processedBy = new Map<string, number>(workerNames.map((n) => [n, 0]));
    for (const id of [...copyIds, ...rewriteIds]) {
      const job = await Job.fromId(producer.queue, id);
      expect(await job?.getState(), id).toBe('completed');
      expect(job!.attemptsMade, id).toBe(1);
      expect(workerNames, id).toContain(job!.processedBy);
      processedBy.set(job!.processedBy!, (processedBy.get(job!.processedBy!) ?? 0) + 1);
    }
    const dead = (await Job.fromId<DeadLetterRecord>(producer.deadLetters, deadLetterJobId(doomedId)))?.data;
    expect(dead).toMatchObject({ jobId: doomedId, kind: 'metadata-rewrite', reason: 'permanent', attemptsMade: 1, error: { code: 'NotFound', status: 404 } });
    expect(await Job.fromId(producer.queue, doomedId)).toBeUndefined();

    // Once: the logs of both processes hold one start and one end per job, and no job twice.
    const entries: LogEntry[] = workers.flatMap((w) => w.entries());
    const startsPerJob = countBy(entries.filter((l) => l.msg === 'job started'), (l) => String(l.jobId));
    const completedPerWorker = countBy(entries.filter((l) => l.msg === 'job completed'), (l) => String(l.worker));
    expect(startsPerJob.size).toBe(enqueued.size);
    expect([...startsPerJob.values()].every((n) => n === 1)).toBe(true);
    expect(countBy(entries.filter((l) => l.msg === 'job completed'), (l) => String(l.jobId)).size).toBe(COPIES + REWRITES);
    for (const name of workerNames) {
      expect(processedBy.get(name), `jobs processed by ${name}`).toBeGreaterThan(0);
      expect(completedPerWorker.get(name)).toBe(processedBy.get(name));
    }
    expect([...processedBy.values()].reduce((a, b) => a + b, 0)).toBe(COPIES + REWRITES);

    // S3: every copy has its source's bytes and the job's metadata; every rewrite its new metadata.
    await inBatches(indices(COPIES), 25, async (i) => {
      expect((await dst.getBuffer(`out/${i}.txt`)).toString()).toBe(`copy body ${i}`);
      const info = await dst.head(`out/${i}.txt`);
      expect(info.metadata).toEqual({ index: String(i), copied: 'yes' });
      expect(info.contentType).toBe('text/plain');
    });
    await inBatches(indices(REWRITES), 25, async (i) => {
      const info = await docs.head(rewriteKey(i));
      expect(info.metadata).toEqual({ stage: 'final', keep: 'yes' });
      expect((await docs.getBuffer(rewriteKey(i))).toString()).toBe(`doc body ${i}`);
      const result = (await Job.fromId(producer.queue, rewriteIds[i]!))?.returnvalue as MetadataRewriteJobResult;
      expect(result).toMatchObject({ kind: 'metadata-rewrite', changed: true, etag: info.etag });
    });

    // The run: each outcome counted once, the dead letter included.
    const run = await runs.get(RUN_ID);
    // Completed by its last outcome (the run store settles a draining run itself).
    expect(run).toMatchObject({ enqueued: REWRITES + 1, completed: REWRITES, changed: REWRITES, deadLettered: 1, state: 'completed' });
    const outcomes = await runs.readOutcomes(RUN_ID, 1_000);
    expect(outcomes.rows).toHaveLength(REWRITES + 1);
    expect(outcomes.rows.filter((r) => r.includes(',dead-lettered,'))).toEqual([expect.stringContaining('docs/missing.txt,dead-lettered,,NotFound')]);

    // Every key of the queue, its dead-letter queue and the run lives on the master serving the tag.
    const home = await c.portOf(`${PREFIX}:${config.queue}:wait`);
    for (const port of c.ports) {
      const node = c.node(port);
      try {
        const keys = await node.keys('*');
        if (port === home) {
          expect(keys.length).toBeGreaterThan(0);
          expect(keys.every((k) => k.startsWith(`${PREFIX}:`))).toBe(true);
          expect(keys).toEqual(expect.arrayContaining([`${PREFIX}:${config.queue}:runs`, `${PREFIX}:${config.queue}:run:${RUN_ID}`, `${PREFIX}:${config.queue}-dead:meta`]));
        } else {
          expect(keys, `keys on ${port}`).toEqual([]);
        }
      } finally {
        node.disconnect();
      }
    }

    for (const w of workers) expectNoSecretIn(w.lines);
    console.info(
      `[redis-cluster] ${enqueued.size} jobs (${COPIES} addBulk copies, ${REWRITES} API rewrites in run ${RUN_ID}, 1 dead-lettered) on ${c.ports.length} masters; ` +
        `per worker: ${[...processedBy.values()].join(' + ')}; ${Date.now() - started} ms`,
    );
  }, 90_000);

  it('the dashboard and the CLI read the queues and the run over the cluster', async (ctx) => {
    const c = requireCluster(ctx);
    const dashboard = await startDashboard({ config, port: 0 });
    try {
      const queues = (await (await fetch(new URL(`queues/api/queues?activeQueue=${encodeURIComponent(config.queue)}`, dashboard.url))).json()) as { queues: { name: string; counts: Record<string, number> }[] };
      const byName = new Map(queues.queues.map((q) => [q.name, q.counts]));
      expect(byName.get(config.queue)).toMatchObject({ completed: COPIES + REWRITES, failed: 0, waiting: 0, active: 0 });
      expect(byName.get(`${config.queue}-dead`)).toMatchObject({ waiting: 1 });
      const runsJson = (await (await fetch(new URL('runs.json', dashboard.url))).json()) as { runs: { id: string; completed: number; deadLettered: number }[] };
      expect(runsJson.runs).toEqual([expect.objectContaining({ id: RUN_ID, completed: REWRITES, deadLettered: 1 })]);
    } finally {
      await dashboard.close();
    }

    const { main } = (await import(cliEntry)) as typeof import('../../../bin/s3jobs.js');
    const cliEnv = { REDIS_URL: c.url, S3JOBS_QUEUE: config.queue, S3JOBS_PREFIX: PREFIX };
    const check = capture(cliEnv);
    expect(await main(['config', 'check', '--json'], check)).toBe(0);
    expect(JSON.parse(check.out)).toMatchObject({ valid: true, config: { redisUrl: c.url, prefix: PREFIX } });
    const noTag = capture({ ...cliEnv, S3JOBS_PREFIX: 'plain' });
    expect(await main(['config', 'check'], noTag)).toBe(2);
    expect(noTag.err).toMatch(/prefix.*hash tag/);

    const status = capture(cliEnv);
    expect(await main(['status', 'cluster-missing-doc', '--json'], status)).toBe(0);
    expect(JSON.parse(status.out)).toMatchObject({ jobId: 'cluster-missing-doc', state: 'dead-lettered', error: { code: 'NotFound' } });
  });
});

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

function capture(env: Record<string, string | undefined>) {
  const io = {
    out: '',
    err: '',
    env,
    stdout(text: string) {
      io.out += text;
    },
    stderr(text: string) {
      io.err += text;
    },
  };
  return io;
}
