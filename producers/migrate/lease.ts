/**
 * Who drives a run: one producer at a time holds the run's lease in Redis (a key with a TTL it
 * keeps renewing). Two producers on one run would list and count the same pages twice.
 *
 * A producer that was killed leaves its lease behind until the TTL runs out. Its owner string
 * names the host and process, so a producer started on the same host takes the lease over at once
 * when that process no longer exists — "run the same command again" resumes without waiting.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { S3JobsError } from '../../shared/errors.js';
import type { LeaseHolder, RunStore } from '../../shared/runs/index.js';

/** How long a lease lasts without renewal. Renewed at every page and poll, at most every quarter of it. */
export const DEFAULT_LEASE_TTL_MS = 30_000;

export const RUN_BUSY = 'S3JOBS_RUN_BUSY';

/** The run is being driven by another producer (or this one lost its lease to one). */
export class RunBusyError extends S3JobsError {
  override name = 'RunBusyError';
  readonly holder: LeaseHolder | undefined;
  constructor(message: string, holder?: LeaseHolder) {
    super(RUN_BUSY, message, { retryable: true });
    this.holder = holder;
  }
}

/** `host:pid:random`: unique per producer, and enough to tell whether it is still alive. */
export function leaseOwner(pid = process.pid, host = hostname()): string {
  return `${host}:${pid}:${randomBytes(4).toString('hex')}`;
}

/** Pure: host and pid out of an owner string (hosts may contain ':' — the pid is the second-last field). */
export function parseLeaseOwner(owner: string): { host: string; pid: number } | undefined {
  const parts = owner.split(':');
  if (parts.length < 3) return undefined;
  const pid = Number(parts[parts.length - 2]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return { host: parts.slice(0, -2).join(':'), pid };
}

/** True only when the owner ran on this host and its process is gone. */
export function isDeadLocalOwner(owner: string, host = hostname()): boolean {
  const parsed = parseLeaseOwner(owner);
  if (parsed === undefined || parsed.host !== host || parsed.pid === process.pid) return false;
  try {
    process.kill(parsed.pid, 0);
    return false;
  } catch (err) {
    // EPERM: the process exists (another user's).
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export function describeHolder(holder: LeaseHolder): string {
  const parsed = parseLeaseOwner(holder.owner);
  const who = parsed === undefined ? holder.owner : `process ${parsed.pid} on ${parsed.host}`;
  return `${who} (its lease runs out in ${Math.ceil(holder.ttlMs / 1000)} s unless renewed)`;
}

/** A held lease, renewed on demand. */
export class RunLease {
  readonly #store: RunStore;
  readonly #runId: string;
  readonly #owner: string;
  readonly #ttlMs: number;
  #renewedAt: number;

  private constructor(store: RunStore, runId: string, owner: string, ttlMs: number) {
    this.#store = store;
    this.#runId = runId;
    this.#owner = owner;
    this.#ttlMs = ttlMs;
    this.#renewedAt = Date.now();
  }

  /** Takes the run's lease, from a dead local holder too; RunBusyError when a live one has it. */
  static async acquire(store: RunStore, runId: string, options: { owner?: string | undefined; ttlMs?: number | undefined } = {}): Promise<RunLease> {
    const owner = options.owner ?? leaseOwner();
    const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    let attempt = await store.acquireLease(runId, owner, ttlMs);
    if (!attempt.acquired && isDeadLocalOwner(attempt.holder.owner)) attempt = await store.acquireLease(runId, owner, ttlMs, attempt.holder.owner);
    if (!attempt.acquired)
      throw new RunBusyError(`run ${runId} is being driven by another producer: ${describeHolder(attempt.holder)}; wait for it to finish or stop it first`, attempt.holder);
    return new RunLease(store, runId, owner, ttlMs);
  }

  /**
   * Renews the lease when a quarter of its TTL has passed. A lease that ran out (this producer
   * stalled) is taken again if nobody else took it; RunBusyError if another producer did.
   */
  async keep(now = Date.now()): Promise<void> {
    if (now - this.#renewedAt < this.#ttlMs / 4) return;
    if (!(await this.#store.renewLease(this.#runId, this.#owner, this.#ttlMs))) {
      const again = await this.#store.acquireLease(this.#runId, this.#owner, this.#ttlMs);
      if (!again.acquired)
        throw new RunBusyError(`lost the lease of run ${this.#runId}: this producer stalled for longer than ${this.#ttlMs} ms and ${describeHolder(again.holder)} took the run over; stopping`, again.holder);
    }
    this.#renewedAt = now;
  }

  async release(): Promise<void> {
    await this.#store.releaseLease(this.#runId, this.#owner);
  }
}
