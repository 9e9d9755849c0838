/**
 * What one S3-compatible store does where stores differ from the S3 documentation and from each
 * other. One typed object, consulted by the client (`S3Bucket`, option `store`) and nowhere else:
 * processors and commands never test for a store's name.
 *
 * A profile comes from one of three places, lowest to highest precedence:
 * - `DOCUMENTED_S3`: what is safe to assume of a store nobody has looked at (the default);
 * - a provider preset (`S3JOBS_PROFILE_<NAME>_PROVIDER=ceph`, `providerProfile`), in the spirit of
 *   rclone's per-provider quirks;
 * - the findings of `s3jobs doctor` against that endpoint (kept per endpoint, merged on top with
 *   `withFindings`).
 *
 * Every field says what the store does, not what s3jobs does about it; the client decides that.
 * Pure: no I/O.
 */
import { ErrorCodes, ValidationError } from '../errors.js';

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
 * `<ETag>` element can be empty). The client accepts an empty one from any store: it HEADs the
 * result for its ETag and checks its size against the source's.
 */
export type MultipartCompletionEtag = 'etag' | 'may-be-empty';

/**
 * What CreateBucket answers for a bucket the caller already owns: `409` BucketAlreadyOwnedByYou
 * (documented), `200` (Ceph), `200-in-us-east-1` (AWS: 200 in us-east-1, 409 elsewhere) or
 * `unknown`. Where a 200 is possible the client HEADs the bucket first, so that `created` is true
 * only for a bucket that was not there.
 */
export type OwnedBucketCreate = '409' | '200' | '200-in-us-east-1' | 'unknown';

/**
 * What CopyObject with metadata directive REPLACE does to the source's tags: `kept` (documented:
 * the tagging directive defaults to COPY), `dropped` (Ceph RGW 16.2, which also ignores
 * `x-amz-tagging` on copies) or `unknown`. See tag-carry.ts for what the client does about it.
 */
export type ReplaceCopyTags = 'kept' | 'dropped' | 'unknown';

/**
 * What `x-amz-tagging` on CreateMultipartUpload does: `applied` (documented), `ignored` (Ceph RGW
 * 16.2) or `unknown`.
 */
export type MultipartCreateTags = 'applied' | 'ignored' | 'unknown';

export interface StoreProfile {
  /** Where this profile came from, for logs and `doctor`: `documented`, `provider:ceph`, `doctor:<ISO time>`. */
  source: string;
  copyConditions: CopyConditionSupport;
  /**
   * The same for UploadPartCopy (the parts of a multipart copy), where stores may differ again:
   * Ceph RGW 16.2 honours no condition there at all. Absent: as `copyConditions`.
   */
  partCopyConditions?: CopyConditionSupport | undefined;
  multipartCompletionEtag: MultipartCompletionEtag;
  ownedBucketCreate: OwnedBucketCreate;
  /** Absent: unknown. */
  replaceCopyTags?: ReplaceCopyTags | undefined;
  /** Absent: unknown. */
  multipartCreateTags?: MultipartCreateTags | undefined;
}

/**
 * Whether a conditional copy is really conditional on the store: `true` (a condition that does not
 * hold is refused with 412), `false` (the store ignores every condition) or `'unverified'` (never
 * checked: both header names are sent, and nobody knows whether either is honoured).
 */
export type CopyGuard = boolean | 'unverified';

/** What is safe to assume of a store nobody has looked at: the default profile. */
export const DOCUMENTED_S3: StoreProfile = Object.freeze({
  source: 'documented',
  copyConditions: 'unknown',
  multipartCompletionEtag: 'may-be-empty',
  ownedBucketCreate: 'unknown',
});

