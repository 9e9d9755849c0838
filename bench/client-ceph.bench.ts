/**
 * Issue 13: the client benchmark's operations (HEAD, CopyObject, metadata rewrite at concurrency 1,
 * 16 and 64) on a real store, Ceph RGW (the project's test/stores/ceph-rgw.sh), ours (`S3Bucket`)
 * vs `@aws-sdk/client-s3`, each side in its own child exactly as in `client.bench.ts`.
 *
 * The rewrite on both sides keeps the headers (HEAD, then a self-copy with REPLACE carrying them
 * back); each run checks one object afterwards — Content-Type, Cache-Control, Content-Disposition,
 * the metadata already there and the new entry — and fails the benchmark if anything was lost.
 * A bucket of its own, deleted at the end; the store is left running. S3JOBS_BENCH_CEPH=0 skips it.
 */
import { readFileSync } from 'node:fs';
import type { Benchmark, BenchContext } from './bench-types.js';
import { startCeph, type CephStore } from './ceph.js';
import { find, measureServer, opsPerSec, prepareChildren, seed, throughputTable, type Run, type Server } from './client.bench.js';
import type { ClientOp, Side } from './client-spec.js';
import { formatMiB, formatNumber, loadAverage, machineLine, markdownTable, raisePriority } from './harness.js';
import { bucketAt, processCpuMs } from './migration-tools.js';

const OPS: ClientOp[] = ['head', 'copy', 'rewrite'];
const OP_NAMES: Record<ClientOp, string> = { head: 'HEAD', copy: 'CopyObject', rewrite: 'metadata rewrite' };

function skippedMarkdown(reason: string): string {
  return `## Client on Ceph RGW vs @aws-sdk/client-s3 (issue 13)

**Not measured — ${reason}.** Run \`test/stores/ceph-rgw.sh start\` and \`npm run bench -- client-ceph\`.
`;
}

async function cephServer(ctx: BenchContext, store: CephStore): Promise<Server> {
  const bucket = `bench-client-${Date.now().toString(36)}`;
  const counts: Record<ClientOp, number> = ctx.quick ? { head: 60, copy: 60, rewrite: 40 } : { head: 300, copy: 250, rewrite: 150 };
  await seed(store.target, Math.max(...Object.values(counts)), bucket);
  const target = { ...store.target, bucket };
  return {
    kind: 'ceph',
    label: `Ceph RGW (${store.version}, test/stores/ceph-rgw.sh: memstore OSD, loopback)`,
    endpoint: store.target.endpoint,
    bucket,
    keys: store.target,
    // The gateway's process: its CPU is the "server busy" column (the monitor and the OSD are not counted there).
    pid: rgwPid(),
    verify: true,
    counts,
    rounds: 3,
    warmup: ctx.quick ? 20 : 50,
    stop: async () => {
      const b = bucketAt(target);
      try {
        await b.deleteBucket({ empty: true });
      } catch (err) {
        ctx.log(`client-ceph: could not delete bucket ${bucket}: ${String(err)}`);
      }
      await b.close();
    },
  };
}

function rgwPid(): number | undefined {
  const dir = process.env.CEPH_RGW_DIR ?? '/tmp/s3jobs-ceph';
  try {
    const pid = Number(readFileSync(`${dir}/pids/rgw`, 'utf8').trim());
    return processCpuMs(pid) === undefined ? undefined : pid;
  } catch {
    return undefined;
  }
}

function report(ctx: BenchContext, server: Server, runs: Run[], load: { before: number; after: number; priorityRaised: boolean }): string {
  const t = throughputTable(runs, 'ceph');
  const peak = (side: Side): string =>
    formatMiB(Math.max(...OPS.flatMap((op) => find(runs, 'ceph', op, side).levels.map((l) => l.peakRss))));
  const rewrite = (side: Side): string =>
    find(runs, 'ceph', 'rewrite', side)
      .levels.map((l) => `c${l.concurrency} ${formatNumber(opsPerSec(find(runs, 'ceph', 'rewrite', side).count, l))}/s`)
      .join(', ');
  const keeps = markdownTable(
    ['side', 'metadata rewrite keeps Content-Type, Cache-Control, Content-Disposition, other metadata', 'rewrite rate', 'peak RSS'],
    [
      ['s3jobs `bucket.rewriteMetadata(key, { acl, set })`', 'yes — checked by HEAD after the run', rewrite('s3jobs'), peak('s3jobs')],
      ['SDK `HeadObjectCommand` + `CopyObjectCommand` (REPLACE, fields copied from the HEAD by hand)', 'yes — checked by HEAD after the run', rewrite('aws-sdk'), peak('aws-sdk')],
    ],
    ['left', 'left', 'left', 'right'],
  );
  return [
    '## Client on Ceph RGW: HEAD, CopyObject and metadata rewrite vs @aws-sdk/client-s3 (issue 13)',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machineLine(ctx.machine)}; store: ${server.label}, sharing the same cores; 1-minute load average ${load.before} before, ${load.after} after${load.priorityRaised ? ' (the benchmark and its children at nice −10; the store not)' : ''}${ctx.quick ? ' — **quick run, not for publishing**' : ''}.`,
    'Reproduce: `npm run bench -- client-ceph` (starts the store with `test/stores/ceph-rgw.sh start` if it is not running and leaves it running;',
    'S3JOBS_BENCH_CEPH=0 skips). Same children, operations and settings as the client section above; objects also carry a Content-Disposition.',
    `${server.counts.head} HEADs, ${server.counts.copy} copies or ${server.counts.rewrite} rewrites per round, ${server.rounds} rounds per level after ${server.warmup} warm-up operations, each side run twice (A B B A, median over its 6 rounds).`,
    `"server busy" is the gateway process alone (its monitor and OSD work besides). Lowest ratio: **${t.worst.toFixed(2)}×**.`,
    '',
    t.table,
    '',
    t.misses.length === 0 ? 'Every row meets the 1.2× target.' : `Below 1.2×: ${t.misses.join('; ')}.`,
    '',
    'Both sides keep every header through a metadata rewrite (the SDK only because the code copies each field from the HEAD; a',
    'plain `CopyObjectCommand` with `MetadataDirective: REPLACE` would reset them, as the AWS CLI does in the migration section):',
    '',
    keeps,
  ].join('\n');
}

export const benchmark: Benchmark = {
  name: 'client-ceph',
  title: 'S3 client on Ceph RGW',
  async run(ctx) {
    const ceph = startCeph(ctx.log);
    if (!ceph.available) {
      ctx.log(`client-ceph: *** THE CEPH RGW ROWS ARE NOT MEASURED: ${ceph.reason} ***`);
      return { markdown: skippedMarkdown(ceph.reason), data: { skipped: ceph.reason }, skipped: ceph.reason };
    }
    await prepareChildren();
    const priority = raisePriority();
    const before = loadAverage();
    let server: Server | undefined;
    try {
      server = await cephServer(ctx, ceph.store);
      const runs = await measureServer(server, true, ctx);
      const load = { before, after: loadAverage(), priorityRaised: priority.raised };
      const { kind, label, counts, rounds, warmup } = server;
      return { markdown: report(ctx, server, runs, load), data: { machine: ctx.machine, quick: ctx.quick, load, server: { kind, label, counts, rounds, warmup }, runs } };
    } finally {
      await server?.stop();
      priority.restore();
    }
  },
};
