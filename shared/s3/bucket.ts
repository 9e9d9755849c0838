import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { ErrorCodes, S3Error, S3JobsError, ValidationError } from '../errors.js';
import { pathFor, resolveBucketConfig, validateTimeout, type BucketConfig, type Endpoint, type S3BucketOptions } from './bucket-config.js';
import { quoteEtag, sameEtag } from './etag.js';
import { resolveExpiry, type Expire } from './expiry.js';
import { checkHeaderOverrides, metadataHeaders, normalizeMetadata, planCopyHeaders, planMetadataRewrite, SYSTEM_HEADERS, type CopyMetadataOptions, type Metadata } from './metadata.js';
import { mapConcurrent, planParts, resolveMultipartOptions, MAX_SINGLE_COPY_BYTES, type MultipartCopyOptions } from './multipart-copy.js';
import { objectInfoFromHeaders, type ObjectInfo } from './object-info.js';
import { createMultipartUpload } from './multipart-upload.js';
import { S3Transport, s3ErrorFrom, type S3Request, type S3Response, type TransportOptions } from './request.js';
import { customerKey, sseHeadersFromSource, type SseCustomerKey, type SseCustomerKeyInput } from './sse.js';
import { copyConditionPrefixes, copyGuard, DOCUMENTED_S3, ownedCreateMayAnswer200, partCopyConditions, type CopyConditionSupport, type CopyGuard, type StoreProfile } from './store-profile.js';
import { presignRequest, uriEncodePath } from './signer/index.js';
import { isTimeoutDisabledInScope, runWithTimeoutDisabled } from './timeout-scope.js';
import { assertCannedAcl, assertKey, splitCopySource, type BucketCannedAcl, type CannedAcl, type StorageClass } from './validation.js';
import {
  buildAccessControlPolicy,
  buildCompleteMultipartUpload,
  buildCreateBucketConfiguration,
  buildDeleteRequest,
  parseAccessControlPolicy,
  parseCompleteMultipartUpload,
  parseCopyResult,
  parseDeleteResult,
  parseErrorDocument,
  parseListObjectsV2,
  parseListObjectVersions,
  buildTagging,
  parseTagging,
  type AccessControlPolicy,
} from './xml.js';
import { assertTags, sameTags, type Tags } from './tagging.js';
import { afterWrite, mustReadTags, taggingCount, taggingHeader, userTags, type CarriedTags, type CopyWrite, type TagsOutcome } from './tag-carry.js';

/** Options every network method takes. */
export interface CallOptions {
  /** Timeout of this call's request(s) in ms, overriding the bucket's; `null` disables it. */
  timeout?: number | null | undefined;
  /** Aborts the call (and its socket) when fired. */
  signal?: AbortSignal | undefined;
}

/**
 * The ACL a copy or rewrite gives its destination. S3 never copies ACLs: every copy writes one.
 * `'replicate-source'` reads the source object's ACL and writes it on the destination (two extra
 * requests; fails on buckets with ACLs disabled).
 */
export type CopyAcl = CannedAcl | 'replicate-source';

export interface CopyOptions extends CallOptions {
  acl: CopyAcl;
  /** Replaces the user metadata; the source's system headers (Content-Type, Cache-Control, …) are kept. */
  metadata?: Metadata | undefined;
  /** New Content-Type for the destination. */
  mimetype?: string | undefined;
  /** System headers to set on the destination (`cache-control`, `content-disposition`, …). */
  headers?: Record<string, string> | undefined;
  /**
   * Copy only if the source's ETag is still this (412 PreconditionFailed otherwise). Quoted or not.
   * Sent under the header names the store honours (`store`); see `CopyResult.guarded`.
   */
  ifMatch?: string | undefined;
  /** With `ifMatch`: refuse (S3JOBS_UNGUARDED) unless the store is known to honour it. */
  requireGuard?: boolean | undefined;
  /** SSE-C key of the source (needed to read an SSE-C source); never logged. */
  sourceSseCustomerKey?: SseCustomerKeyInput | undefined;
  /** SSE-C key to encrypt the destination with; never logged. Without it, the source's SSE-S3/KMS is kept. */
  sseCustomerKey?: SseCustomerKeyInput | undefined;
  /** Copy this version of the source. */
  sourceVersionId?: string | undefined;
  /** Storage class of the destination. Default: the source's when metadata is replaced, else S3's default. */
  storageClass?: StorageClass | undefined;
  /** A HEAD of the source the caller already made (saves one request). */
  sourceInfo?: ObjectInfo | undefined;
  multipart?: MultipartCopyOptions | undefined;
}

export interface CopyResult {
  /** Quoted, as HEAD and listings give it (`"<hex>"`, `"<hex>-<parts>"`), whatever form the store answered in. */
  etag: string;
  lastModified: Date | undefined;
  versionId: string | undefined;
  /** Whether multipart copy was used (source above the threshold). */
  multipart: boolean;
  /** Source size when it was known (HEAD made). */
  size: number | undefined;
  /**
   * Set when the copy carried a source condition (`ifMatch`, or the ETag of the HEAD it made):
   * whether the store honours it — `true`, `false` (it copies whatever the condition says) or
   * `'unverified'` (store never checked). Absent when the copy was unconditional.
   */
  guarded?: CopyGuard | undefined;
  /** What s3jobs did to keep the source's tags, where the copy alone would lose them (tag-carry.ts). Absent: nothing needed. */
  tags?: TagsOutcome | undefined;
}

export interface RewriteMetadataOptions extends CallOptions {
  /** ACL written with the rewrite (a self-copy resets it). `'replicate-source'` keeps the current one. */
  acl: CopyAcl;
  /** Metadata entries to add or change. */
  set?: Metadata | undefined;
  /** Metadata names to remove. */
  remove?: string[] | undefined;
  /** The whole new user metadata (exclusive with set/remove). */
  replace?: Metadata | undefined;
  mimetype?: string | undefined;
  /** System headers to set (`cache-control`, …); `''` removes one. */
  headers?: Record<string, string> | undefined;
  /** Rewrite only if the object's ETag is this (quoted or not). */
  ifMatch?: string | undefined;
  /** Refuse (S3JOBS_UNGUARDED, before any request) unless the store is known to honour copy conditions. */
  requireGuard?: boolean | undefined;
  /** SSE-C key of the object (read and written with it); never logged. */
  sseCustomerKey?: SseCustomerKeyInput | undefined;
  /**
   * A HEAD of the object the caller just made (saves one request). The copy is still guarded by
   * its ETag, so a HEAD gone stale makes the rewrite fail with 412, never write stale metadata.
   */
  currentInfo?: ObjectInfo | undefined;
  multipart?: MultipartCopyOptions | undefined;
}

export interface RewriteResult {
  /** False when nothing would change: then no copy request was made. */
  changed: boolean;
  /** ETag after the rewrite (the current one when unchanged), quoted. */
  etag: string;
  previousEtag: string;
  lastModified: Date | undefined;
  versionId: string | undefined;
  size: number;
  /**
   * Whether the rewrite's copy is guarded by the ETag it read (a concurrent upload is refused with
   * 412, never overwritten with stale metadata) on this store: `true`, `false` (the store ignores
   * copy conditions) or `'unverified'` (never checked). Said even when no copy was needed.
   */
  guarded: CopyGuard;
  /** What s3jobs did to keep the object's tags, where the self-copy alone would lose them (tag-carry.ts). */
  tags?: TagsOutcome | undefined;
}

