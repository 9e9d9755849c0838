/**
 * User metadata (`x-amz-meta-*`) and the system headers that travel with it, and the two plans a
 * bucket client needs to change them without losing anything.
 *
 * ## Forms of metadata
 * - **Metadata** (`Record<string, string>`): names without the `x-amz-meta-` prefix, values as the user
 *   means them (any Unicode). This is what callers pass in and what `metadataFromHeaders` returns.
 * - **Normalized** (output of `normalizeMetadata`): names lower-cased (S3 stores them so), values
 *   ready to be header values — printable ASCII as is, anything else as one RFC 2047 encoded word
 *   `=?UTF-8?B?<base64>?=`. Normalizing is idempotent, so normalized metadata may be passed anywhere
 *   Metadata is expected.
 *
 * Why RFC 2047: HTTP header values are ASCII; S3 reads raw non-ASCII bytes as Latin-1 and hands back
 * mojibake (its own guide shows `ÄMÄZÕÑ` coming back double-encoded). S3 itself returns non-ASCII
 * values as `=?UTF-8?B?…?=`, and SDKs and tools recognise that form, so we send the same form and
 * decode it (B and Q encodings) when reading. Values with leading/trailing blanks are encoded too,
 * because HTTP strips them. A value that already looks like an encoded word is passed through
 * unchanged (that keeps normalizing idempotent); such a literal value reads back decoded, as it
 * would through S3 and any SDK.
 *
 * ## Changing metadata: two plans
 * S3 cannot edit metadata in place; the only way is a copy onto the object itself with
 * `x-amz-metadata-directive: REPLACE`, and REPLACE drops every system header not sent again
 * (Content-Type, Cache-Control, …, website redirect; the storage class falls back to STANDARD).
 *
 * - `planMetadataRewrite(current, change)`: for "change the metadata of this object". Takes the HEAD
 *   result, returns the complete set to send (user metadata, every system header kept, the storage
 *   class kept) and `changed: false` when nothing would change, so the caller skips the request.
 * - `planCopyHeaders(opts, sourceHead?)`: for "copy this object, maybe with new metadata". Call it
 *   once without a HEAD result: it validates the options and says whether a HEAD of the source is
 *   needed (`needsSourceHead`). If so, HEAD the source and call it again with the result.
 *
 * Both add `x-amz-copy-source-if-match: <etag of the HEAD>` when they used a HEAD, so a concurrent
 * upload between HEAD and copy makes the copy fail (412) instead of pairing new content with stale
 * metadata.
 *
 * Pure: no I/O.
 */
import { ValidationError } from '../errors.js';
import { assertStorageClass, codePoint, describe, hasLoneSurrogate } from './validation.js';

/** User metadata: names without the `x-amz-meta-` prefix. */
export type Metadata = Record<string, string>;

/** S3's limit on user metadata: the UTF-8 bytes of every name and value, summed. */
export const MAX_METADATA_BYTES = 2048;

/** The header prefix of user metadata. */
export const METADATA_PREFIX = 'x-amz-meta-';

/** HTTP token characters (RFC 9110 §5.6.2), lower case only: the characters a header name may hold. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/** Characters a header value can carry verbatim. Anything else is encoded (or refused). */
const PLAIN_VALUE = /^[\x20-\x7e]*$/;

/** C0 controls, DEL and C1 controls: unprintable, and S3 drops metadata holding them. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** One RFC 2047 encoded word. */
const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

// ---------------------------------------------------------------------------------------------
// Normalizing, encoding, decoding
// ---------------------------------------------------------------------------------------------

/**
 * Validates user metadata and returns a new object in normalized form (see the top of this file).
 *
 * - names: lower-cased; must be non-empty HTTP token characters; two names equal but for case are
 *   refused (S3 would merge them into one comma-joined value);
 * - values: must be strings without control characters (U+0000–U+001F, U+007F–U+009F: S3 does not
 *   return unprintable metadata) nor unpaired surrogates; non-ASCII → RFC 2047 B encoding;
 * - size: names + encoded values, in UTF-8 bytes, at most 2048 (S3's limit; we count the encoded
 *   values because that is what S3 receives). Names are counted without the `x-amz-meta-` prefix.
 *
 * @throws ValidationError naming `field` (default `metadata`) or `field.<name>`.
 */
