/**
 * Issue 13: the bulk metadata migration on a real store, Ceph RGW (the project's
 * test/stores/ceph-rgw.sh), s3jobs vs the AWS CLI and rclone on the same objects, same run, with
 * the CPU each side used per object (the store and the client share the machine's cores).
 *
 * Every tool rewrites in place: the objects' metadata gains entries, and the question is what else
 * survives — Content-Type, Cache-Control, Content-Disposition and the metadata already there,
 * checked by HEAD afterwards. s3jobs and rclone keep them all and take turns on one copy of the
 * objects (alternating who goes first); the AWS CLI resets the headers, so it gets its own copy.
 *
 * Sizes 5,000 and 20,000 (--quick: 500 and 1,000) in a bucket of its own, deleted at the end.
 * S3JOBS_BENCH_CEPH=0 skips it; S3JOBS_BENCH_CPU_PROF=<dir> writes the worker's V8 CPU profiles there;
 * S3JOBS_BENCH_CEPH_SIZES=5000,20000 sets the sizes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark, BenchContext } from './bench-types.js';
import { startCeph, type CephStore } from './ceph.js';
import { formatNumber, loadAverage, machineLine, markdownTable, raisePriority } from './harness.js';
import { aws, bucketAt, checkHeaders, CONCURRENCY, key, ours, rcloneInPlace, type HeaderCheck, type HeaderExpectation, type Target, type Timing } from './migration-tools.js';
import { ensurePeers } from './peers.js';
import { startPrivateRedis } from './private-redis.js';

type Tool = 's3jobs' | 'rclone' | 'aws';
/**
 * Objects per s3jobs job here (S3JOBS_BENCH_MIGRATION_BATCH overrides): 5,000 objects in batches of
 * 100 would be 50 jobs for 32 worker slots — a second wave of 18, the slots half idle at the end;
 * batches of 20 keep all 32 busy until the last few jobs (250 and 1,000 jobs).
 */
const CEPH_BATCH = Number(process.env.S3JOBS_BENCH_MIGRATION_BATCH ?? 20);
const TOOL_NAMES: Record<Tool, string> = { s3jobs: 's3jobs', rclone: 'rclone (in place: GET + PUT)', aws: 'AWS CLI (REPLACE)' };

/** What every object starts with. */
const SEEDED = {
  contentType: 'image/jpeg',
  cacheControl: 'max-age=86400',
  contentDisposition: 'attachment; filename="photo.jpg"',
  kept: { author: 'Jane Doe' },
} as const;

/** What each tool sets (distinct values, so a check cannot pass on another tool's work). */
const SETS: Record<Tool, Record<string, string>> = {
  s3jobs: { project: 'summer-2024', reviewed: 's3jobs' },
  rclone: { project: 'summer-2024', reviewed: 'rclone' },
  aws: { project: 'summer-2024', reviewed: 'aws' },
};

interface ToolRun extends Timing {
  tool: Tool;
  objects: number;
  perSec: number;
  /** Store daemons' CPU (monitor, OSD, gateway) during the run, ms. */
  storeCpuMs: number | undefined;
  headers: HeaderCheck;
  /** 1-minute load average when the run started. */
  load: number;
}

async function seed(target: Target, prefixes: string[], count: number): Promise<void> {
  const bucket = bucketAt(target);
  const all = prefixes.flatMap((p) => Array.from({ length: count }, (_, i) => key(p, i)));
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < all.length; i = next++)
        await bucket.put(all[i]!, Buffer.alloc(512, 0x5a), {
          mimetype: SEEDED.contentType,
          headers: { 'cache-control': SEEDED.cacheControl, 'content-disposition': SEEDED.contentDisposition },
          metadata: { ...SEEDED.kept },
        });
    }),
  );
  await bucket.close();
}

/** What one request of each kind costs the store (its daemons' CPU), measured on its own. */
interface RequestCost {
  request: string;
  perSec: number;
  storeMs: number | undefined;
}

/**
 * Each request kind the tools send, 16 at a time on `count` objects of their own, with the store's
 * CPU per request: what makes one way of rewriting cheaper for the store than another.
 */
