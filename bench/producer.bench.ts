/**
 * Issue 7, target 5: the producer enqueueing a listing of 1,000,000 keys (synthetic listing
 * source, no workers, a window larger than the run) — jobs/s, producer RSS, and Redis memory per
 * queued job on a private redis-server, so `INFO memory` counts nothing but this run.
 *
 * Peer, in the same run on a fresh private Redis: plain BullMQ `Queue.addBulk` of the same job
 * payloads in batches of 1,000 (what any producer must at least do), without the run store,
 * lease, page bookkeeping or validation.
 */
import { Queue } from 'bullmq';
import { runMigration, rewriteJobFor, type MigrationSpec } from '../producers/migrate/migration.js';
import { RunStore } from '../shared/runs/index.js';
import { runJobId } from '../producers/migrate/run-jobs.js';
import type { Benchmark, BenchContext } from './bench-types.js';
import { collectGarbage, formatMiB, formatNumber, formatRatio, loadAverage, machineLine, markdownTable, MemorySampler } from './harness.js';
import { startPrivateRedis } from './private-redis.js';
import { syntheticKey, syntheticListing } from './synthetic-listing.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = '{s3jobs}';
const QUEUE = 'bench-producer';

export const SPEC: MigrationSpec = {
  profile: 'bench',
  bucket: 'bench',
  set: { project: 'summer-2024', reviewed: 'yes' },
  headers: { 'cache-control': 'max-age=86400' },
  acl: 'private',
};

interface Row {
  side: 's3jobs runMigration' | 'raw BullMQ addBulk';
  keys: number;
  listpack: number;
  seconds: number;
  jobsPerSec: number;
  peakRss: number;
  redisBytes: number;
  perJob: number;
}

