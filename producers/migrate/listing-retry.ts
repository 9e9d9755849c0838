/**
 * The migration listing's ride through an S3 outage: how long it waits between tries, and the
 * error it ends with once the retry budget is spent. Pure; the driver (migration.ts) does the I/O.
 */
import { ErrorCodes, S3JobsError } from '../../shared/errors.js';

/** Default retry budget of the listing: 5 minutes from the first failure of an outage. */
export const DEFAULT_S3_RETRY_BUDGET_MS = 5 * 60_000;

/** First retry after ~0.5 s, doubling, capped at 5 s: the listing notices a returned store quickly. */
export const LISTING_RETRY_BASE_MS = 500;
export const LISTING_RETRY_MAX_MS = 5_000;

/** An outage of the listing's store as the driver tracks it. */
export interface ListingOutage {
  /** When the first failing request of this outage failed (ms since epoch). */
  since: number;
  /** Retries made so far. */
  retries: number;
  /** The latest failure's message (names the endpoint and the request). */
  lastError: string;
}

/**
 * Delay before retry `retry` (1-based): half fixed, half jittered, of min(max, base · 2^(retry-1)).
 * The fixed half keeps a returned store from being hit by every retry at once less than it keeps
 * the retries regular; one producer per run makes a thundering herd impossible anyway.
 */
export function listingRetryDelay(retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(LISTING_RETRY_MAX_MS, LISTING_RETRY_BASE_MS * 2 ** (Math.max(1, Math.floor(retry)) - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** `2026-12-03T22:51:03Z` (no milliseconds: people read it). */
export function outageTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The listing's S3 store stayed away for the whole retry budget. The run is kept as it stands:
 * resuming it (same command, or `--resume <runId>`) continues from the same listing position.
 */
export class S3UnavailableError extends S3JobsError {
  override name = 'S3UnavailableError';
  readonly runId: string;
  readonly endpoint: string | undefined;
  readonly since: number;
  constructor(details: { runId: string; bucket: string; endpoint: string | undefined; outage: ListingOutage; budgetMs: number; cause: unknown }) {
    const { outage } = details;
    super(
      ErrorCodes.S3Unavailable,
      `S3 unavailable at ${details.endpoint ?? 'the endpoint'} (listing bucket ${details.bucket}) since ${outageTime(outage.since)}: gave up after ${outage.retries} retr${outage.retries === 1 ? 'y' : 'ies'} over ${Math.round((Date.now() - outage.since) / 1000)} s (retry budget ${Math.round(details.budgetMs / 1000)} s); last error: ${outage.lastError}. Run ${details.runId} is kept and resumable: jobs already enqueued stay queued`,
      { retryable: true, cause: details.cause },
    );
    this.runId = details.runId;
    this.endpoint = details.endpoint;
    this.since = outage.since;
  }
}
