/**
 * The worker's circuit breakers, one per S3 endpoint: the I/O around the pure state machine
 * (breaker-state.ts) — the probe timer, the probe itself, logs, and telling the worker when a
 * breaker opens or closes (metrics, the Redis record `s3jobs queue` reads, promoting the jobs it
 * put back). See process-job.ts for how jobs are held back.
 */
import type { Logger } from '../../shared/log/logger.js';
import { admits, CLOSED, onAnswer, onProbeFailed, onStoreDown, type BreakerPolicy, type BreakerState } from './breaker-state.js';

/** Probes answer or fail within this long (a frozen store never answers at all). */
export const PROBE_TIMEOUT_MS = 5_000;

/** One cheap request to the endpoint: resolves with the HTTP status of any answer, rejects on none. */
export type Probe = (signal: AbortSignal) => Promise<number>;

export interface OpenBreaker {
  endpoint: string;
  openedAt: number;
  probes: number;
  nextProbeAt: number;
  deferredJobs: number;
}

export interface EndpointBreakersOptions {
  policy: BreakerPolicy;
  logger: Logger;
  now?: (() => number) | undefined;
  random?: (() => number) | undefined;
  probeTimeoutMs?: number | undefined;
  /** A breaker opened. */
  onOpen?: ((breaker: OpenBreaker) => void) | undefined;
  /** A breaker closed after `openMs`; `jobIds` are the jobs it put back (to bring forward). */
  onClose?: ((endpoint: string, openMs: number, jobIds: string[]) => void) | undefined;
  /** A job was put back without using an attempt. */
  onDefer?: ((endpoint: string) => void) | undefined;
  /**
   * A store-down failure was counted and the breaker is still closed: the moment to look again at
   * the other workers' breakers (`setPeers`), since one of them may have opened for this outage.
   */
  onCounted?: ((endpoint: string) => void) | undefined;
}

/** A gateway's 502/503/504 to a probe still says the store is away; any other answer says it is there. */
function storeAnswered(status: number): boolean {
  return status !== 502 && status !== 503 && status !== 504;
}

const storeDownFailures = (n: number): string => `${n} store-down failure${n === 1 ? '' : 's'}`;

export class EndpointBreakers {
  readonly #options: EndpointBreakersOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #states = new Map<string, BreakerState>();
  readonly #probes = new Map<string, Probe>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #deferred = new Map<string, Set<string>>();
  /** Endpoint → the other workers whose breaker for it is open (their Redis records). */
  #peers = new Map<string, string[]>();
  /** Endpoint → the probe confirming a failure (confirmDown), while one is out. */
  readonly #confirming = new Map<string, Promise<boolean>>();
  /** Endpoint → the message of the last store-down failure there. */
  readonly #lastFailure = new Map<string, string>();
  #closed = false;

  constructor(options: EndpointBreakersOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  #state(endpoint: string): BreakerState {
    return this.#states.get(endpoint) ?? CLOSED;
  }

