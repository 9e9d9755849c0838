/**
 * What one S3-compatible store does where stores differ from the S3 documentation and from each
 * other. One typed object, consulted by the client (`S3Bucket`) and nowhere else: processors and
 * commands never test for a store's name.
 *
 * A profile comes from one of three places, lowest to highest precedence:
 * - `DOCUMENTED_S3`: what the S3 API reference says (the default for an unknown store);
 * - a provider preset (`S3JOBS_PROFILE_<NAME>_PROVIDER=ceph`), in the spirit of rclone's quirks;
 * - the findings of `s3jobs doctor` against that endpoint (kept per endpoint, read by workers).
 *
 * Every field says what the store does, not what s3jobs does about it; the client decides that.
 */

/**
 * Which names of the copy-source conditions (if-match, if-none-match, if-modified-since,
 * if-unmodified-since) the store honours:
 * - `standard`: `x-amz-copy-source-if-*` (the documented names);
 * - `legacy`: only `x-amz-copy-if-*` (Ceph RGW 16.2 and older);
 * - `both`: either name works (send the standard one);
 * - `none`: the store copies whatever the condition says: a guarded rewrite is not guarded there;
 * - `unknown`: never checked: send both names (a store that honours either refuses with 412; one
 *   that honours none copies anyway, so the result says `guarded: 'unverified'`).
 */
export type CopyConditionSupport = 'standard' | 'legacy' | 'both' | 'none' | 'unknown';

/**
 * What CompleteMultipartUpload's answer carries: `etag` (as documented), or `may-be-empty` (the
 * `<ETag>` element can be empty: the client HEADs the result for its ETag and checks its size).
 */
export type MultipartCompletionEtag = 'etag' | 'may-be-empty';

/** What CreateBucket answers for a bucket the caller already owns: `409` (documented) or `200`. */
export type OwnedBucketCreate = '409' | '200';

export interface StoreProfile {
  /** Where this profile came from, for logs and `doctor`: `documented`, `provider:ceph`, `doctor:<ISO time>`. */
  source: string;
  copyConditions: CopyConditionSupport;
  multipartCompletionEtag: MultipartCompletionEtag;
  ownedBucketCreate: OwnedBucketCreate;
}

/** The S3 API reference's behaviour: what a store is assumed to do until shown otherwise. */
export const DOCUMENTED_S3: StoreProfile = Object.freeze({
  source: 'documented',
  copyConditions: 'unknown',
  multipartCompletionEtag: 'may-be-empty',
  ownedBucketCreate: '409',
});

/** Presets for stores we have tested, named by `S3JOBS_PROFILE_<NAME>_PROVIDER`. */
export const PROVIDER_PROFILES = Object.freeze({
  aws: { source: 'provider:aws', copyConditions: 'standard', multipartCompletionEtag: 'etag', ownedBucketCreate: '409' },
  /** Ceph RADOS Gateway 16.2 (Debian bookworm's radosgw), tested by the project's own test/stores/ceph-rgw.sh. */
  ceph: { source: 'provider:ceph', copyConditions: 'legacy', multipartCompletionEtag: 'may-be-empty', ownedBucketCreate: '200' },
  /** @20minutes/s3rver, the project's quick test server: ignores copy conditions altogether. */
  s3rver: { source: 'provider:s3rver', copyConditions: 'none', multipartCompletionEtag: 'etag', ownedBucketCreate: '409' },
} satisfies Record<string, StoreProfile>);

export type ProviderName = keyof typeof PROVIDER_PROFILES;
export const PROVIDER_NAMES = Object.keys(PROVIDER_PROFILES) as ProviderName[];
