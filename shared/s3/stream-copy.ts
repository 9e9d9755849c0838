/**
 * A copy between two stores (or two accounts), streamed through this process: GET from the source
 * client, PUT to the destination client. Used when a server-side copy cannot be: the destination
 * cannot read the source with its own credentials.
 *
 * - Up to one part's size, one GET and one PUT. Above, a multipart upload whose parts are read
 *   with ranged GETs and uploaded in parallel: at most `concurrency` parts are in memory at once,
 *   so a transfer holds at most concurrency × partSize bytes whatever the object's size.
 * - Every GET is pinned to the source's ETag (`If-Match`): a source replaced mid-copy fails with
 *   `SourceChanged` (retryable: the next attempt starts again from the new object).
 * - Bytes are verified: every PUT and part carries the Content-MD5 of the bytes read, and where the
 *   source's ETag is its MD5 (`endToEndCheck`), the MD5 of every byte read must equal it before
 *   the object is completed. A mismatch fails with S3JOBS_CHECKSUM_MISMATCH (retryable) and
 *   nothing is written.
 * - A multipart upload that fails is aborted (no parts left to accrue storage), unless
 *   `keepUploadOnError` says the failure is one the job comes back from at once (a shutdown
 *   requeue): then the upload is kept, and the checkpoint (`onCheckpoint`, written before the
 *   first part) lets the next attempt list the parts it holds (ListParts) and upload only the rest.
 *   A worker killed outright keeps its upload the same way.
 */
import { ErrorCodes, S3Error, S3JobsError } from '../errors.js';
import type { CallOptions, S3Bucket } from './bucket.js';
import { abortMultipartUpload, checksumMismatch, isUploadGone, completeMultipartUpload, createMultipartUpload, listParts, md5Of, putVerified, uploadPart, type UploadedPart } from './multipart-upload.js';
import type { ObjectInfo } from './object-info.js';
import { bareEtag, canResume, destinationHeaders, endToEndCheck, multipartEtag, plainMd5, streamParts, type StreamPart, type TransferChange, type TransferCheckpoint } from './transfer-plan.js';
import { taggingCount, taggingHeader, type CarriedTags, type TagsOutcome } from './tag-carry.js';
import { createHash, type Hash } from 'node:crypto';

export interface StreamCopyOptions extends TransferChange {
  /** The source's HEAD (made by the caller: its size decides the timeout policy). */
  sourceInfo: ObjectInfo;
  sourceVersionId?: string | undefined;
  /** Bytes per part; objects up to this size go in one PUT. */
  partSize: number;
  /** Parts in flight (each one buffered). */
  concurrency: number;
  signal?: AbortSignal | undefined;
  /** A checkpoint an earlier attempt saved. */
  resume?: TransferCheckpoint | undefined;
  /** Saves the checkpoint (undefined clears it). Called before the first part is sent. */
  onCheckpoint?: ((checkpoint: TransferCheckpoint | undefined) => Promise<void>) | undefined;
  /** True for failures after which the upload is kept for the next attempt. Default: never. */
  keepUploadOnError?: ((err: unknown) => boolean) | undefined;
  /** Told of each part sent (tests, metrics). */
  onPartUploaded?: ((partNumber: number, bytes: number) => void) | undefined;
}

export interface StreamCopyResult {
  etag: string;
  versionId: string | undefined;
  size: number;
  multipart: boolean;
  /** Which check the bytes passed: `md5` end to end, or each part's Content-MD5 only (`part-md5`). */
  verified: 'md5' | 'part-md5';
  /** Parts uploaded by this attempt, and parts an earlier attempt had uploaded (kept). */
  partsUploaded: number;
  partsResumed: number;
  /** What was done to keep the source's tags (tag-carry.ts). */
  tags?: TagsOutcome | undefined;
}