export interface PutOptions extends CallOptions {
  acl?: CannedAcl | undefined;
  metadata?: Metadata | undefined;
  mimetype?: string | undefined;
  headers?: Record<string, string> | undefined;
  /** Required for a stream body: S3 refuses uploads of unknown length. */
  contentLength?: number | undefined;
  storageClass?: StorageClass | undefined;
  /** Encrypt with this SSE-C key (the store keeps none: reads need it again); never logged. */
  sseCustomerKey?: SseCustomerKeyInput | undefined;
  /** SSE-S3 (`AES256`) or SSE-KMS (`aws:kms`, with `kmsKeyId` or the account's default key). */
  serverSideEncryption?: 'AES256' | 'aws:kms' | undefined;
  kmsKeyId?: string | undefined;
}

export interface GetOptions extends CallOptions {
  /** Inclusive byte range. */
  range?: { start: number; end?: number } | undefined;
  versionId?: string | undefined;
  /** SSE-C key of the object; never logged. */
  sseCustomerKey?: SseCustomerKeyInput | undefined;
}

export interface ListOptions extends CallOptions {
  prefix?: string | undefined;
  delimiter?: string | undefined;
  startAfter?: string | undefined;
  /** Resume a listing from a saved continuation token. */
  continuationToken?: string | undefined;
  /** Keys per page, 1..1000. Default 1000. */
  pageSize?: number | undefined;
}

export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  lastModified: Date | undefined;
  storageClass: string | undefined;
}

export interface ListPage {
  objects: ListedObject[];
  commonPrefixes: string[];
  /** Token for the next page; pass it as `continuationToken` to resume from here. */
  nextContinuationToken: string | undefined;
}

export interface PutBucketOptions extends CallOptions {
  /** A full CreateBucketConfiguration document (the seed's form). Exclusive with `location`. */
  configXml?: string | undefined;
  /** LocationConstraint: a region such as `eu-west-1`, or the legacy `EU`. */
  location?: string | undefined;
  acl?: BucketCannedAcl | undefined;
}

export interface DeleteBucketOptions extends CallOptions {
  /** Delete every object, version and delete marker first. Default false (S3 refuses non-empty buckets). */
  empty?: boolean | undefined;
}

export interface UrlOptions {
  /** Seconds from now (integers below 315529200), a UNIX timestamp in seconds, a Date, … Default 300 s. */
  expire?: Expire | undefined;
  /** HTTP method the URL is for. Default GET. */
  method?: 'GET' | 'PUT' | 'HEAD' | 'DELETE' | undefined;
  versionId?: string | undefined;
  /** Override response headers (response-content-disposition, …) — signed into the URL. */
  responseHeaders?: Partial<Record<'content-type' | 'content-disposition' | 'cache-control' | 'content-language' | 'expires' | 'content-encoding', string>> | undefined;
}

/** A request to this bucket, before the bucket fills in where it goes and its timeout (`S3Bucket.send`). */
export type BucketRequest = Omit<S3Request, 'endpoint' | 'bucket' | 'path' | 'timeout' | 'signal'>;

/** The interface requests go through; ReadOnlyS3Bucket swaps in one that refuses. */
export interface Transport {
  send(req: S3Request): Promise<S3Response>;
  close(): Promise<void>;
}

export interface S3BucketInternals {
  transport?: TransportOptions;
  /** Clock for presigned URLs and signing (ms since epoch). */
  now?: () => number;
}

let urlForWarned = false;

/**
 * A client for one bucket: the simples3 "Advanced usage" feature set, over SigV4 and undici.
 *
 * ```ts
 * const bucket = new S3Bucket({ name: 'photos', accessKey, secretKey, timeout: 10_000 });
 * await bucket.copy('photos/a.jpg', 'b.jpg', { acl: 'private' });
 * const url = bucket.makeUrlAuthed('b.jpg', { expire: 3600 });
 * ```
 */
export class S3Bucket {
  readonly name: string;
  protected readonly config: BucketConfig;
  readonly #internals: S3BucketInternals;
  #timeout: number | null;
  #transport: Transport | undefined;
  readonly #store: StoreProfile;
  readonly #requireGuard: boolean;

  constructor(options: S3BucketOptions, internals: S3BucketInternals = {}) {
    this.config = resolveBucketConfig(options);
    this.name = this.config.name;
    this.#timeout = validateTimeout(options.timeout);
    this.#internals = internals;
    this.#store = options.store ?? DOCUMENTED_S3;
    if (options.requireGuard !== undefined && typeof options.requireGuard !== 'boolean') throw new ValidationError('requireGuard', 'must be true or false');
    this.#requireGuard = options.requireGuard === true;
  }

  /** What this client assumes the store does (the `store` option; `DOCUMENTED_S3` by default). */
  get store(): StoreProfile {
    return this.#store;
  }

