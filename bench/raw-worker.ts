/**
 * The raw-BullMQ peer of the scale benchmark, as a child process: a plain BullMQ `Worker` with a
 * no-op processor and worker-level `removeOnComplete: { count: 0 }`, nothing of s3jobs.
 *
 *   node --import tsx bench/raw-worker.ts <redisUrl> <prefix> <queue> <concurrency>
 *
 * Stops on SIGTERM.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const [url, prefix, queue, concurrency] = process.argv.slice(2);
const connection = new Redis(url!, { maxRetriesPerRequest: null });
const worker = new Worker(queue!, async () => undefined, { connection, prefix: prefix!, concurrency: Number(concurrency), removeOnComplete: { count: 0 } });
process.on('SIGTERM', () => {
  void worker.close().then(() => process.exit(0));
});
