/**
 * The circuit breaker of one S3 endpoint, as a pure state machine (the clock is passed in; the
 * I/O — probes, timers, logs — is in endpoint-breakers.ts).
 *
 *   closed ──(`failures` store-down failures in a row)──► open
 *   open   ──(a probe, or any job, gets an answer)──────► closed
 *   open   ──(a probe gets no answer)───────────────────► open, next probe twice as far (≤ max)
 *
 * "Store-down" failures are those that say the store itself is away (no answer, a gateway's
 * 502/503/504: `isStoreDownFailure`); any answer — 200, 404, 412, a single 500 — shows it is
 * there and resets the count. While open, the worker starts no job for the endpoint: a job that
 * comes up is put back without using an attempt until the breaker closes.
 *
 * A failure need not wait for the count when it is confirmed: a probe sent right after it that
 * gets no answer either (endpoint-breakers.ts, `confirmDown`), or another worker's breaker for the
 * endpoint already open (its Redis record, see peers.ts). Then one store-down failure opens the
 * breaker and that job too waits without using an attempt. Each worker still opens and closes its
 * own breaker on its own failures and probes — a worker cut off from the store by its own network
 * must not stop the others.
 */

export interface BreakerPolicy {
  /** Store-down failures in a row that open the breaker. */
  failures: number;
  /** Delay of the first probe after opening (ms); each unanswered probe doubles it. */
  firstProbeMs: number;
  /** Longest delay between probes (ms). */
  maxProbeMs: number;
}

export type BreakerState =
  | { status: 'closed'; failures: number }
  | {
      status: 'open';
      /** When it opened (ms since epoch). */
      openedAt: number;
      /** Probes made since it opened, none answered. */
      probes: number;
      /** When the next probe is due. */
      nextProbeAt: number;
    };

/** What a transition did, for logs and metrics: undefined when the status stayed the same. */
export type BreakerChange = 'opened' | 'closed' | undefined;

export interface Transition {
  state: BreakerState;
  change: BreakerChange;
}

export const CLOSED: BreakerState = { status: 'closed', failures: 0 };

/** Delay before probe number `probe` (0-based) after opening: first · 2^probe, capped. */
export function probeDelay(probe: number, policy: BreakerPolicy): number {
  return Math.min(policy.maxProbeMs, policy.firstProbeMs * 2 ** Math.max(0, Math.floor(probe)));
}

/**
 * A request to the endpoint failed in a way that says the store is away. `confirmed`: something
 * else says so too — another worker's breaker for the endpoint is open, or a probe sent right
 * after the failure got no answer — so this one failure opens the breaker.
 */
export function onStoreDown(state: BreakerState, now: number, policy: BreakerPolicy, confirmed = false): Transition {
  if (state.status === 'open') return { state, change: undefined };
  const failures = state.failures + 1;
  if (failures < policy.failures && !confirmed) return { state: { status: 'closed', failures }, change: undefined };
  return { state: { status: 'open', openedAt: now, probes: 0, nextProbeAt: now + probeDelay(0, policy) }, change: 'opened' };
}

/** The endpoint answered (a job's request, whatever the status, or a probe). */
export function onAnswer(state: BreakerState): Transition {
  if (state.status === 'open') return { state: CLOSED, change: 'closed' };
  return { state: state.failures === 0 ? state : CLOSED, change: undefined };
}

/** A probe got no answer: the next one goes twice as far out. */
export function onProbeFailed(state: BreakerState, now: number, policy: BreakerPolicy): Transition {
  if (state.status === 'closed') return { state, change: undefined };
  const probes = state.probes + 1;
  return { state: { ...state, probes, nextProbeAt: now + probeDelay(probes, policy) }, change: undefined };
}

/** Whether jobs for the endpoint may start. */
export function admits(state: BreakerState): boolean {
  return state.status === 'closed';
}