  /** Whether a job for `endpoint` may start now. */
  admits(endpoint: string): boolean {
    return admits(this.#state(endpoint));
  }

  /**
   * When a job put back now should come up again: just after the next probe (plus up to a second
   * of jitter, so a queue of them does not come back in one burst). Jobs still delayed when the
   * breaker closes are brought forward (`onClose`).
   */
  retryAt(endpoint: string): number {
    const state = this.#state(endpoint);
    const base = state.status === 'open' ? Math.max(state.nextProbeAt, this.#now()) : this.#now();
    return base + 250 + Math.floor(this.#random() * 1_000);
  }

  /**
   * The other workers' open breakers, as last read from Redis (the whole set: an endpoint not named
   * has none open elsewhere). A store-down failure at such an endpoint opens this worker's breaker
   * at once instead of after `policy.failures` of them.
   */
  setPeers(open: readonly { endpoint: string; worker: string }[]): void {
    const peers = new Map<string, string[]>();
    for (const { endpoint, worker } of open) peers.set(endpoint, [...(peers.get(endpoint) ?? []), worker]);
    this.#peers = peers;
  }

  /**
   * A job's request to `endpoint` failed in a way that says the store is away; `failure` is its
   * message (it names the request), for the line that says the breaker opened. Returns whether
   * the breaker is open now.
   */
  storeDown(endpoint: string, probe: Probe, failure?: string): boolean {
    this.#probes.set(endpoint, probe);
    if (failure !== undefined) this.#lastFailure.set(endpoint, failure);
    const before = this.#state(endpoint);
    const peers = this.#peers.get(endpoint) ?? [];
    const { state, change } = onStoreDown(before, this.#now(), this.#options.policy, peers.length > 0);
    this.#states.set(endpoint, state);
    if (change === 'opened' && state.status === 'open') {
      const failures = before.status === 'closed' ? before.failures + 1 : 1;
      const why =
        failures < this.#options.policy.failures
          ? `${storeDownFailures(failures)} here while ${peers.length === 1 ? `worker ${peers[0]!} has its breaker` : `${peers.length} other workers have theirs`} open`
          : `${storeDownFailures(failures)} in a row`;
      this.#opened(endpoint, state, { failures, peers }, why);
    } else if (state.status === 'closed') this.#options.onCounted?.(endpoint);
    return state.status === 'open';
  }

  /**
   * After a store-down failure that left the breaker closed: asks the endpoint at once whether it
   * is there (one probe, shared by every job that fails meanwhile). No answer either: the breaker
   * opens now (true), and the failed job can wait like the others instead of spending an attempt
   * on the outage. An answer: the store is there and the failure was the job's own (a slow
   * object, one reset connection) — false, and the count starts again.
   */
  confirmDown(endpoint: string, probe: Probe): Promise<boolean> {
    if (this.#state(endpoint).status === 'open') return Promise.resolve(true);
    if (this.#closed) return Promise.resolve(false);
    let pending = this.#confirming.get(endpoint);
    if (pending === undefined) {
      pending = (async () => {
        const { status } = await this.#ask(probe);
        const before = this.#state(endpoint);
        if (before.status === 'open') return true;
        if (status !== undefined && storeAnswered(status)) {
          this.answered(endpoint);
          return false;
        }
        // The failure that asked was counted by storeDown already: confirmed, it opens the breaker.
        const { state } = onStoreDown(before, this.#now(), this.#options.policy, true);
        this.#states.set(endpoint, state);
        // (The count may have been reset meanwhile by another job's answer: still one failure, the one that asked.)
        const failures = Math.max(1, before.failures);
        if (state.status === 'open') this.#opened(endpoint, state, { failures }, `${storeDownFailures(failures)}, and a probe right after ${status === undefined ? 'got no answer' : `got HTTP ${status}`}`);
        return true;
      })().finally(() => this.#confirming.delete(endpoint));
      this.#confirming.set(endpoint, pending);
    }
    return pending;
  }

  #opened(endpoint: string, state: Extract<BreakerState, { status: 'open' }>, fields: { failures: number; peers?: readonly string[] }, why: string): void {
    const lastFailure = this.#lastFailure.get(endpoint);
    this.#options.logger.warn(
      { endpoint, failures: fields.failures, peers: fields.peers !== undefined && fields.peers.length > 0 ? fields.peers : undefined, lastFailure, nextProbeMs: state.nextProbeAt - state.openedAt },
      `S3 endpoint ${endpoint} is unavailable (${why}): circuit breaker open — its jobs wait without using attempts until a probe gets an answer${lastFailure === undefined ? '' : `. Last failure: ${lastFailure}`}`,
    );
    this.#options.onOpen?.(this.#describe(endpoint, state));
    this.#schedule(endpoint);
  }

  /** One probe: the HTTP status of its answer, or none (refused, reset, timed out). */
  async #ask(probe: Probe): Promise<{ status?: number; error?: unknown }> {
    try {
      return { status: await probe(AbortSignal.timeout(this.#options.probeTimeoutMs ?? PROBE_TIMEOUT_MS)) };
    } catch (error) {
      return { error };
    }
  }

  /** A job's request to `endpoint` got an answer (any status): the store is there. */
  answered(endpoint: string): void {
    const before = this.#states.get(endpoint);
    if (before === undefined) return;
    this.#apply(endpoint, onAnswer(before).state, 'a job got an answer');
  }

  /** A job for `endpoint` was put back without using an attempt. */
  deferred(endpoint: string, jobId: string): void {
    let set = this.#deferred.get(endpoint);
    if (set === undefined) this.#deferred.set(endpoint, (set = new Set()));
    set.add(jobId);
    this.#options.onDefer?.(endpoint);
  }

  /** The open breakers, for the Redis record and /metrics. */
  open(): OpenBreaker[] {
    const out: OpenBreaker[] = [];
    for (const [endpoint, state] of this.#states) if (state.status === 'open') out.push(this.#describe(endpoint, state));
    return out;
  }

  /** Stops probing (the worker is closing). */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #describe(endpoint: string, state: Extract<BreakerState, { status: 'open' }>): OpenBreaker {
    return { endpoint, openedAt: state.openedAt, probes: state.probes, nextProbeAt: state.nextProbeAt, deferredJobs: this.#deferred.get(endpoint)?.size ?? 0 };
  }

  #apply(endpoint: string, next: BreakerState, why: string): void {
    const before = this.#state(endpoint);
    this.#states.set(endpoint, next);
    if (before.status === 'open' && next.status === 'closed') {
      clearTimeout(this.#timers.get(endpoint));
      this.#timers.delete(endpoint);
      const openMs = this.#now() - before.openedAt;
      const jobIds = [...(this.#deferred.get(endpoint) ?? [])];
      this.#deferred.delete(endpoint);
      this.#options.logger.info({ endpoint, openMs, probes: before.probes, deferredJobs: jobIds.length }, `S3 endpoint ${endpoint} answers again (${why}): circuit breaker closed after ${Math.round(openMs / 1000)} s; its jobs resume`);
      this.#options.onClose?.(endpoint, openMs, jobIds);
    }
  }

  #schedule(endpoint: string): void {
    const state = this.#state(endpoint);
    if (this.#closed || state.status !== 'open') return;
    clearTimeout(this.#timers.get(endpoint));
    const timer = setTimeout(() => void this.#probe(endpoint), Math.max(0, state.nextProbeAt - this.#now()));
    timer.unref();
    this.#timers.set(endpoint, timer);
  }

  async #probe(endpoint: string): Promise<void> {
    const probe = this.#probes.get(endpoint);
    if (probe === undefined || this.#closed || this.#state(endpoint).status !== 'open') return;
    const { status, error } = await this.#ask(probe);
    const state = this.#state(endpoint);
    if (state.status !== 'open') return;
    if (status !== undefined && storeAnswered(status)) {
      this.#apply(endpoint, onAnswer(state).state, `a probe got HTTP ${status}`);
      return;
    }
    const next = onProbeFailed(state, this.#now(), this.#options.policy).state;
    this.#states.set(endpoint, next);
    this.#options.logger.info(
      { endpoint, probes: next.status === 'open' ? next.probes : undefined, status, err: error, nextProbeMs: next.status === 'open' ? next.nextProbeAt - this.#now() : undefined },
      `S3 endpoint ${endpoint} still unavailable: probe ${status === undefined ? 'got no answer' : `got HTTP ${status}`}`,
    );
    this.#schedule(endpoint);
  }
}
