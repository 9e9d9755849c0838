/**
 * Uploading a local file of any size (a run's completion report: a billion-row inventory makes a
 * report of ~100 GB, and one PUT stops at 5 GiB). Up to `multipartAbove` bytes it is one PUT with
 * Content-MD5; above, a multipart upload read from the file one part at a time (memory: one part),
 * each part with its Content-MD5, aborted if anything fails so no parts are left behind.
 */
import { open } from 'node:fs/promises';
import type { S3Bucket } from './bucket.js';
import { abortMultipartUpload, completeMultipartUpload, createMultipartUpload, md5Of, putVerified, uploadPart } from './multipart-upload.js';

/** S3's limits: at most 10,000 parts, each at least 5 MiB (but the last). */
export const MAX_PARTS = 10_000;
export const MIN_PART_BYTES = 5 * 1024 * 1024;

export interface UploadFileOptions {
  contentType?: string | undefined;
  /** Files larger than this go up in parts. Default 64 MiB. */
  multipartAbove?: number | undefined;
  /** Part size (raised when the file would need more than 10,000 parts). Default 16 MiB. */
  partSize?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** Pure: the part size for `size` bytes — `wanted`, or the smallest whole MiB that fits 10,000 parts. */
export function partSizeFor(size: number, wanted: number): number {
  const mib = 1024 * 1024;
  const fits = Math.ceil(size / MAX_PARTS / mib) * mib;
  return Math.max(wanted, fits, MIN_PART_BYTES);
}

export async function uploadFile(bucket: S3Bucket, key: string, path: string, options: UploadFileOptions = {}): Promise<{ etag: string; parts: number }> {
  const headers: Record<string, string> = options.contentType === undefined ? {} : { 'content-type': options.contentType };
  // Bodies stream for as long as they take: no request timeout (the transport's inactivity guard stays).
  const call = { timeout: null, signal: options.signal };
  const file = await open(path, 'r');
  try {
    const size = (await file.stat()).size;
    if (size <= (options.multipartAbove ?? 64 * 1024 * 1024)) {
      const data = size === 0 ? new Uint8Array(0) : (await file.read(Buffer.alloc(size), 0, size, 0)).buffer;
      return { etag: (await putVerified(bucket, key, data, headers, call)).etag, parts: 1 };
    }
    const partSize = partSizeFor(size, options.partSize ?? 16 * 1024 * 1024);
    const uploadId = await createMultipartUpload(bucket, key, headers, call);
    try {
      const parts: { partNumber: number; etag: string }[] = [];
      const buffer = Buffer.alloc(partSize);
      for (let offset = 0, partNumber = 1; offset < size; offset += partSize, partNumber++) {
        const { bytesRead } = await file.read(buffer, 0, Math.min(partSize, size - offset), offset);
        const data = buffer.subarray(0, bytesRead);
        parts.push({ partNumber, etag: await uploadPart(bucket, key, uploadId, partNumber, data, md5Of(data), call) });
      }
      const done = await completeMultipartUpload(bucket, key, uploadId, parts, call);
      return { etag: done.etag, parts: parts.length };
    } catch (err) {
      await abortMultipartUpload(bucket, key, uploadId, { timeout: 30_000 }).catch(() => undefined);
      throw err;
    }
  } finally {
    await file.close();
  }
}