export function normalizeMetadata(meta: unknown, field = 'metadata'): Metadata {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw new ValidationError(field, `must be an object of name → string value, got ${describe(meta)}`);
  }
  const out: Metadata = {};
  const originalName = new Map<string, string>();
  let size = 0;
  for (const [rawName, value] of Object.entries(meta)) {
    const name = normalizeMetadataName(rawName, field);
    const previous = originalName.get(name);
    if (previous !== undefined) {
      throw new ValidationError(field, `names ${JSON.stringify(previous)} and ${JSON.stringify(rawName)} differ only by case; S3 lower-cases metadata names, so give only one`);
    }
    originalName.set(name, rawName);
    const encoded = encodeMetadataValue(value, `${field}.${name}`);
    setOwn(out, name, encoded);
    size += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(encoded, 'utf8');
  }
  if (size > MAX_METADATA_BYTES) {
    throw new ValidationError(field, `is ${size} bytes (names + values, UTF-8, after encoding); S3 allows at most ${MAX_METADATA_BYTES}`);
  }
  return out;
}

/**
 * Lower-cases and checks one metadata name (without prefix). A name that still carries the
 * `x-amz-meta-` prefix is refused rather than silently doubled.
 */
export function normalizeMetadataName(name: string, field = 'metadata'): string {
  const lower = name.toLowerCase();
  if (lower.length === 0) {
    throw new ValidationError(field, 'has an empty name; metadata names are HTTP token characters (letters, digits, and !#$%&\'*+-.^_`|~)');
  }
  if (lower.startsWith(METADATA_PREFIX)) {
    throw new ValidationError(`${field}.${name}`, `give metadata names without the "${METADATA_PREFIX}" prefix`);
  }
  if (!TOKEN.test(lower)) {
    throw new ValidationError(`${field}.${name}`, 'is not a valid metadata name; names are HTTP token characters (ASCII letters, digits, and !#$%&\'*+-.^_`|~), no spaces or other punctuation');
  }
  return lower;
}

/** Encodes one value for a header (see the top of this file); throws for unsendable values. */
function encodeMetadataValue(value: unknown, field: string): string {
  if (typeof value !== 'string') {
    throw new ValidationError(field, `must be a string, got ${describe(value)}`);
  }
  const control = CONTROL.exec(value);
  if (control) {
    throw new ValidationError(field, `contains the control character ${codePoint(control[0])}; metadata values must be printable (S3 drops unprintable metadata)`);
  }
  if (hasLoneSurrogate(value)) {
    throw new ValidationError(field, 'contains an unpaired UTF-16 surrogate, which has no UTF-8 encoding');
  }
  const needsEncoding = !PLAIN_VALUE.test(value) || value !== value.trim();
  return needsEncoding ? `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=` : value;
}

/**
 * Decodes RFC 2047 encoded words (`=?charset?B?…?=` and `=?charset?Q?…?=`) in a header value, as S3
 * returns non-ASCII metadata. Text outside encoded words is kept; blanks between two adjacent encoded
 * words are dropped (RFC 2047 §6.2). A word whose charset is unknown or whose bytes are invalid in it
 * is kept verbatim rather than turned into replacement characters.
 */
export function decodeMetadataValue(value: string): string {
  let out = '';
  let last = 0;
  let previousWasWord = false;
  for (const match of value.matchAll(ENCODED_WORD)) {
    const between = value.slice(last, match.index);
    const decoded = decodeWord(match[1] ?? '', match[2] ?? '', match[3] ?? '');
    // Whitespace separating two encoded words is folding, not content.
    if (!(previousWasWord && decoded !== undefined && /^[ \t\r\n]*$/.test(between))) out += between;
    out += decoded ?? match[0];
    previousWasWord = decoded !== undefined;
    last = match.index + match[0].length;
  }
  return out + value.slice(last);
}

