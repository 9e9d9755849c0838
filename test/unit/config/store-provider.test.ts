/** The store settings of a connection profile: S3JOBS_PROFILE_<NAME>_PROVIDER and _REQUIRE_GUARD. Pure. */
import { describe, expect, it } from 'vitest';
import { buildConfig, isKnownEnvVar } from '../../../shared/config/index.js';
import { PROVIDER_NAMES } from '../../../shared/s3/store-profile.js';

const keys = { S3JOBS_PROFILE_PROD_ACCESS_KEY: 'AK', S3JOBS_PROFILE_PROD_SECRET_KEY: 'SK' };

describe('S3JOBS_PROFILE_<NAME>_PROVIDER / _REQUIRE_GUARD', () => {
  it('are read into the profile (provider case-blind)', () => {
    const config = buildConfig({ env: { ...keys, S3JOBS_PROFILE_PROD_PROVIDER: 'Ceph', S3JOBS_PROFILE_PROD_REQUIRE_GUARD: 'true' } });
    expect(config.profiles.prod).toMatchObject({ provider: 'ceph', requireGuard: true });
    expect(buildConfig({ env: keys }).profiles.prod).not.toHaveProperty('provider');
  });

  it('an unknown provider is refused, naming the variable and the allowed names', () => {
    let error: unknown;
    try {
      buildConfig({ env: { ...keys, S3JOBS_PROFILE_PROD_PROVIDER: 'minio' } });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'S3JOBS_INVALID_CONFIG', field: 'S3JOBS_PROFILE_PROD_PROVIDER' });
    expect((error as Error).message).toContain(PROVIDER_NAMES.join(', '));
  });

  it('a config file is checked as well; REQUIRE_GUARD must be a boolean', () => {
    expect(() => buildConfig({ file: { profiles: { prod: { accessKey: 'AK', secretKey: 'SK', provider: 'minio' } } } })).toThrow(/profiles\.prod\.provider: must be one of aws, ceph, s3rver, other/);
    expect(() => buildConfig({ env: { ...keys, S3JOBS_PROFILE_PROD_REQUIRE_GUARD: 'maybe' } })).toThrow(/S3JOBS_PROFILE_PROD_REQUIRE_GUARD/);
  });

  it('are known variables', () => {
    expect(isKnownEnvVar('S3JOBS_PROFILE_PROD_PROVIDER')).toBe(true);
    expect(isKnownEnvVar('S3JOBS_PROFILE_PROD_REQUIRE_GUARD')).toBe(true);
  });
});
