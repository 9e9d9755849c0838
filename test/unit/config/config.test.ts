import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../shared/errors.js';
import { buildConfig, DEFAULT_CONFIG, isKnownEnvVar, maskConfig, redactUrl, resolveProfile } from '../../../shared/config/index.js';

describe('buildConfig', () => {
  it('defaults when nothing is set', () => {
    expect(buildConfig({ env: {} })).toEqual(DEFAULT_CONFIG);
  });

  it('layers file < env < overrides', () => {
    const config = buildConfig({
      file: { queue: 'from-file', worker: { concurrency: 4, jobTimeoutMs: 1000 } },
      env: { S3JOBS_QUEUE: 'from-env', S3JOBS_CONCURRENCY: '8' },
      overrides: { worker: { concurrency: 32 } },
    });
    expect(config.queue).toBe('from-env');
    expect(config.worker.concurrency).toBe(32);
    expect(config.worker.jobTimeoutMs).toBe(1000);
    expect(config.worker.largeTransferBytes).toBe(DEFAULT_CONFIG.worker.largeTransferBytes);
  });

  it('reads profiles from S3JOBS_PROFILE_<NAME>_* and AWS_* variables', () => {
    const config = buildConfig({
      env: {
        S3JOBS_PROFILE_MINIO_ENDPOINT: 'http://127.0.0.1:9000',
        S3JOBS_PROFILE_MINIO_ACCESS_KEY: 'ak',
        S3JOBS_PROFILE_MINIO_SECRET_KEY: 'sk',
        S3JOBS_PROFILE_MINIO_FORCE_PATH_STYLE: 'true',
        AWS_ACCESS_KEY_ID: 'aws-ak',
        AWS_SECRET_ACCESS_KEY: 'aws-sk',
        AWS_REGION: 'eu-west-1',
      },
    });
    expect(config.profiles.minio).toEqual({ endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', accessKey: 'ak', secretKey: 'sk', forcePathStyle: true });
    expect(config.profiles.default).toMatchObject({ accessKey: 'aws-ak', secretKey: 'aws-sk', region: 'eu-west-1' });
  });

  it.each<[string, Record<string, string>, string]>([
    ['non-integer', { S3JOBS_CONCURRENCY: 'many' }, 'S3JOBS_CONCURRENCY'],
    ['zero concurrency', { S3JOBS_CONCURRENCY: '0' }, 'worker.concurrency'],
    ['bad redis url', { REDIS_URL: 'http://x' }, 'redisUrl'],
    ['bad boolean', { S3JOBS_PROFILE_A_FORCE_PATH_STYLE: 'maybe', S3JOBS_PROFILE_A_ACCESS_KEY: 'a', S3JOBS_PROFILE_A_SECRET_KEY: 'b' }, 'S3JOBS_PROFILE_A_FORCE_PATH_STYLE'],
    ['profile without secret', { S3JOBS_PROFILE_A_ACCESS_KEY: 'a' }, 'profiles.a.secretKey'],
    ['bad log level', { S3JOBS_LOG_LEVEL: 'loud' }, 'logLevel'],
    ['backoff max below base', { S3JOBS_BACKOFF_MS: '5000', S3JOBS_BACKOFF_MAX_MS: '10' }, 'retry.backoffMaxMs'],
  ])('refuses %s, naming the setting', (_name, env, field) => {
    try {
      buildConfig({ env });
      throw new Error('expected a config error');
    } catch (err) {
      expect(err).toMatchObject({ code: ErrorCodes.InvalidConfig, field });
    }
  });

  it('refuses unknown keys in a config file', () => {
    expect(() => buildConfig({ file: { workers: {} } })).toThrow(/workers|Unrecognized/);
  });
});

describe('maskConfig', () => {
  it('masks secret keys, session tokens and Redis passwords', () => {
    const config = buildConfig({ env: { REDIS_URL: 'redis://u:hunter2@h:6379', S3JOBS_PROFILE_P_ACCESS_KEY: 'AKID', S3JOBS_PROFILE_P_SECRET_KEY: 'TOPSECRET', S3JOBS_PROFILE_P_SESSION_TOKEN: 'TOKEN' } });
    const text = JSON.stringify(maskConfig(config));
    expect(text).not.toContain('TOPSECRET');
    expect(text).not.toContain('TOKEN"');
    expect(text).not.toContain('hunter2');
    expect(text).toContain('AKID');
    expect(redactUrl('redis://h:6379')).toBe('redis://h:6379');
  });
});

describe('resolveProfile', () => {
  it('names the known profiles when one is missing', () => {
    const config = buildConfig({ env: { S3JOBS_PROFILE_A_ACCESS_KEY: 'a', S3JOBS_PROFILE_A_SECRET_KEY: 'b' } });
    expect(resolveProfile(config, 'a').accessKey).toBe('a');
    expect(() => resolveProfile(config, 'prod')).toThrow(/"prod" is not configured.*known profiles: a/);
  });
});

describe('isKnownEnvVar', () => {
  it.each([['REDIS_URL', true], ['S3JOBS_CONCURRENCY', true], ['S3JOBS_PROFILE_PROD_SECRET_KEY', true], ['S3JOBS_CONCURENCY', false], ['S3JOBS_PROFILE_PROD_SECRET', false]])('%s → %s', (name, known) => {
    expect(isKnownEnvVar(name as string)).toBe(known);
  });
});