function decodeWord(charsetSpec: string, encoding: string, text: string): string | undefined {
  // RFC 2231 allows a language after the charset: `UTF-8*en`.
  const charset = charsetSpec.split('*')[0] ?? '';
  let bytes: Buffer;
  if (encoding === 'B' || encoding === 'b') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
    bytes = Buffer.from(text, 'base64');
  } else {
    const parts: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const ch = text[i] ?? '';
      if (ch === '_') {
        parts.push(0x20);
      } else if (ch === '=') {
        const hex = text.slice(i + 1, i + 3);
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
        parts.push(parseInt(hex, 16));
        i += 2;
      } else {
        parts.push(ch.charCodeAt(0));
      }
    }
    bytes = Buffer.from(parts);
  }
  try {
    return new TextDecoder(charset, { fatal: true }).decode(bytes);
  } catch {
    return undefined; // unknown charset or invalid bytes
  }
}

/**
 * The `x-amz-meta-*` request headers for `meta` (normalized first, so this validates too).
 *
 * @throws ValidationError as `normalizeMetadata`.
 */
export function metadataHeaders(meta: Metadata, field = 'metadata'): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(normalizeMetadata(meta, field))) {
    headers[METADATA_PREFIX + name] = value;
  }
  return headers;
}

/**
 * User metadata from response headers (any case): every `x-amz-meta-*` header, prefix removed, name
 * lower-cased, value RFC 2047-decoded. Other headers are ignored.
 *
 * S3 leaves out metadata with unprintable characters and says how many in `x-amz-missing-meta`; that
 * header is not metadata and is ignored here.
 */
export function metadataFromHeaders(headers: Record<string, string>): Metadata {
  const meta: Metadata = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower.startsWith(METADATA_PREFIX) && lower.length > METADATA_PREFIX.length) {
      setOwn(meta, lower.slice(METADATA_PREFIX.length), decodeMetadataValue(value));
    }
  }
  return meta;
}

// ---------------------------------------------------------------------------------------------
// System headers
// ---------------------------------------------------------------------------------------------

/**
 * System headers that `x-amz-metadata-directive: REPLACE` drops and a correct rewrite must send
 * again. Lower case, as in a header map.
 *
 * `x-amz-storage-class` is special: HEAD omits it for STANDARD objects, and a copy without it is
 * stored as STANDARD, whatever the directive (S3 API Reference, CopyObject). Likewise
 * `x-amz-website-redirect-location` is never copied by S3, whatever the directive.
 */
export const SYSTEM_HEADERS = [
  'content-type',
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'expires',
  'x-amz-website-redirect-location',
  'x-amz-storage-class',
] as const;

/** One of `SYSTEM_HEADERS`. */
export type SystemHeader = (typeof SYSTEM_HEADERS)[number];

/**
 * The system headers S3's COPY directive carries over (everything but storage class and website
 * redirect). A copy that switches to REPLACE keeps exactly these from the source, so asking for new
 * metadata changes nothing else about the destination.
 */
const COPIED_BY_DIRECTIVE: readonly SystemHeader[] = [
  'content-type',
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'expires',
];

/** System headers that can be sent with `x-amz-metadata-directive: COPY` (they are not metadata). */
const SENDABLE_WITH_COPY: readonly SystemHeader[] = ['x-amz-storage-class', 'x-amz-website-redirect-location'];

/**
 * Picks the `SYSTEM_HEADERS` out of HEAD response headers (names matched case-insensitively; the
 * result is lower case). Absent headers stay absent — in particular a STANDARD object has no
 * `x-amz-storage-class`.
 */
export function systemHeadersFrom(headHeaders: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headHeaders)) {
    const lower = name.toLowerCase();
    if ((SYSTEM_HEADERS as readonly string[]).includes(lower)) out[lower] = value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------------------------

/** What a HEAD of an object tells us, as the plans need it. */
export interface ObjectHead {
  /** User metadata (decoded), e.g. from `metadataFromHeaders`. */
  metadata: Metadata;
  /** The HEAD response headers, lower-cased names (system headers, `etag`, …). */
  headers: Record<string, string>;
}

/** Builds an `ObjectHead` from raw HEAD response headers. */
export function objectHeadFromHeaders(headers: Record<string, string>): ObjectHead {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) setOwn(lower, name.toLowerCase(), value);
  return { metadata: metadataFromHeaders(lower), headers: lower };
}

