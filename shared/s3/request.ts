import type { Readable } from 'node:stream';
import { Agent, errors as undiciErrors, type Dispatcher } from 'undici';
import { ErrorCodes, S3Error, S3JobsError, S3TransportError } from '../errors.js';
import type { Endpoint } from './bucket-config.js';
import type { Credentials } from './signer/index.js';
import { codeForStatus, parseRetryAfter } from './retry-rules.js';
import { EMPTY_SHA256, sha256Hex, signRequest, UNSIGNED_PAYLOAD, type QueryParams } from './signer/index.js';
import { errorFromDocument, parseErrorDocument } from './xml.js';

/** One S3 request, described before signing. */
export interface S3Request {
  endpoint: Endpoint;
  /** Bucket name, for error fields. */
  bucket: string;
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  /** Raw (decoded) path, from `pathFor`. */
  path: string;
  query?: QueryParams;
  /** Lower-case header names. */
  headers?: Record<string, string>;
  /** A buffer/string is hashed and signed; a stream is sent as UNSIGNED-PAYLOAD (needs content-length). */
  body?: string | Uint8Array | Readable;
  /** Overall deadline for this request in ms (connect + headers + body); null = none. */
  timeout: number | null;
  signal?: AbortSignal | undefined;
  /** For error messages and error fields. */
  key?: string | undefined;
}

export interface S3Response {
  status: number;
  headers: Record<string, string>;
  body: Dispatcher.ResponseData['body'];
  /** Maps an error raised while reading `body` (timeout, reset) into an S3JobsError. */
  bodyError(err: unknown): S3JobsError;
}

export interface TransportOptions {
  /**
   * Inactivity guard that stays on even when the timeout is disabled: a response whose headers do
   * not arrive, or whose body makes no progress, for this long fails. Default 300 000 ms.
   */
  progressTimeout?: number;
  /** Keep-alive connections per origin. Default 128. */
  connections?: number;
  /**
   * Send through this undici dispatcher instead of an own keep-alive pool (an outbound proxy's
   * `ProxyAgent`, a shared `Agent`). It is the caller's: `close()` leaves it open, and
   * `connections`/`progressTimeout` are its own settings then (the per-request timeouts still apply).
   */
  dispatcher?: Dispatcher | undefined;
  /** Injected clock (ms since epoch), for deterministic tests. */
  now?: () => number;
  /**
   * Told about every request once it has an answer or has failed (metrics). `status` is undefined
   * when no answer came (timeout, reset); `code` is the error code then or for an S3 error.
   */
  onRequest?: ((info: RequestObservation) => void) | undefined;
}

export interface RequestObservation {
  method: S3Request['method'];
  status: number | undefined;
  code: string | undefined;
  durationMs: number;
}

/**
 * The one place where s3jobs talks HTTP: signs, sends through a keep-alive undici pool, enforces
 * the timeout with an AbortSignal that really destroys the socket, and turns every failure into an
 * `S3JobsError` with a stable code. Error bodies are always consumed so the connection is reused.
 */
export class S3Transport {
  readonly #credentials: Credentials;
  readonly #region: string;
  readonly #agent: Dispatcher;
  readonly #ownsAgent: boolean;
  readonly #now: () => number;
  readonly #observe: ((info: RequestObservation) => void) | undefined;
  /** Server clock minus ours, learned from a RequestTimeTooSkewed answer. */
  #clockOffsetMs = 0;

  constructor(credentials: Credentials, region: string, options: TransportOptions = {}) {
    this.#credentials = credentials;
    this.#region = region;
    const progress = options.progressTimeout ?? 300_000;
    this.#ownsAgent = options.dispatcher === undefined;
    this.#agent = options.dispatcher ?? new Agent({ connections: options.connections ?? 128, headersTimeout: progress, bodyTimeout: progress, keepAliveTimeout: 4_000 });
    this.#now = options.now ?? Date.now;
    this.#observe = options.onRequest;
  }

