/**
 * What `s3jobs doctor` found at each endpoint the worker's connection profiles name, read from
 * Redis (`<prefix>:store:<endpoint>`) at start and every few minutes after.
 *
 * Why periodically and not per bucket: findings are per endpoint (every bucket of a store behaves
 * alike), a doctor run is rare, and one GET per endpoint every 5 minutes costs nothing, while a
 * read per new bucket would put a Redis round trip in front of jobs and still miss a doctor run
 * made after the bucket's client was built. When findings change, `onChange` is told so the
 * clients built on the old ones are replaced (BucketCache.retire).
 */
import type { ConnectionProfile } from '../shared/config/config.js';
import { parseStoredFindings, storeEndpointId, storeFindingsKey } from '../shared/s3/store-findings.js';
import type { StoreProfile } from '../shared/s3/store-profile.js';

/** Redis as far as this needs it: GET. */
export interface FindingsReader {
  get(key: string): Promise<string | null>;
}

export interface FindingsLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** Refresh interval: a doctor run reaches running workers within this. */
export const FINDINGS_REFRESH_MS = 5 * 60_000;

/** The endpoints of the connection profiles (each once), as findings are keyed. */
export function profileEndpoints(profiles: Record<string, Pick<ConnectionProfile, 'endpoint' | 'region'>>): string[] {
  const out = new Set<string>();
  for (const profile of Object.values(profiles)) {
    try {
      out.add(storeEndpointId(profile));
    } catch {
      // An endpoint that is not a URL was refused by the config parser already; nothing to look up.
    }
  }
  return [...out];
}

export class StoreFindingsCache {
  readonly #redis: FindingsReader;
  readonly #prefix: string;
  readonly #endpoints: readonly string[];
  readonly #log: FindingsLog | undefined;
  readonly #onChange: (() => void) | undefined;
  #findings = new Map<string, Partial<StoreProfile>>();
  /** Serialized findings per endpoint, to tell a change from a re-read of the same record. */
  #raw = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { redis: FindingsReader; prefix: string; endpoints: readonly string[]; log?: FindingsLog | undefined; onChange?: (() => void) | undefined }) {
    this.#redis = options.redis;
    this.#prefix = options.prefix;
    this.#endpoints = options.endpoints;
    this.#log = options.log;
    this.#onChange = options.onChange;
  }

  /** The findings for `endpoint` (a `storeEndpointId`), or undefined when doctor never ran there. */
  get(endpoint: string): Partial<StoreProfile> | undefined {
    return this.#findings.get(endpoint);
  }

  /** The findings for a connection profile's endpoint. */
  forProfile(profile: Pick<ConnectionProfile, 'endpoint' | 'region'>): Partial<StoreProfile> | undefined {
    try {
      return this.get(storeEndpointId(profile));
    } catch {
      return undefined;
    }
  }

  /**
   * Reads every endpoint's record. A damaged record is logged and ignored (the preset stays in
   * force); Redis failing leaves the previous findings in place and rejects (the caller logs it).
   */
  async refresh(): Promise<void> {
    const texts = await Promise.all(this.#endpoints.map((endpoint) => this.#redis.get(storeFindingsKey(this.#prefix, endpoint))));
    const next = new Map<string, Partial<StoreProfile>>();
    const raw = new Map<string, string>();
    this.#endpoints.forEach((endpoint, i) => {
      const text = texts[i];
      if (text === null || text === undefined) return;
      const key = storeFindingsKey(this.#prefix, endpoint);
      try {
        next.set(endpoint, parseStoredFindings(text, key).findings);
        raw.set(endpoint, text);
      } catch (err) {
        this.#log?.warn({ err, key }, 'ignoring store findings that cannot be read; the profile preset applies');
      }
    });
    const changed = raw.size !== this.#raw.size || [...raw].some(([endpoint, text]) => this.#raw.get(endpoint) !== text);
    this.#findings = next;
    this.#raw = raw;
    if (changed) {
      for (const [endpoint, findings] of next) this.#log?.info({ endpoint, findings }, 'store findings (s3jobs doctor) in use');
      this.#onChange?.();
    }
  }

  /** Refreshes every `intervalMs` (failures logged, the last findings kept) until `stop()`. */
  start(intervalMs: number = FINDINGS_REFRESH_MS): void {
    if (this.#timer !== undefined || this.#endpoints.length === 0) return;
    this.#timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.#log?.warn({ err }, 'could not re-read store findings; keeping the last ones'));
    }, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