/** A requested change of an object's metadata (`planMetadataRewrite`). */
export interface MetadataChange {
  /** Names to add or overwrite; the rest of the user metadata is kept. Exclusive with `replace`. */
  set?: Metadata;
  /** Names to delete (case-insensitive). Names the object lacks are ignored, so retries are safe. Exclusive with `replace`. */
  remove?: string[];
  /** The whole new user metadata (`{}` clears it). Exclusive with `set` / `remove`. */
  replace?: Metadata;
  /** New Content-Type. Exclusive with `headers['content-type']`. */
  mimetype?: string;
  /**
   * System headers to set or override, only names from `SYSTEM_HEADERS`. An empty string removes
   * the header (e.g. `{ 'cache-control': '' }`); removing `x-amz-storage-class` means STANDARD.
   */
  headers?: Record<string, string>;
}

/** The outcome of `planMetadataRewrite`. */
export interface MetadataRewritePlan {
  /** False when the object already has exactly this metadata and these headers: skip the request. */
  changed: boolean;
  /** The new user metadata, normalized. */
  metadata: Metadata;
  /** Every system header the object should have (lower case), content-type included. */
  headers: Record<string, string>;
  /**
   * Everything to send on the copy-onto-itself request, besides `x-amz-copy-source` and auth:
   * `x-amz-metadata-directive: REPLACE`, `headers`, the `x-amz-meta-*` headers and, when the HEAD had
   * an ETag, `x-amz-copy-source-if-match`.
   */
  requestHeaders: Record<string, string>;
}

/**
 * Plans a metadata change of an existing object (a copy onto itself with REPLACE).
 *
 * Rules:
 * - `replace` is exclusive with `set` / `remove`; a name both set and removed is refused;
 * - `remove` is applied, then `set` merged (names compared case-insensitively);
 * - every system header of `current` is kept unless `mimetype` / `headers` override it;
 * - the storage class is kept: sent when HEAD showed one other than STANDARD, omitted otherwise
 *   (STANDARD is what S3 stores when it is absent);
 * - `changed` is false when metadata and system headers equal the current ones.
 *
 * @throws ValidationError (field `change…` or `current.metadata`) for invalid or conflicting input.
 */
export function planMetadataRewrite(current: ObjectHead, change: MetadataChange): MetadataRewritePlan {
  if (change.replace !== undefined && (change.set !== undefined || change.remove !== undefined)) {
    throw new ValidationError('change.replace', 'cannot be combined with set or remove: replace gives the whole new metadata');
  }
  const overrides = checkHeaderOverrides(change.headers, change.mimetype, 'change');
  const before = normalizeMetadata(current.metadata, 'current.metadata');

  let metadata: Metadata;
  if (change.replace !== undefined) {
    metadata = normalizeMetadata(change.replace, 'change.replace');
  } else {
    const set = normalizeMetadata(change.set ?? {}, 'change.set');
    const removed = normalizeRemove(change.remove);
    for (const name of removed) {
      if (Object.hasOwn(set, name)) throw new ValidationError('change.remove', `${JSON.stringify(name)} is both set and removed; give it in one of them`);
    }
    const merged: Metadata = {};
    for (const [name, value] of Object.entries(before)) {
      if (!removed.has(name)) setOwn(merged, name, value);
    }
    for (const [name, value] of Object.entries(set)) setOwn(merged, name, value);
    // Normalize again so the 2 KB limit applies to the merged result, not just to `set`.
    metadata = normalizeMetadata(merged, 'change.set');
  }

  const currentSystem = canonicalSystemHeaders(systemHeadersFrom(current.headers));
  const headers = canonicalSystemHeaders({ ...currentSystem, ...overrides });
  const changed = !sameRecord(before, metadata) || !sameRecord(currentSystem, headers);

  const requestHeaders: Record<string, string> = {
    'x-amz-metadata-directive': 'REPLACE',
    ...headers,
    ...prefixed(metadata),
  };
  const etag = current.headers['etag'];
  if (etag !== undefined && etag !== '') requestHeaders['x-amz-copy-source-if-match'] = etag;
  return { changed, metadata, headers, requestHeaders };
}

