/**
 * Keeping an object's tags through a copy, where S3 or the store would lose them. Pure: the client
 * (`S3Bucket`, `streamCopy`) does the reading and writing this decides.
 *
 * Where tags are lost:
 * - A multipart copy and a streamed copy write a new object: nothing of the source's is copied,
 *   tags included, on AWS as anywhere. The tags go in `x-amz-tagging` on CreateMultipartUpload or
 *   PutObject; a store that ignores that header on CreateMultipartUpload (Ceph RGW 16.2) gets
 *   them with PutObjectTagging after completion, one never checked has them read back. PutObject's
 *   `x-amz-tagging` is trusted (every store with tagging we know applies it).
 * - CopyObject with metadata directive REPLACE (every metadata rewrite): S3 keeps the tags (the
 *   tagging directive defaults to COPY), Ceph RGW 16.2 drops them and ignores `x-amz-tagging` and
 *   `x-amz-tagging-directive` on copies. There they are put back with PutObjectTagging.
 * - CopyObject with directive COPY keeps them on every store we know: nothing is done.
 *
 * Whether a source has tags: `x-amz-tagging-count` on HEAD or GET where the store sends it (AWS's
 * GetObject documents it; Ceph sends it on both).
 * Where it does not, a REPLACE copy trusts the store (a GET ?tagging per object would double a
 * migration's requests), and a new-object write reads the tags anyway (one small request next to a
 * transfer), tolerating a store without tagging.
 */
import type { StoreProfile } from './store-profile.js';
import type { Tags } from './tagging.js';

/**
 * How a copy writes its destination: one CopyObject that copies the source's attributes
 * (`copy`), one that replaces its metadata (`replace`), one PutObject of the bytes read (`put`), or
 * a multipart upload (`new-object`: a multipart copy, or a streamed upload in parts).
 */
export type CopyWrite = 'copy' | 'replace' | 'put' | 'new-object';

/** What happened to the source's tags, when s3jobs had to act (absent from a result otherwise). */
export type TagsOutcome =
  /** Sent with the write (`x-amz-tagging`), and found there or trusted. */
  | 'carried'
  /** Written back with PutObjectTagging after the write (the store dropped or ignored them). */
  | 'reapplied'
  /** The source's tag count is unknown and its tags could not be read (a store without tagging). */
  | 'not-read';

/** The source's tags as read before the write: `unread` where the store could not say (no tagging). */
export interface CarriedTags {
  tags?: Tags | undefined;
  unread?: boolean | undefined;
}

/**
 * The tags a client can write: without `aws:` keys, which AWS reserves for its own services (they
 * stay on the source; a PUT or CreateMultipartUpload carrying one is refused).
 */
export function userTags(tags: Readonly<Tags>): Tags {
  return Object.fromEntries(Object.entries(tags).filter(([k]) => !k.toLowerCase().startsWith('aws:')));
}

/** The source's tag count from a HEAD's or GET's headers (`x-amz-tagging-count`); undefined where the store does not say. */
export function taggingCount(headers: Readonly<Record<string, string>> | undefined): number | undefined {
  const raw = headers?.['x-amz-tagging-count'];
  if (raw === undefined || !/^\d+$/.test(raw.trim())) return undefined;
  return Number(raw.trim());
}

/** Whether the source's tags must be read before writing the destination. */
export function mustReadTags(write: CopyWrite, count: number | undefined, profile: StoreProfile): boolean {
  if (count === 0 || write === 'copy') return false;
  if (write === 'replace') return count !== undefined && profile.replaceCopyTags !== 'kept';
  return true;
}

/**
 * What to do after the write, with the source's (non-empty) tags in hand: `put` them (the store is
 * known to lose them), `verify` (read the destination's and put them if they differ: a store never
 * checked), or `none` (the store is known to keep or apply them).
 */
export function afterWrite(write: CopyWrite, profile: StoreProfile): 'put' | 'verify' | 'none' {
  if (write === 'copy' || write === 'put') return 'none';
  const does = write === 'replace' ? profile.replaceCopyTags : profile.multipartCreateTags;
  if (does === 'kept' || does === 'applied') return 'none';
  if (does === 'dropped' || does === 'ignored') return 'put';
  return 'verify';
}

/** The `x-amz-tagging` header's value: `key=value` pairs joined by `&`, URL-encoded as a query. */
export function taggingHeader(tags: Readonly<Tags>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${encodeTagPart(k)}=${encodeTagPart(v)}`)
    .join('&');
}

/** RFC 3986 encoding: encodeURIComponent leaves `!'()*`, which some stores then reject. */
function encodeTagPart(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
