/**
 * One side of the client benchmark, run in its own child process so that its memory is its own:
 * `node bench/results/.build/bench/client-side.js '<json ClientRunSpec>'` (transpiled by
 * compile.ts). Only that side's library is loaded (`client-s3jobs.ts` or `client-aws-sdk.ts`).
 * Runs one operation at each concurrency level in turn and prints one JSON `ClientRunResult` line.
 */
import type { ClientRunResult, ClientRunSpec, LevelResult, OpFn } from './client-spec.js';
import { collectGarbage, MemorySampler, processCpuMs } from './harness.js';

/** Runs `count` operations with at most `concurrency` in flight. */
async function runConcurrent(count: number, concurrency: number, tag: string, op: OpFn): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) await op(i, tag);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}

async function runLevel(spec: ClientRunSpec, op: OpFn, concurrency: number): Promise<{ result: LevelResult; lastTag: string }> {
  collectGarbage();
  const sampler = new MemorySampler().start(20);
  await runConcurrent(spec.warmup, concurrency, `c${concurrency}/warmup`, op);
  const roundMs: number[] = [];
  const cpuBefore = process.cpuUsage();
  const serverBefore = processCpuMs(spec.serverPid);
  const wallStart = process.hrtime.bigint();
  let tag = '';
  for (let round = 0; round < spec.rounds; round++) {
    tag = `c${concurrency}/r${round}`;
    const start = process.hrtime.bigint();
    await runConcurrent(spec.count, concurrency, tag, op);
    roundMs.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const wallMs = Number(process.hrtime.bigint() - wallStart) / 1e6;
  const cpu = process.cpuUsage(cpuBefore);
  const serverAfter = processCpuMs(spec.serverPid);
  const memory = sampler.stop();
  const cpuUs = cpu.user + cpu.system;
  return {
    lastTag: tag,
    result: {
      concurrency,
      roundMs,
      cpuUsPerOp: cpuUs / (spec.count * spec.rounds),
      clientBusyPct: (cpuUs / 1000 / wallMs) * 100,
      serverBusyPct: serverBefore === undefined || serverAfter === undefined ? undefined : ((serverAfter - serverBefore) / wallMs) * 100,
      peakRss: memory.peakRss,
      peakHeapUsed: memory.peakHeapUsed,
    },
  };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as ClientRunSpec;
  const { createClient } = spec.side === 's3jobs' ? await import('./client-s3jobs.js') : await import('./client-aws-sdk.js');
  const client = createClient(spec);
  const op = client.op(spec.op);
  // One request first: the SDK loads parts of itself on first use, which belongs in its footprint.
  await op(0, 'load');
  collectGarbage();
  const loaded = process.memoryUsage();
  const levels: LevelResult[] = [];
  let lastTag = '';
  for (const concurrency of spec.levels) {
    const level = await runLevel(spec, op, concurrency);
    levels.push(level.result);
    lastTag = level.lastTag;
  }
  if (spec.verify) await client.verify(spec.op, lastTag);
  await client.close();
  const result: ClientRunResult = {
    side: spec.side,
    op: spec.op,
    count: spec.count,
    levels,
    rssAfterLoad: loaded.rss,
    heapAfterLoad: loaded.heapUsed,
    maxRss: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