  async close(): Promise<void> {
    if (this.#ownsAgent) await this.#agent.close();
  }

  /**
   * Sends the request and returns the response with its body still open (the caller must consume
   * or dump it). Non-2xx answers are read, parsed and thrown as S3Error.
   */
  async send(req: S3Request): Promise<S3Response> {
    if (this.#observe === undefined) return this.#send(req);
    const started = performance.now();
    try {
      const res = await this.#send(req);
      this.#observe({ method: req.method, status: res.status, code: undefined, durationMs: performance.now() - started });
      return res;
    } catch (err) {
      const e = err as { status?: unknown; code?: unknown };
      this.#observe({ method: req.method, status: typeof e.status === 'number' ? e.status : undefined, code: typeof e.code === 'string' ? e.code : undefined, durationMs: performance.now() - started });
      throw err;
    }
  }

  async #send(req: S3Request): Promise<S3Response> {
    const first = await this.#sendOnce(req);
    if (first instanceof S3Error && first.code === 'RequestTimeTooSkewed' && isReplayable(req.body)) {
      // Our clock is off: the answer's Date header told us by how much; one retry with it corrected.
      return this.#throwIfError(await this.#sendOnce(req));
    }
    return this.#throwIfError(first);
  }

  #throwIfError(result: S3Response | S3Error): S3Response {
    if (result instanceof S3Error) throw result;
    return result;
  }

  async #sendOnce(req: S3Request): Promise<S3Response | S3Error> {
    const timeoutSignal = req.timeout === null ? undefined : AbortSignal.timeout(req.timeout);
    const signals = [timeoutSignal, req.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    if (signal?.aborted === true) throw abortError(req, timeoutSignal, undefined);

    const headers: Record<string, string> = { ...req.headers, host: req.endpoint.host };
    let payloadHash = EMPTY_SHA256;
    let body: string | Uint8Array | Readable | undefined = req.body;
    if (typeof body === 'string' || body instanceof Uint8Array) {
      payloadHash = sha256Hex(body);
      headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
    } else if (body !== undefined) {
      if (headers['content-length'] === undefined) throw new S3JobsError(ErrorCodes.InvalidInput, 'a streamed body needs a content-length (S3 refuses chunked uploads)');
      payloadHash = UNSIGNED_PAYLOAD;
    } else if (req.method === 'PUT' || req.method === 'POST') {
      headers['content-length'] = '0';
    }
    const signed = signRequest({ method: req.method, path: req.path, query: req.query, headers }, payloadHash, {
      credentials: this.#credentials,
      region: this.#region,
      date: new Date(this.#now() + this.#clockOffsetMs),
    });

    let response: Dispatcher.ResponseData;
    try {
      // `reset: false` on HEAD: undici otherwise sends `connection: close` with every HEAD (a guard
      // against servers that wrongly send a HEAD body), so each HEAD paid a new TCP (and, on AWS,
      // TLS) connection. S3 and S3-compatible servers send no HEAD body; the socket is reused.
      response = await this.#agent.request({
        origin: req.endpoint.origin,
        path: signed.path + (signed.query === '' ? '' : `?${signed.query}`),
        method: req.method,
        headers: signed.headers,
        body,
        signal,
        ...(req.method === 'HEAD' ? { reset: false } : {}),
      });
    } catch (err) {
      throw transportError(err, req, timeoutSignal);
    }
    const responseHeaders = flattenHeaders(response.headers);
    if (response.statusCode < 300) {
      const bodyError = (err: unknown): S3JobsError => transportError(err, req, timeoutSignal);
      return { status: response.statusCode, headers: responseHeaders, body: wrapBody(response.body, bodyError), bodyError };
    }
    // An error answer: read it whole (small), so the connection goes back to the pool.
    let text = '';
    try {
      text = req.method === 'HEAD' ? (await response.body.dump(), '') : await response.body.text();
    } catch (err) {
      throw transportError(err, req, timeoutSignal);
    }
    const error = s3ErrorFrom(response.statusCode, responseHeaders, text, req, req.bucket, this.#now());
    if (error.code === 'RequestTimeTooSkewed') {
      const serverDate = Date.parse(responseHeaders.date ?? '');
      if (!Number.isNaN(serverDate)) this.#clockOffsetMs = serverDate - this.#now();
    }
    return error;
  }
}

