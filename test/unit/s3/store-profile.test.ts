import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../shared/errors.js';
import {
  copyConditionPrefixes,
  copyGuard,
  DOCUMENTED_S3,
  ownedCreateMayAnswer200,
  PROVIDER_NAMES,
  PROVIDER_PROFILES,
  providerProfile,
  withFindings,
} from '../../../shared/s3/store-profile.js';
import { resolveStoreProfile } from '../../../workers/store-profile.js';

describe('StoreProfile', () => {
  it('selects a preset by provider name, case-blind', () => {
    expect(providerProfile('ceph')).toBe(PROVIDER_PROFILES.ceph);
    expect(providerProfile(' Ceph ')).toBe(PROVIDER_PROFILES.ceph);
    expect(providerProfile('other')).toMatchObject({ copyConditions: 'unknown', ownedBucketCreate: 'unknown' });
  });

  it('refuses an unknown provider, naming the setting and listing the allowed names', () => {
    let error: unknown;
    try {
      providerProfile('minio', 'S3JOBS_PROFILE_PROD_PROVIDER');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ field: 'S3JOBS_PROFILE_PROD_PROVIDER', code: 'S3JOBS_INVALID_CONFIG' });
    expect((error as Error).message).toContain('"minio"');
    for (const name of PROVIDER_NAMES) expect((error as Error).message).toContain(name);
  });

  it('sends the condition under the names the store honours; both where never checked', () => {
    expect(copyConditionPrefixes('standard')).toEqual(['x-amz-copy-source-if-']);
    expect(copyConditionPrefixes('both')).toEqual(['x-amz-copy-source-if-']);
    expect(copyConditionPrefixes('legacy')).toEqual(['x-amz-copy-if-']);
    expect(copyConditionPrefixes('unknown')).toEqual(['x-amz-copy-source-if-', 'x-amz-copy-if-']);
    expect(copyConditionPrefixes('none')).toEqual(['x-amz-copy-source-if-']);
  });

  it('says whether a guard holds: true, false where ignored, unverified where never checked', () => {
    expect(copyGuard('standard')).toBe(true);
    expect(copyGuard('legacy')).toBe(true);
    expect(copyGuard('both')).toBe(true);
    expect(copyGuard('none')).toBe(false);
    expect(copyGuard('unknown')).toBe('unverified');
    expect(copyGuard(DOCUMENTED_S3.copyConditions)).toBe('unverified');
    expect(copyGuard(PROVIDER_PROFILES.s3rver.copyConditions)).toBe(false);
    expect(copyGuard(PROVIDER_PROFILES.ceph.copyConditions)).toBe(true);
  });

  it('HEADs before CreateBucket where an owned bucket may answer 200', () => {
    expect(ownedCreateMayAnswer200(PROVIDER_PROFILES.ceph, 'eu-west-1')).toBe(true);
    expect(ownedCreateMayAnswer200(PROVIDER_PROFILES.s3rver, 'us-east-1')).toBe(false);
    expect(ownedCreateMayAnswer200(PROVIDER_PROFILES.aws, 'us-east-1')).toBe(true);
    expect(ownedCreateMayAnswer200(PROVIDER_PROFILES.aws, 'eu-west-1')).toBe(false);
    expect(ownedCreateMayAnswer200(DOCUMENTED_S3, 'eu-west-1')).toBe(true);
  });

  it('merges doctor findings over a preset; undefined findings change nothing', () => {
    const merged = withFindings(PROVIDER_PROFILES.ceph, { source: 'doctor:2026-12-03T00:00:00Z', copyConditions: 'both', ownedBucketCreate: undefined });
    expect(merged).toEqual({ ...PROVIDER_PROFILES.ceph, copyConditions: 'both', source: 'doctor:2026-12-03T00:00:00Z over provider:ceph' });
    expect(withFindings(DOCUMENTED_S3, undefined)).toBe(DOCUMENTED_S3);
  });

  it('the worker resolves a connection profile: its provider preset, else the default', () => {
    expect(resolveStoreProfile({ provider: 'ceph' })).toBe(PROVIDER_PROFILES.ceph);
    expect(resolveStoreProfile({})).toBe(DOCUMENTED_S3);
    expect(resolveStoreProfile({ provider: 's3rver' }, { copyConditions: 'standard', source: 'doctor:x' })).toMatchObject({ copyConditions: 'standard', multipartCompletionEtag: 'etag' });
  });
});
