/**
 * Issue 7, target 6: a multipart copy of a large object as an s3jobs copy job (job timeout
 * disabled, parts in parallel) vs a single CopyObject of a 5 GiB object (the CopyObject limit) on
 * the same s3rver, in MB/s.
 *
 * s3rver stores objects as files, so sources and copies take real disk: 6 GiB + 5 GiB sources,
 * and each copy is deleted once measured. The disk's free space is checked first and the sizes
 * shrink (stated in the report) if it is short.
 */
import { statfsSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { Job } from 'bullmq';
import { S3JobsProducer } from '../producers/producer.js';
import { S3Bucket } from '../shared/s3/index.js';
import { startS3rver } from '../test/support/s3rver-process.js';
import { startWorker } from '../workers/worker.js';
import type { Benchmark, BenchContext } from './bench-types.js';
import { formatNumber, loadAverage, machineLine, markdownTable } from './harness.js';
import { startPrivateRedis } from './private-redis.js';
import { ACCESS_KEY, benchConfig, PROFILE, REGION, SECRET_KEY } from './servers.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const BUCKET = 'bench';
const PARTS_AT_ONCE = 8;

function body(size: number): Readable {
  const chunk = Buffer.alloc(MiB, 0x61);
  return Readable.from(
    (function* () {
      for (let left = size; left > 0; left -= MiB) yield left >= MiB ? chunk : chunk.subarray(0, left);
    })(),
  );
}

interface Row {
  what: string;
  bytes: number;
  seconds: number;
  mbPerSec: number;
}

export const benchmark: Benchmark = {
  name: 'large',
  title: 'Large transfer',
  async run(ctx: BenchContext) {
    const loadBefore = loadAverage();
    const fs = statfsSync('/tmp');
    const free = fs.bavail * fs.bsize;
    // Sources (big + single) plus the largest copy at a time, with 10 GiB to spare for everyone else.
    let big = ctx.quick ? 600 * MiB : 6 * GiB;
    let single = ctx.quick ? 500 * MiB : 5 * GiB;
    while (big + single + big + 10 * GiB > free && big > GiB) {
      big -= GiB;
      single = Math.min(single, big - GiB);
    }
    const small = ctx.quick ? 100 * MiB : GiB;
    const PART = ctx.quick ? 32 * MiB : 256 * MiB;
    const s3rver = await startS3rver();
    const redis = await startPrivateRedis();
    const bucket = new S3Bucket({ name: BUCKET, accessKey: ACCESS_KEY, secretKey: SECRET_KEY, endpoint: s3rver.endpoint, region: REGION, timeout: null });
    const rows: Row[] = [];
    const config = benchConfig(redis.url, s3rver.endpoint, 'bench-large', {
      concurrency: 1,
      // The default 30 s deadline, which these copies outlive: large transfers must run without it.
      jobTimeoutMs: 30_000,
      largeTransferBytes: small / 2,
      multipartPartBytes: PART,
      multipartConcurrency: PARTS_AT_ONCE,
    });
    const producer = new S3JobsProducer({ config });
    try {
      await bucket.putBucket();
      for (const [key, size] of [
        ['src/big', big],
        ['src/single', single],
        ['src/small', small],
      ] as const) {
        const t = Date.now();
        await bucket.put(key, body(size), { contentLength: size, mimetype: 'application/octet-stream' });
        ctx.log(`large: put ${key} ${(size / GiB).toFixed(2)} GiB in ${((Date.now() - t) / 1000).toFixed(0)} s`);
      }
      /** One copy job through the queue and a worker; the job carries `timeoutMs: null`. */
      const viaJob = async (source: string, bytes: number, threshold: number, what: string): Promise<void> => {
        const handle = startWorker({ config, multipartThresholdBytes: threshold });
        await handle.ready;
        const done = new Promise<unknown>((resolve, reject) => {
          handle.worker.on('completed', (_job: Job, result: unknown) => resolve(result));
          handle.worker.on('failed', (_job: Job | undefined, err: Error) => reject(err));
        });
        const started = process.hrtime.bigint();
        await producer.copy({ profile: PROFILE, source: { bucket: BUCKET, key: source }, destination: { bucket: BUCKET, key: 'dst/copy' }, acl: 'private', timeoutMs: null });
        const result = (await done) as { multipart?: boolean; largeTransfer?: boolean };
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        await handle.close();
        if (result.multipart !== true || result.largeTransfer !== true) throw new Error(`expected a multipart large transfer, got ${JSON.stringify(result)}`);
        const head = await bucket.head('dst/copy');
        if (head.size !== bytes) throw new Error(`copy has ${head.size} bytes, expected ${bytes}`);
        await bucket.delete('dst/copy');
        rows.push({ what, bytes, seconds, mbPerSec: bytes / MiB / seconds });
        ctx.log(`large: ${what}: ${(bytes / MiB / seconds).toFixed(0)} MiB/s`);
      };
      /** One CopyObject, directly. */
      const singleCopy = async (source: string, bytes: number, what: string): Promise<void> => {
        const started = process.hrtime.bigint();
        const result = await bucket.copy(`${BUCKET}/${source}`, 'dst/copy', { acl: 'private', multipart: { threshold: 5 * GiB } });
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        if (result.multipart) throw new Error('expected a single CopyObject');
        await bucket.delete('dst/copy');
        rows.push({ what, bytes, seconds, mbPerSec: bytes / MiB / seconds });
        ctx.log(`large: ${what}: ${(bytes / MiB / seconds).toFixed(0)} MiB/s`);
      };
      await viaJob('src/small', small, small / 2, `copy job, multipart (${PART / MiB} MiB parts → ${Math.ceil(small / PART)} parts)`);
      await singleCopy('src/small', small, 'single CopyObject');
      await singleCopy('src/single', single, 'single CopyObject');
      await viaJob('src/big', big, Math.min(5 * GiB, big / 2), `copy job, multipart (${PART / MiB} MiB parts, ${PARTS_AT_ONCE} at once)`);
    } finally {
      await producer.queue.obliterate({ force: true }).catch(() => undefined);
      await producer.close();
      await bucket.close();
      await s3rver.stop();
      await redis.stop();
    }
    const loadAfter = loadAverage();
    const gib = (b: number): string => (b >= GiB ? `${(b / GiB).toFixed(b % GiB === 0 ? 0 : 2)} GiB` : `${formatNumber(b / MiB)} MiB`);
    const table = markdownTable(
      ['object', 'how', 'seconds', 'MiB/s'],
      rows.map((r) => [gib(r.bytes), r.what, r.seconds, r.mbPerSec]),
    );
    const bigRow = rows[rows.length - 1]!;
    const singleRow = rows.find((r) => r.bytes === single && r.what === 'single CopyObject')!;
    const markdown = `## Large transfer: multipart copy job vs a single CopyObject (issue 7, target 6)

Measured ${new Date().toISOString().slice(0, 10)} on ${machineLine(ctx.machine)}; 1-minute load average ${loadBefore} before, ${loadAfter} after.
Reproduce: \`npm run bench -- large\` (needs ~${Math.ceil((2 * big + single + small) / GiB) + 2} GiB free under /tmp; several minutes). One run per row.

Sizes: **${gib(big)}** multipart copy (${Math.ceil(big / PART)} parts of ${PART / MiB} MiB, ${PARTS_AT_ONCE} at once) as an s3jobs \`copy\` job with \`timeoutMs: null\`
through a private Redis and \`startWorker\` whose default job deadline is 30 s (the copy outlives it: large transfers run with
the deadline lifted, the inactivity guard kept), vs a single CopyObject of **${gib(single)}** (the CopyObject limit) with \`S3Bucket.copy\`.
Second size: ${gib(small)} both ways. On s3rver (files on local disk, ${(free / GiB).toFixed(0)} GiB free at the start), whose copy is a file-to-file
stream, so MB/s here is s3rver's and the disk's; parts in parallel let it use more than one stream at a time.

${table}

Ratio at the large size: multipart ${gib(big)} job ${formatNumber(bigRow.mbPerSec)} MiB/s vs single ${gib(single)} CopyObject ${formatNumber(singleRow.mbPerSec)} MiB/s = **${(bigRow.mbPerSec / singleRow.mbPerSec).toFixed(2)}×**.
`;
    return { markdown, data: { rows, big, single, small, free, loadBefore, loadAfter } };
  },
};
