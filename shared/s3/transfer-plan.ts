/**
 * The pure half of a copy streamed between two stores (stream-copy.ts): which headers the
 * destination gets, which end-to-end check applies, how the parts are laid out, and whether an
 * earlier attempt's upload can be resumed. No I/O.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../errors.js';
import { checkHeaderOverrides, metadataHeaders, normalizeMetadata, type Metadata } from './metadata.js';
import { MAX_PARTS, MAX_PART_BYTES, MiB, MIN_PART_BYTES } from './multipart-copy.js';
import type { ObjectInfo } from './object-info.js';
import type { CannedAcl, StorageClass } from './validation.js';

/**
 * User metadata entry s3jobs writes on every streamed copy: the source's ETag (unquoted) at copy
 * time. A later sync compares it with the source's ETag, a checksum both sides can give even when
 * the two stores' multipart ETags differ.
 */
export const SOURCE_ETAG_METADATA = 's3jobs-source-etag';

/**
 * The system headers a streamed copy carries from the source (S3's COPY directive carries the
 * same). Storage class and website redirect are not: they are the destination store's business.
 */
export const CARRIED_HEADERS = ['content-type', 'cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'] as const;

/** What the caller changes on the way (the copy job's fields). */
export interface TransferChange {
  acl: CannedAcl;
  /** Replaces the source's user metadata. */
  metadata?: Metadata | undefined;
  mimetype?: string | undefined;
  /** System headers to set (`''` removes one). */
  headers?: Record<string, string> | undefined;
  storageClass?: StorageClass | undefined;
}

/** ETag without quotes, `W/` or case. */
export function bareEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase();
}

/**
 * The ETag's MD5 when it is one: 32 hex digits. A multipart ETag (`<hex>-<parts>`) is not, nor is
 * the ETag of an object encrypted with SSE-C or SSE-KMS (which looks like one: the caller cannot
 * tell from the ETag alone, so it passes the HEAD's encryption headers to `endToEndCheck`).
 */
export function plainMd5(etag: string): string | undefined {
  const bare = bareEtag(etag);
  return /^[0-9a-f]{32}$/.test(bare) ? bare : undefined;
}

/** The number of parts of a multipart ETag (`<hex>-<parts>`), else undefined. */
export function multipartEtagParts(etag: string): number | undefined {
  const m = /^[0-9a-f]{32}-(\d{1,5})$/.exec(bareEtag(etag));
  return m === null ? undefined : Number(m[1]);
}

/** S3's multipart ETag from the parts' MD5s (hex, in part order): MD5 of the binary MD5s, `-<count>`. */
export function multipartEtag(partMd5s: readonly string[]): string {
  const hash = createHash('md5');
  for (const md5 of partMd5s) hash.update(Buffer.from(md5, 'hex'));
  return `${hash.digest('hex')}-${partMd5s.length}`;
}

/**
 * The end-to-end check a streamed copy can make, from the source's HEAD:
 * - `md5`: the source's ETag is the MD5 of its bytes (uploaded in one part, not SSE-C/KMS): the
 *   MD5 of the bytes read must equal it, or the copy is not completed.
 * - `part-md5`: no checksum of the whole object is known (a multipart or encrypted source): each
 *   part (or the single PUT) is sent with the Content-MD5 of the bytes read, so the destination
 *   refuses a part corrupted on the way up, but bytes corrupted on the way down are guarded only
 *   by TCP and the response length.
 */
export function endToEndCheck(head: Pick<ObjectInfo, 'etag' | 'headers'>): 'md5' | 'part-md5' {
  const sse = head.headers['x-amz-server-side-encryption'];
  const encryptedOpaquely = sse === 'aws:kms' || sse === 'aws:kms:dsse' || head.headers['x-amz-server-side-encryption-customer-algorithm'] !== undefined;
  return plainMd5(head.etag) !== undefined && !encryptedOpaquely ? 'md5' : 'part-md5';
}

/**
 * Headers of the destination object (PUT or CreateMultipartUpload): the carried system headers,
 * the user metadata (the source's unless replaced) plus `s3jobs-source-etag`, the ACL and storage
 * class. Throws ValidationError for bad overrides or metadata over S3's 2 KB.
 */
