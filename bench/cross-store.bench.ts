/**
 * Issue 16: a copy between two stores streamed through s3jobs vs `rclone copyto` between the same
 * two endpoints, in the same run: MB/s, CPU seconds per GiB (user + system of the copying process)
 * and peak RSS, for a mid-size object and the largest one the disk allows (6 GiB when it does).
 *
 * The two stores are two s3rver children (own ports, own storage directories). s3rver keeps
 * objects as files and assembles a multipart upload by concatenating its parts, so its disk is
 * part of every figure — for both tools alike. Both tools get the same budget: 16 MiB parts,
 * 4 in flight (rclone: --s3-chunk-size 16M --s3-upload-concurrency 4; keys given explicitly,
 * AWS_EC2_METADATA_DISABLED=true, 127.0.0.1 only). s3jobs runs in its own process
 * (bench/cross-store-copier.ts) so that its CPU and RSS are the copy's; rclone's come from
 * /usr/bin/time.
 */
import { spawn } from 'node:child_process';
import { statfsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { S3Bucket } from '../shared/s3/index.js';
import { startS3rver, type S3rverProcess } from '../test/support/s3rver-process.js';
import type { Benchmark, BenchContext } from './bench-types.js';
import { formatNumber, loadAverage, machineLine, markdownTable, REPO_DIR } from './harness.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const PART = 16 * MiB;
const IN_FLIGHT = 4;

function body(size: number): Readable {
  // Not all one byte: rclone and s3jobs hash it either way, but a constant body would flatter compression nowhere; keep it honest.
  const chunk = Buffer.alloc(MiB);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24;
  return Readable.from(
    (function* () {
      for (let left = size; left > 0; left -= MiB) yield left >= MiB ? chunk : chunk.subarray(0, left);
    })(),
  );
}

interface Usage {
  seconds: number;
  cpuSeconds: number;
  maxRssMiB: number;
}

interface Row extends Usage {
  tool: 's3jobs' | 'rclone';
  bytes: number;
}

function run(command: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, cwd: REPO_DIR });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function s3jobsCopy(src: S3rverProcess, dst: S3rverProcess, key: string, size: number): Promise<Usage> {
  const side = (s: S3rverProcess, bucket: string, k: string) => ({ endpoint: s.endpoint, accessKey: s.accessKey, secretKey: s.secretKey, bucket, key: k });
  const spec = { source: side(src, 'bench-src', key), destination: side(dst, 'bench-dst', `s3jobs/${key}`), partSize: PART, concurrency: IN_FLIGHT };
  const out = await run(process.execPath, ['--import', 'tsx', join('bench', 'cross-store-copier.ts')], { S3JOBS_BENCH_COPY: JSON.stringify(spec) });
  if (out.code !== 0) throw new Error(`s3jobs copier failed (${out.code}): ${out.stderr.slice(-2000)}`);
  const r = JSON.parse(out.stdout.trim().split('\n').pop()!) as { seconds: number; userMs: number; systemMs: number; maxRssKiB: number; result: { size: number; verified: string } };
  if (r.result.size !== size || r.result.verified !== 'md5') throw new Error(`unexpected s3jobs result ${JSON.stringify(r.result)}`);
  return { seconds: r.seconds, cpuSeconds: (r.userMs + r.systemMs) / 1000, maxRssMiB: r.maxRssKiB / 1024 };
}

async function rcloneCopy(src: S3rverProcess, dst: S3rverProcess, key: string): Promise<Usage> {
  const remote = (name: string, s: S3rverProcess): Record<string, string> => ({
    [`RCLONE_CONFIG_${name}_TYPE`]: 's3',
    [`RCLONE_CONFIG_${name}_PROVIDER`]: 'Other',
    [`RCLONE_CONFIG_${name}_ACCESS_KEY_ID`]: s.accessKey,
    [`RCLONE_CONFIG_${name}_SECRET_ACCESS_KEY`]: s.secretKey,
    [`RCLONE_CONFIG_${name}_ENDPOINT`]: s.endpoint,
    [`RCLONE_CONFIG_${name}_REGION`]: 'us-east-1',
    [`RCLONE_CONFIG_${name}_FORCE_PATH_STYLE`]: 'true',
  });
  const env = { ...remote('SRC', src), ...remote('DST', dst), AWS_EC2_METADATA_DISABLED: 'true', RCLONE_CONFIG: '/dev/null' };
  const started = process.hrtime.bigint();
  const out = await run('/usr/bin/time', ['-f', 'TIME %U %S %M', 'rclone', 'copyto', `SRC:bench-src/${key}`, `DST:bench-dst/rclone/${key}`, '--s3-chunk-size', '16M', '--s3-upload-concurrency', String(IN_FLIGHT), '--retries', '1', '--low-level-retries', '1'], env);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const m = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(out.stderr);
  if (out.code !== 0 || m === null) throw new Error(`rclone failed (${out.code}): ${out.stderr.slice(-2000)}`);
  return { seconds, cpuSeconds: Number(m[1]) + Number(m[2]), maxRssMiB: Number(m[3]) / 1024 };
}

