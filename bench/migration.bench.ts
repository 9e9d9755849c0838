/**
 * Issue 7, target 4: a bulk metadata migration end to end (listing → jobs → rewritten) with
 * s3jobs vs rclone and the AWS CLI on the same objects and the same server.
 *
 * - s3jobs: `runMigration` (this process: listing, run store, window) and one worker process
 *   (`workers/main.ts`, concurrency 32) on a private redis-server; rewrites in place.
 * - AWS CLI (Debian's /usr/bin/aws): `aws s3 cp --recursive s3://b/p/ s3://b/p/
 *   --metadata-directive REPLACE --metadata …`, in place, `max_concurrent_requests` 32.
 * - rclone (Debian): `rclone copy` server-side to another prefix with `--metadata --metadata-set`
 *   (rclone refuses a copy onto itself), `--transfers 32`.
 *
 * 10,000 objects on s3rver (headers checked afterwards on a sample), 50,000 on the fake S3
 * (its listing holds synthetic keys; it stores nothing, so headers are checked on s3rver only).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { runMigration, type MigrationSpec } from '../producers/migrate/migration.js';
import { RunStore } from '../shared/runs/index.js';
import { S3Bucket } from '../shared/s3/index.js';
import { startS3rver } from '../test/support/s3rver-process.js';
import { startWorkerProcess, workerEnv } from '../test/support/worker-process.js';
import type { Benchmark, BenchContext } from './bench-types.js';
import { formatNumber, formatRatio, loadAverage, machineLine, markdownTable } from './harness.js';
import { ensurePeers } from './peers.js';
import { startPrivateRedis } from './private-redis.js';
import { ACCESS_KEY, benchConfig, PROFILE, REGION, SECRET_KEY, startFakeS3 } from './servers.js';

const BUCKET = 'bench';
const CONCURRENCY = 32;
/** Objects per s3jobs job (`--batch-size`; S3JOBS_BENCH_MIGRATION_BATCH, 1 = one job per object). */
const BATCH = Number(process.env.S3JOBS_BENCH_MIGRATION_BATCH ?? 100);
const key = (prefix: string, i: number): string => `${prefix}${String(i).padStart(8, '0')}.jpg`;

type Tool = 's3jobs' | 'aws' | 'rclone';
interface ToolRun {
  tool: Tool;
  server: string;
  objects: number;
  seconds: number;
  perSec: number;
  headers?: { contentType: string | undefined; cacheControl: string | undefined; metaSet: boolean; metaKept: boolean; kept: boolean } | undefined;
}

function bucketAt(endpoint: string): S3Bucket {
  return new S3Bucket({ name: BUCKET, accessKey: ACCESS_KEY, secretKey: SECRET_KEY, endpoint, region: REGION });
}

function run(cmd: string, args: string[], env: Record<string, string>): Promise<void> {
  // Plain-HTTP loopback endpoints: a custom CA bundle from the machine's environment only makes
  // rclone refuse its transport ("LoadCustomCABundleError").
  const base = { ...process.env };
  delete base.AWS_CA_BUNDLE;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...base, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err}`))));
  });
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function ours(redisUrl: string, endpoint: string, prefix: string, objects: number, dir: string): Promise<number> {
  const queueName = `bench-mig-${prefix.replace(/\W/g, '')}-${objects}`;
  const config = benchConfig(redisUrl, endpoint, queueName, { concurrency: CONCURRENCY });
  const worker = startWorkerProcess({ env: workerEnv({ ...config, logLevel: 'warn' }) });
  const redis = (await import('ioredis')).Redis;
  const connection = new redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection, prefix: config.prefix });
  while ((await queue.getWorkers()).length === 0) await new Promise((r) => setTimeout(r, 100));
  const bucket = bucketAt(endpoint);
  const spec: MigrationSpec = { profile: PROFILE, bucket: BUCKET, prefix, set: { project: 'summer-2024', reviewed: 'yes' }, acl: 'private' };
  let enqueued = 0;
  let completed = 0;
  const seconds = await timed(async () => {
    const result = await runMigration({ bucket, queue, store: new RunStore(connection, config.prefix, queueName) }, spec, {
      window: 20_000,
      batchSize: BATCH,
      pollMs: 50,
      reportPath: join(dir, `${queueName}.csv`),
    });
    enqueued = result.run.enqueued;
    completed = result.run.completed;
  });
  await worker.stop();
  await queue.close();
  connection.disconnect();
  await bucket.close();
  if (enqueued !== objects || completed !== objects) throw new Error(`s3jobs: ${completed} of ${enqueued} completed, ${objects} expected`);
  return seconds;
}

function awsEnv(dir: string, endpoint: string): Record<string, string> {
  const config = join(dir, 'aws-config');
  writeFileSync(config, `[default]\nregion = ${REGION}\ns3 =\n  max_concurrent_requests = ${CONCURRENCY}\n  max_queue_size = 10000\n  addressing_style = path\n`);
  return { AWS_CONFIG_FILE: config, AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_ENDPOINT_URL: endpoint, AWS_PAGER: '' };
}

async function aws(dir: string, endpoint: string, prefix: string): Promise<number> {
  const uri = `s3://${BUCKET}/${prefix}`;
  return timed(() =>
    run('/usr/bin/aws', ['s3', 'cp', '--recursive', '--only-show-errors', '--endpoint-url', endpoint, uri, uri, '--metadata-directive', 'REPLACE', '--metadata', 'project=summer-2024,reviewed=yes'], awsEnv(dir, endpoint)),
  );
}