export async function streamCopy(source: S3Bucket, sourceKey: string, destination: S3Bucket, key: string, options: StreamCopyOptions): Promise<StreamCopyResult> {
  const head = options.sourceInfo;
  const call: CallOptions = { signal: options.signal };
  const write = head.size <= options.partSize ? 'put' : 'new-object';
  const headers = destinationHeaders(head, options);
  // Nothing of the source's comes along by itself, tags included (tag-carry.ts): read them where
  // the HEAD (or, for one PUT, the GET of the bytes) does not say there are none.
  let count = taggingCount(head.headers);
  const withTags = async (): Promise<CarriedTags> => {
    const carried = await source.readTagsToCarry(write, sourceKey, count, { ...call, versionId: options.sourceVersionId });
    if (carried.tags !== undefined) headers['x-amz-tagging'] = taggingHeader(carried.tags);
    return carried;
  };
  const check = endToEndCheck(head);
  let result: StreamCopyResult;
  let carried: CarriedTags;
  if (write === 'put') {
    const data = await readRange(source, sourceKey, head, options.sourceVersionId, undefined, call, (got) => (count ??= taggingCount(got)));
    const md5 = md5Of(data);
    if (check === 'md5' && md5.hex !== plainMd5(head.etag)) throw checksumMismatch(`${source.name}/${sourceKey}: read bytes with MD5 ${md5.hex}, but the source's ETag is ${bareEtag(head.etag)}; nothing was written`);
    carried = await withTags();
    const put = await putVerified(destination, key, data, headers, call);
    options.onPartUploaded?.(1, head.size);
    result = { etag: put.etag, versionId: put.versionId, size: head.size, multipart: false, verified: check, partsUploaded: 1, partsResumed: 0 };
  } else {
    carried = await withTags();
    result = await multipartStream(source, sourceKey, destination, key, headers, check, options);
  }
  const tags = await destination.keepTags(write, key, carried, { ...call, versionId: result.versionId });
  if (tags !== undefined) result.tags = tags;
  return result;
}

async function multipartStream(
  source: S3Bucket,
  sourceKey: string,
  destination: S3Bucket,
  key: string,
  headers: Record<string, string>,
  check: 'md5' | 'part-md5',
  options: StreamCopyOptions,
): Promise<StreamCopyResult> {
  const head = options.sourceInfo;
  const layout = streamParts(head.size, options.partSize);
  const identity = { destination: `${destination.name}/${key}`, sourceEtag: head.etag, size: head.size, partSize: layout.partSize };
  const call: CallOptions = { signal: options.signal };

  let uploadId: string | undefined;
  let kept = new Map<number, UploadedPart>();
  const previous = options.resume;
  if (previous !== undefined && canResume(previous, identity)) {
    try {
      kept = new Map((await listParts(destination, key, previous.uploadId, call)).map((p) => [p.partNumber, p]));
      uploadId = previous.uploadId;
    } catch (err) {
      // Gone (completed, aborted, expired) or a store without ListParts: start over.
      if (!isUploadGone(err) && !(err instanceof S3Error && ['NotImplemented', 'MethodNotAllowed'].includes(err.code))) throw err;
    }
  } else if (previous !== undefined && previous.destination === identity.destination) {
    // An upload of another state of the source (or another layout): its parts are of no use.
    await abortMultipartUpload(destination, key, previous.uploadId, { timeout: 30_000 }).catch(() => undefined);
  }
  if (uploadId === undefined) {
    uploadId = await createMultipartUpload(destination, key, headers, call);
    await options.onCheckpoint?.({ uploadId, ...identity });
  }

  // Parts the destination holds with the right size (every part but the last is partSize long).
  const reusable = (part: StreamPart): UploadedPart | undefined => {
    const held = kept.get(part.partNumber);
    return held !== undefined && held.size === part.end - part.start + 1 ? held : undefined;
  };
  const whole = check === 'md5' ? createHash('md5') : undefined;
  const internal = new AbortController();
  const signal = options.signal === undefined ? internal.signal : AbortSignal.any([options.signal, internal.signal]);
  const partCall: CallOptions = { signal };
  let uploaded = 0;
  let resumed = 0;
  try {
    const etags = await runParts(layout.parts, options.concurrency, internal, whole, async (part, hashInOrder) => {
      const held = reusable(part);
      if (held !== undefined && whole === undefined) {
        resumed++;
        return held.etag; // nothing to hash: no need to read it again
      }
      const data = await readRange(source, sourceKey, head, options.sourceVersionId, part, partCall);
      const md5 = md5Of(data);
      let etag: string;
      if (held !== undefined && plainMd5(held.etag) === md5.hex) {
        resumed++;
        etag = held.etag; // read again for the whole-object MD5 only
      } else {
        etag = await uploadPart(destination, key, uploadId!, part.partNumber, data, md5, partCall);
        uploaded++;
        options.onPartUploaded?.(part.partNumber, part.end - part.start + 1);
      }
      await hashInOrder(data);
      return etag;
    });
    if (whole !== undefined) {
      const md5 = whole.digest('hex');
      if (md5 !== plainMd5(head.etag)) throw checksumMismatch(`${source.name}/${sourceKey}: read bytes with MD5 ${md5}, but the source's ETag is ${bareEtag(head.etag)}; the upload was not completed`);
    }
    const parts = layout.parts.map((p, i) => ({ partNumber: p.partNumber, etag: etags[i]! }));
    const done = await completeMultipartUpload(destination, key, uploadId, parts, call);
    await options.onCheckpoint?.(undefined);
    let etag = done.etag;
    if (etag === '') etag = (await destination.head(key, call)).etag;
    // The ETag of the whole must be the one the parts we sent make (where the store uses S3's form).
    const expected = multipartEtag(parts.map((p) => plainMd5(p.etag) ?? ''));
    if (parts.every((p) => plainMd5(p.etag) !== undefined) && /-\d+$/.test(bareEtag(etag)) && bareEtag(etag) !== expected)
      throw checksumMismatch(`${destination.name}/${key}: completed with ETag ${bareEtag(etag)}, but the parts sent make ${expected}`);
    return { etag, versionId: done.versionId, size: head.size, multipart: true, verified: check, partsUploaded: uploaded, partsResumed: resumed };
  } catch (err) {
    internal.abort();
    if (options.keepUploadOnError?.(err) !== true) {
      // Never leave parts to accrue storage; the abort itself is best effort (a lifecycle rule
      // with AbortIncompleteMultipartUpload is the safety net for what a killed worker leaves).
      await abortMultipartUpload(destination, key, uploadId, { timeout: 30_000 }).catch(() => undefined);
      await options.onCheckpoint?.(undefined).catch(() => undefined);
    }
    throw err;
  }
}

