/**
 * What the other workers of the queue know about an outage: their open breakers, read from the
 * queue's Redis record (shared/queue/breakers.ts, where each worker publishes its own) every
 * second and handed to this worker's breakers, which then open on the first store-down failure
 * instead of the policy's count (breaker-state.ts says why only that).
 *
 * Polling rather than pub/sub: one HGETALL of a small hash a second per worker costs Redis
 * nothing, works the same on Redis Cluster, and a worker that missed a message (reconnecting)
 * would otherwise never learn of a breaker opened meanwhile.
 */
import type { Logger } from '../../shared/log/logger.js';
import type { RedisConnection } from '../../shared/queue/connection.js';
import { readBreakerRecords } from '../../shared/queue/breakers.js';
import type { EndpointBreakers } from './endpoint-breakers.js';

export const PEER_READ_INTERVAL_MS = 1_000;

export interface PeerBreakersOptions {
  redis: RedisConnection;
  prefix: string;
  queue: string;
  /** This worker's name: its own records are not a peer's. */
  self: string;
  breakers: EndpointBreakers;
  logger: Logger;
  intervalMs?: number | undefined;
}

export class PeerBreakers {
  readonly #options: PeerBreakersOptions;
  #timer: NodeJS.Timeout | undefined;
  #reading: Promise<void> | undefined;

  constructor(options: PeerBreakersOptions) {
    this.#options = options;
  }

  /** Reads the records once. A failed read forgets the peers: without news, a worker goes by its own failures. */
  refresh(): Promise<void> {
    this.#reading ??= (async () => {
      const { redis, prefix, queue, self, breakers, logger } = this.#options;
      try {
        const records = await readBreakerRecords(redis, prefix, queue);
        breakers.setPeers(records.filter((r) => r.worker !== self));
      } catch (err) {
        breakers.setPeers([]);
        logger.debug({ err }, "could not read the other workers' circuit breakers; going by this worker's own failures");
      }
    })().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.refresh(), this.#options.intervalMs ?? PEER_READ_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