async function requestCosts(target: Target, store: CephStore, count: number): Promise<RequestCost[]> {
  const bucket = bucketAt(target);
  const k = (i: number): string => key('cost/', i);
  const body = Buffer.alloc(512, 0x5a);
  const put = (i: number, extra: Record<string, string> = {}): Promise<unknown> =>
    bucket.put(k(i), body, { mimetype: SEEDED.contentType, headers: { 'cache-control': SEEDED.cacheControl, 'content-disposition': SEEDED.contentDisposition }, metadata: { ...SEEDED.kept, ...extra } });
  const kinds: [string, (i: number) => Promise<unknown>][] = [
    ['PUT (new object, 512 bytes)', (i) => put(i)],
    ['PUT (overwrite, as rclone does)', (i) => put(i, { reviewed: 'rclone' })],
    ['GET (as rclone does)', (i) => bucket.getBuffer(k(i))],
    ['HEAD', (i) => bucket.head(k(i))],
    ['CopyObject onto itself, REPLACE (AWS CLI)', (i) => bucket.copy(`${target.bucket}/${k(i)}`, k(i), { acl: 'private', metadata: { ...SEEDED.kept, reviewed: 'aws' } })],
    ['HEAD + guarded CopyObject, headers kept (s3jobs)', (i) => bucket.rewriteMetadata(k(i), { acl: 'private', set: { reviewed: 's3jobs' } })],
  ];
  const costs: RequestCost[] = [];
  for (const [request, op] of kinds) {
    const before = store.cpuMs();
    const started = process.hrtime.bigint();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < count; i = next++) await op(i);
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const after = store.cpuMs();
    costs.push({ request, perSec: count / seconds, storeMs: before === undefined || after === undefined ? undefined : (after - before) / count });
  }
  await bucket.close();
  return costs;
}

const expectation = (tool: Tool): HeaderExpectation => ({ ...SEEDED, set: SETS[tool] });
const ms = (cpuMs: number | undefined, objects: number): string => (cpuMs === undefined ? '–' : (cpuMs / objects).toFixed(3));

function skippedMarkdown(reason: string): string {
  return `## Bulk metadata migration on Ceph RGW (issue 13)

**Not measured — ${reason}.** Run \`test/stores/ceph-rgw.sh start\` (Debian packages
ceph-mon, ceph-osd, radosgw, ceph-common) and \`npm run bench -- migration-ceph\`.
`;
}

