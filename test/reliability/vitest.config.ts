/**
 * The reliability and security suite (`npm run test:reliability`): S3 faults, process faults, load,
 * bad input and fuzzing, secrets. Kept out of `npm test` (whose include is `test/**\/*.test.ts`):
 * these files are `*.rel.ts` and take minutes, not seconds.
 *
 * Files run one after another (`fileParallelism: false`): each one loads the 2-core machine on its
 * own, and the numbers it measures (throughput, latency) mean nothing if another file competes.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/reliability/**/*.rel.ts'],
    // The same set-up as the main suite: checks Redis on 6379 and starts the shared s3rver child.
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    fileParallelism: false,
    // Every loop in the suite bounds itself in count and time; these are the outer backstops.
    testTimeout: 240_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    reporters: ['default'],
  },
});
