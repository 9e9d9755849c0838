/**
 * Runs: named bulk operations (a metadata migration, a prefix sync) whose progress lives in Redis
 * so it survives the producer and can be queried later.
 *
 * Keys (all under the queue's prefix, so a `{…}` hash-tag prefix keeps them on the queue's Redis
 * Cluster slot — which the outcome script and the MULTIs below need: they touch several keys):
 *   <prefix>:<queue>:runs                 ZSET   run ids by creation time
 *   <prefix>:<queue>:run:<id>             HASH   spec, state, listing cursor, counters
 *   <prefix>:<queue>:run:<id>:done        BITMAP one bit per listed object (page * PAGE_SLOTS + index)
 *   <prefix>:<queue>:run:<id>:outcomes    STREAM one CSV row per finished object, drained into the report
 *
 * Exactly-once accounting: a job can finish twice in effect (a worker dies after the S3 call but
 * before BullMQ records completion, and the job is run again). The first outcome sets the
 * object's bit and is counted; later ones find the bit set and change nothing. The same bitmap
 * lets a resumed producer skip objects that already finished. 10 million objects cost 1.25 MB.
 */
import type { RedisConnection } from '../queue/connection.js';
import { ValidationError } from '../errors.js';

/** Bit slots reserved per listing page (ListObjectsV2 pages hold at most 1000 keys). */
export const PAGE_SLOTS = 1000;

export type RunState = 'listing' | 'draining' | 'completed' | 'stopped';

export interface RunCounters {
  /** Objects seen in the listing. */
  listed: number;
  /** Objects the filter kept. */
  matched: number;
  enqueued: number;
  completed: number;
  /** Completed and actually changed (rewrites that were needed). */
  changed: number;
  deadLettered: number;
}

export interface RunInfo extends RunCounters {
  id: string;
  kind: string;
  state: RunState;
  /** The command that defines the run (what to list, what to do), as given when it was created. */
  spec: unknown;
  /** Continuation token of the next page to list; undefined once the listing is done. */
  cursor: string | undefined;
  /** Index of the next page to list. */
  nextPage: number;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | undefined;
  /** Why a run was stopped (failure threshold, operator). */
  stopReason: string | undefined;
}

export interface Outcome {
  status: 'completed' | 'dead-lettered';
  bucket: string;
  key: string;
  changed?: boolean | undefined;
  errorCode?: string | undefined;
  message?: string | undefined;
  attempts: number;
  etag?: string | undefined;
}

const RUN_ID = /^[A-Za-z0-9_.-]{1,100}$/;

/** `SETBIT` first: only the first outcome of an object is counted and reported. */
const RECORD_OUTCOME = `
local old = redis.call('SETBIT', KEYS[2], ARGV[1], 1)
if old == 1 then return 0 end
if ARGV[2] == 'completed' then
  redis.call('HINCRBY', KEYS[1], 'completed', 1)
  if ARGV[3] == '1' then redis.call('HINCRBY', KEYS[1], 'changed', 1) end
else
  redis.call('HINCRBY', KEYS[1], 'deadLettered', 1)
end
redis.call('XADD', KEYS[3], '*', 'row', ARGV[4])
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[5])
return 1
`;

