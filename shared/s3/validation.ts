/**
 * Checks for caller-supplied S3 names and enumerations: bucket names, object keys, canned ACLs,
 * storage classes and `<bucket>/<key>` copy sources.
 *
 * Every check throws a `ValidationError` (code `S3JOBS_INVALID_INPUT`, never retryable) that names the
 * field, says what was wrong and what is allowed — so a bad job is refused before any request is made,
 * with a message a person can act on.
 *
 * Pure: no I/O.
 */
import { ValidationError } from '../errors.js';

// ---------------------------------------------------------------------------------------------
// Bucket names
// ---------------------------------------------------------------------------------------------

/**
 * Prefixes S3 reserves (S3 User Guide, "General purpose bucket naming rules"). `sthree-configurator`
 * is covered by `sthree-`.
 */
const RESERVED_BUCKET_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'] as const;

/**
 * Suffixes S3 reserves for access point aliases (`-s3alias`), Object Lambda access point aliases
 * (`--ol-s3`) and Multi-Region Access Points (`.mrap`).
 *
 * `--x-s3` (directory buckets) is deliberately *not* here: it names real buckets that requests address,
 * and refusing it would lock callers out of them.
 */
const RESERVED_BUCKET_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap'] as const;

const BUCKET_ALLOWED =
  '3-63 characters: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit';

/**
 * Asserts that `name` is a valid S3 (general purpose) bucket name.
 *
 * Rules (S3 User Guide): 3–63 characters; only `a-z`, `0-9`, `-`, `.`; first and last character a
 * letter or digit; no `..`; not shaped like an IPv4 address; not starting with a reserved prefix
 * (`xn--`, `sthree-`, `amzn-s3-demo-`) nor ending with a reserved suffix (`-s3alias`, `--ol-s3`,
 * `.mrap`). Legacy us-east-1 names with capitals or `_` are refused: S3 stopped allowing them in
 * 2018 and they break virtual-host and TLS addressing.
 *
 * @throws ValidationError naming `field` (default `bucket`).
 */
