/**
 * The package as a user installs it (`npm run test:package`, and CI's .ci/stages/package.sh):
 * `npm pack` (which builds), the tarball installed into an empty project, then the `s3jobs`
 * command, a worker and the library entries used from there. Kept out of `npm test` (whose include
 * is `test/**\/*.test.ts`): it builds and installs, about a minute and a half on this machine.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/package/**/*.pkg.ts'],
    // Redis on 6379 and the shared s3rver child, as in the main suite: the installed worker copies on it.
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 600_000,
    teardownTimeout: 30_000,
    reporters: ['default'],
  },
});