/** Quote a CSV field (RFC 4180) when it needs it. */
export function csvField(value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const REPORT_HEADER = 'bucket,key,status,changed,error_code,message,attempts,new_etag';

export function outcomeRow(o: Outcome): string {
  return [o.bucket, o.key, o.status, o.changed === undefined ? '' : o.changed ? 'true' : 'false', o.errorCode, o.message, o.attempts, o.etag].map(csvField).join(',');
}

export class RunStore {
  readonly #redis: RedisConnection;
  readonly #base: string;

  constructor(redis: RedisConnection, prefix: string, queue: string) {
    this.#redis = redis;
    this.#base = `${prefix}:${queue}`;
    if (typeof (redis as unknown as { s3jobsRecordOutcome?: unknown }).s3jobsRecordOutcome !== 'function') {
      redis.defineCommand('s3jobsRecordOutcome', { numberOfKeys: 3, lua: RECORD_OUTCOME });
    }
  }

  static assertRunId(id: string, field = 'runId'): void {
    if (!RUN_ID.test(id)) throw new ValidationError(field, `"${id}" is not a run id: 1-100 letters, digits, "_", "." or "-"`);
  }

  #key(id: string, part?: string): string {
    return `${this.#base}:run:${id}${part === undefined ? '' : `:${part}`}`;
  }

  /** Bit offset of an object: where it stood in the listing. */
  static slot(page: number, index: number): number {
    return page * PAGE_SLOTS + index;
  }

  /** Creates the run, or returns the existing one with that id (resuming). */
  async createOrGet(id: string, kind: string, spec: unknown, now = Date.now()): Promise<{ run: RunInfo; created: boolean }> {
    RunStore.assertRunId(id);
    const created = await this.#redis.hsetnx(this.#key(id), 'createdAt', String(now));
    if (created === 1) {
      await this.#redis
        .multi()
        .hset(this.#key(id), { kind, spec: JSON.stringify(spec), state: 'listing', nextPage: '0', listed: '0', matched: '0', enqueued: '0', completed: '0', changed: '0', deadLettered: '0', updatedAt: String(now) })
        .zadd(`${this.#base}:runs`, now, id)
        .exec();
    }
    const run = await this.get(id);
    if (run === undefined) throw new Error(`run ${id} vanished while being created`);
    return { run, created: created === 1 };
  }

  async get(id: string): Promise<RunInfo | undefined> {
    const h = await this.#redis.hgetall(this.#key(id));
    if (h.createdAt === undefined) return undefined;
    const n = (name: string) => Number(h[name] ?? 0);
    return {
      id,
      kind: h.kind ?? 'unknown',
      state: (h.state ?? 'listing') as RunState,
      spec: h.spec === undefined ? undefined : JSON.parse(h.spec),
      cursor: h.cursor === undefined || h.cursor === '' ? undefined : h.cursor,
      nextPage: n('nextPage'),
      listed: n('listed'),
      matched: n('matched'),
      enqueued: n('enqueued'),
      completed: n('completed'),
      changed: n('changed'),
      deadLettered: n('deadLettered'),
      createdAt: n('createdAt'),
      updatedAt: n('updatedAt'),
      finishedAt: h.finishedAt === undefined ? undefined : Number(h.finishedAt),
      stopReason: h.stopReason,
    };
  }

  /** Newest first. */
  async list(limit = 50): Promise<RunInfo[]> {
    const ids = await this.#redis.zrevrange(`${this.#base}:runs`, 0, limit - 1);
    const runs = await Promise.all(ids.map((id) => this.get(id)));
    return runs.filter((r): r is RunInfo => r !== undefined);
  }

  /**
   * Records that a listing page was enqueued: counters and the cursor move together (one MULTI),
   * so a resumed producer continues from the first page not recorded here.
   */
  async pageEnqueued(id: string, page: { listed: number; matched: number; enqueued: number; nextCursor: string | undefined; nextPage: number }, now = Date.now()): Promise<void> {
    await this.#redis
      .multi()
      .hincrby(this.#key(id), 'listed', page.listed)
      .hincrby(this.#key(id), 'matched', page.matched)
      .hincrby(this.#key(id), 'enqueued', page.enqueued)
      .hset(this.#key(id), { cursor: page.nextCursor ?? '', nextPage: String(page.nextPage), updatedAt: String(now), ...(page.nextCursor === undefined ? { state: 'draining' } : {}) })
      .exec();
  }

  async setState(id: string, state: RunState, reason?: string, now = Date.now()): Promise<void> {
    const fields: Record<string, string> = { state, updatedAt: String(now) };
    if (state === 'completed' || state === 'stopped') fields.finishedAt = String(now);
    if (reason !== undefined) fields.stopReason = reason;
    await this.#redis.hset(this.#key(id), fields);
  }

  /** Which of a page's slots already finished (completed or dead-lettered). */
  async finishedInPage(id: string, page: number, count: number): Promise<boolean[]> {
    const start = RunStore.slot(page, 0);
    const pipeline = this.#redis.pipeline();
    for (let i = 0; i < count; i++) pipeline.getbit(this.#key(id, 'done'), start + i);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([, bit]) => bit === 1);
  }

  /** Counts and reports an object's outcome once; returns false when it was already recorded. */
  async recordOutcome(id: string, slot: number, outcome: Outcome, now = Date.now()): Promise<boolean> {
    const record = (this.#redis as unknown as Record<string, (...args: (string | number)[]) => Promise<number>>).s3jobsRecordOutcome!;
    const result = await record.call(
      this.#redis,
      this.#key(id),
      this.#key(id, 'done'),
      this.#key(id, 'outcomes'),
      slot,
      outcome.status,
      outcome.changed === true ? '1' : '0',
      outcomeRow(outcome),
      String(now),
    );
    return result === 1;
  }

  /** Up to `count` report rows not yet written to the report, oldest first, with their stream ids. */
  async readOutcomes(id: string, count = 1000): Promise<{ ids: string[]; rows: string[] }> {
    const entries = (await this.#redis.xrange(this.#key(id, 'outcomes'), '-', '+', 'COUNT', count)) as [string, string[]][];
    return { ids: entries.map(([entryId]) => entryId), rows: entries.map(([, fields]) => fields[1] ?? '') };
  }

  /**
   * Deletes rows once they are safely in the report file, so Redis only holds what is not written
   * yet. (A crash between the write and this call repeats those rows in the report once.)
   */
  async ackOutcomes(id: string, ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.#redis.xdel(this.#key(id, 'outcomes'), ...ids);
  }

  /** Removes a run and everything it stored. */
  async delete(id: string): Promise<void> {
    await this.#redis.multi().del(this.#key(id), this.#key(id, 'done'), this.#key(id, 'outcomes')).zrem(`${this.#base}:runs`, id).exec();
  }
}