  /** Whether a conditional copy is really conditional on this store (see `CopyGuard`). */
  get guard(): CopyGuard {
    return copyGuard(this.#store.copyConditions);
  }

  /**
   * The same for a multipart copy, whose parts (UploadPartCopy) carry the condition. Where the
   * store ignores it there, the client still HEADs the source before completing and refuses a
   * source that changed (412), which narrows the window but is no guard: `false`.
   */
  get multipartGuard(): CopyGuard {
    return copyGuard(partCopyConditions(this.#store));
  }

  /** Request timeout in milliseconds; `null` = disabled. Applies to every later request. */
  get timeout(): number | null {
    return this.#timeout;
  }

  set timeout(value: number | null) {
    this.#timeout = validateTimeout(value);
  }

  /**
   * Runs `fn` with this bucket's timeout disabled for the calls made inside it (and everything they
   * await) — and only those: concurrent calls elsewhere keep the timeout.
   */
  timeoutDisabled<T>(fn: () => T): T {
    return runWithTimeoutDisabled(this, fn);
  }

  /** `protocol://host[:port]` requests go to (errors and the worker's circuit breaker name it). */
  get endpoint(): string {
    return this.config.endpoint.origin;
  }

  /**
   * One cheap request to learn whether the store answers: a HEAD of the bucket. Resolves with the
   * HTTP status of any answer (200, 403, 404, 503, ...); rejects only when no answer came
   * (refused, reset, timed out), with the S3TransportError.
   */
  async ping(options: CallOptions = {}): Promise<number> {
    try {
      const res = await this.#send({ method: 'HEAD' }, options);
      await res.body.dump();
      return res.status;
    } catch (err) {
      const status = (err as { status?: unknown } | null)?.status;
      if (err instanceof S3Error && typeof status === 'number') return status;
      throw err;
    }
  }

  /** The public (unsigned) URL of a key. */
  url(key: string): string {
    assertKey(key);
    return this.config.endpoint.origin + uriEncodePath(pathFor(this.config.endpoint, key));
  }

  /** A SigV4 presigned URL for `key`, valid until `expire`. */
  makeUrlAuthed(key: string, options: UrlOptions = {}): string {
    assertKey(key);
    const now = this.#now();
    const expiresIn = resolveExpiry(options.expire, new Date(now));
    const query: Record<string, string> = {};
    if (options.versionId !== undefined) query.versionId = options.versionId;
    for (const [name, value] of Object.entries(options.responseHeaders ?? {})) if (value !== undefined) query[`response-${name}`] = value;
    const endpoint = this.config.endpoint;
    const signed = presignRequest({ method: options.method ?? 'GET', path: pathFor(endpoint, key), query, headers: { host: endpoint.host } }, expiresIn, {
      credentials: this.config.credentials,
      region: this.config.region,
      date: new Date(now),
    });
    return `${endpoint.origin}${signed.path}?${signed.query}`;
  }

  /** @deprecated Use `makeUrlAuthed`. Kept for the seed's users; warns once per process. */
  urlFor(key: string, options: UrlOptions = {}): string {
    if (!urlForWarned) {
      urlForWarned = true;
      process.emitWarning('S3Bucket.urlFor() is deprecated; use makeUrlAuthed()', { type: 'DeprecationWarning', code: 'S3JOBS_DEP_URLFOR' });
    }
    return this.makeUrlAuthed(key, options);
  }

  /** HEAD: size, ETag, content type, metadata. Throws S3NotFoundError when absent. */
  async head(key: string, options: CallOptions & { versionId?: string | undefined; sseCustomerKey?: SseCustomerKeyInput | undefined } = {}): Promise<ObjectInfo> {
    assertKey(key);
    const headers = customerKey(options.sseCustomerKey, 'sseCustomerKey')?.headers('x-amz-');
    const res = await this.#send({ method: 'HEAD', key, headers, query: options.versionId === undefined ? undefined : { versionId: options.versionId } }, options);
    await res.body.dump();
    return objectInfoFromHeaders(key, res.headers);
  }

  /** Alias of `head`, the seed's name. */
  info(key: string, options: CallOptions = {}): Promise<ObjectInfo> {
    return this.head(key, options);
  }

  /** HEAD that answers false instead of throwing when the object is absent. */
  async exists(key: string, options: CallOptions = {}): Promise<boolean> {
    try {
      await this.head(key, options);
      return true;
    } catch (err) {
      if (err instanceof S3Error && err.status === 404) return false;
      throw err;
    }
  }

  /**
   * GET, streaming. The returned stream must be read or destroyed. The timeout (if any) covers the
   * whole body: a download slower than it fails mid-stream with S3JOBS_TIMEOUT.
   */
  async get(key: string, options: GetOptions = {}): Promise<{ info: ObjectInfo; body: Readable }> {
    assertKey(key);
    const headers: Record<string, string> = { ...customerKey(options.sseCustomerKey, 'sseCustomerKey')?.headers('x-amz-') };
    if (options.range !== undefined) headers.range = `bytes=${options.range.start}-${options.range.end ?? ''}`;
    const req = { method: 'GET' as const, key, headers, query: options.versionId === undefined ? undefined : { versionId: options.versionId } };
    const res = await this.#send(req, options);
    const out = new PassThrough();
    res.body.on('error', (err) => out.destroy(res.bodyError(err)));
    out.on('close', () => {
      if (!res.body.destroyed) res.body.destroy();
    });
    res.body.pipe(out);
    return { info: objectInfoFromHeaders(key, res.headers), body: out };
  }

  /** GET into memory. For small objects. */
  async getBuffer(key: string, options: GetOptions = {}): Promise<Buffer> {
    const { body } = await this.get(key, options);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** PUT an object from a buffer, string or stream (streams need `contentLength`). */
  async put(key: string, data: string | Uint8Array | Readable, options: PutOptions = {}): Promise<{ etag: string; versionId: string | undefined }> {
    assertKey(key);
    const headers: Record<string, string> = { ...checkHeaderOverrides(options.headers, options.mimetype, '') };
    for (const [name, value] of Object.entries(headers)) if (value === '') delete headers[name]; // nothing to remove on a new object
    headers['content-type'] ??= 'application/octet-stream';
    if (options.acl !== undefined) {
      assertCannedAcl(options.acl, 'acl', 'object');
      headers['x-amz-acl'] = options.acl;
    }
    if (options.storageClass !== undefined) headers['x-amz-storage-class'] = options.storageClass;
    Object.assign(headers, metadataHeaders(normalizeMetadata(options.metadata ?? {}, 'metadata')), customerKey(options.sseCustomerKey, 'sseCustomerKey')?.headers('x-amz-'), serverSideEncryptionHeaders(options));
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
      if (options.contentLength === undefined || !Number.isInteger(options.contentLength) || options.contentLength < 0)
        throw new ValidationError('contentLength', 'is required (a non-negative integer) when the body is a stream: S3 refuses uploads of unknown length');
      headers['content-length'] = String(options.contentLength);
    }
    const res = await this.#send({ method: 'PUT', key, headers, body: data }, options);
    await res.body.dump();
    return { etag: quoteEtag(res.headers.etag ?? ''), versionId: res.headers['x-amz-version-id'] };
  }

  /** DELETE one object (S3 answers success for an absent key too). */
  async delete(key: string, options: CallOptions & { versionId?: string } = {}): Promise<void> {
    assertKey(key);
    const res = await this.#send({ method: 'DELETE', key, query: options.versionId === undefined ? undefined : { versionId: options.versionId } }, options);
    await res.body.dump();
  }

  /** DeleteObjects in batches of 1000. Per-key failures are returned, not thrown. */
  async deleteMany(
    keys: readonly (string | { key: string; versionId?: string | undefined })[],
    options: CallOptions = {},
  ): Promise<{ deleted: string[]; errors: { key: string; code: string; message: string }[] }> {
    const items = keys.map((k, i) => {
      const item = typeof k === 'string' ? { key: k } : k;
      assertKey(item.key, `keys[${i}]`);
      return item;
    });
    const deleted: string[] = [];
    const errors: { key: string; code: string; message: string }[] = [];
    for (let i = 0; i < items.length; i += 1000) {
      const body = buildDeleteRequest(items.slice(i, i + 1000), true);
      // DeleteObjects requires an integrity header; Content-MD5 is the one every server knows.
      const headers = { 'content-md5': createHash('md5').update(body).digest('base64'), 'content-type': 'application/xml' };
      const res = await this.#send({ method: 'POST', query: { delete: '' }, headers, body }, options);
      const text = await res.body.text();
      this.#throwIfErrorDocument(res, text, undefined);
      const result = parseDeleteResult(text);
      errors.push(...result.errors);
      const failed = new Set(result.errors.map((e) => e.key));
      // Quiet mode lists only failures: everything else in the batch was deleted.
      for (const item of items.slice(i, i + 1000)) if (!failed.has(item.key)) deleted.push(item.key);
    }
    return { deleted, errors };
  }

  /**
   * ListObjectsV2, one page at a time, as an async iterator: memory stays flat however many keys
   * the bucket holds. Keys are requested URL-encoded (so control characters survive XML) and decoded.
   */
  async *listPages(options: ListOptions = {}): AsyncGenerator<ListPage, void, undefined> {
    const pageSize = options.pageSize ?? 1000;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) throw new ValidationError('pageSize', `must be an integer from 1 to 1000; got ${String(pageSize)}`);
    let token = options.continuationToken;
    for (;;) {
      const query: Record<string, string | undefined> = {
        'list-type': '2',
        'encoding-type': 'url',
        'max-keys': String(pageSize),
        prefix: options.prefix,
        delimiter: options.delimiter,
        'start-after': token === undefined ? options.startAfter : undefined,
        'continuation-token': token,
      };
      const res = await this.#send({ method: 'GET', query }, options);
      const text = await res.body.text();
      this.#throwIfErrorDocument(res, text, undefined);
      const page = parseListObjectsV2(text);
      const next = page.isTruncated ? page.nextContinuationToken : undefined;
      yield { objects: page.contents, commonPrefixes: page.commonPrefixes, nextContinuationToken: next };
      if (next === undefined) return;
      token = next;
    }
  }

  /** Every object under `prefix`, one at a time (pages fetched as the iteration proceeds). */
  async *list(options: ListOptions = {}): AsyncGenerator<ListedObject, void, undefined> {
    for await (const page of this.listPages(options)) yield* page.objects;
  }

  /** The object's ACL (GET ?acl); `versionId` reads that version's. */
  async getAcl(key: string, options: CallOptions & { versionId?: string | undefined } = {}): Promise<AccessControlPolicy> {
    return this.#getAclAt(this.config.endpoint, this.name, key, options, options.versionId);
  }

  /** Writes an ACL: a canned one, or a full policy (as read by getAcl); `versionId` writes that version's. */
  async putAcl(key: string, acl: CannedAcl | AccessControlPolicy, options: CallOptions & { versionId?: string | undefined } = {}): Promise<void> {
    assertKey(key);
    const query = versionQuery('acl', options.versionId);
    let req: Omit<S3Request, 'endpoint' | 'bucket' | 'path' | 'timeout' | 'signal'>;
    if (typeof acl === 'string') {
      assertCannedAcl(acl, 'acl', 'object');
      req = { method: 'PUT', key, query, headers: { 'x-amz-acl': acl } };
    } else {
      req = { method: 'PUT', key, query, headers: { 'content-type': 'application/xml' }, body: buildAccessControlPolicy(acl) };
    }
    const res = await this.#send(req, options);
    await res.body.dump();
  }

  /** The object's tags (GET ?tagging), key → value; `versionId` reads that version's. */
  async getTagging(key: string, options: CallOptions & { versionId?: string | undefined } = {}): Promise<Record<string, string>> {
    assertKey(key);
    return this.#getTaggingAt(this.name, key, options, options.versionId);
  }

  /**
   * Replaces the object's whole tag set (PUT ?tagging; `versionId`: that version's). The tags are
   * checked against S3's limits first (ValidationError naming `tags.<key>`). Sent with Content-MD5,
   * which S3 requires of some stores' PutObjectTagging.
   */
  async putTagging(key: string, tags: Readonly<Record<string, string>>, options: CallOptions & { versionId?: string | undefined } = {}): Promise<{ versionId: string | undefined }> {
    assertKey(key);
    assertTags(tags);
    return this.#putTaggingUnchecked(key, tags, options);
  }

  /** PUT ?tagging of tags read from a store (which may allow what our checks would not). */
  async #putTaggingUnchecked(key: string, tags: Readonly<Tags>, options: CallOptions & { versionId?: string | undefined }): Promise<{ versionId: string | undefined }> {
    const body = buildTagging(tags);
    const md5 = createHash('md5').update(body).digest('base64');
    const res = await this.#send({ method: 'PUT', key, query: versionQuery('tagging', options.versionId), headers: { 'content-type': 'application/xml', 'content-md5': md5 }, body }, options);
    await res.body.dump();
    return { versionId: res.headers['x-amz-version-id'] };
  }

  /** Turns the bucket's versioning on (`Enabled`) or off for new writes (`Suspended`): PUT ?versioning. */
  async putBucketVersioning(status: 'Enabled' | 'Suspended', options: CallOptions = {}): Promise<void> {
    if (status !== 'Enabled' && status !== 'Suspended') throw new ValidationError('status', `must be "Enabled" or "Suspended"; got ${JSON.stringify(status)}`);
    const body = `<?xml version="1.0" encoding="UTF-8"?><VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>${status}</Status></VersioningConfiguration>`;
    const md5 = createHash('md5').update(body).digest('base64');
    const res = await this.#send({ method: 'PUT', query: { versioning: '' }, headers: { 'content-type': 'application/xml', 'content-md5': md5 }, body }, options);
    await res.body.dump();
  }

  /** Removes every tag of the object (DELETE ?tagging; `versionId`: that version's). */
  async deleteTagging(key: string, options: CallOptions & { versionId?: string | undefined } = {}): Promise<void> {
    assertKey(key);
    const res = await this.#send({ method: 'DELETE', key, query: versionQuery('tagging', options.versionId) }, options);
    await res.body.dump();
  }

  /**
   * Server-side copy of `source` ("<bucket>/<key>") to `key` in this bucket.
   *
   * - `acl` is required: S3 never copies ACLs (`'replicate-source'` reads and re-writes the source's).
   * - With `metadata`, user metadata is replaced and the source's system headers are kept (S3's
   *   REPLACE would drop them); `mimetype`/`headers` change those. Without them S3 copies all.
   * - Sources above 5 GiB (or `multipart.threshold`) are copied with parallel UploadPartCopy.
   * - A 200 answer that carries an `<Error>` is thrown as the S3Error it is.
   */
  async copy(source: string, key: string, options: CopyOptions): Promise<CopyResult> {
    const src = splitCopySource(source, 'source');
    assertKey(key);
    const acl = assertCopyAcl(options?.acl);
    const multipart = resolveMultipartOptions(options.multipart);
    const keys = { source: customerKey(options.sourceSseCustomerKey, 'sourceSseCustomerKey'), destination: customerKey(options.sseCustomerKey, 'sseCustomerKey') };
    if (options.ifMatch !== undefined) this.assertGuard(options.requireGuard, `copy of ${src.bucket}/${src.key} to ${this.name}/${key}`);
    const change = {
      metadata: options.metadata === undefined ? undefined : normalizeMetadata(options.metadata, 'metadata'),
      mimetype: options.mimetype,
      headers: options.headers,
    };
    const threshold = multipart.threshold;
    let head = options.sourceInfo;
    // A HEAD is needed to keep system headers under REPLACE, and to pick multipart below 5 GiB.
    if (head === undefined && (planCopyHeaders(change).needsSourceHead || threshold < MAX_SINGLE_COPY_BYTES))
      head = await this.#headAt(src.bucket, src.key, options, options.sourceVersionId, keys.source);
    if (head !== undefined) checkIfMatch(options.ifMatch, head, src.bucket, src.key);
    const planned = copyPlan(change, head, options.storageClass, keys.destination);

    let result: CopyResult;
    if (head !== undefined && head.size > threshold) {
      result = await this.#multipartCopy(src, key, head, planned.headers, acl, options.ifMatch, multipart, keys, options);
    } else {
      const write: CopyWrite = planned.directive === 'REPLACE' ? 'replace' : 'copy';
      const tags = await this.#tagsToCarry(write, src, taggingCount(head?.headers), options.sourceVersionId, options);
      try {
        result = await this.#singleCopy(src, key, planned.directive, planned.headers, acl, options.ifMatch ?? planned.pin, keys, options, head?.size, options.sourceVersionId);
        await this.#keepTags(write, key, tags, result, options);
      } catch (err) {
        // We skipped the HEAD, and the source turned out too big for one CopyObject request.
        if (head === undefined && err instanceof S3Error && err.code === 'InvalidRequest' && /size/i.test(err.message)) {
          head = await this.#headAt(src.bucket, src.key, options, options.sourceVersionId, keys.source);
          checkIfMatch(options.ifMatch, head, src.bucket, src.key);
          result = await this.#multipartCopy(src, key, head, copyPlan(change, head, options.storageClass, keys.destination).headers, acl, options.ifMatch, multipart, keys, options);
        } else throw err;
      }
    }
    if (acl === 'replicate-source') {
      const policy = await this.#getAclAt(this.config.endpointFor(src.bucket), src.bucket, src.key, options);
      await this.putAcl(key, policy, options);
    }
    return result;
  }

  /**
   * Changes an object's metadata without re-uploading it: HEAD, merge, then copy it onto itself with
   * REPLACE, sending back every system header and the object's encryption, guarded by the ETag read
   * (`x-amz-copy-source-if-match`, or the name the store honours) so that an object changed in
   * between is never overwritten with stale metadata (412 instead). Where the store honours no
   * condition, the result says `guarded: false`; `requireGuard` refuses to run there.
   * Makes no copy request at all when nothing would change.
   */
  async rewriteMetadata(key: string, options: RewriteMetadataOptions): Promise<RewriteResult> {
    assertKey(key);
    const acl = assertCopyAcl(options?.acl);
    const multipart = resolveMultipartOptions(options.multipart);
    this.assertGuard(options.requireGuard, `metadata rewrite of ${this.name}/${key}`);
    const sseKey = customerKey(options.sseCustomerKey, 'sseCustomerKey');
    const head = options.currentInfo ?? (await this.head(key, { timeout: options.timeout, signal: options.signal, sseCustomerKey: sseKey }));
    checkIfMatch(options.ifMatch, head, this.name, key);
    const plan = planMetadataRewrite(
      { metadata: head.metadata, headers: head.headers },
      { set: options.set, remove: options.remove, replace: options.replace, mimetype: options.mimetype, headers: options.headers },
    );
    const large = head.size > multipart.threshold;
    const guarded = large ? this.multipartGuard : this.guard;
    if (large) this.assertGuard(options.requireGuard, `metadata rewrite of ${this.name}/${key} (a multipart copy of ${head.size} bytes)`, guarded);
    const unchanged = { changed: false, etag: head.etag, previousEtag: head.etag, lastModified: head.lastModified, versionId: head.versionId, size: head.size, guarded };
    if (!plan.changed) return unchanged;

    const policy = acl === 'replicate-source' ? await this.getAcl(key, options) : undefined;
    const headers = { ...plan.headers, ...metadataHeaders(plan.metadata), ...writeSse(head, sseKey) };
    const self = { bucket: this.name, key };
    const keys = { source: sseKey, destination: sseKey };
    let copied: CopyResult;
    if (large) copied = await this.#multipartCopy(self, key, head, headers, acl, head.etag, multipart, keys, options);
    else {
      const tags = await this.#tagsToCarry('replace', self, taggingCount(head.headers), head.versionId, options);
      // No versionId: copying a pinned old version onto the key would resurrect stale content.
      copied = await this.#singleCopy(self, key, 'REPLACE', headers, acl, head.etag, keys, options, head.size, undefined);
      await this.#keepTags('replace', key, tags, copied, options);
    }
    if (policy !== undefined) await this.putAcl(key, policy, options);
    const result: RewriteResult = { changed: true, etag: copied.etag, previousEtag: head.etag, lastModified: copied.lastModified, versionId: copied.versionId, size: head.size, guarded };
    if (copied.tags !== undefined) result.tags = copied.tags;
    return result;
  }

  /**
   * Creates the bucket. `location: 'EU'` (or any region) makes the seed's Europe snippet; no
   * location means us-east-1. A bucket you already own is not an error: `{ created: false }`, and
   * its ACL is set if one was given (the seed's "changes its ACL").
   *
   * `created` is true only for a bucket that was not there. Where the store may answer 200 to
   * CreateBucket of a bucket it already has (Ceph, AWS in us-east-1, any store not profiled), the
   * bucket is HEADed first: found → not created, no PUT. Two clients creating the same new bucket
   * at the same moment on such a store may both be told `created: true` (the store gives no way to
   * tell them apart); on a store that answers 409 only the first is.
   */
  async putBucket(options: PutBucketOptions = {}): Promise<{ created: boolean }> {
    if (options.configXml !== undefined && options.location !== undefined) throw new ValidationError('location', 'give either configXml or location, not both');
    if (options.location !== undefined && (typeof options.location !== 'string' || !/^[A-Za-z0-9-]{2,64}$/.test(options.location)))
      throw new ValidationError('location', `"${String(options.location)}" is not a region name such as "eu-west-1" or "EU"`);
    if (options.configXml !== undefined && (typeof options.configXml !== 'string' || !options.configXml.includes('CreateBucketConfiguration')))
      throw new ValidationError('configXml', 'must be a CreateBucketConfiguration XML document');
    const acl = options.acl;
    if (acl !== undefined) assertCannedAcl(acl, 'acl', 'bucket');
    const body = options.configXml ?? buildCreateBucketConfiguration(options.location);
    const headers: Record<string, string> = {};
    if (acl !== undefined) headers['x-amz-acl'] = acl;
    if (body !== undefined) headers['content-type'] = 'application/xml';
    if (ownedCreateMayAnswer200(this.#store, this.config.region) && (await this.#bucketIsOurs(options))) {
      if (acl !== undefined) await this.#putBucketAcl(acl, options);
      return { created: false };
    }
    try {
      const res = await this.#send({ method: 'PUT', headers, body }, options);
      await res.body.dump();
      return { created: true };
    } catch (err) {
      if (!(err instanceof S3Error) || !(err.code === 'BucketAlreadyOwnedByYou' || (err.code === 'BucketAlreadyExists' && (await this.#canAccessBucket(options))))) throw err;
      if (acl !== undefined) await this.#putBucketAcl(acl, options);
      return { created: false };
    }
  }

  async #putBucketAcl(acl: BucketCannedAcl, options: CallOptions): Promise<void> {
    const res = await this.#send({ method: 'PUT', query: { acl: '' }, headers: { 'x-amz-acl': acl } }, options);
    await res.body.dump();
  }

  /**
   * HEAD of the bucket: true when it exists and our credentials reach it. 404 (absent) and 403
   * (someone else's, or no right to HEAD) are false: the CreateBucket that follows answers for them.
   */
  async #bucketIsOurs(options: CallOptions): Promise<boolean> {
    try {
      const res = await this.#send({ method: 'HEAD' }, options);
      await res.body.dump();
      return true;
    } catch (err) {
      if (err instanceof S3Error && (err.status === 404 || err.status === 403)) return false;
      throw err;
    }
  }

  /**
   * Throws S3JOBS_UNGUARDED (not retryable) when a guard is required (`asked`, or the bucket's
   * `requireGuard`) and this store's copy conditions are not known to hold. `what` names the work.
   */
  assertGuard(asked: boolean | undefined, what: string, guard: CopyGuard = this.guard): void {
    if (asked !== true && !this.#requireGuard) return;
    if (guard === true) return;
    throw new S3JobsError(
      ErrorCodes.Unguarded,
      `${what} refused: a guard is required (requireGuard), and this store's copy conditions are ${guard === false ? 'ignored' : 'unverified'} ` +
        `(store profile ${this.#store.source}, copyConditions: ${this.#store.copyConditions}, partCopyConditions: ${partCopyConditions(this.#store)}), so an upload made meanwhile could be overwritten with stale metadata. ` +
        'State the store (S3JOBS_PROFILE_<NAME>_PROVIDER), verify it with `s3jobs doctor`, or run without requiring a guard',
      { retryable: false },
    );
  }

  /** The source condition "ETag is still `etag`", under the header names this store honours. */
  #ifMatchHeaders(etag: string | undefined, support: CopyConditionSupport = this.#store.copyConditions): Record<string, string> {
    const headers: Record<string, string> = {};
    const quoted = etag === undefined ? '' : quoteEtag(etag);
    if (quoted === '') return headers;
    for (const prefix of copyConditionPrefixes(support)) headers[`${prefix}match`] = quoted;
    return headers;
  }

  /**
   * Some servers answer BucketAlreadyExists even to the owner. A HEAD that succeeds with our
   * credentials tells our own bucket from someone else's (which answers 403).
   */
  async #canAccessBucket(options: CallOptions): Promise<boolean> {
    try {
      const res = await this.#send({ method: 'HEAD' }, options);
      await res.body.dump();
      return true;
    } catch {
      return false;
    }
  }

  /** Deletes the bucket; with `empty: true` deletes every object version and delete marker first. */
  async deleteBucket(options: DeleteBucketOptions = {}): Promise<{ deletedObjects: number }> {
    let deletedObjects = 0;
    if (options.empty === true) deletedObjects = await this.#empty(options);
    const res = await this.#send({ method: 'DELETE' }, options);
    await res.body.dump();
    return { deletedObjects };
  }

  /** Releases pooled connections. */
  async close(): Promise<void> {
    await this.#transport?.close();
  }

  /**
   * One signed request to this bucket, with its body still open (read or dump it); non-2xx answers
   * are thrown as S3Error. For the transfer modules of this package (multipart-upload.ts,
   * stream-copy.ts), which speak operations this class has no method for; the bucket's timeout,
   * its timeout scope and the transport's inactivity guard apply as to every other call.
   */
  send(req: BucketRequest, options: CallOptions = {}): Promise<S3Response> {
    if (req.key !== undefined) assertKey(req.key);
    return this.#send(req, options);
  }

  /** The transport requests go through; subclasses may refuse the network altogether. */
  protected createTransport(options: TransportOptions | undefined): Transport {
    return new S3Transport(this.config.credentials, this.config.region, options);
  }

  #now(): number {
    return (this.#internals.now ?? Date.now)();
  }

  #resolveTimeout(options: CallOptions): number | null {
    if (options.timeout !== undefined) return validateTimeout(options.timeout, 'timeout');
    if (isTimeoutDisabledInScope(this)) return null;
    return this.#timeout;
  }

  async #send(req: Omit<S3Request, 'endpoint' | 'bucket' | 'path' | 'timeout' | 'signal'>, options: CallOptions, at?: { bucket: string; endpoint: Endpoint }): Promise<S3Response> {
    const target = at ?? { bucket: this.name, endpoint: this.config.endpoint };
    this.#transport ??= this.createTransport({ ...this.#internals.transport, now: this.#internals.now });
    return this.#transport.send({
      ...req,
      endpoint: target.endpoint,
      bucket: target.bucket,
      path: pathFor(target.endpoint, req.key),
      timeout: this.#resolveTimeout(options),
      signal: options.signal,
    });
  }

  #throwIfErrorDocument(res: S3Response, text: string, key: string | undefined): void {
    // CopyObject, UploadPartCopy and CompleteMultipartUpload may answer 200 and fail in the body.
    if (text.includes('<Error>') && parseErrorDocument(text) !== undefined) throw s3ErrorFrom(200, res.headers, text, { key }, this.name, this.#now());
  }

  /**
   * The source's tags, read before a write that may lose them (tag-carry.ts says when). Where the
   * store does not say how many tags the source has, a store that cannot answer (no tagging) is
   * taken as none, said as `unread`; where it says there are some, failing to read them fails
   * the copy rather than dropping them.
   */
  async #tagsToCarry(write: CopyWrite, src: { bucket: string; key: string }, count: number | undefined, versionId: string | undefined, options: CallOptions): Promise<CarriedTags> {
    if (!mustReadTags(write, count, this.#store)) return {};
    try {
      const tags = userTags(await this.#getTaggingAt(src.bucket, src.key, options, versionId));
      return Object.keys(tags).length === 0 ? {} : { tags };
    } catch (err) {
      if (count === undefined && err instanceof S3Error && !err.retryable) return { unread: true };
      throw err;
    }
  }

  /**
   * `#tagsToCarry` of an object of this bucket, `count` its tag count as a HEAD or GET said it
   * (`taggingCount`): for a copy this client does not make itself (`streamCopy`).
   */
  readTagsToCarry(write: CopyWrite, key: string, count: number | undefined, options: CallOptions & { versionId?: string | undefined } = {}): Promise<CarriedTags> {
    assertKey(key);
    return this.#tagsToCarry(write, { bucket: this.name, key }, count, options.versionId, options);
  }

  /**
   * After a write to `key` (its new version `versionId`), keeps the tags read by `readTagsToCarry`:
   * puts them where the store is known to lose them, checks and puts them where it was never
   * checked. Returns what was done (undefined: nothing needed).
   */
  async keepTags(write: CopyWrite, key: string, carried: CarriedTags, options: CallOptions & { versionId?: string | undefined } = {}): Promise<TagsOutcome | undefined> {
    const tags = carried.tags;
    if (tags === undefined) return carried.unread === true ? 'not-read' : undefined;
    const step = afterWrite(write, this.#store);
    if (step === 'verify' && sameTags(await this.getTagging(key, options), tags)) return write === 'replace' ? undefined : 'carried';
    if (step === 'none') return 'carried';
    await this.#putTaggingUnchecked(key, tags, options);
    return 'reapplied';
  }

  async #keepTags(write: CopyWrite, key: string, carried: CarriedTags, result: CopyResult, options: CallOptions): Promise<void> {
    const outcome = await this.keepTags(write, key, carried, { ...options, versionId: result.versionId });
    if (outcome !== undefined) result.tags = outcome;
  }

  async #getTaggingAt(bucket: string, key: string, options: CallOptions, versionId: string | undefined): Promise<Tags> {
    const res = await this.#send({ method: 'GET', key, query: versionQuery('tagging', versionId) }, options, { bucket, endpoint: this.config.endpointFor(bucket) });
    const text = await res.body.text();
    this.#throwIfErrorDocument(res, text, key);
    return parseTagging(text);
  }

  async #headAt(bucket: string, key: string, options: CallOptions, versionId: string | undefined, sseKey: SseCustomerKey | undefined): Promise<ObjectInfo> {
    const headers = sseKey?.headers('x-amz-');
    const res = await this.#send({ method: 'HEAD', key, headers, query: versionId === undefined ? undefined : { versionId } }, options, {
      bucket,
      endpoint: this.config.endpointFor(bucket),
    });
    await res.body.dump();
    return objectInfoFromHeaders(key, res.headers);
  }

  async #getAclAt(endpoint: Endpoint, bucket: string, key: string, options: CallOptions, versionId?: string): Promise<AccessControlPolicy> {
    assertKey(key);
    const res = await this.#send({ method: 'GET', key, query: versionQuery('acl', versionId) }, options, { bucket, endpoint });
    const text = await res.body.text();
    this.#throwIfErrorDocument(res, text, key);
    return parseAccessControlPolicy(text);
  }

  async #singleCopy(
    src: { bucket: string; key: string },
    key: string,
    directive: 'COPY' | 'REPLACE',
    extra: Record<string, string>,
    acl: CopyAcl,
    ifMatch: string | undefined,
    keys: CustomerKeys,
    options: CallOptions,
    size: number | undefined,
    versionId: string | undefined,
  ): Promise<CopyResult> {
    const headers: Record<string, string> = {
      ...extra,
      'x-amz-copy-source': copySourceHeader(src.bucket, src.key, versionId),
      'x-amz-metadata-directive': directive,
      'x-amz-acl': acl === 'replicate-source' ? 'private' : acl,
      ...keys.source?.headers('x-amz-copy-source-'),
      ...this.#ifMatchHeaders(ifMatch),
    };
    const res = await this.#send({ method: 'PUT', key, headers }, options);
    const text = await res.body.text();
    this.#throwIfErrorDocument(res, text, key);
    const parsed = parseCopyResult(text);
    const result: CopyResult = { etag: parsed.etag, lastModified: parsed.lastModified, versionId: res.headers['x-amz-version-id'], multipart: false, size };
    if (ifMatch !== undefined && ifMatch !== '') result.guarded = this.guard;
    return result;
  }

  async #multipartCopy(
    src: { bucket: string; key: string },
    key: string,
    head: ObjectInfo,
    headers: Record<string, string>,
    acl: CopyAcl,
    ifMatch: string | undefined,
    multipart: Required<MultipartCopyOptions>,
    keys: CustomerKeys,
    options: CallOptions & { sourceVersionId?: string | undefined },
  ): Promise<CopyResult> {
    // CreateMultipartUpload does not copy anything from the source: send the full header set
    // (its encryption included: `headers` carries it, see writeSse).
    const createHeaders: Record<string, string> = { ...headers, 'x-amz-acl': acl === 'replicate-source' ? 'private' : acl };
    delete createHeaders['x-amz-metadata-directive'];
    if (createHeaders['content-type'] === undefined && head.contentType !== undefined) createHeaders['content-type'] = head.contentType;
    if (!Object.keys(createHeaders).some((h) => h.startsWith('x-amz-meta-'))) Object.assign(createHeaders, metadataHeaders(head.metadata));
    for (const name of SYSTEM_HEADERS) if (createHeaders[name] === undefined && head.headers[name] !== undefined && name !== 'x-amz-storage-class') createHeaders[name] = head.headers[name];
    if (createHeaders['x-amz-storage-class'] === undefined && head.storageClass !== 'STANDARD') createHeaders['x-amz-storage-class'] = head.storageClass;
    if (keys.destination === undefined && createHeaders['x-amz-server-side-encryption'] === undefined) Object.assign(createHeaders, sseHeadersFromSource(head.headers));
    // Nor its tags: sent with the create, and put back after where the store ignores that.
    const tags = await this.#tagsToCarry('new-object', src, taggingCount(head.headers), options.sourceVersionId, options);
    if (tags.tags !== undefined) createHeaders['x-amz-tagging'] = taggingHeader(tags.tags);

    const uploadId = await createMultipartUpload(this, key, createHeaders, options);
    // Pin every part to the version we looked at: a source replaced mid-copy fails with 412.
    const pin = ifMatch ?? head.etag;
    // The parts' SSE-C headers: the source's key to read, the destination's to write.
    const partSse = { ...keys.source?.headers('x-amz-copy-source-'), ...keys.destination?.headers('x-amz-') };
    try {
      const parts = await mapConcurrent(planParts(head.size, multipart.partSize), multipart.concurrency, async (part) => {
        const partHeaders: Record<string, string> = {
          'x-amz-copy-source': copySourceHeader(src.bucket, src.key, options.sourceVersionId),
          'x-amz-copy-source-range': `bytes=${part.start}-${part.end}`,
          ...partSse,
          ...this.#ifMatchHeaders(pin, partCopyConditions(this.#store)),
        };
        const res = await this.#send({ method: 'PUT', key, query: { partNumber: String(part.partNumber), uploadId }, headers: partHeaders }, options);
        const text = await res.body.text();
        this.#throwIfErrorDocument(res, text, key);
        return { partNumber: part.partNumber, etag: parseCopyResult(text).etag };
      });
      if (pin !== '' && this.multipartGuard !== true) {
        // The parts may have been copied from a source replaced meanwhile (the store may ignore
        // their condition): look again before completing, and refuse a source that changed.
        const now = await this.#headAt(src.bucket, src.key, options, options.sourceVersionId, keys.source);
        if (!sameEtag(now.etag, pin))
          throw new S3Error({
            code: 'PreconditionFailed',
            message: `source ETag is now ${now.etag}, the copy was pinned to ${quoteEtag(pin)}: the source changed during the multipart copy, which was not completed`,
            status: 412,
            bucket: src.bucket,
            key: src.key,
            retryable: false,
          });
      }
      const body = buildCompleteMultipartUpload(parts);
      const done = await this.#send({ method: 'POST', key, query: { uploadId }, headers: { 'content-type': 'application/xml' }, body }, options);
      const text = await done.body.text();
      this.#throwIfErrorDocument(done, text, key);
      const completed = parseCompleteMultipartUpload(text);
      const result: CopyResult = { etag: completed.etag, lastModified: undefined, versionId: done.headers['x-amz-version-id'], multipart: true, size: head.size };
      if (pin !== '') result.guarded = this.multipartGuard;
      if (result.etag === '') {
        // Some stores (Ceph RGW) complete with an empty <ETag>: the object is there, and a HEAD has
        // its ETag. Its size must be the source's, or the copy is not what was asked for.
        const after = await this.#headAt(this.name, key, options, result.versionId, keys.destination);
        if (after.size !== head.size)
          throw new S3JobsError(
            ErrorCodes.SizeMismatch,
            `multipart copy of ${src.bucket}/${src.key} to ${this.name}/${key} completed without an ETag, and the object is ${after.size} bytes where the source is ${head.size}: ` +
              'the copy is not the source (or the object was overwritten meanwhile)',
            { retryable: false },
          );
        result.etag = after.etag;
        result.lastModified = after.lastModified;
        result.versionId ??= after.versionId;
      }
      await this.#keepTags('new-object', key, tags, result, options);
      return result;
    } catch (err) {
      // Never leave a half-copied upload billing storage; the abort itself is best effort (after
      // a completion it finds nothing to abort).
      await this.#send({ method: 'DELETE', key, query: { uploadId } }, { timeout: 30_000 })
        .then((res) => res.body.dump())
        .catch(() => undefined);
      throw err;
    }
  }

  async #empty(options: CallOptions): Promise<number> {
    let count = 0;
    // Versions and delete markers first (a versioned bucket is not empty without them) ...
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (;;) {
      let res: S3Response;
      try {
        res = await this.#send({ method: 'GET', query: { versions: '', 'encoding-type': 'url', 'key-marker': keyMarker, 'version-id-marker': versionIdMarker } }, options);
      } catch (err) {
        // A server without versioning support: the plain listing below does the whole job.
        if (err instanceof S3Error && (err.code === 'NotImplemented' || err.code === 'MethodNotAllowed')) break;
        throw err;
      }
      const text = await res.body.text();
      this.#throwIfErrorDocument(res, text, undefined);
      if (!text.includes('ListVersionsResult')) break; // a server without versioning support
      const page = parseListObjectVersions(text);
      const items = [...page.versions, ...page.deleteMarkers].map((v) => ({ key: v.key, versionId: v.versionId }));
      if (items.length > 0) count += (await this.deleteMany(items, options)).deleted.length;
      if (!page.isTruncated) break;
      keyMarker = page.nextKeyMarker;
      versionIdMarker = page.nextVersionIdMarker;
    }
    // ... then whatever a plain listing still shows (servers that list versions partially or not
    // at all). One page at a time, listed afresh after each delete: memory stays flat however large
    // the bucket, and no continuation token has to survive the deletes.
    for (;;) {
      const first = await this.listPages(options).next();
      const keys = first.done === true ? [] : first.value.objects.map((o) => o.key);
      if (keys.length === 0) break;
      const result = await this.deleteMany(keys, options);
      if (result.errors.length > 0) {
        const failed = result.errors[0]!;
        throw new S3JobsError(failed.code, `could not empty bucket ${this.name}: ${result.errors.length} deletes failed, first ${failed.key}: ${failed.code} ${failed.message}`);
      }
      count += result.deleted.length;
    }
    return count;
  }
}