export function assertBucketName(name: unknown, field = 'bucket'): asserts name is string {
  if (typeof name !== 'string') {
    throw new ValidationError(field, `must be a string (${BUCKET_ALLOWED}), got ${typeName(name)}`);
  }
  const shown = JSON.stringify(name);
  if (name.length < 3 || name.length > 63) {
    throw new ValidationError(field, `${shown} is ${name.length} character${name.length === 1 ? '' : 's'} long; bucket names are ${BUCKET_ALLOWED}`);
  }
  const bad = /[^a-z0-9.-]/.exec(name);
  if (bad) {
    throw new ValidationError(field, `${shown} contains ${JSON.stringify(bad[0])}; bucket names are ${BUCKET_ALLOWED}`);
  }
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) {
    throw new ValidationError(field, `${shown} must start and end with a lowercase letter or digit; bucket names are ${BUCKET_ALLOWED}`);
  }
  if (name.includes('..')) {
    throw new ValidationError(field, `${shown} contains two adjacent periods (".."), which S3 does not allow`);
  }
  // Any dotted quad of digits is refused, even out-of-range ones such as 999.1.1.1: S3 refuses
  // names "formatted as an IP address", and such a name would be mistaken for a host by clients.
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) {
    throw new ValidationError(field, `${shown} is formatted as an IP address, which S3 does not allow for bucket names`);
  }
  for (const prefix of RESERVED_BUCKET_PREFIXES) {
    if (name.startsWith(prefix)) {
      throw new ValidationError(field, `${shown} starts with "${prefix}", a prefix S3 reserves (reserved: ${RESERVED_BUCKET_PREFIXES.join(', ')})`);
    }
  }
  for (const suffix of RESERVED_BUCKET_SUFFIXES) {
    if (name.endsWith(suffix)) {
      throw new ValidationError(field, `${shown} ends with "${suffix}", a suffix S3 reserves for access point names (reserved: ${RESERVED_BUCKET_SUFFIXES.join(', ')})`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Object keys
// ---------------------------------------------------------------------------------------------

/** S3's limit on a key: 1024 bytes of UTF-8 (not characters). */
export const MAX_KEY_BYTES = 1024;

/**
 * Asserts that `key` is an object key s3jobs will send.
 *
 * S3 accepts any UTF-8 key of 1–1024 bytes, but we also refuse control characters U+0000–U+001F and
 * U+007F: XML 1.0 cannot carry most of them (listings without `encoding-type=url`, DeleteObjects
 * bodies), HTTP intermediaries mangle CR/LF/TAB, and S3's own guide lists them as characters to avoid.
 * Lone UTF-16 surrogates are refused because they have no UTF-8 encoding (they would silently
 * become U+FFFD and name a different object).
 *
 * @throws ValidationError naming `field` (default `key`).
 */
export function assertKey(key: unknown, field = 'key'): asserts key is string {
  if (typeof key !== 'string') {
    throw new ValidationError(field, `must be a string of 1-${MAX_KEY_BYTES} UTF-8 bytes, got ${typeName(key)}`);
  }
  if (key.length === 0) {
    throw new ValidationError(field, `must not be empty (object keys are 1-${MAX_KEY_BYTES} UTF-8 bytes)`);
  }
  const control = findControlChar(key);
  if (control !== undefined) {
    throw new ValidationError(
      field,
      `contains the control character ${codePoint(control.char)} at index ${control.index}; keys must not contain U+0000-U+001F or U+007F, because XML listings and delete requests cannot carry them and HTTP tools mangle them`,
    );
  }
  if (hasLoneSurrogate(key)) {
    throw new ValidationError(field, 'contains an unpaired UTF-16 surrogate, which has no UTF-8 encoding');
  }
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw new ValidationError(field, `is ${bytes} bytes of UTF-8; S3 allows at most ${MAX_KEY_BYTES}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Canned ACLs
// ---------------------------------------------------------------------------------------------

/**
 * Canned ACLs (`x-amz-acl`) S3 accepts on objects (PutObject, CopyObject, CreateMultipartUpload) and
 * on buckets (CreateBucket). Buckets take a subset: the `aws-exec-read` and `bucket-owner-*` ACLs only
 * make sense for objects.
 */
export const CANNED_ACLS = {
  object: [
    'private',
    'public-read',
    'public-read-write',
    'authenticated-read',
    'aws-exec-read',
    'bucket-owner-read',
    'bucket-owner-full-control',
  ],
  bucket: ['private', 'public-read', 'public-read-write', 'authenticated-read'],
} as const;

/** A canned ACL valid on an object. */
export type CannedAcl = (typeof CANNED_ACLS.object)[number];
/** A canned ACL valid on a bucket (CreateBucket). */
export type BucketCannedAcl = (typeof CANNED_ACLS.bucket)[number];

/**
 * Asserts that `value` is a canned ACL valid for `kind` (`object` or `bucket`).
 *
 * @throws ValidationError naming `field` and listing the allowed values.
 */
export function assertCannedAcl(value: unknown, field: string, kind: 'object'): asserts value is CannedAcl;
export function assertCannedAcl(value: unknown, field: string, kind: 'bucket'): asserts value is BucketCannedAcl;
export function assertCannedAcl(value: unknown, field: string, kind: 'object' | 'bucket'): asserts value is CannedAcl;
export function assertCannedAcl(value: unknown, field: string, kind: 'object' | 'bucket'): asserts value is CannedAcl {
  const allowed: readonly string[] = CANNED_ACLS[kind];
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new ValidationError(field, `${describe(value)} is not a canned ACL for ${kind === 'object' ? 'objects' : 'buckets'}; allowed: ${allowed.join(', ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Storage classes
// ---------------------------------------------------------------------------------------------

/**
 * Storage classes S3 accepts in `x-amz-storage-class` (S3 API Reference, PutObject). Objects written
 * without the header are `STANDARD`, and HEAD omits the header for `STANDARD` objects.
 */
export const STORAGE_CLASSES = [
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'DEEP_ARCHIVE',
  'OUTPOSTS',
  'GLACIER_IR',
  'SNOW',
  'EXPRESS_ONEZONE',
] as const;

/** One of `STORAGE_CLASSES`. */
export type StorageClass = (typeof STORAGE_CLASSES)[number];

/**
 * Asserts that `value` is one of `STORAGE_CLASSES` (exact, upper case, as S3 spells them).
 *
 * @throws ValidationError naming `field` and listing the allowed values.
 */
export function assertStorageClass(value: unknown, field = 'storageClass'): asserts value is StorageClass {
  if (typeof value !== 'string' || !(STORAGE_CLASSES as readonly string[]).includes(value)) {
    throw new ValidationError(field, `${describe(value)} is not an S3 storage class; allowed: ${STORAGE_CLASSES.join(', ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Copy sources
// ---------------------------------------------------------------------------------------------

/** A source object named by bucket and key. */
export interface BucketKey {
  bucket: string;
  key: string;
}

/**
 * Splits a copy source written `"<bucket>/<key>"` (the seed's format) into a validated bucket and key.
 *
 * The bucket is everything before the first `/`; the key is everything after it and may contain
 * further slashes (`"b/a/b/c.txt"` → key `a/b/c.txt`). One leading `/` is tolerated, because S3's own
 * `x-amz-copy-source` header is written `/<bucket>/<key>`. Nothing is URL-decoded and no
 * `?versionId=` is parsed: `?` is a legal key character, so `"b/k?versionId=1"` names the key
 * `k?versionId=1`. Callers that need a version pass it separately.
 *
 * @throws ValidationError naming `field` (or `field.bucket` / `field.key`).
 */
export function splitCopySource(source: unknown, field = 'source'): BucketKey {
  if (typeof source !== 'string') {
    throw new ValidationError(field, `must be a string "<bucket>/<key>", got ${typeName(source)}`);
  }
  const body = source.startsWith('/') ? source.slice(1) : source;
  const slash = body.indexOf('/');
  if (slash < 0) {
    throw new ValidationError(field, `${JSON.stringify(source)} has no "/"; write the copy source as "<bucket>/<key>"`);
  }
  const bucket = body.slice(0, slash);
  const key = body.slice(slash + 1);
  assertBucketName(bucket, `${field}.bucket`);
  assertKey(key, `${field}.key`);
  return { bucket, key };
}

// ---------------------------------------------------------------------------------------------
// Helpers shared with the other pure S3 modules
// ---------------------------------------------------------------------------------------------

/** The first C0 control character or DEL in `text`, with its index. */
export function findControlChar(text: string): { char: string; index: number } | undefined {
  const match = /[\u0000-\u001f\u007f]/.exec(text);
  return match ? { char: match[0], index: match.index } : undefined;
}

/** True when `text` holds a UTF-16 surrogate without its partner (it cannot be encoded as UTF-8). */
export function hasLoneSurrogate(text: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}

/** `U+000A`-style name of a character, for messages. */
export function codePoint(char: string): string {
  return `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Short description of an arbitrary value for messages (strings quoted, others by type). */
export function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : typeName(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}