/** Metadata options of a copy (`planCopyHeaders`). */
export interface CopyMetadataOptions {
  /** New user metadata for the destination (`{}` = none). Without it the source's is kept. */
  metadata?: Metadata;
  /** Content-Type for the destination. Exclusive with `headers['content-type']`. */
  mimetype?: string;
  /**
   * System headers for the destination, only names from `SYSTEM_HEADERS`. An empty string removes
   * the header the source had.
   */
  headers?: Record<string, string>;
}

/**
 * The outcome of `planCopyHeaders`: either "HEAD the source first" or the headers to send.
 */
export type CopyHeaderPlan =
  | {
      needsSourceHead: true;
      directive: 'REPLACE';
    }
  | {
      needsSourceHead: false;
      directive: 'COPY' | 'REPLACE';
      /**
       * Headers to send on CopyObject (or CreateMultipartUpload for a multipart copy, minus the
       * directive and the if-match), besides `x-amz-copy-source`, ACL and auth: the directive,
       * system headers, `x-amz-meta-*`, and `x-amz-copy-source-if-match` when a HEAD was used.
       */
      headers: Record<string, string>;
    };

/**
 * Plans the metadata headers of a copy. Call once without `sourceHead`; when the answer says
 * `needsSourceHead`, HEAD the source and call again with the result.
 *
 * - nothing given → directive COPY: S3 copies user metadata and content headers itself; no HEAD;
 * - only `x-amz-storage-class` / `x-amz-website-redirect-location` in `headers` → still COPY, with
 *   those headers (they are not copied by S3 in any case, so they can always be sent);
 * - `metadata` given → REPLACE: the destination gets `metadata`, the source's content headers
 *   (content-type, cache-control, content-disposition, content-encoding, content-language, expires),
 *   then `mimetype` / `headers` on top;
 * - `mimetype` or other `headers` without `metadata` → also REPLACE, keeping the source's user
 *   metadata: S3 offers no way to change Content-Type & co. under COPY.
 *
 * Storage class and website redirect are never taken from the source: S3's COPY directive does not
 * carry them either, so a copy looks the same whichever directive it needed. Pass them in `headers`
 * to keep them. (To change an object in place, use `planMetadataRewrite`, which keeps them.)
 *
 * @throws ValidationError (field `copy…` or `sourceHead.metadata`) for invalid input.
 */
export function planCopyHeaders(opts: CopyMetadataOptions, sourceHead?: ObjectHead): CopyHeaderPlan {
  const overrides = checkHeaderOverrides(opts.headers, opts.mimetype, 'copy');
  const newMetadata = opts.metadata === undefined ? undefined : normalizeMetadata(opts.metadata, 'copy.metadata');
  const needsReplace =
    newMetadata !== undefined || Object.keys(overrides).some((name) => !(SENDABLE_WITH_COPY as readonly string[]).includes(name));

  if (!needsReplace) {
    return {
      needsSourceHead: false,
      directive: 'COPY',
      headers: { 'x-amz-metadata-directive': 'COPY', ...canonicalSystemHeaders(overrides) },
    };
  }
  if (sourceHead === undefined) return { needsSourceHead: true, directive: 'REPLACE' };

  const fromSource = systemHeadersFrom(sourceHead.headers);
  const kept: Record<string, string> = {};
  for (const name of COPIED_BY_DIRECTIVE) {
    const value = fromSource[name];
    if (value !== undefined) kept[name] = value;
  }
  const metadata = newMetadata ?? normalizeMetadata(sourceHead.metadata, 'sourceHead.metadata');
  const headers: Record<string, string> = {
    'x-amz-metadata-directive': 'REPLACE',
    ...canonicalSystemHeaders({ ...kept, ...overrides }),
    ...prefixed(metadata),
  };
  const etag = sourceHead.headers['etag'];
  if (etag !== undefined && etag !== '') headers['x-amz-copy-source-if-match'] = etag;
  return { needsSourceHead: false, directive: 'REPLACE', headers };
}

// ---------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------

