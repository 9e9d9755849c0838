/**
 * Exit codes of `s3jobs`, and the one function that maps an error to one of them.
 * Scripts rely on these: never renumber, only add.
 */
import { ErrorCodes, isS3SideError, S3JobsError, ValidationError } from '../../shared/errors.js';

export const ExitCode = {
  /** Done (with `--wait`: the job completed). */
  Ok: 0,
  /** The job failed (`--wait`: dead-lettered), or an unexpected runtime error. */
  Failed: 1,
  /** Bad usage or invalid input/config: the message names the flag or setting. */
  Usage: 2,
  /** Redis could not be reached (or refused us). */
  RedisUnavailable: 3,
  /** The job id is unknown (status, dlq show/retry/purge). */
  NotFound: 4,
  /**
   * The S3 store could not be reached (refused, reset, timed out) or answered 5xx — past the
   * command's retry budget where it has one. The message names the endpoint and the request.
   */
  S3Unavailable: 5,
  /** `--wait` gave up before the job finished (it keeps running). Same as timeout(1). */
  WaitTimeout: 124,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit-code table as `--help` prints it. */
export const EXIT_CODES_HELP = `Exit codes:
  0    ok (with --wait: the job completed)
  1    the job failed (with --wait: it was dead-lettered), or a runtime error
  2    usage or validation error: the message names the flag or field, what was wrong, what is allowed
  3    Redis unreachable (check --redis-url / REDIS_URL)
  4    not found: no job with that id (status, dlq show/retry/purge)
  5    S3 unreachable: the message names the endpoint and the request (a migration is resumable)
  124  --wait timed out (the job is still queued or running)`;

export const USAGE_ERROR = 'S3JOBS_USAGE';
export const REDIS_UNAVAILABLE = 'S3JOBS_REDIS_UNAVAILABLE';

/**
 * A command line that cannot be run: unknown flag, missing argument, bad value. `field` is the
 * flag or argument (`--priority`, `<src>`), and the message says what is allowed.
 */
export class UsageError extends ValidationError {
  override name = 'UsageError';
  constructor(flag: string, message: string) {
    super(flag, message, USAGE_ERROR);
  }
}

/** Redis did not answer (connection refused, timeout, DNS) or refused the connection (auth). */
export class RedisUnavailableError extends S3JobsError {
  override name = 'RedisUnavailableError';
  constructor(message: string, cause?: unknown) {
    super(REDIS_UNAVAILABLE, message, { retryable: true, cause });
  }
}

/** Socket-level failures ioredis reports once it has given up (a cluster client's too). */
const REDIS_DOWN =
  /Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|NOAUTH|WRONGPASS|connect ETIMEDOUT|None of startup nodes is available|Failed to refresh slots cache|CLUSTERDOWN/;

/** Socket error codes (the CLI's only sockets are its Redis connections). */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/**
 * True for ioredis errors meaning "Redis is not there (any more)". Never for an S3 error: the
 * store's sockets fail with the same ECONNREFUSED, and a user sent to check Redis is sent the
 * wrong way.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error) || isS3SideError(err)) return false;
  const code = (err as { code?: unknown }).code;
  if (code === REDIS_UNAVAILABLE || (typeof code === 'string' && SOCKET_CODES.has(code))) return true;
  return err.name === 'MaxRetriesPerRequestError' || err.name === 'ClusterAllFailedError' || REDIS_DOWN.test(err.message);
}

/** True for S3 errors meaning "the store is not there": no answer (refused, reset, timeout), a 5xx, or a spent retry budget. */
export function isS3Unavailable(err: unknown): boolean {
  if (!isS3SideError(err)) return false;
  const e = err as { code?: unknown; status?: unknown };
  if (e.code === ErrorCodes.S3Unavailable || e.code === ErrorCodes.Network || e.code === ErrorCodes.Timeout) return true;
  return typeof e.status === 'number' && e.status >= 500;
}

/** Maps any error a command throws to its exit code. Checks names and codes, not only classes. */
export function exitCodeFor(err: unknown): ExitCodeValue {
  if (err instanceof ValidationError || (err instanceof Error && ['ValidationError', 'UsageError', 'InvalidDeadLetterPayloadError'].includes(err.name))) return ExitCode.Usage;
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  if (code === ErrorCodes.InvalidConfig || code === ErrorCodes.InvalidInput || code === ErrorCodes.InvalidJob || code === USAGE_ERROR) return ExitCode.Usage;
  if (code === 'S3JOBS_JOB_NOT_FOUND') return ExitCode.NotFound;
  // Before the timeout below: an S3 request's S3JOBS_TIMEOUT is the store's, not --wait's.
  if (isS3Unavailable(err)) return ExitCode.S3Unavailable;
  if (code === ErrorCodes.Timeout) return ExitCode.WaitTimeout;
  if (isRedisUnavailable(err)) return ExitCode.RedisUnavailable;
  return ExitCode.Failed;
}