function rcloneEnv(endpoint: string): Record<string, string> {
  return {
    RCLONE_CONFIG_B_TYPE: 's3',
    RCLONE_CONFIG_B_PROVIDER: 'Other',
    RCLONE_CONFIG_B_ACCESS_KEY_ID: ACCESS_KEY,
    RCLONE_CONFIG_B_SECRET_ACCESS_KEY: SECRET_KEY,
    RCLONE_CONFIG_B_ENDPOINT: endpoint,
    RCLONE_CONFIG_B_REGION: REGION,
    RCLONE_CONFIG_B_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_B_LIST_VERSION: '2',
    RCLONE_CONFIG_B_NO_CHECK_BUCKET: 'true',
    RCLONE_CONFIG: '/dev/null',
  };
}

async function rclone(endpoint: string, prefix: string, to: string): Promise<number> {
  return timed(() =>
    run('rclone', ['copy', `b:${BUCKET}/${prefix}`, `b:${BUCKET}/${to}`, '--metadata', '--metadata-set', 'project=summer-2024', '--metadata-set', 'reviewed=yes', '--transfers', String(CONCURRENCY), '--checkers', String(CONCURRENCY), '-q'], rcloneEnv(endpoint)),
  );
}

/** HEADs a sample of the tool's output: are Content-Type and Cache-Control still the originals, and the new metadata there? */
async function checkHeaders(bucket: S3Bucket, prefix: string, objects: number): Promise<ToolRun['headers']> {
  let kept = true;
  let metaSet = true;
  let metaKept = true;
  let first: ToolRun['headers'];
  for (let i = 0; i < objects; i += Math.max(1, Math.floor(objects / 50))) {
    const info = await bucket.head(key(prefix, i));
    const contentType = info.contentType;
    const cacheControl = info.headers['cache-control'];
    if (contentType !== 'image/jpeg' || cacheControl !== 'max-age=86400') kept = false;
    if (info.metadata.project !== 'summer-2024') metaSet = false;
    if (info.metadata.author !== 'Jane Doe') metaKept = false;
    first ??= { contentType, cacheControl, metaSet: true, metaKept: true, kept: true };
  }
  return { ...first!, metaSet, metaKept, kept };
}