export const benchmark: Benchmark = {
  name: 'cross-store',
  title: 'Copy between stores',
  async run(ctx: BenchContext) {
    const loadBefore = loadAverage();
    const fs = statfsSync('/tmp');
    const free = fs.bavail * fs.bsize;
    const mid = ctx.quick ? 64 * MiB : GiB;
    // The source, two copies and s3rver's parts while it assembles one: 4× the object, with 10 GiB to spare.
    let big = ctx.quick ? 200 * MiB : 6 * GiB;
    while (4 * big + 10 * GiB > free && big > 2 * GiB) big -= GiB;
    const src = await startS3rver();
    const dst = await startS3rver();
    const rows: Row[] = [];
    const client = (s: S3rverProcess, name: string) => new S3Bucket({ name, endpoint: s.endpoint, accessKey: s.accessKey, secretKey: s.secretKey, region: 'us-east-1', forcePathStyle: true, timeout: null });
    const source = client(src, 'bench-src');
    const destination = client(dst, 'bench-dst');
    try {
      await source.putBucket();
      await destination.putBucket();
      for (const [key, size] of [
        ['mid', mid],
        ['big', big],
      ] as const) {
        const t = Date.now();
        await source.put(key, body(size), { contentLength: size });
        ctx.log(`cross-store: put ${key} ${formatNumber(size / MiB)} MiB in ${((Date.now() - t) / 1000).toFixed(0)} s`);
        // Alternate who goes first, so that neither always meets a warmer page cache.
        for (const tool of key === 'mid' ? (['s3jobs', 'rclone'] as const) : (['rclone', 's3jobs'] as const)) {
          const usage = tool === 's3jobs' ? await s3jobsCopy(src, dst, key, size) : await rcloneCopy(src, dst, key);
          const copied = await destination.head(`${tool}/${key}`);
          if (copied.size !== size) throw new Error(`${tool} copy of ${key} has ${copied.size} bytes, expected ${size}`);
          await destination.delete(`${tool}/${key}`);
          rows.push({ tool, bytes: size, ...usage });
          ctx.log(`cross-store: ${tool} ${key}: ${formatNumber(size / MiB / usage.seconds)} MiB/s, ${formatNumber(usage.cpuSeconds / (size / GiB))} CPU s/GiB, peak RSS ${formatNumber(usage.maxRssMiB)} MiB`);
        }
        await source.delete(key);
      }
    } finally {
      await source.close();
      await destination.close();
      await src.stop();
      await dst.stop();
    }
    const loadAfter = loadAverage();
    const size = (b: number): string => (b >= GiB ? `${(b / GiB).toFixed(b % GiB === 0 ? 0 : 2)} GiB` : `${formatNumber(b / MiB)} MiB`);
    const ratioRows = [mid, big].map((bytes) => {
      const s = rows.find((r) => r.tool === 's3jobs' && r.bytes === bytes)!;
      const r = rows.find((x) => x.tool === 'rclone' && x.bytes === bytes)!;
      return [size(bytes), `${(s.bytes / MiB / s.seconds / (r.bytes / MiB / r.seconds)).toFixed(2)}×`, `${(s.cpuSeconds / r.cpuSeconds).toFixed(2)}×`, `${(s.maxRssMiB / r.maxRssMiB).toFixed(2)}×`];
    });
    const table = markdownTable(
      ['object', 'tool', 'seconds', 'MiB/s', 'CPU s per GiB', 'peak RSS MiB'],
      rows.map((r) => [size(r.bytes), r.tool, r.seconds, r.bytes / MiB / r.seconds, r.cpuSeconds / (r.bytes / GiB), r.maxRssMiB]),
    );
    const markdown = `## Copy between stores: s3jobs streamed copy vs rclone copyto (issue 16)

Measured ${new Date().toISOString().slice(0, 10)} on ${machineLine(ctx.machine)}; 1-minute load average ${loadBefore} before, ${loadAfter} after.
Reproduce: \`npm run bench -- cross-store\` (needs ~${Math.ceil((4 * big) / GiB) + 2} GiB free under /tmp). One run per row.

Two s3rver children on 127.0.0.1 (own ports and storage; files on local disk, so the disk is in every figure, for both tools).
Both tools copy the same object between them with 16 MiB parts, 4 in flight: s3jobs' \`streamCopy\` (what a worker runs for a copy
job whose \`sourceProfile\` is another store; ranged GETs, Content-MD5 on every part, the source's MD5 checked end to end) alone in a
child process, and \`rclone copyto\` (v1.60, \`--s3-chunk-size 16M --s3-upload-concurrency 4\`, keys given explicitly,
\`AWS_EC2_METADATA_DISABLED=true\`). CPU is user + system seconds of the copying process per GiB copied (rclone's from \`/usr/bin/time\`, whole process; s3jobs' from
\`process.cpuUsage()\` around the copy, leaving out Node's start-up and tsx's transpiling); peak RSS is the whole process's (Node + tsx
start at ~100 MiB before any byte is copied; s3jobs holds at most 4 × 16 MiB of object data). Largest object: **${size(big)}**${big < 6 * GiB ? ' (the disk did not allow 6 GiB)' : ''}.

${table}

s3jobs vs rclone (above 1 is better for MB/s, below 1 better for CPU and RSS):

${markdownTable(['object', 'MB/s ratio', 'CPU per GiB ratio', 'peak RSS ratio'], ratioRows)}
`;
    return { markdown, data: { rows, mid, big, free, loadBefore, loadAfter } };
  },
};
