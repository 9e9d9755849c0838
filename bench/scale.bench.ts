/**
 * Issue 9: a large migration run on one Redis with bounded memory — Redis `used_memory` peak,
 * producer RSS, worker RSS, time and per-object Redis cost — against the raw BullMQ job rate
 * measured in the same run.
 *
 * - ours: `runMigration` (this process: synthetic listing, window 20,000, run store, CSV report)
 *   and one s3jobs worker process (`workers/main.ts`, concurrency 64) doing real metadata rewrites
 *   (HEAD + CopyObject) against the fake S3; every outcome recorded, the run waited for.
 * - raw: plain BullMQ `Queue.addBulk` (batches of 1,000, kept under the same window) and a plain
 *   BullMQ `Worker` process with a no-op processor (`bench/raw-worker.ts`, concurrency 64).
 *
 * Each side on its own fresh private redis-server (noeviction, no persistence), so `used_memory_peak`
 * is that side's alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { MigrationSpec } from '../producers/migrate/migration.js';
import { startWorkerProcess, workerEnv } from '../test/support/worker-process.js';
import type { Benchmark, BenchContext } from './bench-types.js';
import { formatMiB, formatNumber, loadAverage, machineLine, markdownTable, REPO_DIR } from './harness.js';
import type { ScaleProducerSpec } from './scale-producer.js';
import { startPrivateRedis, type PrivateRedis } from './private-redis.js';
import { benchConfig, peakRssOf, PROFILE, startFakeS3 } from './servers.js';

const WINDOW = 20_000;
/** Objects per job on our side (S3JOBS_BENCH_SCALE_BATCH; 1 = one job per object). */
const BATCH = Number(process.env.S3JOBS_BENCH_SCALE_BATCH ?? 100);
/**
 * The raw side's job count at most (S3JOBS_BENCH_SCALE_RAW_MAX): its rate is a steady state under
 * the window, so 2,000,000 no-op jobs measure it as well as 10,000,000 would, in a fifth of the time.
 */
/**
 * Old-space limit of both sides' worker processes (S3JOBS_BENCH_WORKER_HEAP_MB; 0 = V8's default).
 * V8 sizes a process's heap from the machine's memory (24 GiB here) and collects old garbage
 * lazily below it, so RSS there says little about what a worker needs; a container's memory limit
 * does the same as this flag.
 */
const WORKER_HEAP_MB = Number(process.env.S3JOBS_BENCH_WORKER_HEAP_MB ?? 128);
const HEAP_FLAGS = WORKER_HEAP_MB > 0 ? [`--max-old-space-size=${WORKER_HEAP_MB}`] : [];

const RAW_MAX = Number(process.env.S3JOBS_BENCH_SCALE_RAW_MAX ?? 2_000_000);
const CONCURRENCY = 64;
const PREFIX = '{s3jobs}';
const SPEC: MigrationSpec = { profile: PROFILE, bucket: 'bench', set: { project: 'summer-2024', reviewed: 'yes' }, acl: 'private' };

/**
 * raw: plain BullMQ, no-op processor. no-op S3: the s3jobs run with every HEAD and rewrite a no-op
 * (bench/noop-bucket.ts) — the queue-only part, as much S3 work as the raw side's. client: the
 * real s3jobs client building, signing and parsing every request, answered in-process
 * (bench/noop-s3.ts). fake S3: the same over HTTP to the fake S3 server.
 */
type Side = 'raw BullMQ' | 's3jobs run, no-op S3' | 's3jobs run, client + in-process S3' | 's3jobs run, fake S3 over HTTP';

interface SideResult {
  side: Side;
  /** The run size this row belongs to. */
  size: number;
  objects: number;
  seconds: number;
  perSec: number;
  redisPeak: number;
  redisBaseline: number;
  producerRss: number;
  workerRss: number;
  reportBytes?: number;
}

function producerChild(spec: ScaleProducerSpec): Promise<{ seconds: number; peakRss: number; completed: number; reportBytes: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_DIR, 'bench', 'scale-producer.ts'), JSON.stringify(spec)], { cwd: REPO_DIR, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`scale producer exited ${code}`))));
  });
}

