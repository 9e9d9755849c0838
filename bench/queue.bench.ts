/**
 * Issue 7, target 3: copy jobs through Redis + workers vs the same copies in a plain in-process
 * loop with the same concurrency, against the same S3 server — the cost of the queue.
 *
 * - direct: `S3Bucket.head` + `S3Bucket.copy(…, { sourceInfo })` — exactly the S3 calls the copy
 *   processor makes — `concurrency` at a time, in this process.
 * - queue: the same copies as `copy` jobs through the producer API (`S3JobsProducer.addBulk`,
 *   validated, default job options, batches of 1,000) and `startWorker` at the same concurrency in
 *   this process, timed from the first add to the last completion. Redis is a private
 *   redis-server (no persistence, noeviction).
 *
 * Two servers: s3rver (realistic, and itself the bottleneck) and the fake S3 (canned answers),
 * against which what remains is the queue's own overhead.
 */
import type { Job } from 'bullmq';
import { S3JobsProducer } from '../producers/producer.js';
import { S3Bucket } from '../shared/s3/index.js';
import { startS3rver } from '../test/support/s3rver-process.js';
import { startWorker } from '../workers/worker.js';
import type { Benchmark, BenchContext } from './bench-types.js';
import { formatNumber, loadAverage, machineLine, markdownTable, median } from './harness.js';
import { startPrivateRedis, type PrivateRedis } from './private-redis.js';
import { ACCESS_KEY, benchConfig, PROFILE, REGION, SECRET_KEY, startFakeS3 } from './servers.js';

const BUCKET = 'bench';
const CONCURRENCY = 32;
const srcKey = (i: number): string => `src/photo-${String(i).padStart(6, '0')}.jpg`;
const dstKey = (i: number): string => `dst/photo-${String(i).padStart(6, '0')}.jpg`;

interface Target {
  kind: 's3rver' | 'fake S3';
  endpoint: string;
  sizes: number[];
}

function bucketAt(endpoint: string): S3Bucket {
  return new S3Bucket({ name: BUCKET, accessKey: ACCESS_KEY, secretKey: SECRET_KEY, endpoint, region: REGION });
}

async function direct(endpoint: string, n: number): Promise<number> {
  const bucket = bucketAt(endpoint);
  const started = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < n; i = next++) {
        const head = await bucket.head(srcKey(i));
        await bucket.copy(`${BUCKET}/${srcKey(i)}`, dstKey(i), { acl: 'private', sourceInfo: head });
      }
    }),
  );
  const s = Number(process.hrtime.bigint() - started) / 1e9;
  await bucket.close();
  return n / s;
}

let round = 0;
async function queued(redis: PrivateRedis, endpoint: string, n: number): Promise<number> {
  const config = benchConfig(redis.url, endpoint, `bench-queue-${++round}`, { concurrency: CONCURRENCY });
  const producer = new S3JobsProducer({ config });
  const handle = startWorker({ config });
  await handle.ready;
  let completed = 0;
  let failed = 0;
  const done = new Promise<void>((resolve) => {
    handle.worker.on('completed', () => void (++completed === n && resolve()));
    handle.worker.on('failed', (_job: Job | undefined, err: Error) => {
      failed++;
      console.error(err);
    });
  });
  const started = process.hrtime.bigint();
  for (let start = 0; start < n; start += 1000) {
    const items = [];
    for (let i = start; i < Math.min(n, start + 1000); i++)
      items.push({ payload: { kind: 'copy', profile: PROFILE, source: { bucket: BUCKET, key: srcKey(i) }, destination: { bucket: BUCKET, key: dstKey(i) }, acl: 'private' } });
    await producer.addBulk(items);
  }
  await done;
  const s = Number(process.hrtime.bigint() - started) / 1e9;
  if (failed > 0) throw new Error(`${failed} copy jobs failed`);
  await handle.close();
  await producer.queue.obliterate({ force: true });
  await producer.close();
  return n / s;
}