/**
 * Runs `task` over the parts, `concurrency` at a time, in part order. `hashInOrder(data)` feeds the
 * whole-object hash once every earlier part has fed it: a part's buffer stays with its lane until
 * then, so memory stays at concurrency parts. The first failure aborts the others (`internal`) and
 * is thrown once every lane has stopped — so nothing is still uploading when the caller aborts.
 */
async function runParts(
  parts: readonly StreamPart[],
  concurrency: number,
  internal: AbortController,
  whole: Hash | undefined,
  task: (part: StreamPart, hashInOrder: (data: readonly Uint8Array[]) => Promise<void>) => Promise<string>,
): Promise<string[]> {
  const results = new Array<string>(parts.length);
  const hashed = parts.map(() => deferred());
  let next = 0;
  let failure: unknown;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < parts.length) {
      const index = next++;
      const part = parts[index]!;
      try {
        results[index] = await task(part, async (data) => {
          if (index > 0) await hashed[index - 1]!.promise;
          if (whole !== undefined) for (const chunk of data) whole.update(chunk);
          hashed[index]!.resolve();
        });
        hashed[index]!.resolve(); // a part skipped without reading
      } catch (err) {
        if (failure === undefined) failure = err;
        internal.abort();
        for (const h of hashed) h.reject(failure);
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, parts.length) }, lane));
  if (failure !== undefined) throw failure;
  return results;
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // a rejection nobody awaits is not an unhandled one
  return { promise, resolve, reject };
}

/**
 * GET of a byte range (or the whole object), pinned to the HEAD's ETag: its chunks as they came
 * (exactly the range's length in all). A short or long body is a BadResponse; a 412 means the
 * source changed.
 */
async function readRange(
  source: S3Bucket,
  key: string,
  head: ObjectInfo,
  versionId: string | undefined,
  part: StreamPart | undefined,
  options: CallOptions,
  onHeaders?: (headers: Record<string, string>) => void,
): Promise<Buffer[]> {
  const length = part === undefined ? head.size : part.end - part.start + 1;
  const headers: Record<string, string> = {};
  if (head.etag !== '') headers['if-match'] = head.etag;
  if (part !== undefined) headers.range = `bytes=${part.start}-${part.end}`;
  let res;
  try {
    res = await source.send({ method: 'GET', key, headers, query: versionId === undefined ? undefined : { versionId } }, options);
    onHeaders?.(res.headers);
  } catch (err) {
    if (err instanceof S3Error && err.status === 412)
      throw new S3JobsError('SourceChanged', `${source.name}/${key} changed during the copy (its ETag is no longer ${head.etag}); the next attempt copies it again from the start`, { retryable: true, cause: err });
    throw err;
  }
  const chunks: Buffer[] = [];
  let offset = 0;
  try {
    for await (const chunk of res.body) {
      const bytes = chunk as Buffer;
      if (offset + bytes.length > length) throw new S3JobsError(ErrorCodes.BadResponse, `GET ${key}: the body is longer than the ${length} bytes asked for`, { retryable: true });
      chunks.push(bytes);
      offset += bytes.length;
    }
  } catch (err) {
    res.body.destroy();
    throw res.bodyError(err);
  }
  if (offset !== length) throw new S3JobsError(ErrorCodes.BadResponse, `GET ${key}: got ${offset} of ${length} bytes`, { retryable: true });
  return chunks;
}