/** `/<bucket>/<key>` with the key URL-encoded (S3 requires it; a raw `+` would read as a space). */
/** The query of an object sub-resource (`?acl`, `?tagging`), of one version when `versionId` is given. */
function versionQuery(subresource: string, versionId: string | undefined): Record<string, string> {
  return versionId === undefined ? { [subresource]: '' } : { [subresource]: '', versionId };
}

export function copySourceHeader(bucket: string, key: string, versionId?: string): string {
  return uriEncodePath(`/${bucket}/${key}`) + (versionId === undefined ? '' : `?versionId=${encodeURIComponent(versionId)}`);
}

/**
 * The copy's metadata headers, with the source's HEAD when one was made. Under REPLACE the source's
 * storage class is kept too (S3 would otherwise fall back to STANDARD), unless one is asked for.
 */
function copyPlan(
  change: CopyMetadataOptions,
  head: ObjectInfo | undefined,
  storageClass: StorageClass | undefined,
  destinationKey: SseCustomerKey | undefined,
): { directive: 'COPY' | 'REPLACE'; headers: Record<string, string>; pin: string | undefined } {
  const plan = planCopyHeaders(change, head);
  if (plan.needsSourceHead) throw new Error('planCopyHeaders asked for a HEAD it was given'); // unreachable: head is set when needed
  // The plan's `x-amz-copy-source-if-match` (the HEAD's ETag) is sent by #singleCopy under the
  // header names the store honours: taken out here as the copy's pin.
  const { 'x-amz-copy-source-if-match': pin, ...headers } = plan.headers;
  if (storageClass !== undefined) headers['x-amz-storage-class'] = storageClass;
  else if (plan.directive === 'REPLACE' && head !== undefined && head.storageClass !== 'STANDARD') headers['x-amz-storage-class'] = head.storageClass;
  Object.assign(headers, writeSse(head, destinationKey));
  return { directive: plan.directive, headers, pin };
}

