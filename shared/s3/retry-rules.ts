/**
 * Which S3 answers are worth trying again, as data. The core marks every error with `retryable`
 * from these tables; the worker's retry policy reads the same tables, so there is one truth.
 */

/** S3 error codes that are transient whatever the status. */
export const RETRYABLE_S3_CODES: ReadonlySet<string> = new Set([
  'InternalError',
  'ServiceUnavailable',
  'SlowDown',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'OperationAborted',
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'InternalFailure',
]);

/** S3 error codes that will fail the same way every time: retrying only wastes requests. */
export const PERMANENT_S3_CODES: ReadonlySet<string> = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'NoSuchKey',
  'NoSuchBucket',
  'NoSuchUpload',
  'NoSuchVersion',
  'NotFound',
  'InvalidRequest',
  'InvalidArgument',
  'InvalidBucketName',
  'InvalidObjectState',
  'InvalidLocationConstraint',
  'IllegalLocationConstraintException',
  'PreconditionFailed',
  'MethodNotAllowed',
  'NotImplemented',
  'EntityTooLarge',
  'EntityTooSmall',
  'KeyTooLongError',
  'MetadataTooLarge',
  'AccessControlListNotSupported',
  'BucketAlreadyExists',
  'BucketAlreadyOwnedByYou',
  'BucketNotEmpty',
  'MalformedXML',
]);

/** Codes that mean the bucket, object, version or upload does not exist. */
export const NOT_FOUND_S3_CODES: ReadonlySet<string> = new Set(['NoSuchKey', 'NoSuchBucket', 'NoSuchVersion', 'NoSuchUpload']);

/**
 * Is an S3 error answer transient? Known codes decide first; otherwise 5xx and 429 are transient
 * and every other status is not.
 */
export function isRetryableS3Answer(code: string, status: number): boolean {
  if (RETRYABLE_S3_CODES.has(code)) return true;
  if (PERMANENT_S3_CODES.has(code)) return false;
  return status >= 500 || status === 429;
}

/** Codes derived from the status when the answer has no body (HEAD) or no `<Code>`. */
export function codeForStatus(status: number): string {
  switch (status) {
    case 301:
      return 'PermanentRedirect';
    case 304:
      return 'NotModified';
    case 400:
      return 'BadRequest';
    case 403:
      return 'AccessDenied';
    case 404:
      return 'NotFound';
    case 405:
      return 'MethodNotAllowed';
    case 409:
      return 'Conflict';
    case 412:
      return 'PreconditionFailed';
    case 429:
      return 'TooManyRequests';
    case 500:
      return 'InternalError';
    case 501:
      return 'NotImplemented';
    case 503:
      return 'ServiceUnavailable';
    default:
      return `HttpStatus${status}`;
  }
}

/**
 * Parses `Retry-After` (delta seconds or an HTTP date) into milliseconds, relative to `now`.
 * Returns undefined when absent or unreadable; never negative.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** s3jobs codes of requests that got no usable answer (refused, reset, timed out, garbled). */
export const TRANSIENT_REQUEST_CODES: ReadonlySet<string> = new Set(['S3JOBS_NETWORK', 'S3JOBS_TIMEOUT', 'S3JOBS_BAD_RESPONSE']);

/**
 * Is a failed S3 call worth trying again later? The same tables as the worker's classification:
 * no answer (TRANSIENT_REQUEST_CODES), or an answer `isRetryableS3Answer` calls transient (5xx,
 * SlowDown, 429). Only for errors of the S3 side (they carry a `code`, and a `status` when S3
 * answered); anything else — a Redis error, a bug — is not.
 */
export function isTransientS3Failure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const { code, status } = err as { code?: unknown; status?: unknown };
  if (typeof code !== 'string') return false;
  if (err.name === 'S3TransportError') return TRANSIENT_REQUEST_CODES.has(code);
  if (code === 'S3JOBS_BAD_RESPONSE') return true;
  if (typeof status === 'number' && (err.name === 'S3Error' || err.name === 'S3NotFoundError')) return isRetryableS3Answer(code, status);
  return false;
}

/** Throttling answers: the store is up and asks us to slow down (not an outage). */
export const THROTTLING_S3_CODES: ReadonlySet<string> = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequests', 'RequestLimitExceeded', 'BandwidthLimitExceeded']);

/**
 * Does a failed call say the store itself is away, rather than this request having failed? No
 * answer at all (refused, reset, timed out), or a gateway's 502/503/504 that is not throttling.
 * The worker's circuit breaker counts these; any other answer (404, 412, 500 of one request)
 * shows the store is there.
 */
export function isStoreDownFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const { code, status } = err as { code?: unknown; status?: unknown };
  if (code === 'S3JOBS_NETWORK' || code === 'S3JOBS_TIMEOUT') return true;
  return typeof status === 'number' && (status === 502 || status === 503 || status === 504) && typeof code === 'string' && !THROTTLING_S3_CODES.has(code);
}
