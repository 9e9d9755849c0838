import { ValidationError } from '../errors.js';

/** S3's limits for multipart uploads and single-request copies. */
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
/** Largest object CopyObject copies in one request. */
export const MAX_SINGLE_COPY_BYTES = 5 * GiB;
export const MIN_PART_BYTES = 5 * MiB;
export const MAX_PART_BYTES = 5 * GiB;
export const MAX_PARTS = 10_000;

export interface MultipartCopyOptions {
  /**
   * Objects larger than this are copied with multipart copy. Default and maximum: 5 GiB (the
   * CopyObject limit). Lower it to copy big objects with parallel parts, which is faster.
   */
  threshold?: number;
  /** Bytes per part. Default: 256 MiB, raised as needed to stay within 10,000 parts. */
  partSize?: number;
  /** Parts copied at once. Default 8. */
  concurrency?: number;
}

export interface PartRange {
  partNumber: number;
  /** Inclusive byte offsets, as in `x-amz-copy-source-range: bytes=start-end`. */
  start: number;
  end: number;
}

/** Validates the multipart options once; returns them with defaults filled. */
export function resolveMultipartOptions(options: MultipartCopyOptions | undefined): Required<MultipartCopyOptions> {
  const threshold = options?.threshold ?? MAX_SINGLE_COPY_BYTES;
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > MAX_SINGLE_COPY_BYTES)
    throw new ValidationError('multipart.threshold', `must be an integer from 1 to ${MAX_SINGLE_COPY_BYTES} bytes (5 GiB, the CopyObject limit); got ${String(threshold)}`);
  const partSize = options?.partSize ?? 256 * MiB;
  if (!Number.isInteger(partSize) || partSize < MIN_PART_BYTES || partSize > MAX_PART_BYTES)
    throw new ValidationError('multipart.partSize', `must be an integer from ${MIN_PART_BYTES} (5 MiB) to ${MAX_PART_BYTES} (5 GiB) bytes; got ${String(partSize)}`);
  const concurrency = options?.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    throw new ValidationError('multipart.concurrency', `must be an integer from 1 to 64; got ${String(concurrency)}`);
  return { threshold, partSize, concurrency };
}

/**
 * Splits `size` bytes into part ranges of `partSize`, growing the part size (in whole MiB) when
 * the object would otherwise need more than 10,000 parts. Every part but the last is at least
 * 5 MiB, as S3 requires.
 */
export function planParts(size: number, partSize: number): PartRange[] {
  if (size <= 0) throw new ValidationError('size', 'multipart copy needs a non-empty source object');
  let effective = partSize;
  if (Math.ceil(size / effective) > MAX_PARTS) effective = Math.ceil(size / MAX_PARTS / MiB) * MiB;
  if (effective > MAX_PART_BYTES) throw new ValidationError('size', `an object of ${size} bytes exceeds what 10,000 parts of 5 GiB can hold`);
  const parts: PartRange[] = [];
  for (let start = 0, n = 1; start < size; start += effective, n++) parts.push({ partNumber: n, start, end: Math.min(start + effective, size) - 1 });
  return parts;
}

/** Runs `task` over `items` with at most `concurrency` in flight; the first failure stops new starts. */
export async function mapConcurrent<T, R>(items: readonly T[], concurrency: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index] as T);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  });
  await Promise.all(lanes);
  return results;
}