/** The SSE-S3 / SSE-KMS headers a put asks for. */
function serverSideEncryptionHeaders(options: PutOptions): Record<string, string> {
  const mode = options.serverSideEncryption;
  if (mode === undefined) {
    if (options.kmsKeyId !== undefined) throw new ValidationError('kmsKeyId', 'needs serverSideEncryption: "aws:kms"');
    return {};
  }
  if (mode !== 'AES256' && mode !== 'aws:kms') throw new ValidationError('serverSideEncryption', `must be "AES256" (SSE-S3) or "aws:kms" (SSE-KMS); got ${JSON.stringify(mode)}`);
  if (options.sseCustomerKey !== undefined) throw new ValidationError('serverSideEncryption', 'give it or sseCustomerKey (SSE-C), not both');
  const headers: Record<string, string> = { 'x-amz-server-side-encryption': mode };
  if (options.kmsKeyId !== undefined) {
    if (mode !== 'aws:kms' || typeof options.kmsKeyId !== 'string' || options.kmsKeyId === '') throw new ValidationError('kmsKeyId', 'must be a non-empty key id or ARN, with serverSideEncryption "aws:kms"');
    headers['x-amz-server-side-encryption-aws-kms-key-id'] = options.kmsKeyId;
  }
  return headers;
}