export const benchmark: Benchmark = {
  name: 'migration',
  title: 'Bulk metadata migration',
  async run(ctx: BenchContext) {
    ensurePeers(ctx.log);
    const loadBefore = loadAverage();
    // s3rver: every tool needs its own seeded copy (~600 puts/s at best, far less on a busy machine),
    // so the 10,000- and 50,000-object sizes run on the fake S3 and s3rver checks headers on fewer.
    const small = ctx.quick ? 500 : 3_000;
    const fakeSizes = ctx.quick ? [1_000, 2_000] : [10_000, 50_000];
    const large = fakeSizes[fakeSizes.length - 1]!;
    const dir = mkdtempSync(join(tmpdir(), 's3jobs-bench-mig-'));
    const redis = await startPrivateRedis();
    const runs: ToolRun[] = [];
    const s3rver = await startS3rver();
    try {
      // s3rver: each tool gets its own copy of the objects (the in-place tools change them).
      const bucket = bucketAt(s3rver.endpoint);
      await bucket.putBucket();
      const prefixes: Record<Tool, string> = { s3jobs: 'ours/', aws: 'aws/', rclone: 'rc/' };
      const seedStart = Date.now();
      const all = Object.values(prefixes).flatMap((p) => Array.from({ length: small }, (_, i) => key(p, i)));
      let next = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          for (let i = next++; i < all.length; i = next++)
            await bucket.put(all[i]!, Buffer.alloc(512, 0x5a), { mimetype: 'image/jpeg', headers: { 'cache-control': 'max-age=86400' }, metadata: { author: 'Jane Doe' } });
        }),
      );
      ctx.log(`migration: seeded ${all.length} objects on s3rver in ${((Date.now() - seedStart) / 1000).toFixed(0)} s`);
      const order: Tool[] = ['s3jobs', 'aws', 'rclone'];
      for (const tool of order) {
        const seconds =
          tool === 's3jobs' ? await ours(redis.url, s3rver.endpoint, prefixes.s3jobs, small, dir) : tool === 'aws' ? await aws(dir, s3rver.endpoint, prefixes.aws) : await rclone(s3rver.endpoint, prefixes.rclone, 'rc-out/');
        const headers = await checkHeaders(bucket, tool === 'rclone' ? 'rc-out/' : prefixes[tool], small);
        runs.push({ tool, server: 's3rver', objects: small, seconds, perSec: small / seconds, headers });
        ctx.log(`migration: s3rver ${tool} ${small}: ${seconds.toFixed(1)} s, headers ${JSON.stringify(headers)}`);
      }
      await bucket.close();
      for (const n of fakeSizes) {
        const fake = await startFakeS3(n);
        try {
          for (const tool of [...order].reverse()) {
            const seconds = tool === 's3jobs' ? await ours(redis.url, fake.endpoint, 'src/', n, dir) : tool === 'aws' ? await aws(dir, fake.endpoint, 'src/') : await rclone(fake.endpoint, 'src/', 'dst/');
            runs.push({ tool, server: `fake S3`, objects: n, seconds, perSec: n / seconds });
            ctx.log(`migration: fake S3 ${tool} ${n}: ${seconds.toFixed(1)} s`);
          }
        } finally {
          fake.stop();
        }
      }
    } finally {
      await s3rver.stop();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    const loadAfter = loadAverage();
    const get = (server: string, tool: Tool, n = server === 's3rver' ? small : large): ToolRun => runs.find((r) => r.server === server && r.tool === tool && r.objects === n)!;
    const sizesRun: [string, number][] = [['s3rver', small], ...fakeSizes.map((n): [string, number] => ['fake S3', n])];
    const rows = sizesRun.map(([server, n]) => {
      const o = get(server, 's3jobs', n);
      const a = get(server, 'aws', n);
      const r = get(server, 'rclone', n);
      const faster = a.perSec >= r.perSec ? a : r;
      const ratio = o.perSec / faster.perSec;
      return [server, o.objects, o.perSec, a.perSec, r.perSec, formatRatio(o.perSec, a.perSec), formatRatio(o.perSec, r.perSec), `**${ratio.toFixed(2)}×** ${ratio >= 2 ? '✅' : '❌'}`];
    });
    const table = markdownTable(['server', 'objects', 's3jobs objects/s', 'AWS CLI objects/s', 'rclone objects/s', 'vs AWS CLI', 'vs rclone', 'vs faster peer (target ≥ 2×)'], rows);
    // Which peers did the job (set the new metadata) on s3rver, where it is checked.
    const doesTheJob = (t: Tool): boolean => get('s3rver', t).headers?.metaSet === true;
    const name = (t: Tool): string => (t === 'aws' ? 'AWS CLI' : t);
    const working = (['aws', 'rclone'] as Tool[]).filter(doesTheJob);
    const againstWorking = sizesRun
      .map(([server, n]) => {
        if (working.length === 0) return undefined;
        const best = working.map((t) => get(server, t, n)).reduce((x, y) => (x.perSec >= y.perSec ? x : y));
        const ratio = get(server, 's3jobs', n).perSec / best.perSec;
        return `${server} ${formatNumber(n)}: **${ratio.toFixed(2)}×** ${ratio >= 2 ? '✅' : '❌'} (vs ${name(best.tool)})`;
      })
      .filter((line): line is string => line !== undefined);
    const workingNote =
      working.length === 0
        ? 'Neither peer set the new metadata on s3rver: neither did the job, so the ratios above compare s3jobs with tools doing less.'
        : `Only ${working.map(name).join(' and ')} set the new metadata on s3rver (see the table below); against the faster peer that did the job: ${againstWorking.join('; ')}.`;
    const yes = (b: boolean | undefined): string => (b === true ? 'yes' : 'no');
    const fakeSmall = fakeSizes[0]!;
    const headerTable = markdownTable(
      ['tool', 'Content-Type after', 'Cache-Control after', 'system headers kept', 'new metadata set', 'other metadata kept'],
      (['s3jobs', 'aws', 'rclone'] as Tool[]).map((t) => {
        const h = get('s3rver', t).headers;
        return [t === 'aws' ? 'AWS CLI' : t, h?.contentType ?? '(none)', h?.cacheControl ?? '(none)', yes(h?.kept), yes(h?.metaSet), yes(h?.metaKept)];
      }),
    );
    const markdown = `## Bulk metadata migration vs the AWS CLI and rclone (issue 7, target 4)

Measured ${new Date().toISOString().slice(0, 10)} on ${machineLine(ctx.machine)}; 1-minute load average ${loadBefore} before, ${loadAfter} after.
Reproduce: \`npm run bench -- migration\` (needs \`apt-get install rclone awscli\`; about five to ten minutes, most of it seeding s3rver and the AWS CLI).
One run per tool and size, end to end: listing → jobs → every object rewritten.

- **s3jobs**: \`runMigration\` (listing, run store, window 20,000, **batches of ${BATCH} objects per job**, CSV report) in the benchmark process and one worker process
  (\`workers/main.ts\` under tsx, concurrency ${CONCURRENCY}) on a private redis-server; metadata rewritten in place (HEAD + CopyObject with
  \`x-amz-metadata-directive: REPLACE\` guarded by the ETag), the run waited for until every outcome is recorded. Worker start-up is not timed.
- **AWS CLI** ${'`'}/usr/bin/aws${'`'} (Debian aws-cli 2.9.19): \`aws s3 cp --recursive s3://bench/aws/ s3://bench/aws/ --metadata-directive REPLACE
  --metadata project=…\`, in place, \`max_concurrent_requests = ${CONCURRENCY}\`.
- **rclone** (Debian v1.60.1): \`rclone copy b:bench/rc b:bench/rc-out --metadata --metadata-set project=… --transfers ${CONCURRENCY} --checkers ${CONCURRENCY}\`,
  server-side copies to another prefix — rclone will not copy a path onto itself, so it cannot rewrite in place; it lists the
  destination too.
- **s3rver**: ${formatNumber(small)} objects of 512 bytes per tool (each tool its own copy), Content-Type \`image/jpeg\`, Cache-Control \`max-age=86400\`,
  metadata \`author: Jane Doe\`; headers checked afterwards by HEAD on 50 objects of each tool's output. **fake S3**: ${fakeSizes.map(formatNumber).join(' and ')} synthetic keys
  listed from memory, canned HEAD and copy answers — seeding ${formatNumber(large)} objects per tool on s3rver would take longer than the rest of
  the benchmarks together, and s3rver (~${formatNumber(get('s3rver', 's3jobs').perSec)} rewrites/s here) is the bottleneck anyway; the fake S3 shows what each tool itself costs per object.

${table}

${workingNote}

Whether each tool keeps the system headers (s3rver, ${formatNumber(small)} objects):

${headerTable}

Work size on the fake S3, ${formatNumber(fakeSmall)} → ${formatNumber(large)} objects: s3jobs ${formatNumber(get('fake S3', 's3jobs', fakeSmall).perSec)} → ${formatNumber(get('fake S3', 's3jobs').perSec)} objects/s,
AWS CLI ${formatNumber(get('fake S3', 'aws', fakeSmall).perSec)} → ${formatNumber(get('fake S3', 'aws').perSec)}, rclone ${formatNumber(get('fake S3', 'rclone', fakeSmall).perSec)} → ${formatNumber(get('fake S3', 'rclone').perSec)}.
`;
    return { markdown, data: { runs, loadBefore, loadAfter } };
  },
};
