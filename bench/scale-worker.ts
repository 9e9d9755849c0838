/**
 * The s3jobs worker of the scale benchmark's queue-only run: `startWorker` configured from the
 * environment exactly like `workers/main.ts`, with every S3 request answered by the no-op S3
 * (bench/noop-s3.ts) instead of a server. Stops on SIGTERM.
 *
 *   node --import tsx bench/scale-worker.ts      (environment: see test/support/worker-process.ts workerEnv)
 */
import { loadConfig } from '../shared/config/config.js';
import { startWorker } from '../workers/worker.js';
import { noopS3Dispatcher } from './noop-s3.js';

const config = loadConfig();
const handle = startWorker({ config, s3Dispatcher: noopS3Dispatcher() });
await handle.ready;
process.on('SIGTERM', () => {
  void handle.close().then(() => process.exit(0));
});