function isReplayable(body: S3Request['body']): boolean {
  return body === undefined || typeof body === 'string' || body instanceof Uint8Array;
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** Builds the S3Error for a non-2xx answer (or a 2xx whose body is an `<Error>` document). */
export function s3ErrorFrom(status: number, headers: Record<string, string>, body: string, req: Pick<S3Request, 'key'>, bucket: string, now: number): S3Error {
  let doc: ReturnType<typeof parseErrorDocument>;
  try {
    doc = body.trim() === '' ? undefined : parseErrorDocument(body);
  } catch {
    doc = undefined;
  }
  // HEAD answers have no body, and some servers send an empty <Message>: fall back to the status.
  return errorFromDocument(
    {
      code: doc?.code || codeForStatus(status),
      message: doc?.message || (body.trim() === '' ? emptyBodyMessage(status) : doc === undefined ? 'unreadable error body' : 'no message'),
      requestId: doc?.requestId ?? headers['x-amz-request-id'],
      extra: doc?.extra ?? {},
    },
    { status, bucket, key: req.key, retryAfterMs: parseRetryAfter(headers['retry-after'], now) },
  );
}

/** HEAD answers (and some proxies) carry no error document: say what the status alone tells. */
function emptyBodyMessage(status: number): string {
  if (status === 404) return 'not found (the answer had no body to say whether the key or the bucket is missing)';
  if (status === 403) return 'access denied (the answer had no body with details)';
  return `HTTP ${status} with no body`;
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH']);

/** What `transportError` needs of a request; `endpoint`/`path`/`query` name it in the message. */
export type FailedRequest = Pick<S3Request, 'method' | 'key' | 'timeout'> & Partial<Pick<S3Request, 'endpoint' | 'path' | 'query'>>;

/**
 * `S3 http://host:port: GET /bucket/key?uploadId` — the side (S3), the endpoint and the request.
 * Only the query's parameter names: values may be long (continuation tokens) and say nothing more.
 */
function describeRequest(req: FailedRequest): { endpoint: string | undefined; request: string; what: string } {
  const names = Object.keys(req.query ?? {});
  const target = req.path !== undefined ? `${req.path === '' ? '/' : req.path}${names.length === 0 ? '' : `?${names.join('&')}`}` : req.key;
  const request = `${req.method}${target === undefined ? '' : ` ${target}`}`;
  const endpoint = req.endpoint?.origin;
  return { endpoint, request, what: `S3 ${endpoint ?? 'endpoint'}: ${request}` };
}

function abortError(req: FailedRequest, timeoutSignal: AbortSignal | undefined, cause: unknown): S3JobsError {
  const { what, ...where } = describeRequest(req);
  if (timeoutSignal?.aborted === true) return new S3TransportError(ErrorCodes.Timeout, `${what} timed out after ${req.timeout} ms and was aborted`, where, { retryable: true, cause });
  return new S3TransportError(ErrorCodes.Aborted, `${what} was aborted by the caller`, where, { retryable: true, cause });
}

/** Maps anything undici or a stream throws into an S3JobsError with a stable code. */
export function transportError(err: unknown, req: FailedRequest & { signal?: AbortSignal | undefined }, timeoutSignal: AbortSignal | undefined): S3JobsError {
  if (err instanceof S3JobsError && !(err instanceof S3TransportError) && req.signal?.aborted === true && req.signal.reason === err) {
    // The caller aborted with an s3jobs error of its own (a job deadline): keep it as the cause
    // and say which request it stopped, so a hung store is named (S3JOBS_ABORTED, as any abort).
    const { what, ...where } = describeRequest(req);
    return new S3TransportError(ErrorCodes.Aborted, `${what} was aborted: ${err.message}`, where, { retryable: true, cause: err });
  }
  if (err instanceof S3JobsError) return err;
  const e = err as { name?: string; code?: string; message?: string };
  if (e?.name === 'AbortError' || e?.code === 'ABORT_ERR' || err instanceof undiciErrors.RequestAbortedError || timeoutSignal?.aborted === true) return abortError(req, timeoutSignal, err);
  const { what, ...where } = describeRequest(req);
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError)
    return new S3TransportError(ErrorCodes.Timeout, `${what}: no progress from the server (${e.code})`, where, { retryable: true, cause: err });
  if (e?.code !== undefined && NETWORK_CODES.has(e.code)) return new S3TransportError(ErrorCodes.Network, `${what}: network error ${e.code}`, where, { retryable: true, cause: err });
  return new S3TransportError(ErrorCodes.Network, `${what}: ${e?.message ?? String(err)}`, where, { retryable: true, cause: err });
}

/** Re-throws body stream errors (timeout mid-body, reset) as S3JobsErrors. */
function wrapBody(body: Dispatcher.ResponseData['body'], bodyError: (err: unknown) => S3JobsError): Dispatcher.ResponseData['body'] {
  const originalText = body.text.bind(body);
  body.text = async () => {
    try {
      return await originalText();
    } catch (err) {
      throw bodyError(err);
    }
  };
  return body;
}
