/**
 * S3Bucket clients for the jobs of one worker, one per (profile, bucket), built on first use from
 * the worker's connection profiles and kept for the worker's life (each holds a keep-alive pool).
 */
import { connectionOf, resolveProfile, type ConnectionProfile, type S3JobsConfig } from '../shared/config/config.js';
import { S3Bucket } from '../shared/s3/bucket.js';
import type { Dispatcher } from 'undici';
import type { RequestObservation } from '../shared/s3/request.js';
import type { StoreProfile } from '../shared/s3/store-profile.js';
import { resolveStoreProfile } from './store-profile.js';

/** Where doctor's findings for a profile's endpoint come from (workers/store-findings.ts). */
export interface FindingsSource {
  forProfile(profile: Pick<ConnectionProfile, 'endpoint' | 'region'>): Partial<StoreProfile> | undefined;
}

export class BucketCache {
  readonly #config: S3JobsConfig;
  readonly #buckets = new Map<string, S3Bucket>();
  readonly #onRequest: ((info: RequestObservation) => void) | undefined;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #findings: FindingsSource | undefined;
  /** Clients built before the findings changed: still used by the jobs holding them, closed with the cache. */
  readonly #retired: S3Bucket[] = [];

  /**
   * `onRequest` is told about every S3 request of every client (metrics); `dispatcher`, when given,
   * carries every client's requests (see TransportOptions.dispatcher); `findings`, what
   * `s3jobs doctor` found at a profile's endpoint, laid over the profile's preset.
   */
  constructor(config: S3JobsConfig, onRequest?: (info: RequestObservation) => void, dispatcher?: Dispatcher, findings?: FindingsSource) {
    this.#config = config;
    this.#onRequest = onRequest;
    this.#dispatcher = dispatcher;
    this.#findings = findings;
  }

  /**
   * The client for `bucket` under connection profile `profile`. Throws S3JOBS_UNKNOWN_PROFILE for a
   * profile this worker does not have. Requests carry no timeout of their own beyond the profile's
   * `requestTimeoutMs` (the job deadline bounds them), but always the inactivity guard
   * `worker.stallTimeoutMs`, which stays on for large transfers.
   */
  bucketFor(profile: string, bucket: string): S3Bucket {
    const key = `${profile}\u0000${bucket}`;
    let client = this.#buckets.get(key);
    if (client === undefined) {
      const p = resolveProfile(this.#config, profile);
      client = new S3Bucket(
        {
          ...connectionOf(p, bucket),
          timeout: p.requestTimeoutMs ?? null,
          // What the store does where stores differ (condition header names, CreateBucket answers).
          store: resolveStoreProfile(p, this.#findings?.forProfile(p)),
          requireGuard: p.requireGuard,
        },
        { transport: { progressTimeout: this.#config.worker.stallTimeoutMs, onRequest: this.#onRequest, dispatcher: this.#dispatcher } },
      );
      this.#buckets.set(key, client);
    }
    return client;
  }

  /**
   * Whether two profiles reach the same endpoint as the same identity, so that a server-side copy
   * between them works. Compares in memory only; nothing of the credentials leaves this method.
   */
  sameStore(a: string, b: string): boolean {
    if (a === b) return true;
    const p = resolveProfile(this.#config, a);
    const q = resolveProfile(this.#config, b);
    const endpoint = (e: string | undefined): string => (e === undefined ? '' : new URL(e).origin);
    return (
      endpoint(p.endpoint) === endpoint(q.endpoint) &&
      p.region === q.region &&
      p.accessKey === q.accessKey &&
      p.secretKey === q.secretKey &&
      p.sessionToken === q.sessionToken &&
      (p.forcePathStyle ?? false) === (q.forcePathStyle ?? false)
    );
  }

  /**
   * The store findings changed: clients built from here on get the new StoreProfile. The current
   * ones are set aside, not closed (a running job may still use its client), and closed with the
   * cache; findings change only when someone runs `s3jobs doctor`, so few ever pile up.
   */
  retire(): void {
    this.#retired.push(...this.#buckets.values());
    this.#buckets.clear();
  }

  /** Closes every client's connection pool (in-flight requests finish first). */
  async close(): Promise<void> {
    const all = [...this.#buckets.values(), ...this.#retired.splice(0)];
    this.#buckets.clear();
    await Promise.allSettled(all.map((b) => b.close()));
  }
}
