/**
 * The s3jobs worker of the scale benchmark's queue-only runs: `startWorker` configured from the
 * environment exactly like `workers/main.ts`, with a no-op S3 chosen by the first argument:
 *
 *   node --import tsx bench/scale-worker.ts bucket   every HEAD and rewrite a no-op (bench/noop-bucket.ts)
 *   node --import tsx bench/scale-worker.ts client   the real client, requests answered in-process (bench/noop-s3.ts)
 *
 * (environment: see test/support/worker-process.ts workerEnv). Stops on SIGTERM.
 */
import { loadConfig } from '../shared/config/config.js';
import { startWorker } from '../workers/worker.js';
import { NoopBucketCache } from './noop-bucket.js';
import { noopS3Dispatcher } from './noop-s3.js';

const config = loadConfig();
const mode = process.argv[2];
if (mode !== 'bucket' && mode !== 'client') throw new Error(`scale worker: give "bucket" or "client", not ${mode}`);
const handle = startWorker(mode === 'bucket' ? { config, buckets: new NoopBucketCache(config) } : { config, s3Dispatcher: noopS3Dispatcher() });
await handle.ready;
process.on('SIGTERM', () => {
  void handle.close().then(() => process.exit(0));
});
