import { describe, expect, it } from 'vitest';
import { ENV_VARS, isKnownEnvVar } from '../../../shared/config/env-vars.js';
import { parseWorkerArgs, runWorkerCommand, WORKER_HELP, type CommandIO } from '../../../workers/cli.js';

function io(env: Record<string, string> = {}): CommandIO & { out: string; err: string } {
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

const withProfile = { S3JOBS_PROFILE_MAIN_ACCESS_KEY: 'AK', S3JOBS_PROFILE_MAIN_SECRET_KEY: 'SK' };

describe('parseWorkerArgs', () => {
  it('maps each flag onto its setting', () => {
    expect(
      parseWorkerArgs(['--concurrency', '8', '--rate-limit', '500', '--job-timeout-ms', '10_000', '--large-transfer-bytes', '512MiB', '--queue', 'q1', '--prefix', '{p}', '--redis-url', 'redis://r:6379', '--log-level', 'debug', '--shutdown-grace-ms', '0']),
    ).toEqual({
      help: false,
      overrides: {
        queue: 'q1',
        prefix: '{p}',
        redisUrl: 'redis://r:6379',
        logLevel: 'debug',
        worker: { concurrency: 8, rateLimitPerSecond: 500, jobTimeoutMs: 10_000, largeTransferBytes: 512 * 1024 * 1024, shutdownGraceMs: 0 },
      },
    });
    expect(parseWorkerArgs(['--concurrency=4'])).toEqual({ help: false, overrides: { worker: { concurrency: 4 } } });
    expect(parseWorkerArgs([])).toEqual({ help: false, overrides: {} });
    expect(parseWorkerArgs(['-h'])).toEqual({ help: true });
  });

  it.each([
    [['--concurrency', 'lots'], /--concurrency: "lots" is not an integer/],
    [['--large-transfer-bytes', '1 gallon'], /--large-transfer-bytes: "1 gallon" is not a size/],
    [['--nope'], /Unknown option '--nope'/],
    [['extra'], /extra: unexpected argument/],
    [['--queue'], /argument missing/],
  ])('refuses %j naming the flag', (argv, message) => {
    expect(() => parseWorkerArgs(argv)).toThrow(message);
  });
});

describe('runWorkerCommand', () => {
  it('--help explains flags, environment variables, profiles, signals and exit codes, and exits 0', async () => {
    const out = io();
    expect(await runWorkerCommand(['--help'], out)).toBe(0);
    expect(out.out).toBe(WORKER_HELP);
    for (const text of ['--concurrency', 'S3JOBS_CONCURRENCY', '--rate-limit', '--job-timeout-ms', '--large-transfer-bytes', '--queue', '--prefix', '--redis-url', '--log-level', 'S3JOBS_PROFILE_<NAME>_ACCESS_KEY', 'SIGTERM', 'Exit codes'])
      expect(out.out).toContain(text);
  });

  it('every variable the help names is one the config reads', () => {
    const named = WORKER_HELP.match(/\b(?:S3JOBS|AWS)_[A-Z_<>]+/g) ?? [];
    expect(named.length).toBeGreaterThan(15);
    for (const name of named) {
      if (name.endsWith('_')) continue; // a family, e.g. S3JOBS_PROFILE_DEFAULT_*
      expect(isKnownEnvVar(name) || Object.hasOwn(ENV_VARS, name), `${name} in the help is not a variable s3jobs reads`).toBe(true);
    }
  });

  it('exits 2 on a bad flag, saying where to look', async () => {
    const out = io(withProfile);
    expect(await runWorkerCommand(['--concurrency', 'x'], out)).toBe(2);
    expect(out.err).toMatch(/^s3jobs worker: --concurrency: "x" is not an integer\nRun "s3jobs worker --help"/);
  });

  it('exits 2 on an invalid setting, naming the setting, its flag and its variable', async () => {
    const out = io({ ...withProfile, S3JOBS_CONCURRENCY: '5000' });
    expect(await runWorkerCommand([], out)).toBe(2);
    expect(out.err).toContain('invalid configuration: worker.concurrency (--concurrency, env S3JOBS_CONCURRENCY): ');
    const bad = io(withProfile);
    expect(await runWorkerCommand(['--redis-url', 'http://nope'], bad)).toBe(2);
    expect(bad.err).toContain('redisUrl (--redis-url, env S3JOBS_REDIS_URL): must be a redis:// or rediss:// URL');
  });

  it('exits 2 on a setting with no flag too, naming it', async () => {
    const out = io({ ...withProfile, S3JOBS_LOCK_DURATION_MS: '10' });
    expect(await runWorkerCommand([], out)).toBe(2);
    expect(out.err).toContain('invalid configuration: worker.lockDurationMs: ');
  });

  it('exits 2 without any connection profile, explaining how to define one', async () => {
    const out = io({});
    expect(await runWorkerCommand([], out)).toBe(2);
    expect(out.err).toContain('no connection profile is configured');
    expect(out.err).toContain('S3JOBS_PROFILE_<NAME>_ACCESS_KEY');
  });

  it('never echoes a secret in its messages', async () => {
    const out = io({ S3JOBS_PROFILE_MAIN_ACCESS_KEY: 'AK', S3JOBS_PROFILE_MAIN_SECRET_KEY: 'TOP-SECRET', S3JOBS_PROFILE_MAIN_REGION: 'Not A Region' });
    expect(await runWorkerCommand([], out)).toBe(2);
    expect(out.err).toContain('profiles.main.region');
    expect(out.err).not.toContain('TOP-SECRET');
  });
});
