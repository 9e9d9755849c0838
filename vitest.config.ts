import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts s3rver (unless S3_TEST_ENDPOINT is set) and checks Redis; see the file.
    globalSetup: ['test/support/global-setup.ts'],
    // Child processes, not threads: integration tests open many sockets and spawn children.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    teardownTimeout: 15_000,
    // `--reporter=json` without `--outputFile` writes here; CI passes both explicitly.
    reporters: ['default'],
    outputFile: { json: 'test-results.json' },
  },
});
