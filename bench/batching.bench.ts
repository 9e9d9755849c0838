/**
 * Issue 9, "consider batching": Redis memory per object when several objects of one listing page
 * travel in one job, for batches of 1 (what s3jobs does), 10, 100 and 1,000 keys. Jobs are added
 * with plain BullMQ `addBulk` (the job hash, its id in the wait list and the event stream are what
 * costs memory) to a fresh private redis-server per row; no workers.
 *
 * The payload of a batched job is the per-object job's fields once plus a `keys` array — the
 * cheapest shape a batch could take.
 */
import { Queue } from 'bullmq';
import { rewriteJobFor } from '../producers/migrate/migration.js';
import type { Benchmark, BenchContext } from './bench-types.js';
import { formatNumber, loadAverage, machineLine, markdownTable } from './harness.js';
import { startPrivateRedis } from './private-redis.js';
import { SPEC } from './producer.bench.js';
import { syntheticKey } from './synthetic-listing.js';

interface Row {
  batch: number;
  listpack: number;
  objects: number;
  jobs: number;
  bytesPerObject: number;
  bytesPerJob: number;
  payloadBytes: number;
}

async function measure(objects: number, batch: number, listpack: number): Promise<Row> {
  const redis = await startPrivateRedis({ hashMaxListpackValue: listpack });
  const connection = redis.connect();
  const queue = new Queue('batching', { connection, prefix: '{s3jobs}' });
  await queue.waitUntilReady();
  const before = Number((await redis.info('memory')).used_memory);
  const opts = { attempts: 5, backoff: { type: 's3jobs', delay: 1000 } };
  let payloadBytes = 0;
  let jobs = 0;
  for (let start = 0; start < objects; ) {
    const bulk = [];
    for (let j = 0; j < 1000 && start < objects; j++) {
      const n = Math.min(batch, objects - start);
      const base = rewriteJobFor(SPEC, { key: syntheticKey(start) }, 'bench-run', start);
      const data = batch === 1 ? base : { ...base, key: undefined, keys: Array.from({ length: n }, (_, i) => syntheticKey(start + i)) };
      payloadBytes = JSON.stringify(data).length;
      bulk.push({ name: 'metadata-rewrite', data, opts: { ...opts, jobId: `bench-run-${start}` } });
      start += n;
      jobs++;
    }
    await queue.addBulk(bulk);
  }
  const after = Number((await redis.info('memory')).used_memory);
  await queue.close();
  connection.disconnect();
  await redis.stop();
  return { batch, listpack, objects, jobs, bytesPerObject: (after - before) / objects, bytesPerJob: (after - before) / jobs, payloadBytes };
}

export const benchmark: Benchmark = {
  name: 'batching',
  title: 'Batching objects into jobs',
  async run(ctx: BenchContext) {
    const loadBefore = loadAverage();
    const objects = ctx.quick ? 10_000 : 100_000;
    const rows: Row[] = [];
    for (const listpack of [64, 8192]) for (const batch of [1, 10, 100, 1000]) rows.push(await measure(objects, batch, listpack));
    for (const r of rows) ctx.log(`batching: batch ${r.batch} listpack ${r.listpack}: ${formatNumber(r.bytesPerObject)} B/object`);
    const table = markdownTable(
      ['objects per job', 'hash-max-listpack-value', 'payload bytes / job', 'Redis bytes / job', 'Redis bytes / object', 'vs one job per object'],
      rows.map((r) => {
        const one = rows.find((x) => x.batch === 1 && x.listpack === r.listpack)!;
        return [r.batch, r.listpack, r.payloadBytes, r.bytesPerJob, r.bytesPerObject, `${((r.bytesPerObject / one.bytesPerObject) * 100).toFixed(0)}%`];
      }),
    );
    const markdown = `## Batching objects of a listing page into one job (issue 9)

Measured ${new Date().toISOString().slice(0, 10)} on ${machineLine(ctx.machine)}; 1-minute load average ${loadBefore} before, ${loadAverage()} after.
Reproduce: \`npm run bench -- batching\` (under a minute). ${formatNumber(objects)} objects enqueued as waiting jobs with plain BullMQ \`addBulk\`
on a fresh private redis-server per row (noeviction, no persistence); a batched job carries the per-object job's fields once plus a
\`keys\` array — the cheapest shape a batch could take. Redis bytes = \`used_memory\` after − before, over ${formatNumber(objects)} objects.

${table}
`;
    return { markdown, data: { rows, loadBefore } };
  },
};