export function destinationHeaders(head: Pick<ObjectInfo, 'etag' | 'headers' | 'metadata'>, change: TransferChange): Record<string, string> {
  const overrides = checkHeaderOverrides(change.headers, change.mimetype, 'headers');
  const out: Record<string, string> = {};
  for (const name of CARRIED_HEADERS) {
    const value = overrides[name] ?? head.headers[name];
    if (value !== undefined && value !== '') out[name] = value;
  }
  for (const [name, value] of Object.entries(overrides)) if (!(CARRIED_HEADERS as readonly string[]).includes(name) && value !== '') out[name] = value;
  out['content-type'] ??= 'application/octet-stream';
  const metadata: Metadata = { ...(change.metadata ?? head.metadata) };
  for (const name of Object.keys(metadata)) if (name.toLowerCase() === SOURCE_ETAG_METADATA) delete metadata[name];
  metadata[SOURCE_ETAG_METADATA] = bareEtag(head.etag);
  Object.assign(out, metadataHeaders(normalizeMetadata(metadata, change.metadata === undefined ? 'source metadata' : 'metadata')));
  out['x-amz-acl'] = change.acl;
  if (change.storageClass !== undefined) out['x-amz-storage-class'] = change.storageClass;
  return out;
}

/** One part of a streamed upload: inclusive byte range of the source. */
export interface StreamPart {
  partNumber: number;
  start: number;
  end: number;
}

/**
 * The parts of a `size`-byte object at `partSize`, the part size grown (whole MiB) to stay within
 * 10,000 parts. Memory of a transfer is at most `concurrency` × the returned part size.
 */
export function streamParts(size: number, partSize: number): { partSize: number; parts: StreamPart[] } {
  if (!Number.isInteger(size) || size < 1) throw new ValidationError('size', `a multipart transfer needs a non-empty object; got ${String(size)} bytes`);
  if (!Number.isInteger(partSize) || partSize < MIN_PART_BYTES || partSize > MAX_PART_BYTES)
    throw new ValidationError('partSize', `must be an integer from ${MIN_PART_BYTES} (5 MiB) to ${MAX_PART_BYTES} (5 GiB) bytes; got ${String(partSize)}`);
  let effective = partSize;
  if (Math.ceil(size / effective) > MAX_PARTS) effective = Math.ceil(size / MAX_PARTS / MiB) * MiB;
  if (effective > MAX_PART_BYTES) throw new ValidationError('size', `an object of ${size} bytes exceeds what 10,000 parts of 5 GiB can hold`);
  const parts: StreamPart[] = [];
  for (let start = 0, n = 1; start < size; start += effective, n++) parts.push({ partNumber: n, start, end: Math.min(start + effective, size) - 1 });
  return { partSize: effective, parts };
}

/**
 * What an attempt keeps so that the next one can resume its multipart upload: the upload, and what
 * it was an upload of. Stored in the job's progress (no secrets: ids and ETags only).
 */
export interface TransferCheckpoint {
  uploadId: string;
  /** `<bucket>/<key>` of the destination. */
  destination: string;
  /** The source's ETag (as sent) and size when the upload started: a changed source restarts from zero. */
  sourceEtag: string;
  size: number;
  partSize: number;
}

/** Reads a checkpoint back from untrusted job progress; undefined for anything else. */
export function readCheckpoint(value: unknown): TransferCheckpoint | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const c = (value as { transfer?: unknown }).transfer;
  if (c === null || typeof c !== 'object') return undefined;
  const t = c as Record<string, unknown>;
  if (typeof t.uploadId !== 'string' || typeof t.destination !== 'string' || typeof t.sourceEtag !== 'string') return undefined;
  if (typeof t.size !== 'number' || typeof t.partSize !== 'number') return undefined;
  return { uploadId: t.uploadId, destination: t.destination, sourceEtag: t.sourceEtag, size: t.size, partSize: t.partSize };
}

/** Whether `checkpoint` is an upload of this very source to this destination with this layout. */
export function canResume(checkpoint: TransferCheckpoint, now: { destination: string; sourceEtag: string; size: number; partSize: number }): boolean {
  return (
    checkpoint.destination === now.destination &&
    bareEtag(checkpoint.sourceEtag) === bareEtag(now.sourceEtag) &&
    checkpoint.size === now.size &&
    checkpoint.partSize === now.partSize
  );
}
