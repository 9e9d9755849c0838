/**
 * The one place integration tests get their S3 target from.
 *
 * - `S3_TEST_ENDPOINT` set: an external S3-compatible server (`kind: 'external'`), with
 *   `S3_TEST_ACCESS_KEY`, `S3_TEST_SECRET_KEY` (both required), `S3_TEST_REGION` (default
 *   us-east-1), `S3_TEST_LOCATION` (a LocationConstraint that server accepts; optional),
 *   `S3_TEST_LACKS` (comma list of features it does not implement; default none) and
 *   `S3_TEST_PROVIDER` (which store it is: a name of PROVIDER_PROFILES, e.g. `ceph`; default none,
 *   and the client assumes nothing: DOCUMENTED_S3).
 * - otherwise: the s3rver child started by `global-setup.ts` (`kind: 's3rver'`, provider
 *   `s3rver`), which lacks every feature in `S3_FEATURES`.
 * `target.store` is the StoreProfile tests hand to S3Bucket (`bucketOptions`) and to workers
 * (`target.provider` in their connection profiles). A store whose profile says it honours no copy
 * condition lacks `copy-conditions` whatever S3_TEST_LACKS says.
 *
 * Use: `const target = s3Target()`, `const bucket = uniqueBucketName('copy')`, and
 * `it.skipIf(!serverHas('acl'))('copies the ACL', ...)` — `serverHas` prints why it is skipping.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { DOCUMENTED_S3, PROVIDER_PROFILES, providerProfile, type ProviderName, type StoreProfile } from '../../shared/s3/store-profile.js';
import './provided-context.js';

/** Features some servers (s3rver in particular) do not implement. */
export const S3_FEATURES = ['acl', 'tagging', 'copy-conditions', 'payload-hash'] as const;
export type S3Feature = (typeof S3_FEATURES)[number];

const FEATURE_DESCRIPTIONS: Record<S3Feature, string> = {
  acl: 'object/bucket ACLs (GET/PUT ?acl, x-amz-acl)',
  tagging: 'object tagging (?tagging, x-amz-tagging-directive)',
  'copy-conditions': 'copy-source conditions (x-amz-copy-source-if-match → 412)',
  'payload-hash': 'payload hash checks (x-amz-content-sha256 mismatch → XAmzContentSHA256Mismatch)',
};

export interface S3Target {
  kind: 'external' | 's3rver';
  /** Base URL, path-style: `http://host:port` (no trailing slash). */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** LocationConstraint to send on CreateBucket, or undefined to send none (us-east-1). */
  location: string | undefined;
  /** Features this server does not implement. */
  lacks: ReadonlySet<S3Feature>;
  /** Which store it is (`S3_TEST_PROVIDER`), or undefined when not said. */
  provider: ProviderName | undefined;
  /** What the client assumes of it: the provider's preset, else DOCUMENTED_S3. */
  store: StoreProfile;
}

function isFeature(name: string): name is S3Feature {
  return (S3_FEATURES as readonly string[]).includes(name);
}

/** Parse `S3_TEST_LACKS=acl,tagging`; unknown names are a configuration error, not ignored. */
export function parseLacks(value: string | undefined): Set<S3Feature> {
  const lacks = new Set<S3Feature>();
  for (const raw of (value ?? '').split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    if (!isFeature(name)) {
      throw new Error(
        `S3_TEST_LACKS: unknown feature "${name}" (known: ${S3_FEATURES.join(', ')})`,
      );
    }
    lacks.add(name);
  }
  return lacks;
}

