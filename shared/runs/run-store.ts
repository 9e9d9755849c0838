/**
 * Runs: named bulk operations (a metadata migration, a prefix sync) whose progress lives in Redis
 * so it survives the producer and can be queried later.
 *
 * Keys (all under the queue's prefix, so a `{…}` hash-tag prefix keeps them on the queue's Redis
 * Cluster slot — which the outcome script and the MULTIs below need: they touch several keys):
 *   <prefix>:<queue>:runs                 ZSET   run ids by creation time
 *   <prefix>:<queue>:run:<id>             HASH   spec, state, listing cursor, counters
 *   <prefix>:<queue>:run:<id>:done        BITMAP one bit per listed object (page * PAGE_SLOTS + index)
 *   <prefix>:<queue>:run:<id>:dead        BITMAP the objects counted as dead-lettered (a later completion revises them)
 *   <prefix>:<queue>:run:<id>:outcomes    STREAM one CSV row per finished object, drained into the report
 *   <prefix>:<queue>:run:<id>:page        STRING the listing page being enqueued (JSON), until recorded
 *   <prefix>:<queue>:run:<id>:lease       STRING who drives the run now (one producer at a time), with a TTL
 *
 * Exactly-once accounting: a job can finish twice in effect (a worker dies after the S3 call but
 * before BullMQ records completion, and the job is run again). The first outcome sets the
 * object's bit and is counted; later ones find the bit set and change nothing. The same bitmap
 * lets a resumed producer skip objects that already finished. 10 million objects cost 1.25 MB.
 *
 * Every outcome comes from a job that left the queue only after its outcome was recorded (workers
 * record completion before BullMQ does, and a dead letter before the original is removed), so
 * "no job of the run in the queue" implies "every outcome counted".
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
  /** Objects given a job (a resumed page counts its objects once, however often it was enqueued). */
  enqueued: number;
  completed: number;
  /** Completed and actually changed (rewrites that were needed). */
  changed: number;
  deadLettered: number;
  /** Jobs taken out of the queue before they ran, because the run was stopped. */
  cancelled: number;
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
  /** Absolute path of the CSV report the run's outcomes are drained into (where its producer ran). */
  report: string | undefined;
  /** Objects per job the run enqueues with (kept so that a resume without it goes on the same way). */
  batchSize?: number | undefined;
  /** The window and rate the run was started (or last resumed) with, kept for the same reason. */
  window?: number | undefined;
  ratePerSecond?: number | undefined;
  /**
   * `s3://bucket/prefix/` the run's completion report is uploaded to when it ends (--report-to),
   * kept with the run so that whoever sees it end — its producer, or `s3jobs run report` — uploads it.
   */
  reportTo?: string | undefined;
}

/**
 * The listing page being enqueued: saved before its first job is added and cleared in the same
 * MULTI that records the page, so a producer that dies in between replays exactly these objects
 * (the listing may have changed since; their slots must not).
 */
export interface PendingPage {
  page: number;
  /** Objects the page listed (matched or not). */
  listed: number;
  /** Continuation token of the page after it; undefined when it was the last. */
  nextCursor: string | undefined;
  /**
   * The matched objects: their index in the page and their key, and for a manifest's row its
   * version id, or why the row cannot be used (it is then reported failed, given no job).
   */
  items: [index: number, key: string, extra?: { versionId?: string | undefined; problem?: string | undefined }][];
  /** Objects per job the page was enqueued with (absent: one job per object). */
  batchSize?: number | undefined;
}

/** Who holds a run's lease, and for how much longer (ms). */
export interface LeaseHolder {
  owner: string;
  ttlMs: number;
}

export interface Outcome {
  /** `failed`: never attempted (a bad manifest row); counted with the dead-lettered, nothing in the DLQ. */
  status: 'completed' | 'dead-lettered' | 'cancelled' | 'failed';
  bucket: string;
  key: string;
  changed?: boolean | undefined;
  errorCode?: string | undefined;
  message?: string | undefined;
  attempts: number;
  etag?: string | undefined;
  /** The version the task targeted (a manifest row's version id); empty for the current version. */
  versionId?: string | undefined;
}

const RUN_ID = /^[A-Za-z0-9_.-]{1,100}$/;

/**
 * Lua: a `draining` run (everything enqueued) whose every object has an outcome is `completed`.
 * KEYS[1] is the run hash, ARGV[1] the time.
 */