/**
 * Validates `headers` / `mimetype` of a change and merges them into one lower-case map of system
 * headers ('' = remove). Values are trimmed (HTTP strips surrounding blanks anyway).
 */
/** Throws naming `field` unless `name` (lower case) is one of SYSTEM_HEADERS. */
export function assertSystemHeaderName(name: string, field: string): void {
  if (!(SYSTEM_HEADERS as readonly string[]).includes(name)) {
    throw new ValidationError(field, `is not a header that can be set here; allowed: ${SYSTEM_HEADERS.join(', ')} (use metadata for x-amz-meta-*, and the acl option for ACLs)`);
  }
}

/**
 * Validates system headers a caller wants to set (names from SYSTEM_HEADERS only, printable ASCII
 * values, a real media type for `mimetype`) into one lower-case map. `field` prefixes the names in
 * errors ('' for none).
 */
export function checkHeaderOverrides(headers: unknown, mimetype: unknown, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers !== undefined) {
    if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
      throw new ValidationError(join(field, 'headers'), `must be an object of header name → string value, got ${describe(headers)}`);
    }
    for (const [rawName, rawValue] of Object.entries(headers)) {
      const name = rawName.toLowerCase();
      const at = join(field, `headers.${rawName}`);
      assertSystemHeaderName(name, at);
      if (Object.hasOwn(out, name)) {
        throw new ValidationError(at, 'is given twice (header names are case-insensitive)');
      }
      out[name] = checkHeaderValue(rawValue, at);
      if (name === 'x-amz-storage-class' && out[name] !== '') assertStorageClass(out[name], at);
    }
  }
  if (mimetype !== undefined) {
    if (Object.hasOwn(out, 'content-type')) {
      throw new ValidationError(join(field, 'mimetype'), 'cannot be combined with headers["content-type"]; give one of them');
    }
    const value = checkHeaderValue(mimetype, join(field, 'mimetype'));
    // type "/" subtype, then optional parameters (RFC 9110 §8.3.1).
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\/[!#$%&'*+\-.^_`|~0-9A-Za-z]+(\s*;.*)?$/.test(value)) {
      throw new ValidationError(join(field, 'mimetype'), `${JSON.stringify(value)} is not a media type; write it as type/subtype, e.g. "text/plain; charset=utf-8"`);
    }
    out['content-type'] = value;
  }
  return out;
}

function join(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

function checkHeaderValue(value: unknown, field: string): string {
  if (typeof value !== 'string') {
    throw new ValidationError(field, `must be a string, got ${describe(value)}`);
  }
  if (!PLAIN_VALUE.test(value)) {
    const bad = [...value].find((ch) => !PLAIN_VALUE.test(ch)) ?? '';
    throw new ValidationError(
      field,
      `contains ${codePoint(bad)}; header values must be printable ASCII (for a non-ASCII file name in content-disposition use filename*=UTF-8''<percent-encoded>, RFC 6266)`,
    );
  }
  return value.trim();
}

/** Drops removed ('' valued) headers and an explicit STANDARD storage class (S3's default). */
function canonicalSystemHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === '') continue;
    if (name === 'x-amz-storage-class' && value === 'STANDARD') continue;
    out[name] = value;
  }
  return out;
}

function normalizeRemove(remove: unknown): Set<string> {
  if (remove === undefined) return new Set();
  if (!Array.isArray(remove)) {
    throw new ValidationError('change.remove', `must be an array of metadata names, got ${describe(remove)}`);
  }
  return new Set(
    remove.map((name, i) => {
      if (typeof name !== 'string') throw new ValidationError(`change.remove[${i}]`, `must be a string, got ${describe(name)}`);
      return normalizeMetadataName(name, `change.remove[${i}]`);
    }),
  );
}

function prefixed(metadata: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata)) out[METADATA_PREFIX + name] = value;
  return out;
}

/**
 * Sets an own, enumerable property. Plain assignment would treat a metadata name such as
 * `__proto__` as the prototype setter and silently lose it.
 */
function setOwn(record: Record<string, string>, name: string, value: string): void {
  Object.defineProperty(record, name, { value, enumerable: true, writable: true, configurable: true });
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && b[k] === a[k]);
}