async function waitForWorker(redis: PrivateRedis, queueName: string): Promise<{ queue: Queue; close(): Promise<void> }> {
  const connection = redis.connect();
  const queue = new Queue(queueName, { connection, prefix: PREFIX });
  while ((await queue.getWorkers()).length === 0) await new Promise((r) => setTimeout(r, 100));
  return {
    queue,
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}

async function side(which: Side, size: number, endpoint: string, log: (l: string) => void): Promise<SideResult> {
  const objects = which === 'raw BullMQ' ? Math.min(size, RAW_MAX) : size;
  const redis = await startPrivateRedis();
  const queueName = which === 'raw BullMQ' ? 'raw' : 'scale';
  let workerPid: number | undefined;
  let stopWorker: () => Promise<void>;
  if (which === 'raw BullMQ') {
    const child: ChildProcess = spawn(process.execPath, [...HEAP_FLAGS, '--import', 'tsx', join(REPO_DIR, 'bench', 'raw-worker.ts'), redis.url, PREFIX, queueName, String(CONCURRENCY)], { cwd: REPO_DIR, stdio: 'inherit' });
    workerPid = child.pid;
    stopWorker = async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    };
  } else {
    const config = benchConfig(redis.url, endpoint, queueName, { concurrency: CONCURRENCY });
    const noop = which === 's3jobs run, no-op S3' ? 'bucket' : which === 's3jobs run, client + in-process S3' ? 'client' : undefined;
    const env = { ...workerEnv({ ...config, logLevel: 'warn' }), ...(HEAP_FLAGS.length > 0 ? { NODE_OPTIONS: HEAP_FLAGS.join(' ') } : {}) };
    const worker = startWorkerProcess({ env, ...(noop === undefined ? {} : { script: join('bench', 'scale-worker.ts'), args: [noop] }) });
    workerPid = worker.pid;
    stopWorker = () => worker.stop();
  }
  const watcher = await waitForWorker(redis, queueName);
  const baseline = Number((await redis.info('memory')).used_memory);
  const produced = await producerChild({ mode: which === 'raw BullMQ' ? 'raw' : 'ours', redisUrl: redis.url, prefix: PREFIX, queue: queueName, objects, window: WINDOW, batchSize: BATCH, spec: SPEC });
  const info = await redis.info('memory');
  const workerRss = peakRssOf(workerPid) ?? 0;
  await stopWorker();
  await watcher.close();
  await redis.stop();
  if (produced.completed !== objects) throw new Error(`${which}: ${produced.completed} of ${objects} completed`);
  const r: SideResult = {
    side: which,
    size,
    objects,
    seconds: produced.seconds,
    perSec: objects / produced.seconds,
    redisPeak: Number(info.used_memory_peak),
    redisBaseline: baseline,
    producerRss: produced.peakRss,
    workerRss,
    reportBytes: produced.reportBytes,
  };
  log(`scale: ${which} ${objects}: ${formatNumber(r.perSec)}/s in ${r.seconds.toFixed(0)} s, Redis peak ${formatMiB(r.redisPeak)}, producer RSS ${formatMiB(r.producerRss)}, worker RSS ${formatMiB(workerRss)}`);
  return r;
}