const SETTLE = `
local h = redis.call('HMGET', KEYS[1], 'state', 'enqueued', 'completed', 'deadLettered', 'cancelled')
if h[1] == 'draining' and (tonumber(h[3]) or 0) + (tonumber(h[4]) or 0) + (tonumber(h[5]) or 0) >= (tonumber(h[2]) or 0) then
  redis.call('HSET', KEYS[1], 'state', 'completed', 'finishedAt', ARGV[1], 'updatedAt', ARGV[1])
end
`;

/** Settles a run that has just moved to `draining` (its last outcomes may all be in already). */
const SETTLE_RUN = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
${SETTLE}
return 1
`;

/**
 * Records objects' outcomes (one, or a batch job's): ARGV[1] is the time, then four arguments per
 * object (slot, status, changed, row). `SETBIT` first: only the first outcome of an object is
 * counted and reported — with one exception, a dead-lettered object that later completes (an
 * operator retried it from the dead-letter queue): the `dead` bitmap remembers which objects are
 * counted as dead-lettered, so such a completion moves the object from deadLettered to completed
 * once (clearing its bit) and adds its new report row marked `revises` (the report writer replaces
 * the object's dead-lettered row with it). A run that no longer exists (deleted while its jobs ran)
 * records nothing: counters alone would recreate its hash as an orphan no listing shows and
 * nothing deletes. A draining run whose last object this was becomes completed here, so it does
 * not wait for someone to look at it. Returns how many were recorded (first time, or revised).
 */
const RECORD_OUTCOMES = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local completed, changed, cancelled, dead, recorded = 0, 0, 0, 0, 0
for i = 2, #ARGV, 4 do
  local status = ARGV[i + 1]
  if redis.call('SETBIT', KEYS[2], ARGV[i], 1) == 0 then
    recorded = recorded + 1
    if status == 'completed' then
      completed = completed + 1
      if ARGV[i + 2] == '1' then changed = changed + 1 end
    elseif status == 'cancelled' then
      cancelled = cancelled + 1
    else
      dead = dead + 1
      redis.call('SETBIT', KEYS[4], ARGV[i], 1)
    end
    redis.call('XADD', KEYS[3], '*', 'row', ARGV[i + 3])
  elseif status == 'completed' and redis.call('GETBIT', KEYS[4], ARGV[i]) == 1 then
    redis.call('SETBIT', KEYS[4], ARGV[i], 0)
    recorded = recorded + 1
    completed = completed + 1
    if ARGV[i + 2] == '1' then changed = changed + 1 end
    dead = dead - 1
    redis.call('XADD', KEYS[3], '*', 'row', ARGV[i + 3], 'revises', '1')
  end
end
if recorded == 0 then return 0 end
if completed > 0 then redis.call('HINCRBY', KEYS[1], 'completed', completed) end
if changed > 0 then redis.call('HINCRBY', KEYS[1], 'changed', changed) end
if cancelled > 0 then redis.call('HINCRBY', KEYS[1], 'cancelled', cancelled) end
if dead ~= 0 then redis.call('HINCRBY', KEYS[1], 'deadLettered', dead) end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[1])
${SETTLE}
return recorded
`;

/** The run hash is written whole or not at all: a half-created run (createdAt only) never resumes. */
const CREATE_RUN = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'createdAt', ARGV[1], 'updatedAt', ARGV[1], 'kind', ARGV[2], 'spec', ARGV[3], 'state', 'listing',
  'nextPage', '0', 'listed', '0', 'matched', '0', 'enqueued', '0', 'completed', '0', 'changed', '0', 'deadLettered', '0', 'cancelled', '0')
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[4])
return 1
`;

/** Takes the lease if it is free, already ours, or held by ARGV[3] (a holder known to be dead). */
const ACQUIRE_LEASE = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] or (ARGV[3] ~= '' and holder == ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1}
end
return {0, holder, redis.call('PTTL', KEYS[1])}
`;

const RENEW_LEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