async function measure(side: Row['side'], keys: number, listpack: number, log: (l: string) => void): Promise<Row> {
  const redis = await startPrivateRedis({ hashMaxListpackValue: listpack });
  const connection = redis.connect();
  const queue = new Queue(QUEUE, { connection, prefix: PREFIX });
  await queue.waitUntilReady();
  const dir = mkdtempSync(join(tmpdir(), 's3jobs-bench-prod-'));
  collectGarbage();
  const before = Number((await redis.info('memory')).used_memory);
  const sampler = new MemorySampler().start(50);
  const started = process.hrtime.bigint();
  if (side === 's3jobs runMigration') {
    const store = new RunStore(connection, PREFIX, QUEUE);
    const result = await runMigration({ bucket: syntheticListing(keys), queue, store }, SPEC, {
      runId: 'bench-run',
      window: keys + 1,
      waitForCompletion: false,
      reportPath: join(dir, 'report.csv'),
    });
    if (result.run.enqueued !== keys) throw new Error(`enqueued ${result.run.enqueued} of ${keys}`);
  } else {
    const opts = { attempts: 5, backoff: { type: 's3jobs', delay: 1000 } };
    for (let start = 0; start < keys; start += 1000) {
      const batch = [];
      for (let i = start; i < Math.min(keys, start + 1000); i++)
        batch.push({ name: 'metadata-rewrite', data: rewriteJobFor(SPEC, { key: syntheticKey(i) }, 'bench-run', i), opts: { ...opts, jobId: runJobId('bench-run', i) } });
      await queue.addBulk(batch);
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const mem = sampler.stop();
  const waiting = await queue.getWaitingCount();
  if (waiting !== keys) throw new Error(`${waiting} waiting, expected ${keys}`);
  const after = Number((await redis.info('memory')).used_memory);
  await queue.close();
  connection.disconnect();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
  const row: Row = { side, keys, listpack, seconds, jobsPerSec: keys / seconds, peakRss: mem.peakRss, redisBytes: after - before, perJob: (after - before) / keys };
  log(`producer: ${side} ${keys} keys listpack ${listpack}: ${formatNumber(row.jobsPerSec)} jobs/s, RSS ${formatMiB(row.peakRss)}, ${formatNumber(row.perJob)} B/job`);
  return row;
}

export const benchmark: Benchmark = {
  name: 'producer',
  title: 'Producer scale',
  async run(ctx: BenchContext) {
    const loadBefore = loadAverage();
    const sizes = ctx.quick ? [20_000, 50_000] : [100_000, 1_000_000];
    const rows: Row[] = [];
    for (const keys of sizes) {
      // Ours first at the small size, then the peer; the other way round at the large one.
      const order: Row['side'][] = keys === sizes[0] ? ['s3jobs runMigration', 'raw BullMQ addBulk'] : ['raw BullMQ addBulk', 's3jobs runMigration'];
      for (const side of order) rows.push(await measure(side, keys, 64, ctx.log));
    }
    // The effect of hash-max-listpack-value on memory per waiting job (ours, the small size).
    const listpackRows = [await measure('s3jobs runMigration', sizes[0]!, 64, ctx.log), await measure('s3jobs runMigration', sizes[0]!, 1024, ctx.log)];
    const loadAfter = loadAverage();

    const ours = (k: number): Row => rows.find((r) => r.keys === k && r.side === 's3jobs runMigration')!;
    const raw = (k: number): Row => rows.find((r) => r.keys === k && r.side === 'raw BullMQ addBulk')!;
    const big = ours(sizes[1]!);
    const table = markdownTable(
      ['keys', 'side', 'seconds', 'jobs/s', 'vs raw addBulk', 'peak RSS (bench process)', 'Redis used_memory added', 'Redis bytes / job'],
      rows.map((r) => [r.keys, r.side, r.seconds, r.jobsPerSec, r.side === 'raw BullMQ addBulk' ? '–' : formatRatio(r.jobsPerSec, raw(r.keys).jobsPerSec), formatMiB(r.peakRss), formatMiB(r.redisBytes), r.perJob]),
    );
    const lpTable = markdownTable(
      ['hash-max-listpack-value', 'Redis bytes / waiting job', 'jobs/s'],
      listpackRows.map((r) => [r.listpack, r.perJob, r.jobsPerSec]),
    );
    const met = big.jobsPerSec >= 20_000 && big.peakRss < 256 * 2 ** 20;
    const markdown = `## Producer: enqueueing a listing of ${formatNumber(sizes[1]!)} keys (issue 7, target 5)

Measured ${new Date().toISOString().slice(0, 10)} on ${machineLine(ctx.machine)}; 1-minute load average ${loadBefore} before, ${loadAfter} after.
Reproduce: \`npm run bench -- producer\` (about two minutes). Each row runs on a fresh private \`redis-server\`
(spare port, no persistence, \`noeviction\`), so \`used_memory\` counts only that row's keys.

\`runMigration\` lists a synthetic source (\`bench/synthetic-listing.ts\`, 1,000-key pages from memory) and enqueues one
metadata-rewrite job per key with \`waitForCompletion: false\` and a window larger than the run, no workers: the whole
producer path — validation, run record, lease, page saved before its jobs (\`beginPage\`), \`addBulk\`, page bookkeeping and
report drain per page. The peer is plain BullMQ \`Queue.addBulk\` of the same payloads and options in batches of 1,000, in
the same process, on its own fresh Redis. RSS is the benchmark process's (it runs under the \`tsx\` loader, which adds
its own few tens of MB).

${table}

At ${formatNumber(sizes[1]!)} keys: **${formatNumber(big.jobsPerSec)} jobs/s** (target ≥ 20,000) at **${formatMiB(big.peakRss)}** peak RSS (target < 256 MB) —
${met ? 'target met ✅' : 'target missed ❌'}; ${formatRatio(big.jobsPerSec, raw(sizes[1]!).jobsPerSec)} of raw addBulk's rate. Redis holds **${formatNumber(big.perJob)} bytes per waiting job**
(payload ~${JSON.stringify(rewriteJobFor(SPEC, { key: syntheticKey(0) }, 'bench-run', 0)).length} bytes of JSON).

Work size: ${formatNumber(sizes[0]!)} → ${formatNumber(sizes[1]!)} keys: ${formatNumber(ours(sizes[0]!).jobsPerSec)} → ${formatNumber(big.jobsPerSec)} jobs/s, peak RSS ${formatMiB(ours(sizes[0]!).peakRss)} → ${formatMiB(big.peakRss)}
(one page is held at a time, so RSS does not grow with the listing), bytes per job ${formatNumber(ours(sizes[0]!).perJob)} → ${formatNumber(big.perJob)}.

\`hash-max-listpack-value\` (ours, ${formatNumber(sizes[0]!)} keys): a job hash whose \`data\` or \`opts\` field is longer than this is stored as a
real hash table instead of a compact listpack.

${lpTable}
`;
    return { markdown, data: { rows, listpackRows, loadBefore, loadAfter } };
  },
};
