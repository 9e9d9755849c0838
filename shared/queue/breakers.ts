/**
 * Where workers say which S3 endpoints they have stopped starting jobs for (an open circuit
 * breaker), so that `s3jobs queue` and the dashboard can show it: one Redis hash per queue,
 * `<prefix>:<queue>:s3-breakers`, a field per (worker, endpoint) holding a JSON record with an
 * expiry. A worker refreshes its records while a breaker is open and deletes them when it closes;
 * a worker that died leaves records that expire (readers skip and remove them). One key per queue
 * under the queue's prefix, so it stays on the queue's Redis Cluster slot.
 */
import type { RedisConnection } from './connection.js';

/** How long a record stays valid without a refresh (workers refresh every third of it). */
export const BREAKER_RECORD_TTL_MS = 30_000;

export interface BreakerRecord {
  endpoint: string;
  worker: string;
  state: 'open';
  /** When the breaker opened (ms since epoch). */
  openedAt: number;
  /** Probes since it opened, none answered. */
  probes: number;
  nextProbeAt: number;
  /** Jobs this worker put back without using an attempt since it opened. */
  deferredJobs: number;
  /** After this the record is stale (its worker stopped refreshing it). */
  expiresAt: number;
}

export function breakersKey(prefix: string, queue: string): string {
  return `${prefix}:${queue}:s3-breakers`;
}

const fieldOf = (worker: string, endpoint: string): string => `${worker} ${endpoint}`;

export async function writeBreakerRecord(redis: RedisConnection, prefix: string, queue: string, record: BreakerRecord): Promise<void> {
  await redis.hset(breakersKey(prefix, queue), fieldOf(record.worker, record.endpoint), JSON.stringify(record));
}

export async function deleteBreakerRecord(redis: RedisConnection, prefix: string, queue: string, worker: string, endpoint: string): Promise<void> {
  await redis.hdel(breakersKey(prefix, queue), fieldOf(worker, endpoint));
}

/** Pure: the live records of a hash's values (unreadable or expired ones dropped), oldest first. */
export function liveBreakerRecords(values: Record<string, string>, now: number): { live: BreakerRecord[]; stale: string[] } {
  const live: BreakerRecord[] = [];
  const stale: string[] = [];
  for (const [field, raw] of Object.entries(values)) {
    let record: BreakerRecord | undefined;
    try {
      const parsed = JSON.parse(raw) as Partial<BreakerRecord>;
      if (typeof parsed.endpoint === 'string' && typeof parsed.worker === 'string' && typeof parsed.openedAt === 'number' && typeof parsed.expiresAt === 'number') record = parsed as BreakerRecord;
    } catch {
      record = undefined;
    }
    if (record === undefined || record.expiresAt < now) stale.push(field);
    else live.push(record);
  }
  live.sort((a, b) => a.openedAt - b.openedAt || a.endpoint.localeCompare(b.endpoint));
  return { live, stale };
}

/** The open breakers of a queue's workers; removes records whose worker stopped refreshing them. */
export async function readBreakerRecords(redis: RedisConnection, prefix: string, queue: string, now = Date.now()): Promise<BreakerRecord[]> {
  const key = breakersKey(prefix, queue);
  const { live, stale } = liveBreakerRecords(await redis.hgetall(key), now);
  if (stale.length > 0) await redis.hdel(key, ...stale);
  return live;
}

/** Pure: one line per open breaker, for `s3jobs queue` and the dashboard. */
export function formatBreakerRecord(record: BreakerRecord, now: number): string {
  const seconds = Math.max(0, Math.round((now - record.openedAt) / 1000));
  return `S3 endpoint ${record.endpoint} unavailable for ${seconds} s (since ${new Date(record.openedAt).toISOString().replace(/\.\d{3}Z$/, 'Z')}): worker ${record.worker} holds its jobs back (${record.deferredJobs} put back without using an attempt; probe ${record.probes + 1} at ${new Date(record.nextProbeAt).toISOString().replace(/\.\d{3}Z$/, 'Z')})`;
}