const RELEASE_LEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`;

/** The scripts, defined once per connection (ioredis sends EVALSHA, falling back to EVAL). */
const SCRIPTS = {
  s3jobsRecordOutcomes: { numberOfKeys: 4, lua: RECORD_OUTCOMES },
  s3jobsSettleRun: { numberOfKeys: 1, lua: SETTLE_RUN },
  s3jobsCreateRun: { numberOfKeys: 2, lua: CREATE_RUN },
  s3jobsAcquireRunLease: { numberOfKeys: 1, lua: ACQUIRE_LEASE },
  s3jobsRenewRunLease: { numberOfKeys: 1, lua: RENEW_LEASE },
  s3jobsReleaseRunLease: { numberOfKeys: 1, lua: RELEASE_LEASE },
} as const;

type ScriptName = keyof typeof SCRIPTS;

/** Quote a CSV field (RFC 4180) when it needs it. */
export function csvField(value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The run report's columns. `version_id` came last (added after the others) so that readers going by
 * position keep working; a report started before it has the old header and rows with one field less.
 */
export const REPORT_HEADER = 'bucket,key,status,changed,error_code,message,attempts,new_etag,version_id';

/** The header of reports written before the version_id column (a resumed run may continue one). */
export const REPORT_HEADER_V1 = 'bucket,key,status,changed,error_code,message,attempts,new_etag';

/** Slots per byte of the bitmap: a page's PAGE_SLOTS bits are whole bytes, read with one GETRANGE. */
const PAGE_BYTES = PAGE_SLOTS / 8;

export function outcomeRow(o: Outcome): string {
  return [o.bucket, o.key, o.status, o.changed === undefined ? '' : o.changed ? 'true' : 'false', o.errorCode, o.message, o.attempts, o.etag, o.versionId].map(csvField).join(',');
}

export class RunStore {
  readonly #redis: RedisConnection;
  readonly #base: string;

  constructor(redis: RedisConnection, prefix: string, queue: string) {
    this.#redis = redis;
    this.#base = `${prefix}:${queue}`;
    for (const [name, script] of Object.entries(SCRIPTS)) {
      if (typeof (redis as unknown as Record<string, unknown>)[name] !== 'function') redis.defineCommand(name, script);
    }
  }

  #script(name: ScriptName, ...args: (string | number)[]): Promise<unknown> {
    const command = (this.#redis as unknown as Record<ScriptName, (...a: (string | number)[]) => Promise<unknown>>)[name];
    return command.call(this.#redis, ...args);
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
    const created = (await this.#script('s3jobsCreateRun', this.#key(id), `${this.#base}:runs`, String(now), kind, JSON.stringify(spec), id)) === 1;
    const run = await this.get(id);
    if (run === undefined) throw new Error(`run ${id} vanished while being created`);
    return { run, created };
  }

  /** Records where the run's CSV report is written. */
  async setReport(id: string, path: string): Promise<void> {
    await this.#redis.hset(this.#key(id), 'report', path);
  }

  /** Records where the run's completion report is uploaded when it ends (see RunInfo.reportTo). */
  async setReportTo(id: string, value: string): Promise<void> {
    await this.#redis.hset(this.#key(id), 'reportTo', value);
  }

  /** Records the run's batch size (see RunInfo.batchSize). */
  async setBatchSize(id: string, batchSize: number): Promise<void> {
    await this.#redis.hset(this.#key(id), 'batchSize', String(batchSize));
  }

  /** Records the run's window and rate (see RunInfo.window); a field left undefined keeps its value. */
  async setPacing(id: string, pacing: { window: number | undefined; ratePerSecond: number | undefined }): Promise<void> {
    const fields: Record<string, string> = {};
    if (pacing.window !== undefined) fields.window = String(pacing.window);
    if (pacing.ratePerSecond !== undefined) fields.rate = String(pacing.ratePerSecond);
    if (Object.keys(fields).length > 0) await this.#redis.hset(this.#key(id), fields);
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
      cancelled: n('cancelled'),
      createdAt: n('createdAt'),
      updatedAt: n('updatedAt'),
      finishedAt: h.finishedAt === undefined ? undefined : Number(h.finishedAt),
      stopReason: h.stopReason,
      report: h.report,
      batchSize: h.batchSize === undefined ? undefined : Number(h.batchSize),
      window: h.window === undefined ? undefined : Number(h.window),
      ratePerSecond: h.rate === undefined ? undefined : Number(h.rate),
      reportTo: h.reportTo,
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
    const results = await this.#redis
      .multi()
      .hincrby(this.#key(id), 'listed', page.listed)
      .hincrby(this.#key(id), 'matched', page.matched)
      .hincrby(this.#key(id), 'enqueued', page.enqueued)
      .hset(this.#key(id), { cursor: page.nextCursor ?? '', nextPage: String(page.nextPage), updatedAt: String(now), ...(page.nextCursor === undefined ? { state: 'draining' } : {}) })
      .del(this.#key(id, 'page'))
      .exec();
    throwIfFailed(results);
    // Its workers may have finished every object already: nothing else would mark it completed.
    if (page.nextCursor === undefined) await this.#script('s3jobsSettleRun', this.#key(id), String(now));
  }

  /**
   * Saves the page about to be enqueued (see PendingPage) and counts its objects, in one MULTI:
   * the counters then never lag behind jobs in the queue, and a replayed page is counted once.
   * `pageEnqueued` (with zero counts) moves the cursor on and clears it.
   */
  async beginPage(id: string, page: PendingPage, now = Date.now()): Promise<void> {
    const results = await this.#redis
      .multi()
      .set(this.#key(id, 'page'), JSON.stringify(page))
      .hincrby(this.#key(id), 'listed', page.listed)
      .hincrby(this.#key(id), 'matched', page.items.length)
      .hincrby(this.#key(id), 'enqueued', page.items.length)
      .hset(this.#key(id), 'updatedAt', String(now))
      .exec();
    throwIfFailed(results);
  }

  /** The page a producer was enqueuing when it stopped, if any. */
  async pendingPage(id: string): Promise<PendingPage | undefined> {
    const raw = await this.#redis.get(this.#key(id, 'page'));
    return raw === null ? undefined : (JSON.parse(raw) as PendingPage);
  }

  /**
   * For a replayed page: which slots still need a job. A slot needs one when its job is not in the
   * queue and its object has no outcome. Read in this order on one connection, that is exact: a job
   * leaves the queue only after its outcome is recorded, so a job gone before the first read has
   * its bit set by the second. (Nobody else adds these jobs: the lease keeps one producer per run.)
   */
  async slotsWithoutJob(id: string, slots: readonly number[], jobKeys: readonly string[]): Promise<boolean[]> {
    if (slots.length !== jobKeys.length) throw new Error('slotsWithoutJob: one job key per slot');
    if (slots.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const key of jobKeys) pipeline.exists(key);
    for (const slot of slots) pipeline.getbit(this.#key(id, 'done'), slot);
    const results = throwIfFailed(await pipeline.exec());
    return slots.map((_, i) => results[i] === 0 && results[slots.length + i] === 0);
  }

  async setState(id: string, state: RunState, reason?: string, now = Date.now()): Promise<void> {
    const fields: Record<string, string> = { state, updatedAt: String(now) };
    if (state === 'completed' || state === 'stopped') fields.finishedAt = String(now);
    if (reason !== undefined) fields.stopReason = reason;
    await this.#redis.hset(this.#key(id), fields);
  }

  /** Which of a page's slots already finished (completed, dead-lettered or cancelled): one GETRANGE. */
  async finishedInPage(id: string, page: number, count: number): Promise<boolean[]> {
    const bytes = await this.#redis.getrangeBuffer(this.#key(id, 'done'), page * PAGE_BYTES, (page + 1) * PAGE_BYTES - 1);
    // SETBIT numbers bits from the most significant bit of each byte.
    return Array.from({ length: count }, (_, i) => (((bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1) === 1);
  }

  /** Counts and reports an object's outcome once; returns false when it was already recorded. */
  async recordOutcome(id: string, slot: number, outcome: Outcome, now = Date.now()): Promise<boolean> {
    return (await this.recordOutcomes(id, [{ slot, outcome }], now)) === 1;
  }

  /**
   * `recordOutcome` for many objects in one round trip (a batch job's). Returns how many were
   * recorded now (the others had an outcome already).
   */
  async recordOutcomes(id: string, outcomes: readonly { slot: number; outcome: Outcome }[], now = Date.now()): Promise<number> {
    if (outcomes.length === 0) return 0;
    const args: (string | number)[] = [String(now)];
    for (const { slot, outcome } of outcomes) args.push(slot, outcome.status, outcome.changed === true ? '1' : '0', outcomeRow(outcome));
    return Number(await this.#script('s3jobsRecordOutcomes', this.#key(id), this.#key(id, 'done'), this.#key(id, 'outcomes'), this.#key(id, 'dead'), ...args));
  }

  /** Which of these slots already have an outcome (one GETBIT each, one round trip). */
  async finishedSlots(id: string, slots: readonly number[]): Promise<boolean[]> {
    if (slots.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const slot of slots) pipeline.getbit(this.#key(id, 'done'), slot);
    return throwIfFailed(await pipeline.exec()).map((bit) => bit === 1);
  }

  /**
   * Up to `count` report rows not yet written to the report, oldest first, with their stream ids;
   * `revises[i]` marks a row that replaces the object's dead-lettered row (see RECORD_OUTCOMES).
   */
  async readOutcomes(id: string, count = 1000): Promise<{ ids: string[]; rows: string[]; revises: boolean[] }> {
    const entries = (await this.#redis.xrange(this.#key(id, 'outcomes'), '-', '+', 'COUNT', count)) as [string, string[]][];
    return { ids: entries.map(([entryId]) => entryId), rows: entries.map(([, fields]) => fields[1] ?? ''), revises: entries.map(([, fields]) => fields[2] === 'revises') };
  }

  /**
   * Deletes rows once they are safely in the report file, so Redis only holds what is not written
   * yet. (A crash between the write and this call leaves them in both: the report writer
   * recognises them at the end of its file and does not write them twice.)
   */
  async ackOutcomes(id: string, ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.#redis.xdel(this.#key(id, 'outcomes'), ...ids);
  }

  /** How many report rows wait in Redis to be drained. */
  async outcomesPending(id: string): Promise<number> {
    return this.#redis.xlen(this.#key(id, 'outcomes'));
  }

  /**
   * Takes the run's lease for `ttlMs`: one producer drives a run at a time. Succeeds when the lease
   * is free, already `owner`'s, or held by `replacing` (a holder the caller knows to be dead);
   * otherwise returns who holds it.
   */
  async acquireLease(id: string, owner: string, ttlMs: number, replacing?: string): Promise<{ acquired: true } | { acquired: false; holder: LeaseHolder }> {
    const result = (await this.#script('s3jobsAcquireRunLease', this.#key(id, 'lease'), owner, ttlMs, replacing ?? '')) as [number, string?, number?];
    if (result[0] === 1) return { acquired: true };
    return { acquired: false, holder: { owner: result[1] ?? '', ttlMs: Math.max(0, result[2] ?? 0) } };
  }

  /** Extends the lease; false when it is no longer `owner`'s (expired and taken by another). */
  async renewLease(id: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.#script('s3jobsRenewRunLease', this.#key(id, 'lease'), owner, ttlMs)) === 1;
  }

  async releaseLease(id: string, owner: string): Promise<void> {
    await this.#script('s3jobsReleaseRunLease', this.#key(id, 'lease'), owner);
  }

  async leaseHolder(id: string): Promise<LeaseHolder | undefined> {
    const [owner, ttl] = throwIfFailed(await this.#redis.pipeline().get(this.#key(id, 'lease')).pttl(this.#key(id, 'lease')).exec()) as [string | null, number];
    return owner === null ? undefined : { owner, ttlMs: Math.max(0, ttl) };
  }

  /**
   * Records that `destination` in `bucket` is a copy (ETag `copyEtag`) of a source whose ETag was
   * `sourceEtag` — for objects uploaded in several parts, whose copies get another ETag, so a sync
   * can recognise its own copy (see `syncedCopies`). Kept per destination bucket, outside any run:
   * every firing of a sync reads what earlier ones copied. One field per such object.
   */
  async recordSyncedCopy(bucket: string, destination: string, sourceEtag: string, copyEtag: string): Promise<void> {
    await this.#redis.hset(`${this.#base}:synced:${bucket}`, destination, `${sourceEtag} ${copyEtag}`);
  }

  /** For each destination key: the source and copy ETags recorded by `recordSyncedCopy`, if any. */
  async syncedCopies(bucket: string, destinations: readonly string[]): Promise<({ sourceEtag: string; copyEtag: string } | undefined)[]> {
    if (destinations.length === 0) return [];
    const values = await this.#redis.hmget(`${this.#base}:synced:${bucket}`, ...destinations);
    return values.map((v) => {
      if (v === null) return undefined;
      const space = v.indexOf(' ');
      return space < 0 ? undefined : { sourceEtag: v.slice(0, space), copyEtag: v.slice(space + 1) };
    });
  }

  /** Removes a run and everything it stored. */
  async delete(id: string): Promise<void> {
    await this.#redis
      .multi()
      .del(this.#key(id), this.#key(id, 'done'), this.#key(id, 'dead'), this.#key(id, 'outcomes'), this.#key(id, 'page'), this.#key(id, 'lease'))
      .zrem(`${this.#base}:runs`, id)
      .exec();
  }
}

/** The replies of a MULTI or pipeline, throwing the first command error instead of dropping it. */
function throwIfFailed(results: [Error | null, unknown][] | null): unknown[] {
  if (results === null) throw new Error('Redis transaction aborted');
  return results.map(([err, value]) => {
    if (err !== null) throw err;
    return value;
  });
}
