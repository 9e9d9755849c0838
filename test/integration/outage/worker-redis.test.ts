/**
 * The worker's start-up against a Redis that is away — refused, reset, silent: it waits
 * `worker.redisStartupTimeoutMs`, then exits with code 3 and a message naming Redis and its URL
 * (before, `ready` waited forever). All on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runWorkerCommand, WorkerExitCode, type CommandIO } from '../../../workers/cli.js';
import { BROKEN_KINDS, brokenPort, type BrokenPort } from '../../support/broken-ports.js';

function io(env: Record<string, string>): CommandIO & { out: string; err: string } {
  const captured = {
    out: '',
    err: '',
    env,
    stdout(text: string) {
      captured.out += text;
    },
    stderr(text: string) {
      captured.err += text;
    },
    exit() {
      throw new Error('exit must not be called');
    },
  };
  return captured;
}

let broken: BrokenPort | undefined;
afterEach(async () => {
  await broken?.close();
  broken = undefined;
});

describe('worker start-up without Redis', () => {
  it.each(BROKEN_KINDS)('Redis %s: exits 3 after the start-up timeout, naming Redis and its URL', { timeout: 20_000 }, async (kind) => {
    broken = await brokenPort(kind);
    const out = io({
      S3JOBS_PROFILE_MAIN_ACCESS_KEY: 'AK',
      S3JOBS_PROFILE_MAIN_SECRET_KEY: 'SK',
      S3JOBS_REDIS_URL: broken.redis,
      S3JOBS_REDIS_STARTUP_TIMEOUT_MS: '1500',
      S3JOBS_LOG_LEVEL: 'silent',
      S3JOBS_QUEUE: `startup-${kind}`,
    });
    const started = Date.now();
    const code = await runWorkerCommand([], out);
    const tookMs = Date.now() - started;
    expect(code).toBe(WorkerExitCode.RedisUnavailable);
    expect(code).toBe(3);
    expect(out.err).toContain(`Redis unreachable at redis://127.0.0.1:${broken.port}`);
    expect(out.err).toContain('for 1500 ms at start-up');
    expect(out.err).not.toMatch(/\bS3\b/);
    // Bounded: the timeout, plus a close that does not wait for Redis.
    expect(tookMs).toBeGreaterThanOrEqual(1400);
    expect(tookMs).toBeLessThan(10_000);
  });
});