export const benchmark: Benchmark = {
  name: 'scale',
  title: 'Scale: a large run on one Redis',
  async run(ctx: BenchContext) {
    const loadBefore = loadAverage();
    const sizes = ctx.quick ? [20_000, 50_000] : (process.env.S3JOBS_BENCH_SCALE_SIZES ?? '100000,400000').split(',').map(Number);
    const fake = await startFakeS3();
    const results: SideResult[] = [];
    try {
      for (const n of sizes) {
        results.push(await side('raw BullMQ', n, fake.endpoint, ctx.log));
        results.push(await side('s3jobs run, no-op S3', n, fake.endpoint, ctx.log));
      }
      // What the S3 client and the network add, once at the smallest size (at most S3JOBS_BENCH_SCALE_HTTP_SIZE objects: these runs are slow).
      if (process.env.S3JOBS_BENCH_SCALE_HTTP !== '0') {
        const n = Math.min(sizes[0]!, Number(process.env.S3JOBS_BENCH_SCALE_HTTP_SIZE ?? 100_000));
        if (n !== sizes[0]) results.push(await side('raw BullMQ', n, fake.endpoint, ctx.log));
        results.push(await side('s3jobs run, client + in-process S3', n, fake.endpoint, ctx.log));
        results.push(await side('s3jobs run, fake S3 over HTTP', n, fake.endpoint, ctx.log));
      }
    } finally {
      fake.stop();
    }
    const loadAfter = loadAverage();
    const pair = (n: number): [SideResult, SideResult] => [results.find((r) => r.size === n && r.side === 'raw BullMQ')!, results.find((r) => r.size === n && r.side === 's3jobs run, no-op S3')!];
    const table = markdownTable(
      ['run size', 'side', 'objects (jobs)', 'time', 'objects/s', 'vs raw jobs/s (target ≥ 80%)', 'Redis used_memory peak', 'Redis above empty, per object in the window', 'producer peak RSS', 'worker peak RSS'],
      results.map((r) => {
        const rawRate = pair(r.size)[0].perSec;
        const jobs = r.side === 'raw BullMQ' ? r.objects : Math.ceil(r.objects / BATCH);
        return [
          r.size,
          r.side,
          `${formatNumber(r.objects)} (${formatNumber(jobs)})`,
          `${r.seconds.toFixed(0)} s`,
          r.perSec,
          r.side === 'raw BullMQ' ? '–' : `${((r.perSec / rawRate) * 100).toFixed(0)}%`,
          formatMiB(r.redisPeak),
          `${formatNumber((r.redisPeak - r.redisBaseline) / WINDOW)} B`,
          formatMiB(r.producerRss),
          formatMiB(r.workerRss),
        ];
      }),
    );
    const [bigRaw, big] = pair(sizes[sizes.length - 1]!);
    const small = pair(sizes[0]!)[1];
    const MB = 256 * 10 ** 6;
    const pct = (big.perSec / bigRaw.perSec) * 100;
    const checks: [string, boolean][] = [
      [`rate ${formatNumber(big.perSec)} objects/s = ${pct.toFixed(0)}% of raw BullMQ's ${formatNumber(bigRaw.perSec)} jobs/s (target ≥ 80%)`, pct >= 80],
      [`Redis used_memory peak ${formatMiB(big.redisPeak)} (target < 256 MB)`, big.redisPeak < MB],
      [`producer peak RSS ${formatMiB(big.producerRss)} (target < 256 MB)`, big.producerRss < MB],
      [`worker peak RSS ${formatMiB(big.workerRss)} (target < 256 MB)`, big.workerRss < MB],
    ];
    const perObject = (big.redisPeak - big.redisBaseline) / WINDOW;
    const summary = `At **${formatNumber(big.objects)} objects** (${formatNumber(Math.ceil(big.objects / BATCH))} batch jobs), the run took **${(big.seconds / 60).toFixed(1)} min**:
${checks.map(([text, ok]) => `- ${text} ${ok ? '✅' : '❌'}`).join('\n')}

Redis cost per object: ~${formatNumber(perObject)} B — Redis at its peak above an empty one, over the ${formatNumber(WINDOW)} objects the window lets
wait, so it includes the run's outcome bitmap (1 bit per object: ${formatMiB(Math.ceil(big.objects / 8))} for the whole run) and the report rows not yet
drained — against ~${formatNumber((bigRaw.redisPeak - bigRaw.redisBaseline) / WINDOW)} B per waiting raw BullMQ job of one object. The report rows pass through a Redis stream and are
drained into the CSV file as they come (${formatMiB(big.reportBytes ?? 0)} of report here), and completed jobs leave Redis at once, so Redis
memory does not grow with the run: the peak is set by the window.`;
    const markdown = `## Scale: a large migration run on one Redis (issue 9)

Measured ${new Date().toISOString().slice(0, 10)} on ${machineLine(ctx.machine)}; 1-minute load average ${loadBefore} before, ${loadAfter} after.
Reproduce: \`npm run bench -- scale\` (sizes from \`S3JOBS_BENCH_SCALE_SIZES\`, default \`100000,400000\`).

- **s3jobs run**: \`runMigration\` in the benchmark process (synthetic listing of 1,000-key pages, window ${formatNumber(WINDOW)} objects,
  **batches of ${BATCH} objects** per job, run store, CSV report of every object) and one s3jobs worker process (concurrency ${CONCURRENCY},
  worker-level \`removeOnComplete\`) doing the metadata rewrite of every object (HEAD + CopyObject, built, signed and parsed by
  the s3jobs client); timed until every outcome is recorded and the run is completed. **no-op S3** (the queue-only part, the
  issue's target): \`startWorker\` whose buckets answer every HEAD and rewrite at once (\`bench/scale-worker.ts\`,
  \`bench/noop-bucket.ts\`) — the same S3 work as the raw side's no-op processor: none. **client + in-process S3**: the real
  s3jobs client builds, signs and parses every request, answered by an in-process undici dispatcher (\`bench/noop-s3.ts\`):
  no socket, no server. **fake S3 over HTTP**: \`workers/main.ts\` against the fake S3 server.
- **raw BullMQ**: \`Queue.addBulk\` (batches of 1,000, kept under the same window) and a plain BullMQ \`Worker\` process with a **no-op**
  processor (\`bench/raw-worker.ts\`, concurrency ${CONCURRENCY}, \`removeOnComplete: { count: 0 }\`).
- Each side on a fresh private redis-server (\`maxmemory-policy noeviction\`, no persistence, \`hash-max-listpack-value 64\`), so
  \`used_memory_peak\` is that side's alone (an empty Redis is ~${formatMiB(small.redisBaseline)}). Producer and worker each run in their
  own process under the tsx loader (\`bench/scale-producer.ts\`, \`workers/main.ts\`); RSS figures are their peaks (\`VmHWM\` of the
  worker, a 100 ms sampler in the producer).

- Worker heap: both sides' worker processes run with \`${HEAP_FLAGS.join(' ') || "V8's default heap limit"}\`. Without a limit V8 sizes
  the old space from the machine's memory (24 GiB here) and collects old garbage lazily below it, so a worker's RSS then
  shows V8's laziness more than what it needs (the s3jobs worker reached ~270-300 MiB that way at the same rate); in a
  container, the memory limit sizes the heap the same way. \`S3JOBS_BENCH_WORKER_HEAP_MB=0\` runs without the flag.

${table}

${summary}
`;
    return { markdown, data: { results, loadBefore, loadAfter, window: WINDOW, batch: BATCH, concurrency: CONCURRENCY, workerHeapMb: WORKER_HEAP_MB }, big };
  },
};
