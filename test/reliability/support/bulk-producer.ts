/**
 * A producer in a child process, for the crash-mid-enqueue test: `node --import tsx
 * bulk-producer.ts` with its orders in REL_PRODUCER (JSON). Enqueues `count` copy jobs with the
 * deterministic ids `<idPrefix>-<i>`, `batch` per addBulk round trip, and prints
 * `{"enqueued": n}` after each batch — so the test can SIGKILL it mid-way and run it again.
 */
import { buildConfig } from '../../../shared/config/config.js';
import { S3JobsProducer } from '../../../producers/producer.js';

interface Orders {
  redisUrl: string;
  queue: string;
  prefix: string;
  profile: string;
  source: string;
  destination: string;
  count: number;
  batch: number;
  idPrefix: string;
  /** Every n-th job copies a source that does not exist (it is dead-lettered). 0 = none. */
  failEvery: number;
  /** Pause between batches, ms (gives the test time to kill us mid-run). */
  pauseMs: number;
}

const orders = JSON.parse(process.env.REL_PRODUCER ?? '{}') as Orders;
const config = buildConfig({ overrides: { redisUrl: orders.redisUrl, queue: orders.queue, prefix: orders.prefix } });
const producer = new S3JobsProducer({ config });

function payloadFor(o: Pick<Orders, 'profile' | 'source' | 'destination' | 'failEvery'>, i: number) {
  const missing = o.failEvery > 0 && i % o.failEvery === 0;
  return {
    kind: 'copy' as const,
    profile: o.profile,
    source: { bucket: o.source, key: missing ? `missing/${i}` : `s/${i % 100}` },
    destination: { bucket: o.destination, key: `p/${i}` },
    acl: 'private' as const,
    metadata: { job: String(i) },
  };
}

let enqueued = 0;
for (let i = 0; i < orders.count; i += orders.batch) {
  const items = [];
  for (let j = i; j < Math.min(orders.count, i + orders.batch); j++) items.push({ payload: payloadFor(orders, j), options: { jobId: `${orders.idPrefix}-${j}` } });
  await producer.addBulk(items);
  enqueued += items.length;
  process.stdout.write(`${JSON.stringify({ enqueued })}\n`);
  if (orders.pauseMs > 0) await new Promise((r) => setTimeout(r, orders.pauseMs));
}
await producer.close();
process.stdout.write(`${JSON.stringify({ done: enqueued })}\n`);
