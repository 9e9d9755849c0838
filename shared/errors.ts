/**
 * Every error s3jobs raises is an `S3JobsError` with a stable `code` and a `retryable` flag.
 *
 * Callers may check errors with `instanceof` or — when two copies of this module are loaded (a
 * bundled CLI next to a library, say) — by `name` / `code`, which survive crossing module copies.
 * Messages never contain secrets: no secret keys, no signatures, no presigned query strings.
 */

/** Codes raised by s3jobs itself (S3's own error codes, such as `NoSuchKey`, are passed through). */
export const ErrorCodes = {
  /** The request (or job) ran past its timeout and was aborted. Retryable. */
  Timeout: 'S3JOBS_TIMEOUT',
  /** The caller's AbortSignal fired. Retryable (the work was not done). */
  Aborted: 'S3JOBS_ABORTED',
  /** Connection refused / reset / DNS failure / socket closed mid-body. Retryable. */
  Network: 'S3JOBS_NETWORK',
  /** The server answered something that is not valid S3 (truncated XML, wrong length). Retryable. */
  BadResponse: 'S3JOBS_BAD_RESPONSE',
  /** A caller-supplied value is invalid (see `field`). Never retryable. */
  InvalidInput: 'S3JOBS_INVALID_INPUT',
  /** A network method was called on a ReadOnlyS3Bucket. Never retryable. */
  ReadOnly: 'S3JOBS_READ_ONLY',
  /** A job payload failed validation. Never retryable: it is dead-lettered at once. */
  InvalidJob: 'S3JOBS_INVALID_JOB',
  /** A job names a connection profile the worker does not know. Never retryable. */
  UnknownProfile: 'S3JOBS_UNKNOWN_PROFILE',
  /** Configuration (env, file, flags) is invalid. */
  InvalidConfig: 'S3JOBS_INVALID_CONFIG',
  /**
   * The S3 store stayed unreachable (refused, reset, timeouts, 5xx) for longer than a command's
   * retry budget. Retryable: the work can be resumed once the store is back.
   */
  S3Unavailable: 'S3JOBS_S3_UNAVAILABLE',
  /**
   * A guarded write (metadata rewrite, copy with ifMatch) was asked to refuse running unguarded
   * (`requireGuard`), and the store's copy conditions are not known to be honoured. Never retryable.
   */
  Unguarded: 'S3JOBS_UNGUARDED',
  /** A finished copy's size is not its source's (checked where the store gave no ETag). Never retryable. */
  SizeMismatch: 'S3JOBS_SIZE_MISMATCH',
} as const;

export type S3JobsErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface S3JobsErrorOptions {
  retryable?: boolean;
  cause?: unknown;
}

export class S3JobsError extends Error {
  override name = 'S3JobsError';
  /** Stable machine-readable code: one of `ErrorCodes`, or S3's `<Code>` for S3 errors. */
  readonly code: string;
  /** Whether trying the same operation again may succeed. */
  readonly retryable: boolean;

  constructor(code: string, message: string, options: S3JobsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** Bad input from a caller: names the field, says what was wrong and what is allowed. */
export class ValidationError extends S3JobsError {
  override name = 'ValidationError';
  /** Dotted path of the offending field, e.g. `expire` or `metadata.x-note`. */
  readonly field: string;

  constructor(field: string, message: string, code: string = ErrorCodes.InvalidInput) {
    super(code, `${field}: ${message}`, { retryable: false });
    this.field = field;
  }
}

export interface S3ErrorDetails {
  /** S3's `<Code>`, or a code derived from the status for body-less answers (HEAD). */
  code: string;
  message: string;
  status: number;
  requestId?: string;
  bucket?: string;
  key?: string;
  retryable: boolean;
  /** Delay the server asked for (Retry-After), in milliseconds. */
  retryAfterMs?: number;
  cause?: unknown;
}

/** An error answer from S3 (including a 200 whose body is an `<Error>` document). */
export class S3Error extends S3JobsError {
  override name = 'S3Error';
  readonly status: number;
  readonly requestId: string | undefined;
  readonly bucket: string | undefined;
  readonly key: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(details: S3ErrorDetails) {
    const where = details.key !== undefined ? ` (${details.bucket ?? ''}/${details.key})` : details.bucket !== undefined ? ` (${details.bucket})` : '';
    super(details.code, `${details.code}: ${details.message || 'no message'}${where} [HTTP ${details.status}]`, {
      retryable: details.retryable,
      cause: details.cause,
    });
    this.status = details.status;
    this.requestId = details.requestId;
    this.bucket = details.bucket;
    this.key = details.key;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/**
 * A request to S3 that got no answer: connection refused or reset, a timeout, an abort. Its code
 * is `S3JOBS_NETWORK`, `S3JOBS_TIMEOUT` or `S3JOBS_ABORTED`; it names the S3 endpoint and the
 * request (method and path, query parameter names only) so that a socket error of the store is
 * never taken for one of Redis (both say ECONNREFUSED).
 */
export class S3TransportError extends S3JobsError {
  override name = 'S3TransportError';
  /** `protocol://host[:port]` of the S3 endpoint, when known. */
  readonly endpoint: string | undefined;
  /** `GET /bucket?list-type` — what was being asked. */
  readonly request: string;
  constructor(code: string, message: string, where: { endpoint: string | undefined; request: string }, options: S3JobsErrorOptions = {}) {
    super(code, message, options);
    this.endpoint = where.endpoint;
    this.request = where.request;
  }
}

/** True for an error of the S3 side (an answer or a failed request), even from another module copy. */
export function isS3SideError(value: unknown): boolean {
  if (!(value instanceof Error)) return false;
  return value instanceof S3TransportError || value instanceof S3Error || value.name === 'S3TransportError' || value.name === 'S3Error' || value.name === 'S3NotFoundError' || (value as { code?: unknown }).code === ErrorCodes.S3Unavailable;
}

/** The object, bucket or upload does not exist (`NoSuchKey`, `NoSuchBucket`, 404 on HEAD, …). */
export class S3NotFoundError extends S3Error {
  override name = 'S3NotFoundError';
}

/** True for any s3jobs error, even one from another copy of this module. */
export function isS3JobsError(value: unknown): value is S3JobsError {
  return (
    value instanceof S3JobsError ||
    (value instanceof Error && typeof (value as { code?: unknown }).code === 'string' && typeof (value as { retryable?: unknown }).retryable === 'boolean')
  );
}
