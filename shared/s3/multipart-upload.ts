/**
 * Multipart upload of bytes we hold (not UploadPartCopy): CreateMultipartUpload, UploadPart,
 * CompleteMultipartUpload, AbortMultipartUpload, ListParts, and a verified single PUT — the
 * requests a copy streamed between two stores makes on its destination.
 *
 * Every body is sent with its Content-MD5, so the store refuses bytes damaged on the way
 * (BadDigest) instead of storing them; and the ETag it answers for a part is checked against the
 * same MD5 where it has that form.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ErrorCodes, S3Error, S3JobsError } from '../errors.js';
import type { CallOptions, S3Bucket } from './bucket.js';
import { s3ErrorFrom, type S3Response } from './request.js';
import { bareEtag, plainMd5 } from './transfer-plan.js';
import { badResponse, buildCompleteMultipartUpload, parseErrorDocument, parseInitiateMultipartUpload, parseS3Xml, type XmlElement, type XmlValue } from './xml.js';

/** Raised when the bytes read do not match the checksum they must have. Retryable: read them again. */
export const CHECKSUM_MISMATCH = 'S3JOBS_CHECKSUM_MISMATCH';

export function checksumMismatch(message: string): S3JobsError {
  return new S3JobsError(CHECKSUM_MISMATCH, message, { retryable: true });
}

/** A part the destination holds. `etag` as the store sent it (quoted). */
export interface UploadedPart {
  partNumber: number;
  etag: string;
  size: number;
}

/**
 * Bytes to send: one buffer, or the chunks a GET delivered, in order — kept as they came, so a
 * part is never copied into one buffer of its own (that copy cost as much CPU as an MD5).
 */
export type Body = Uint8Array | readonly Uint8Array[];

function chunksOf(data: Body): readonly Uint8Array[] {
  return data instanceof Uint8Array ? [data] : data;
}

export function lengthOf(data: Body): number {
  let n = 0;
  for (const c of chunksOf(data)) n += c.byteLength;
  return n;
}

/** MD5 of bytes: hex (for ETag comparisons) and base64 (the Content-MD5 header). */
export function md5Of(data: Body): { hex: string; base64: string } {
  const hash = createHash('md5');
  for (const c of chunksOf(data)) hash.update(c);
  const digest = hash.digest();
  return { hex: digest.toString('hex'), base64: digest.toString('base64') };
}

/** The body as a stream: sent UNSIGNED-PAYLOAD, sparing a SHA-256 of every part (Content-MD5 guards it). */
function streamBody(data: Body): Readable {
  return Readable.from(chunksOf(data), { objectMode: false });
}

/**
 * The store refused the body because its MD5 is not the Content-MD5 we sent (BadDigest): the bytes
 * were damaged between us and the store. Retryable — unlike most 400s: the next send is whole.
 */
async function refusedDigest(sent: Promise<S3Response>, what: string): Promise<S3Response> {
  try {
    return await sent;
  } catch (err) {
    if (err instanceof S3Error && err.code === 'BadDigest') throw new S3JobsError(CHECKSUM_MISMATCH, `${what}: the store refused the bytes as damaged in transit (BadDigest)`, { retryable: true, cause: err });
    throw err;
  }
}

async function readText(bucket: S3Bucket, res: S3Response, key: string): Promise<string> {
  const text = await res.body.text();
  // CompleteMultipartUpload may answer 200 and fail in the body.
  if (text.includes('<Error>') && parseErrorDocument(text) !== undefined) throw s3ErrorFrom(200, res.headers, text, { key }, bucket.name, Date.now());
  return text;
}

function checkEtag(answered: string | undefined, md5Hex: string, what: string): string {
  if (answered === undefined || answered === '') throw badResponse(`${what}: the store answered no ETag`);
  const plain = plainMd5(answered);
  // Stores that encrypt at rest answer other ETags; only an MD5-shaped one can be compared.
  if (plain !== undefined && plain !== md5Hex) throw checksumMismatch(`${what}: the store holds MD5 ${plain} but ${md5Hex} was sent`);
  return answered;
}

/** PUT of an object held in memory, with Content-MD5. */
export async function putVerified(bucket: S3Bucket, key: string, data: Body, headers: Record<string, string>, options: CallOptions): Promise<{ etag: string; versionId: string | undefined; md5: string }> {
  const md5 = md5Of(data);
  const res = await refusedDigest(bucket.send({ method: 'PUT', key, headers: { ...headers, 'content-md5': md5.base64, 'content-length': String(lengthOf(data)) }, body: streamBody(data) }, options), `PUT ${key}`);
  await res.body.dump();
  return { etag: checkEtag(res.headers.etag, md5.hex, `PUT ${key}`), versionId: res.headers['x-amz-version-id'], md5: md5.hex };
}

/**
 * CreateMultipartUpload. The caller's signal does not cut this one request short: a store that had
 * created the upload before the hang-up keeps it, and an upload whose id was never read is never
 * aborted — its parts bill storage until a lifecycle rule expires them (seen on Ceph RGW: an upload
 * cancelled 20 ms in stayed listed). The request keeps a timeout (60 s where the caller disabled
 * it); once the id is in hand, a signal that fired meanwhile aborts the upload and is thrown.
 */
