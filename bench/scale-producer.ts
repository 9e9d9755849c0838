/**
 * The producer side of the scale benchmark, as its own process so its RSS is the producer's alone:
 *
 *   node --import tsx bench/scale-producer.ts '<json ScaleProducerSpec>'
 *
 * `ours`: `runMigration` over a synthetic listing, waiting for every outcome. `raw`: plain BullMQ
 * `Queue.addBulk` of the same payloads under the same window, then waits for the queue to empty.
 * Prints one JSON line: { seconds, peakRss, completed, reportBytes }.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { runMigration, rewriteJobFor, type MigrationSpec } from '../producers/migrate/migration.js';
import { RunStore } from '../shared/runs/index.js';
import { MemorySampler } from './harness.js';
import { syntheticKey, syntheticListing } from './synthetic-listing.js';

export interface ScaleProducerSpec {
  mode: 'ours' | 'raw';
  redisUrl: string;
  prefix: string;
  queue: string;
  objects: number;
  window: number;
  /** Objects per job on our side (`MigrationOptions.batchSize`). */
  batchSize: number;
  spec: MigrationSpec;
}

const input = JSON.parse(process.argv[2]!) as ScaleProducerSpec;
const connection = new Redis(input.redisUrl, { maxRetriesPerRequest: null });
const queue = new Queue(input.queue, { connection, prefix: input.prefix });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sampler = new MemorySampler().start(100);
const dir = mkdtempSync(join(tmpdir(), 's3jobs-bench-scale-'));
const started = process.hrtime.bigint();
let completed = 0;
let reportBytes = 0;
if (input.mode === 'ours') {
  const report = join(dir, 'report.csv');
  const result = await runMigration({ bucket: syntheticListing(input.objects), queue, store: new RunStore(connection, input.prefix, input.queue) }, input.spec, {
    runId: 'scale',
    window: input.window,
    batchSize: input.batchSize,
    pollMs: 100,
    reportPath: report,
  });
  completed = result.run.completed;
  reportBytes = statSync(report).size;
} else {
  const opts = { attempts: 5, backoff: { type: 'exponential', delay: 1000 } };
  for (let start = 0; start < input.objects; start += 1000) {
    while ((await queue.getWaitingCount()) >= input.window) await sleep(50);
    const batch = [];
    for (let i = start; i < Math.min(input.objects, start + 1000); i++) batch.push({ name: 'metadata-rewrite', data: rewriteJobFor(input.spec, { key: syntheticKey(i) }, 'raw', i), opts });
    await queue.addBulk(batch);
  }
  for (;;) {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed');
    if (c.waiting === 0 && c.active === 0 && c.delayed === 0) break;
    await sleep(50);
  }
  completed = input.objects;
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const mem = sampler.stop();
rmSync(dir, { recursive: true, force: true });
await queue.close();
connection.disconnect();
process.stdout.write(`${JSON.stringify({ seconds, peakRss: mem.peakRss, maxRss: mem.maxRss, completed, reportBytes })}\n`);