async function measure(ctx: BenchContext, store: CephStore): Promise<{ runs: ToolRun[]; costs: RequestCost[]; bucketName: string; seedSeconds: number[] }> {
  const sizes = process.env.S3JOBS_BENCH_CEPH_SIZES?.split(',').map(Number) ?? (ctx.quick ? [500, 1_000] : [5_000, 20_000]);
  const bucketName = `bench-mig-${Date.now().toString(36)}`;
  const target: Target = { ...store.target, bucket: bucketName };
  const dir = mkdtempSync(join(tmpdir(), 's3jobs-bench-migceph-'));
  const redis = await startPrivateRedis();
  const bucket = bucketAt(target);
  const runs: ToolRun[] = [];
  let costs: RequestCost[] = [];
  const seedSeconds: number[] = [];
  const profileDir = process.env.S3JOBS_BENCH_CPU_PROF;
  try {
    await bucket.putBucket();
    costs = await requestCosts(target, store, ctx.quick ? 200 : 1_000);
    for (const c of costs) ctx.log(`migration-ceph: ${c.request}: ${formatNumber(c.perSec)}/s, store ${ms(c.storeMs, 1)} ms CPU per request`);
    for (const [round, n] of sizes.entries()) {
      const shared = `n${n}/keep/`;
      const awsPrefix = `n${n}/aws/`;
      const seedStart = Date.now();
      await seed(target, [shared, awsPrefix], n);
      seedSeconds.push((Date.now() - seedStart) / 1000);
      ctx.log(`migration-ceph: seeded ${2 * n} objects in ${seedSeconds[seedSeconds.length - 1]!.toFixed(0)} s`);
      // s3jobs and rclone share the objects: whoever goes first alternates with the size.
      const order: Tool[] = round % 2 === 0 ? ['s3jobs', 'rclone', 'aws'] : ['rclone', 's3jobs', 'aws'];
      for (const tool of order) {
        const load = loadAverage();
        const storeBefore = store.cpuMs();
        const timing =
          tool === 's3jobs'
            ? await ours(target, {
                redisUrl: redis.url,
                prefix: shared,
                batchSize: CEPH_BATCH,
                // As `s3jobs migrate` runs it: a producer polling the run every 50 ms (the s3rver and
                // fake-S3 rows' setting) pays per second of run, which here is per object.
                pollMs: 250,
                objects: n,
                set: SETS.s3jobs,
                dir,
                profileDir,
              })
            : tool === 'rclone'
              ? await rcloneInPlace(target, shared, SETS.rclone, 'Ceph')
              : await aws(dir, target, awsPrefix, SETS.aws);
        const storeAfter = store.cpuMs();
        const headers = await checkHeaders(bucket, tool === 'aws' ? awsPrefix : shared, n, expectation(tool));
        const run: ToolRun = {
          tool,
          objects: n,
          ...timing,
          perSec: n / timing.seconds,
          storeCpuMs: storeBefore === undefined || storeAfter === undefined ? undefined : storeAfter - storeBefore,
          headers,
          load,
        };
        runs.push(run);
        ctx.log(
          `migration-ceph: ${tool} ${n}: ${timing.seconds.toFixed(1)} s (${formatNumber(run.perSec)}/s), CPU ms/object client ${ms(timing.clientCpuMs, n)}` +
            `${timing.workerCpuMs === undefined ? '' : ` worker ${ms(timing.workerCpuMs, n)}`} store ${ms(run.storeCpuMs, n)}, load ${load}, headers ${JSON.stringify(headers)}`,
        );
      }
    }
  } finally {
    try {
      await bucket.deleteBucket({ empty: true });
    } catch (err) {
      ctx.log(`migration-ceph: could not delete bucket ${bucketName}: ${String(err)}`);
    }
    await bucket.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { runs, costs, bucketName, seedSeconds };
}

function report(ctx: BenchContext, store: CephStore, runs: ToolRun[], costs: RequestCost[], loadBefore: number, loadAfter: number, priority: boolean): string {
  const sizes = [...new Set(runs.map((r) => r.objects))];
  const get = (tool: Tool, n: number): ToolRun => runs.find((r) => r.tool === tool && r.objects === n)!;
  const keeps = (r: ToolRun): boolean => r.headers.kept && r.headers.metaKept && r.headers.metaSet;
  const rows = sizes.map((n) => {
    const o = get('s3jobs', n);
    const r = get('rclone', n);
    const a = get('aws', n);
    const keepers = (['rclone', 'aws'] as Tool[]).map((t) => get(t, n)).filter(keeps);
    const best = keepers.length === 0 ? undefined : keepers.reduce((x, y) => (x.perSec >= y.perSec ? x : y));
    const ratio = best === undefined ? undefined : o.perSec / best.perSec;
    return [
      formatNumber(n),
      formatNumber(o.perSec),
      formatNumber(r.perSec),
      formatNumber(a.perSec),
      ratio === undefined ? 'no peer kept the headers' : `**${ratio.toFixed(2)}×** ${ratio >= 1.4 ? '✅' : '❌'} (vs ${best!.tool})`,
      `${(o.perSec / a.perSec).toFixed(2)}×`,
    ];
  });
  const table = markdownTable(['objects', 's3jobs objects/s', 'rclone objects/s', 'AWS CLI objects/s', 'vs fastest peer keeping the headers (target ≥ 1.4×)', 'vs AWS CLI (headers lost)'], rows, [
    'right',
    'right',
    'right',
    'right',
    'left',
    'right',
  ]);
  const cpuRows = sizes.flatMap((n) =>
    (['s3jobs', 'rclone', 'aws'] as Tool[]).map((t) => {
      const r = get(t, n);
      const worker = t === 's3jobs' ? `${ms(r.workerCpuMs, n)} ${r.workerCpuMs !== undefined && r.workerCpuMs / n <= 0.6 ? '✅' : '❌'}` : '';
      const producer = t === 's3jobs' ? `${ms(r.clientCpuMs, n)} ${r.clientCpuMs / n <= 0.1 ? '✅' : '❌'}` : '';
      const total = r.clientCpuMs + (r.workerCpuMs ?? 0);
      return [formatNumber(n), TOOL_NAMES[t], worker, producer, ms(total, n), ms(r.storeCpuMs, n), r.seconds.toFixed(1), String(r.load)];
    }),
  );
  const cpuTable = markdownTable(
    ['objects', 'tool', 'worker CPU ms/object (target ≤ 0.6)', 'producer CPU ms/object (target ≤ 0.1)', 'client CPU ms/object, all', 'store CPU ms/object (mon + OSD + RGW)', 'seconds', 'load at start'],
    cpuRows,
    ['right', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
  const costTable = markdownTable(
    ['request (16 in flight)', 'requests/s', 'store CPU ms per request'],
    costs.map((c) => [c.request, formatNumber(c.perSec), ms(c.storeMs, 1)]),
    ['left', 'right', 'right'],
  );
  const yes = (b: boolean): string => (b ? 'yes' : '**no**');
  const largest = sizes[sizes.length - 1]!;
  const headerTable = markdownTable(
    ['tool', 'Content-Type after', 'Cache-Control after', 'Content-Disposition after', 'headers kept', 'new metadata set', 'other metadata kept'],
    (['s3jobs', 'rclone', 'aws'] as Tool[]).map((t) => {
      const h = get(t, largest).headers;
      return [TOOL_NAMES[t], h.contentType ?? '(none)', h.cacheControl ?? '(none)', h.contentDisposition ?? '(none)', yes(h.kept), yes(h.metaSet), yes(h.metaKept)];
    }),
  );
  return `## Bulk metadata migration on Ceph RGW vs the AWS CLI and rclone (issue 13)

Measured ${new Date().toISOString().slice(0, 10)} on ${machineLine(ctx.machine)}; store: ${store.version} (\`test/stores/ceph-rgw.sh\`: one monitor,
one memstore OSD, the gateway on 127.0.0.1, sharing the same cores); 1-minute load average ${loadBefore} before, ${loadAfter} after${priority ? '; every tool ran at nice −10, the store at its own priority' : ''}${ctx.quick ? ' — **quick run, not for publishing**' : ''}.
Reproduce: \`npm run bench -- migration-ceph\` (starts the store with \`ceph-rgw.sh start\` if it is not running, leaves it running; S3JOBS_BENCH_CEPH=0 skips).
One run per tool and size, end to end: listing → every object rewritten in place → headers checked by HEAD on 50 objects.

- Objects: 512 bytes, Content-Type \`${SEEDED.contentType}\`, Cache-Control \`${SEEDED.cacheControl}\`, Content-Disposition \`${SEEDED.contentDisposition}\`, metadata \`author: Jane Doe\`;
  each tool adds \`project\` and \`reviewed\`. s3jobs and rclone take turns on one copy of the objects (first at one size, second at the other); the AWS CLI, which resets the headers, gets its own.
- **s3jobs**: \`runMigration\` (listing, run store, batches of ${CEPH_BATCH} objects per job, CSV report, the run polled every 250 ms as the CLI does) in the benchmark process — the *producer* — and one worker
  process (\`workers/main.ts\`, concurrency ${CONCURRENCY}) on a private redis-server: HEAD + CopyObject with REPLACE, the headers read back from the HEAD
  and the copy guarded by the ETag. CPU: the producer's \`process.cpuUsage()\` and the worker's utime + stime (/proc) over the timed run.
- **rclone** (Debian v1.60.1): \`rclone copy b:bucket/p/ c:bucket/p/ --no-check-dest --s3-no-head --metadata --metadata-set … --transfers ${CONCURRENCY} --checkers ${CONCURRENCY}\`.
  rclone refuses to copy a path onto itself, and its server-side copy is not the answer either; \`c\` is a second remote on the same store, which
  gets past the refusal, and between two remotes rclone downloads and uploads: per object one GET (its answer carries the headers and metadata that
  \`--metadata\` carries over) and one PUT with them and the new entries — headers kept. \`--no-check-dest\` skips listing the destination,
  \`--s3-no-head\` the HEAD after each upload: the fewest requests rclone can do it with. (rclone also adds \`mtime\`/\`btime\` metadata.)
- **AWS CLI** (Debian aws-cli 2.9.19): \`aws s3 cp --recursive s3://bucket/p/ s3://bucket/p/ --metadata-directive REPLACE --metadata …\`,
  \`max_concurrent_requests = ${CONCURRENCY}\`: one CopyObject per object, the fastest, but REPLACE without the headers resets them (see below) — listed, not the target.
- Peers get explicit keys, \`AWS_EC2_METADATA_DISABLED=true\`, no configuration file of the machine's: nothing leaves 127.0.0.1. CPU of a peer: bash's \`times\` for its child.

${table}

CPU per object over each whole run (user + system, all threads; the store's three daemons read from /proc):

${cpuTable}

What each request costs the store, measured on its own before the runs (${formatNumber(costs.length === 0 ? 0 : ctx.quick ? 200 : 1_000)} objects of their own, each kind in turn):

${costTable}

What each tool leaves on the objects (${formatNumber(largest)} objects, 50 checked by HEAD):

${headerTable}
`;
}

export const benchmark: Benchmark = {
  name: 'migration-ceph',
  title: 'Bulk metadata migration on Ceph RGW',
  async run(ctx: BenchContext) {
    const ceph = startCeph(ctx.log);
    if (!ceph.available) {
      ctx.log(`migration-ceph: *** THE CEPH RGW ROWS ARE NOT MEASURED: ${ceph.reason} ***`);
      return { markdown: skippedMarkdown(ceph.reason), data: { skipped: ceph.reason }, skipped: ceph.reason };
    }
    ensurePeers(ctx.log);
    // Every tool's processes (worker, rclone, the AWS CLI) inherit it alike; the store's daemons do not.
    const priority = raisePriority();
    const loadBefore = loadAverage();
    let measured: Awaited<ReturnType<typeof measure>>;
    try {
      measured = await measure(ctx, ceph.store);
    } finally {
      priority.restore();
    }
    const { runs, costs, bucketName, seedSeconds } = measured;
    const loadAfter = loadAverage();
    return { markdown: report(ctx, ceph.store, runs, costs, loadBefore, loadAfter, priority.raised), data: { priorityRaised: priority.raised, store: ceph.store.version, bucketName, seedSeconds, runs, costs, loadBefore, loadAfter, batch: CEPH_BATCH } };
  },
};