/** Presets for stores we have tested, named by `S3JOBS_PROFILE_<NAME>_PROVIDER`. */
export const PROVIDER_PROFILES = Object.freeze({
  aws: { source: 'provider:aws', copyConditions: 'standard', multipartCompletionEtag: 'etag', ownedBucketCreate: '200-in-us-east-1', replaceCopyTags: 'kept', multipartCreateTags: 'applied' },
  /** Ceph RADOS Gateway 16.2 (Debian bookworm's radosgw), tested by the project's own test/stores/ceph-rgw.sh. */
  ceph: {
    source: 'provider:ceph',
    copyConditions: 'legacy',
    partCopyConditions: 'none',
    multipartCompletionEtag: 'may-be-empty',
    ownedBucketCreate: '200',
    replaceCopyTags: 'dropped',
    multipartCreateTags: 'ignored',
  },
  /** @20minutes/s3rver, the project's quick test server: ignores copy conditions altogether. */
  s3rver: { source: 'provider:s3rver', copyConditions: 'none', partCopyConditions: 'none', multipartCompletionEtag: 'etag', ownedBucketCreate: '409' },
  /** Any other store: the same as no preset (DOCUMENTED_S3), said explicitly. */
  other: { ...DOCUMENTED_S3, source: 'provider:other' },
} satisfies Record<string, StoreProfile>);

export type ProviderName = keyof typeof PROVIDER_PROFILES;
export const PROVIDER_NAMES = Object.keys(PROVIDER_PROFILES) as ProviderName[];

/**
 * The preset of a provider name (case-insensitive). `field` names the setting it came from, for
 * the error: an unknown name is refused with the list of allowed ones, never ignored.
 */
export function providerProfile(name: string, field = 'provider'): StoreProfile {
  const lower = typeof name === 'string' ? name.trim().toLowerCase() : '';
  if (!Object.hasOwn(PROVIDER_PROFILES, lower))
    throw new ValidationError(field, `unknown provider ${JSON.stringify(name)}; allowed: ${PROVIDER_NAMES.join(', ')}`, ErrorCodes.InvalidConfig);
  return PROVIDER_PROFILES[lower as ProviderName];
}

/** `base` with what was found about the store (`s3jobs doctor`) on top; the result's source says both. */
export function withFindings(base: StoreProfile, findings: Partial<StoreProfile> | undefined): StoreProfile {
  if (findings === undefined) return base;
  const defined = Object.fromEntries(Object.entries(findings).filter(([, v]) => v !== undefined)) as Partial<StoreProfile>;
  return { ...base, ...defined, source: findings.source === undefined ? base.source : `${findings.source} over ${base.source}` };
}

/** What the store does with conditions on UploadPartCopy. */
export function partCopyConditions(profile: StoreProfile): CopyConditionSupport {
  return profile.partCopyConditions ?? profile.copyConditions;
}

/** The weaker of two guards: false before 'unverified' before true. */
export function weakerGuard(a: CopyGuard, b: CopyGuard): CopyGuard {
  if (a === false || b === false) return false;
  if (a === 'unverified' || b === 'unverified') return 'unverified';
  return true;
}

/** Whether a copy condition sent to a store of this support really guards the copy. */
export function copyGuard(support: CopyConditionSupport): CopyGuard {
  if (support === 'none') return false;
  if (support === 'unknown') return 'unverified';
  return true;
}

/**
 * The header-name prefixes a copy condition goes out under: `x-amz-copy-source-if-` (documented),
 * `x-amz-copy-if-` (the older names), or both where the store was never checked. A store that
 * honours none gets the documented name: harmless, and right the day it starts honouring it.
 */
export function copyConditionPrefixes(support: CopyConditionSupport): readonly string[] {
  switch (support) {
    case 'legacy':
      return LEGACY_ONLY;
    case 'unknown':
      return BOTH;
    default:
      return STANDARD_ONLY;
  }
}

const STANDARD_ONLY = Object.freeze(['x-amz-copy-source-if-']);
const LEGACY_ONLY = Object.freeze(['x-amz-copy-if-']);
const BOTH = Object.freeze(['x-amz-copy-source-if-', 'x-amz-copy-if-']);

/** Whether CreateBucket of a bucket we own may answer 200 on this store in `region` (then HEAD first). */
export function ownedCreateMayAnswer200(profile: StoreProfile, region: string): boolean {
  switch (profile.ownedBucketCreate) {
    case '409':
      return false;
    case '200-in-us-east-1':
      return region === 'us-east-1';
    default:
      return true;
  }
}
