/**
 * Issue 15: a bulk copy of a prefix to another, end to end (listing → jobs → every object copied
 * server-side), s3jobs `copy-run` with and without batches vs the AWS CLI and rclone on the same
 * objects and the same server.
 *
 * - s3jobs: `runMigration` with a copy operation (this process: listing, run store, window) and one
 *   worker process (concurrency 32) on a private redis-server, `copy-batch` jobs of BATCH objects,
 *   and one `copy` job per object.
 * - AWS CLI: `aws s3 cp --recursive s3://b/src/ s3://b/<to>/` (server-side CopyObject each),
 *   `max_concurrent_requests` 32.
 * - rclone: `rclone copy b:b/src b:b/<to>` (server-side), `--transfers 32 --checkers 32`.
 *
 * The sources are never changed, so s3rver is seeded once and every tool copies to its own
 * prefix; copies are checked afterwards (size, Content-Type, Cache-Control, metadata) on a sample.
 * The fake S3 lists synthetic keys and answers copies without storing anything: what each tool
 * itself costs per object.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark, BenchContext } from './bench-types.js';
import { formatNumber, formatRatio, loadAverage, machineLine, markdownTable } from './harness.js';
import { awsCopy, BATCH, bucketAt, checkHeaders, CONCURRENCY, key, ours, rcloneCopy, seedObjects, type HeaderCheck, type Target, type Timing } from './migration-tools.js';
import { ensurePeers } from './peers.js';
import { startPrivateRedis } from './private-redis.js';
import { ACCESS_KEY, REGION, SECRET_KEY, startFakeS3 } from './servers.js';
import { startS3rver } from '../test/support/s3rver-process.js';

const BUCKET = 'bench';
const SOURCE = 'src/';
/** What seedObjects gives every source, which each copy must carry. */
const SEEDED = { contentType: 'image/jpeg', cacheControl: 'max-age=86400', kept: { author: 'Jane Doe' }, set: {} };

type Tool = 's3jobs-batched' | 's3jobs-single' | 'aws' | 'rclone';
const TOOLS: Tool[] = ['s3jobs-batched', 's3jobs-single', 'aws', 'rclone'];
const NAMES: Record<Tool, string> = { 's3jobs-batched': `s3jobs copy-run --batch-size ${BATCH}`, 's3jobs-single': 's3jobs copy-run (a job per object)', aws: 'AWS CLI', rclone: 'rclone' };

interface ToolRun {
  tool: Tool;
  server: string;
  objects: number;
  seconds: number;
  perSec: number;
  cpuMsPerObject: number;
  copies?: HeaderCheck | undefined;
}

const targetAt = (endpoint: string): Target => ({ endpoint, bucket: BUCKET, accessKey: ACCESS_KEY, secretKey: SECRET_KEY, region: REGION });

function toolRun(tool: Tool, redisUrl: string, t: Target, objects: number, dir: string, to: string): Promise<Timing> {
  if (tool === 'aws') return awsCopy(dir, t, SOURCE, to);
  if (tool === 'rclone') return rcloneCopy(t, SOURCE, to);
  const operation = { kind: 'copy' as const, bucket: t.bucket, prefix: to, acl: 'private' as const };
  return ours(t, { redisUrl, prefix: SOURCE, objects, set: {}, dir, operation, batchSize: tool === 's3jobs-batched' ? BATCH : 1 });
}

