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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark, BenchContext } from './bench-types.js';
import { formatNumber, formatRatio, loadAverage, machineLine, markdownTable } from './harness.js';
import { aws, BATCH, bucketAt, checkHeaders, CONCURRENCY, key, ours, rclone, seedObjects, type HeaderCheck, type Target } from './migration-tools.js';
import { ensurePeers } from './peers.js';
import { startPrivateRedis } from './private-redis.js';
import { ACCESS_KEY, REGION, SECRET_KEY, startFakeS3 } from './servers.js';
import { startS3rver } from '../test/support/s3rver-process.js';

const BUCKET = 'bench';
const SET = { project: 'summer-2024', reviewed: 'yes' };
const EXPECT = { contentType: 'image/jpeg', cacheControl: 'max-age=86400', kept: { author: 'Jane Doe' }, set: SET };

type Tool = 's3jobs' | 'aws' | 'rclone';
interface ToolRun {
  tool: Tool;
  server: string;
  objects: number;
  seconds: number;
  perSec: number;
  headers?: HeaderCheck | undefined;
}

const targetAt = (endpoint: string): Target => ({ endpoint, bucket: BUCKET, accessKey: ACCESS_KEY, secretKey: SECRET_KEY, region: REGION });

async function toolRun(tool: Tool, redisUrl: string, endpoint: string, prefix: string, objects: number, dir: string, rcloneTo: string): Promise<number> {
  const t = targetAt(endpoint);
  const timing = tool === 's3jobs' ? await ours(t, { redisUrl, prefix, objects, set: SET, dir }) : tool === 'aws' ? await aws(dir, t, prefix, SET) : await rclone(t, prefix, rcloneTo, SET);
  return timing.seconds;
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
      const bucket = bucketAt(targetAt(s3rver.endpoint));
      await bucket.putBucket();
      const prefixes: Record<Tool, string> = { s3jobs: 'ours/', aws: 'aws/', rclone: 'rc/' };
      const seedStart = Date.now();
      const all = Object.values(prefixes).flatMap((p) => Array.from({ length: small }, (_, i) => key(p, i)));
      await seedObjects(bucket, all);
      ctx.log(`migration: seeded ${all.length} objects on s3rver in ${((Date.now() - seedStart) / 1000).toFixed(0)} s`);
      const order: Tool[] = ['s3jobs', 'aws', 'rclone'];
      for (const tool of order) {
        const seconds = await toolRun(tool, redis.url, s3rver.endpoint, prefixes[tool], small, dir, 'rc-out/');
        const headers = await checkHeaders(bucket, tool === 'rclone' ? 'rc-out/' : prefixes[tool], small, EXPECT);
        runs.push({ tool, server: 's3rver', objects: small, seconds, perSec: small / seconds, headers });
        ctx.log(`migration: s3rver ${tool} ${small}: ${seconds.toFixed(1)} s, headers ${JSON.stringify(headers)}`);
      }
      await bucket.close();
      for (const n of fakeSizes) {
        const fake = await startFakeS3(n);
        try {
          for (const tool of [...order].reverse()) {
            const seconds = await toolRun(tool, redis.url, fake.endpoint, 'src/', n, dir, 'dst/');
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