export async function createMultipartUpload(bucket: S3Bucket, key: string, headers: Record<string, string>, options: CallOptions): Promise<string> {
  const { signal, ...call } = options;
  const res = await bucket.send({ method: 'POST', key, query: { uploads: '' }, headers }, { ...call, timeout: call.timeout === null ? 60_000 : call.timeout });
  const uploadId = parseInitiateMultipartUpload(await readText(bucket, res, key));
  if (signal?.aborted === true) {
    await abortMultipartUpload(bucket, key, uploadId, { timeout: 30_000 }).catch(() => undefined);
    const reason: unknown = signal.reason;
    throw new S3JobsError(ErrorCodes.Aborted, `multipart upload of ${key} was aborted by the caller as it was created (the upload was aborted too)${reason instanceof Error ? `: ${reason.message}` : ''}`, {
      retryable: true,
      cause: reason,
    });
  }
  return uploadId;
}

/** UploadPart with Content-MD5; returns the part's ETag (checked against the MD5 when comparable). */
export async function uploadPart(bucket: S3Bucket, key: string, uploadId: string, partNumber: number, data: Body, md5: { hex: string; base64: string }, options: CallOptions): Promise<string> {
  const res = await refusedDigest(
    bucket.send(
      { method: 'PUT', key, query: { partNumber: String(partNumber), uploadId }, headers: { 'content-md5': md5.base64, 'content-length': String(lengthOf(data)) }, body: streamBody(data) },
      options,
    ),
    `part ${partNumber} of ${key}`,
  );
  await res.body.dump();
  return checkEtag(res.headers.etag, md5.hex, `part ${partNumber} of ${key}`);
}

/**
 * CompleteMultipartUpload. Returns the ETag the store gave, or `''` when it gave none (Ceph RGW
 * sends an empty `<ETag>`; the caller HEADs the object then).
 */
export async function completeMultipartUpload(
  bucket: S3Bucket,
  key: string,
  uploadId: string,
  parts: readonly { partNumber: number; etag: string }[],
  options: CallOptions,
): Promise<{ etag: string; versionId: string | undefined }> {
  const body = buildCompleteMultipartUpload(parts);
  const res = await bucket.send({ method: 'POST', key, query: { uploadId }, headers: { 'content-type': 'application/xml' }, body }, options);
  const { element } = parseS3Xml(await readText(bucket, res, key), ['CompleteMultipartUploadResult']);
  const etag = textOf(element.ETag);
  return { etag: etag === '' ? '' : `"${bareEtag(etag)}"`, versionId: res.headers['x-amz-version-id'] };
}

/** AbortMultipartUpload; an upload already gone (NoSuchUpload) counts as aborted. */
export async function abortMultipartUpload(bucket: S3Bucket, key: string, uploadId: string, options: CallOptions): Promise<void> {
  try {
    const res = await bucket.send({ method: 'DELETE', key, query: { uploadId } }, options);
    await res.body.dump();
  } catch (err) {
    if (isUploadGone(err)) return;
    throw err;
  }
}

/**
 * ListParts, every page. Throws an S3Error for which `isUploadGone` holds when the upload is gone
 * (completed, aborted, or expired by a lifecycle rule).
 */
export async function listParts(bucket: S3Bucket, key: string, uploadId: string, options: CallOptions): Promise<UploadedPart[]> {
  const parts: UploadedPart[] = [];
  let marker: string | undefined;
  for (let page = 0; page < 20; page++) {
    const res = await bucket.send({ method: 'GET', key, query: { uploadId, 'max-parts': '1000', 'part-number-marker': marker } }, options);
    const { element } = parseS3Xml(await readText(bucket, res, key), ['ListPartsResult']);
    for (const part of listOf(element.Part)) {
      const partNumber = Number(textOf(part.PartNumber));
      const size = Number(textOf(part.Size));
      const etag = textOf(part.ETag);
      if (!Number.isInteger(partNumber) || partNumber < 1 || !Number.isInteger(size) || size < 0 || etag === '') throw badResponse(`<ListPartsResult> has a malformed <Part> for ${key}`);
      parts.push({ partNumber, etag: `"${bareEtag(etag)}"`, size });
    }
    if (textOf(element.IsTruncated) !== 'true') return parts;
    marker = textOf(element.NextPartNumberMarker);
    if (marker === '') throw badResponse('<ListPartsResult> is truncated but has no <NextPartNumberMarker>');
  }
  throw new S3JobsError(ErrorCodes.BadResponse, `ListParts of ${key} did not end after 20 pages`, { retryable: true });
}

/** An element's text with XML's five entities decoded (the parser leaves them: ETags come as `&quot;…&quot;`). */
function textOf(value: XmlValue | undefined): string {
  let text = '';
  if (typeof value === 'string') text = value;
  else if (value !== undefined && !Array.isArray(value) && typeof value === 'object') {
    const own = (value as XmlElement)['#text'];
    text = typeof own === 'string' ? own : '';
  }
  return text
    .replace(/&(quot|apos|lt|gt|amp);/g, (_, name: string) => ({ quot: '"', apos: "'", lt: '<', gt: '>', amp: '&' })[name as 'quot'])
    .trim();
}

/** The upload is gone: S3 says NoSuchUpload, Ceph RGW a 404 NoSuchKey. */
export function isUploadGone(err: unknown): boolean {
  return err instanceof S3Error && (err.code === 'NoSuchUpload' || err.status === 404);
}

function listOf(value: XmlValue | undefined): XmlElement[] {
  const items = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return items.filter((v): v is XmlElement => typeof v === 'object' && v !== null && !Array.isArray(v));
}