export const benchmark: Benchmark = {
  name: 'queue',
  title: 'Queue overhead',
  async run(ctx: BenchContext) {
    const loadBefore = loadAverage();
    const rounds = 3;
    const redis = await startPrivateRedis();
    const fake = await startFakeS3();
    const s3rver = await startS3rver();
    const targets: Target[] = [
      { kind: 's3rver', endpoint: s3rver.endpoint, sizes: ctx.quick ? [200, 500] : [1_000, 4_000] },
      { kind: 'fake S3', endpoint: fake.endpoint, sizes: ctx.quick ? [500, 1_000] : [2_000, 10_000] },
    ];
    // Sources on s3rver: 1 KiB objects with a content type, like the client benchmark's.
    const seedBucket = bucketAt(s3rver.endpoint);
    await seedBucket.putBucket();
    const maxSeed = Math.max(...targets[0]!.sizes);
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = next++; i < maxSeed; i = next++) await seedBucket.put(srcKey(i), Buffer.alloc(1024, 0x5a), { mimetype: 'image/jpeg', headers: { 'cache-control': 'max-age=86400' } });
      }),
    );
    await seedBucket.close();

    const rows: { server: string; n: number; direct: number[]; queue: number[] }[] = [];
    try {
      for (const t of targets) {
        await direct(t.endpoint, Math.min(500, t.sizes[0]!)); // warm-up, both sides
        await queued(redis, t.endpoint, Math.min(500, t.sizes[0]!));
        for (const n of t.sizes) {
          const row = { server: t.kind, n, direct: [] as number[], queue: [] as number[] };
          for (let r = 0; r < rounds; r++) {
            // Alternate which side goes first.
            if (r % 2 === 0) {
              row.direct.push(await direct(t.endpoint, n));
              row.queue.push(await queued(redis, t.endpoint, n));
            } else {
              row.queue.push(await queued(redis, t.endpoint, n));
              row.direct.push(await direct(t.endpoint, n));
            }
          }
          ctx.log(`queue: ${t.kind} ${n}: direct ${row.direct.map((x) => x.toFixed(0)).join('/')} queue ${row.queue.map((x) => x.toFixed(0)).join('/')} copies/s`);
          rows.push(row);
        }
      }
    } finally {
      fake.stop();
      await s3rver.stop();
      await redis.stop();
    }
    const loadAfter = loadAverage();
    const table = markdownTable(
      ['server', 'copies / round', 'direct loop copies/s', 'through the queue copies/s', 'queue ÷ direct (target ≥ 85%)'],
      rows.map((r) => {
        const ratio = median(r.queue) / median(r.direct);
        return [r.server, r.n, median(r.direct), median(r.queue), `**${(ratio * 100).toFixed(0)}%** ${ratio >= 0.85 ? '✅' : '❌'}`];
      }),
    );
    const markdown = `## Queue overhead: copy jobs through Redis + workers vs a direct loop (issue 7, target 3)

Measured ${new Date().toISOString().slice(0, 10)} on ${machineLine(ctx.machine)}; 1-minute load average ${loadBefore} before, ${loadAfter} after.
Reproduce: \`npm run bench -- queue\` (two to four minutes). Median of ${rounds} rounds per row, sides alternating which goes first, at concurrency ${CONCURRENCY}.

- **direct**: \`S3Bucket.head\` then \`S3Bucket.copy(…, { sourceInfo })\` — the S3 calls the copy processor makes — ${CONCURRENCY} at a time in one process.
- **through the queue**: the same copies as \`copy\` jobs via the producer API (\`S3JobsProducer.addBulk\`: validated, default job
  options with result retention, batches of 1,000) and \`startWorker\` (concurrency ${CONCURRENCY}, logs silent) in the same process,
  timed from the first add to the last completion, on a private redis-server (no persistence, noeviction).
- Both against **s3rver** (1 KiB sources with Content-Type and Cache-Control; SigV4 checked, disk storage — it is the bottleneck)
  and the **fake S3** (\`bench/fake-s3.ts\`, canned answers), where what is left is the queue's own cost: per job a Redis
  add, a move to active with lock, a completion, the job's validation, deadline and log scope.

${table}
`;
    return { markdown, data: { rows, loadBefore, loadAfter, concurrency: CONCURRENCY } };
  },
};
