/**
 * The one place a worker decides what a connection profile's store does (the `StoreProfile` its
 * S3Bucket clients consult): the preset of the profile's provider (`S3JOBS_PROFILE_<NAME>_PROVIDER`),
 * else `DOCUMENTED_S3` (nothing assumed), with what `s3jobs doctor` found at that endpoint on top
 * when the caller has findings. Pure.
 */
import type { ConnectionProfile } from '../shared/config/config.js';
import { DOCUMENTED_S3, providerProfile, withFindings, type StoreProfile } from '../shared/s3/store-profile.js';

export function resolveStoreProfile(connection: Pick<ConnectionProfile, 'provider'>, findings?: Partial<StoreProfile>): StoreProfile {
  const preset = connection.provider === undefined ? DOCUMENTED_S3 : providerProfile(connection.provider);
  return withFindings(preset, findings);
}