/** SSE-C keys of a copy: the source's (to read it) and the destination's (to write it). */
interface CustomerKeys {
  source: SseCustomerKey | undefined;
  destination: SseCustomerKey | undefined;
}

/**
 * The encryption headers of a write whose source was HEADed: the destination's customer key when
 * one is given, else the source's SSE-S3 / SSE-KMS (S3 would otherwise apply the bucket default).
 */
function writeSse(head: ObjectInfo | undefined, destinationKey: SseCustomerKey | undefined): Record<string, string> {
  if (destinationKey !== undefined) return destinationKey.headers('x-amz-');
  return head === undefined ? {} : sseHeadersFromSource(head.headers);
}

function assertCopyAcl(acl: unknown): CopyAcl {
  if (acl === undefined)
    throw new ValidationError('acl', 'is required: S3 never copies ACLs, so every copy writes one; give a canned ACL such as "private", or "replicate-source" to copy the source\'s');
  if (acl === 'replicate-source') return acl;
  assertCannedAcl(acl, 'acl', 'object');
  return acl;
}

function checkIfMatch(expected: string | undefined, head: ObjectInfo, bucket: string, key: string): void {
  if (expected === undefined) return;
  if (!sameEtag(expected, head.etag))
    throw new S3Error({
      code: 'PreconditionFailed',
      message: `source ETag is ${head.etag}, expected ${quoteEtag(expected)}: the object changed since it was read`,
      status: 412,
      bucket,
      key,
      retryable: false,
    });
}