export const benchmark: Benchmark = {
  name: 'bulk-copy',
  title: 'Bulk copy',
  async run(ctx: BenchContext) {
    ensurePeers(ctx.log);
    const loadBefore = loadAverage();
    const small = ctx.quick ? 500 : 3_000;
    const fakeSize = ctx.quick ? 2_000 : 20_000;
    const dir = mkdtempSync(join(tmpdir(), 's3jobs-bench-copy-'));
    const redis = await startPrivateRedis();
    const runs: ToolRun[] = [];
    const s3rver = await startS3rver();
    try {
      const bucket = bucketAt(targetAt(s3rver.endpoint));
      await bucket.putBucket();
      const seedStart = Date.now();
      await seedObjects(bucket, Array.from({ length: small }, (_, i) => key(SOURCE, i)));
      ctx.log(`bulk-copy: seeded ${small} objects on s3rver in ${((Date.now() - seedStart) / 1000).toFixed(0)} s`);
      for (const tool of TOOLS) {
        const to = `to-${tool}/`;
        const timing = await toolRun(tool, redis.url, targetAt(s3rver.endpoint), small, dir, to);
        const copies = await checkHeaders(bucket, to, small, SEEDED);
        runs.push({ tool, server: 's3rver', objects: small, seconds: timing.seconds, perSec: small / timing.seconds, cpuMsPerObject: cpuOf(timing) / small, copies });
        ctx.log(`bulk-copy: s3rver ${tool} ${small}: ${timing.seconds.toFixed(1)} s, copies ${JSON.stringify(copies)}`);
      }
      await bucket.close();
      const fake = await startFakeS3(fakeSize);
      try {
        for (const tool of [...TOOLS].reverse()) {
          // Each tool its own destination: the s3jobs runs would otherwise be one run (same spec, same id).
          const timing = await toolRun(tool, redis.url, targetAt(fake.endpoint), fakeSize, dir, `dst-${tool}/`);
          runs.push({ tool, server: 'fake S3', objects: fakeSize, seconds: timing.seconds, perSec: fakeSize / timing.seconds, cpuMsPerObject: cpuOf(timing) / fakeSize });
          ctx.log(`bulk-copy: fake S3 ${tool} ${fakeSize}: ${timing.seconds.toFixed(1)} s`);
        }
      } finally {
        fake.stop();
      }
    } finally {
      await s3rver.stop();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    const loadAfter = loadAverage();
    const get = (server: string, tool: Tool): ToolRun => runs.find((r) => r.server === server && r.tool === tool)!;
    const rows = ['s3rver', 'fake S3'].map((server) => {
      const batched = get(server, 's3jobs-batched');
      const faster = [get(server, 'aws'), get(server, 'rclone')].reduce((a, b) => (a.perSec >= b.perSec ? a : b));
      return [
        server,
        formatNumber(batched.objects),
        ...TOOLS.map((t) => formatNumber(get(server, t).perSec)),
        formatRatio(batched.perSec, get(server, 's3jobs-single').perSec),
        `**${formatRatio(batched.perSec, faster.perSec)}** (vs ${NAMES[faster.tool]})`,
      ];
    });
    const table = markdownTable(['server', 'objects', ...TOOLS.map((t) => `${NAMES[t]} objects/s`), 'batched vs a job per object', 'batched vs faster peer'], rows);
    const cpuTable = markdownTable(
      ['tool', 's3rver CPU ms/object', 'fake S3 CPU ms/object', 'copies keep Content-Type, Cache-Control, metadata (s3rver)'],
      TOOLS.map((t) => {
        const c = get('s3rver', t).copies;
        return [NAMES[t], get('s3rver', t).cpuMsPerObject.toFixed(2), get('fake S3', t).cpuMsPerObject.toFixed(2), c?.kept === true && c.metaKept ? 'yes' : `no (${JSON.stringify(c)})`];
      }),
    );
    const markdown = `## Bulk copy: copy-run vs the AWS CLI and rclone (issue 15)

Measured ${new Date().toISOString().slice(0, 10)} on ${machineLine(ctx.machine)}; 1-minute load average ${loadBefore} before, ${loadAfter} after.
Reproduce: \`npm run bench -- bulk-copy\` (needs \`apt-get install rclone awscli\`; a few minutes).
One run per tool and server, end to end: listing → jobs → every object copied server-side to another prefix of the bucket.

- **s3jobs**: \`runMigration\` with a copy operation (what \`s3jobs copy-run --to bench/<prefix>\` runs: listing, run store, window 20,000, CSV report)
  in the benchmark process and one worker process (concurrency ${CONCURRENCY}) on a private redis-server, once with \`copy-batch\` jobs of
  ${BATCH} objects and once with one \`copy\` job per object; each copy is a HEAD of the source (size: multipart or not, deadline or not) and a CopyObject.
  The run is waited for until every outcome is recorded; worker start-up is not timed. CPU: producer + worker.
- **AWS CLI** (Debian aws-cli 2.9.19): \`aws s3 cp --recursive s3://bench/src/ s3://bench/<prefix>/\`, \`max_concurrent_requests = ${CONCURRENCY}\`.
- **rclone** (Debian v1.60.1): \`rclone copy b:bench/src b:bench/<prefix> --transfers ${CONCURRENCY} --checkers ${CONCURRENCY}\` (server-side; lists the destination too).
- **s3rver**: ${formatNumber(get('s3rver', 'aws').objects)} objects of 512 bytes seeded once (Content-Type, Cache-Control, metadata), each tool copying
  to its own prefix, 50 copies of each checked by HEAD. **fake S3**: ${formatNumber(get('fake S3', 'aws').objects)} synthetic keys, canned HEAD and copy answers.

${table}

${cpuTable}
`;
    return { markdown, data: { runs, loadBefore, loadAfter } };
  },
};

/** A run's CPU: the peer's whole, or s3jobs' producer and worker. */
function cpuOf(t: Timing): number {
  return t.clientCpuMs + (t.workerCpuMs ?? 0);
}