/** Read an external target from the environment, or undefined when `S3_TEST_ENDPOINT` is unset. */
export function externalTargetFromEnv(env: NodeJS.ProcessEnv = process.env): S3Target | undefined {
  const endpoint = env.S3_TEST_ENDPOINT?.trim();
  if (!endpoint) return undefined;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`S3_TEST_ENDPOINT is not a URL: ${endpoint}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`S3_TEST_ENDPOINT must be http(s): ${endpoint}`);
  }
  const accessKey = env.S3_TEST_ACCESS_KEY;
  const secretKey = env.S3_TEST_SECRET_KEY;
  if (!accessKey || !secretKey) {
    throw new Error('S3_TEST_ENDPOINT is set: S3_TEST_ACCESS_KEY and S3_TEST_SECRET_KEY are required');
  }
  const providerName = env.S3_TEST_PROVIDER?.trim() || undefined;
  const store = providerName === undefined ? DOCUMENTED_S3 : providerProfile(providerName, 'S3_TEST_PROVIDER');
  const lacks = parseLacks(env.S3_TEST_LACKS);
  if (store.copyConditions === 'none') lacks.add('copy-conditions');
  return {
    kind: 'external',
    endpoint: endpoint.replace(/\/+$/, ''),
    accessKey,
    secretKey,
    region: env.S3_TEST_REGION?.trim() || 'us-east-1',
    location: env.S3_TEST_LOCATION?.trim() || undefined,
    lacks,
    provider: providerName === undefined ? undefined : (providerName.toLowerCase() as ProviderName),
    store,
  };
}

let cached: S3Target | undefined;

/** The S3 server integration tests run against (same object on every call within a worker). */
export function s3Target(): S3Target {
  if (cached) return cached;
  const external = externalTargetFromEnv();
  if (external) {
    cached = external;
    return cached;
  }
  const provided = inject('s3rver');
  if (!provided) {
    throw new Error(
      'No S3 target: S3_TEST_ENDPOINT is unset and no s3rver was provided. ' +
        'Run tests through vitest.config.ts (its globalSetup starts s3rver).',
    );
  }
  cached = {
    kind: 's3rver',
    endpoint: provided.endpoint,
    accessKey: provided.accessKey,
    secretKey: provided.secretKey,
    region: provided.region,
    location: undefined,
    lacks: new Set(S3_FEATURES),
    provider: 's3rver',
    store: PROVIDER_PROFILES.s3rver,
  };
  return cached;
}

const reported = new Set<S3Feature>();

/**
 * Whether the target implements `feature`. When it does not, prints (once per worker and feature)
 * why tests needing it are skipped, so `it.skipIf(!serverHas('acl'))` never skips silently.
 */
export function serverHas(feature: S3Feature): boolean {
  const target = s3Target();
  if (!target.lacks.has(feature)) return true;
  if (!reported.has(feature)) {
    reported.add(feature);
    console.warn(`[s3-env] skipping tests that need ${missingFeatureReason(feature, target)}`);
  }
  return false;
}

/** Human-readable reason a feature is unavailable on a target. */
export function missingFeatureReason(feature: S3Feature, target: S3Target = s3Target()): string {
  const what = FEATURE_DESCRIPTIONS[feature];
  return target.kind === 's3rver'
    ? `'${feature}': s3rver does not implement ${what}; set S3_TEST_ENDPOINT (+ keys) to a server that does`
    : `'${feature}': S3_TEST_LACKS says ${target.endpoint} does not implement ${what}`;
}

let bucketCounter = 0;

/**
 * A valid, unique bucket name: `<prefix>-<pid>-<counter>-<random>`, at most 63 chars, lowercase
 * letters, digits and `-` only. The prefix is lower-cased, stripped of other characters and
 * shortened as needed.
 */
export function uniqueBucketName(prefix = 't'): string {
  bucketCounter += 1;
  const suffix = `-${process.pid.toString(36)}-${bucketCounter.toString(36)}-${randomBytes(4).toString('hex')}`;
  let clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .replace(/-{2,}/g, '-');
  if (clean === '') clean = 't';
  clean = clean.slice(0, 63 - suffix.length).replace(/-+$/, '');
  // "xn--" and "sthree-" prefixes are reserved by S3; collapsing "--" above already avoids xn--.
  if (clean.startsWith('sthree')) clean = `t${clean}`.slice(0, 63 - suffix.length);
  return `${clean}${suffix}`;
}
