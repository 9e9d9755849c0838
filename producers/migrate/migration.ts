/**
 * A bulk metadata migration: stream a bucket listing page by page and enqueue one rewrite job per
 * matching object, as a named, resumable run.
 *
 * Invariants this file keeps:
 * - Memory is flat: one listing page (≤ 1000 keys) is held at a time; the producer never holds the
 *   listing. Redis stays bounded too: jobs are added only while fewer than `window` wait in the
 *   queue (a page is split to fit), so the queue never holds more than `window` of them.
 * - Resumable, each object enqueued once in effect: a page's matched objects are saved and counted
 *   (`beginPage`, one MULTI) before its first job is added, and the page is marked done with the
 *   next cursor (`pageEnqueued`) after its last. A producer killed in between replays that saved
 *   page — not a new listing, which may have shifted — adding only the jobs that are neither in
 *   the queue nor finished (`slotsWithoutJob`). Job ids are deterministic (`<runId>-<slot>`).
 * - One producer per run (a lease in Redis), so pages are never listed or counted twice.
 * - The report lists every finished object once: workers record outcomes through the run store's
 *   bitmap, and the producer drains them into the CSV file as it goes (see report.ts).
 * - A stopped run ends accounted for: its jobs not yet started are cancelled and reported as such,
 *   so enqueued = completed + dead-lettered + cancelled once its running jobs finish.
 */
import { createHash } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import type { JobsOptions, Queue } from 'bullmq';
import { S3JobsError, ValidationError } from '../../shared/errors.js';
import { copyTargetKey, isBatchJob, MAX_BATCH_OBJECTS, runBatchJobId, validateJob, type AclJob, type BatchJob, type CopyBatchJob, type CopyJob, type MetadataRewriteBatchJob, type MetadataRewriteJob, type TaggingJob } from '../../shared/jobs/index.js';
import { mimetypeFromKey } from '../../shared/s3/mime.js';
import { isTransientS3Failure } from '../../shared/s3/retry-rules.js';
import { assertKey } from '../../shared/s3/validation.js';
import type { CannedAcl, CopyAcl, StorageClass, ListedObject, ListOptions, ListPage } from '../../shared/s3/index.js';
import type { Metadata } from '../../shared/s3/metadata.js';
import { REPORT_HEADER, RunStore, type PendingPage, type RunInfo } from '../../shared/runs/index.js';
import { keyFilter, type KeyFilterOptions } from './key-filter.js';
import { DEFAULT_S3_RETRY_BUDGET_MS, listingRetryDelay, S3UnavailableError, type ListingOutage } from './listing-retry.js';
import { RunLease } from './lease.js';
import { ReportFile } from './report.js';
import { cancelQueuedRunJobs, runJobId, unfinishedRunJobs } from './run-jobs.js';

/** The run kind migrations are stored under. */
export const MIGRATION_KIND = 'metadata-migration';

/** What a migration does; also what identifies it (the default run id is a hash of it). */
export interface MigrationSpec {
  profile: string;
  bucket: string;
  prefix?: string | undefined;
  set?: Metadata | undefined;
  remove?: string[] | undefined;
  /** Set Content-Type from each key's extension (objects with unknown extensions keep theirs). */
  mimetypeFromExtension?: boolean | undefined;
  /** System headers to set (cache-control, content-disposition, …). */
  headers?: Record<string, string> | undefined;
  /** The ACL each rewrite writes (required for metadata rewrites; unused by tagging and acl runs). */
  acl?: CopyAcl | undefined;
  filter?: KeyFilterOptions | undefined;
  /** Refuse every rewrite where the store is not known to honour the ETag guard (`--require-guard`). */
  requireGuard?: boolean | undefined;
  /** Objects from this manifest (`s3://bucket/key` or an absolute path) instead of a listing: see manifest-source.ts. */
  manifest?: string | undefined;
  /**
   * Another operation than a metadata rewrite, one job per object: set tags (`tagging`) or put a
   * canned ACL (`acl`). A manifest row's version id targets that version.
   */
  operation?: RunOperation | undefined;
}

export type RunOperation =
  | { kind: 'tagging'; mode?: 'replace' | 'merge' | undefined; tags: Record<string, string>; remove?: string[] | undefined }
  | { kind: 'acl'; acl: CannedAcl }
  /** A server-side copy of each object to `bucket`, its key below the run's prefix put below `prefix`. */
  | {
      kind: 'copy';
      bucket: string;
      prefix: string;
      acl: CopyAcl;
      storageClass?: StorageClass | undefined;
      /** The copies' user metadata, replacing the source's (none: each keeps its source's). */
      metadata?: Metadata | undefined;
      mimetype?: string | undefined;
      /** System headers of the copies (cache-control, content-disposition, ...). */
      headers?: Record<string, string> | undefined;
    };

/** The job of a tagging or acl run for one object (maybe one version of it). Pure. */
export function operationJobFor(spec: MigrationSpec, operation: RunOperation, key: string, versionId: string | undefined, runId: string | undefined, slot: number | undefined): TaggingJob | AclJob | CopyJob {
  const run = { ...(runId === undefined ? {} : { runId }), ...(slot === undefined ? {} : { runSlot: slot }) };
  if (operation.kind === 'copy') {
    const source = { bucket: spec.bucket, key, ...(versionId === undefined ? {} : { versionId }) };
    return { kind: 'copy', profile: spec.profile, source, destination: { bucket: operation.bucket, key: copyTargetKey(key, spec.prefix, operation.prefix) }, acl: operation.acl, ...copyOptionsOf(operation), ...run };
  }
  const common = { profile: spec.profile, bucket: spec.bucket, key, ...(versionId === undefined ? {} : { versionId }), ...run };
  if (operation.kind === 'acl') return { kind: 'acl', ...common, acl: operation.acl };
  return { kind: 'tagging', ...common, tags: operation.tags, ...(operation.mode === undefined ? {} : { mode: operation.mode }), ...(operation.remove === undefined ? {} : { remove: operation.remove }) };
}

/** Where the run is, for progress displays. */
export interface MigrationStatus {
  /**
   * listing: enqueuing pages; paused: the queue holds `window` jobs; s3-unavailable: the listing
   * failed transiently and is retried (see `s3Outage`); draining: waiting for the last jobs;
   * stopping: see stopReason.
   */
  phase: 'listing' | 'paused' | 's3-unavailable' | 'draining' | 'stopping';
  /** Set while the listing's S3 store is away: since when, how many retries, the last error. */
  s3Outage?: ListingOutage | undefined;
  /** Objects waiting in the queue (all its runs' and jobs'; a waiting batch counts as the batch size), when just read. */
  queueDepth: number | undefined;
}

export interface MigrationOptions {
  /** Run id; default `mig-<hash of the spec>`, so the same command resumes the same run. */
  runId?: string | undefined;
  /** Only resume: RunNotFoundError when no run has that id (nothing is created). */
  mustExist?: boolean | undefined;
  /** List and count what would be enqueued; change nothing (no jobs, no run record, no report). */
  dryRun?: boolean | undefined;
  /**
   * Max objects waiting in the queue (a waiting batch counts as `batchSize` of them); listing pauses
   * while it is full. Default 20,000.
   */
  window?: number | undefined;
  /**
   * Objects per job (1..1000, within one listing page). Default 1: one job per object. Larger
   * values enqueue batch jobs (`metadata-rewrite-batch`, or `copy-batch`, `tagging-batch`,
   * `acl-batch` for those runs), which cost Redis ~1 KB each
   * whatever they carry, so a run of millions of objects fits one Redis; every object still gets
   * its own retries, dead letter and report row. A page is split by key bytes too, so a batch
   * stays under the batch payload limit with the longest keys. A resumed run without it goes on
   * with its own.
   */
  batchSize?: number | undefined;
  /**
   * Jobs enqueued per second at most. It also caps the window to two seconds' worth of jobs, so a
   * backlog (workers stopped for a while) reaches the bucket no faster than that. Default: unlimited.
   */
  ratePerSecond?: number | undefined;
  /**
   * Stop the run once at least `after` jobs finished and more than `ratio` of the finished ones
   * were dead-lettered. Default: none.
   */
  failureThreshold?: { after: number; ratio: number } | undefined;
  /** CSV completion report path; default the run's own (a resumed run keeps its report), else `<runId>.report.csv`. */
  reportPath?: string | undefined;
  /** Wait for every job to finish (default true); false returns once everything is enqueued. */
  waitForCompletion?: boolean | undefined;
  /** Attempts per job (retryable failures). Default 5. */
  attempts?: number | undefined;
  /** Base of the workers' backoff between attempts (ms). Default 1000. */
  backoffMs?: number | undefined;
  /** Called after every page and every poll. */
  onProgress?: ((run: RunInfo, status: MigrationStatus) => void) | undefined;
  /** Aborting stops listing and returns (`interrupted`); the run stays resumable. */
  signal?: AbortSignal | undefined;
  /**
   * How long the listing keeps retrying while S3 fails transiently (refused, reset, timeouts, 5xx,
   * SlowDown), from the first failure of an outage (ms). Spent: S3UnavailableError, the run stays
   * resumable. Default 5 minutes; 0 = fail at the first error.
   */
  s3RetryBudgetMs?: number | undefined;
  /** Injected for tests: the delay before listing retry number `n` (1-based). Default `listingRetryDelay`. */
  s3RetryDelayMs?: ((retry: number) => number) | undefined;
  /** Poll interval while waiting (ms). Default 250. */
  pollMs?: number | undefined;
  /** Keys per listing page (1..1000). Default 1000. */
  pageSize?: number | undefined;
  /** After a stop, how long to wait for the run's running jobs to finish (ms). Default 60,000. */
  stopGraceMs?: number | undefined;
  /** Lease owner string (default `host:pid:random`) and TTL (default 30 s). */
  leaseOwner?: string | undefined;
  leaseTtlMs?: number | undefined;
}

export interface MigrationResult {
  run: RunInfo;
  /** Dry run: how many objects matched (and a few of them). */
  dryRun?: { listed: number; matched: number; sample: string[] } | undefined;
  reportPath: string | undefined;
  /** The signal stopped this call before the run finished; the run is resumable. */
  interrupted: boolean;
  /** The run existed before this call (resumed, or already finished). */
  resumed: boolean;
  /** False when a resumed run's report was not found here: it was started again (earlier rows are elsewhere). */
  reportFound: boolean;
}

/** What a migration lists from: an `S3Bucket` (its `listPages`), or a synthetic source in benchmarks. */
export interface ListingSource {
  listPages(options: ListOptions): AsyncIterable<ListPage>;
  /** `protocol://host[:port]` of the store, for error messages (an `S3Bucket` has it). */
  readonly endpoint?: string | undefined;
}

export interface MigrationDeps {
  /** The bucket client used for listing (the producer's own credentials, from its profile). */
  bucket: ListingSource;
  queue: Queue;
  store: RunStore;
}

/** No run has the id given to resume. */
export class RunNotFoundError extends S3JobsError {
  override name = 'RunNotFoundError';
  constructor(readonly runId: string) {
    super('S3JOBS_RUN_NOT_FOUND', `no run ${runId} (list them with: s3jobs runs)`);
  }
}

/** A stopped run is final: it is not resumed (its failure threshold would stop it again at once). */
export class RunStoppedError extends S3JobsError {
  override name = 'RunStoppedError';
  constructor(readonly run: RunInfo) {
    super(
      'S3JOBS_RUN_STOPPED',
      `run ${run.id} was stopped${run.stopReason === undefined ? '' : ` (${run.stopReason})`}${run.report === undefined ? '' : `; its report: ${run.report}`}. To run the migration again, delete the run (s3jobs run delete ${run.id}) or give a new --run-id`,
    );
  }
}

/** JSON with object keys sorted, so equal specs serialise (and hash) equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

export function defaultRunId(spec: MigrationSpec): string {
  return `mig-${createHash('sha256').update(canonicalJson(spec)).digest('hex').slice(0, 16)}`;
}

/** Builds the batch job for objects of one listed page (see `MigrationOptions.batchSize`). */
export function rewriteBatchFor(spec: MigrationSpec, objects: BatchEntry[], runId: string): MetadataRewriteBatchJob {
  // assertOptions made sure a rewrite run has its ACL.
  const job: MetadataRewriteBatchJob = { kind: 'metadata-rewrite-batch', profile: spec.profile, runId, bucket: spec.bucket, objects, acl: spec.acl as CopyAcl };
  if (spec.set !== undefined) job.set = spec.set;
  if (spec.remove !== undefined) job.remove = spec.remove;
  if (spec.headers !== undefined) job.headers = spec.headers;
  if (spec.mimetypeFromExtension === true) job.mimetypeFromExtension = true;
  if (spec.requireGuard === true) job.requireGuard = true;
  return job;
}

/** Builds the batch job of a copy run for objects of one page (see `MigrationOptions.batchSize`). */
export function copyBatchFor(spec: MigrationSpec, operation: Extract<RunOperation, { kind: 'copy' }>, objects: BatchEntry[], runId: string): CopyBatchJob {
  const job: CopyBatchJob = {
    kind: 'copy-batch',
    profile: spec.profile,
    runId,
    source: { bucket: spec.bucket, ...(spec.prefix === undefined ? {} : { prefix: spec.prefix }) },
    destination: { bucket: operation.bucket, prefix: operation.prefix },
    acl: operation.acl,
    objects,
  };
  return { ...job, ...copyOptionsOf(operation) };
}

/** The copy job's options a copy run gives every copy: only those set. Pure. */
function copyOptionsOf(operation: Extract<RunOperation, { kind: 'copy' }>): Pick<CopyJob, 'storageClass' | 'metadata' | 'mimetype' | 'headers'> {
  return {
    ...(operation.storageClass === undefined ? {} : { storageClass: operation.storageClass }),
    ...(operation.metadata === undefined ? {} : { metadata: operation.metadata }),
    ...(operation.mimetype === undefined ? {} : { mimetype: operation.mimetype }),
    ...(operation.headers === undefined ? {} : { headers: operation.headers }),
  };
}

/** The batch job of a run: a `metadata-rewrite-batch`, or its operation's (`copy-batch`, `tagging-batch`, `acl-batch`). */
export function batchJobFor(spec: MigrationSpec, objects: BatchEntry[], runId: string): BatchJob {
  const operation = spec.operation;
  if (operation === undefined) return rewriteBatchFor(spec, objects, runId);
  if (operation.kind === 'copy') return copyBatchFor(spec, operation, objects, runId);
  const common = { profile: spec.profile, runId, bucket: spec.bucket, objects };
  if (operation.kind === 'acl') return { kind: 'acl-batch', ...common, acl: operation.acl };
  return { kind: 'tagging-batch', ...common, tags: operation.tags, ...(operation.mode === undefined ? {} : { mode: operation.mode }), ...(operation.remove === undefined ? {} : { remove: operation.remove }) };
}

/** An object of a batch: its key and slot, and the version a manifest row named (copy batches only). */
export type BatchEntry = { key: string; slot: number; versionId?: string };

/** Key bytes (as JSON) one batch may carry: the batch payload limit less room for the rest of the job. */
export const BATCH_KEY_BYTES = 192 * 1024;

/** Whether the job schema accepts `key` (a listing may return keys with control characters). */
function isValidKey(key: string): boolean {
  try {
    assertKey(key);
    return true;
  } catch {
    return false;
  }
}

/**
 * Pure: a page's matched objects cut into batches of at most `batchSize` objects and
 * BATCH_KEY_BYTES of keys, in listing order. Deterministic, so a replayed page is cut the same way
 * and its batches get the same job ids. A key the job schema refuses goes in a batch of its own:
 * a batch with one bad key is refused whole, which would dead-letter its other objects with it.
 */
export function batchesOf(page: Pick<PendingPage, 'page' | 'items'>, batchSize: number): BatchEntry[][] {
  const batches: BatchEntry[][] = [];
  let current: BatchEntry[] = [];
  let bytes = 0;
  for (const [index, key, extra] of page.items) {
    const entry: BatchEntry = { key, slot: RunStore.slot(page.page, index), ...(extra?.versionId === undefined ? {} : { versionId: extra.versionId }) };
    if (!isValidKey(key)) {
      if (current.length > 0) batches.push(current);
      batches.push([entry]);
      current = [];
      bytes = 0;
      continue;
    }
    // {"key":…,"slot":…}, and ,"versionId":… when a manifest names one.
    const size = Buffer.byteLength(JSON.stringify(key)) + 24 + (entry.versionId === undefined ? 0 : Buffer.byteLength(JSON.stringify(entry.versionId)) + 13);
    if (current.length > 0 && (current.length >= batchSize || bytes + size > BATCH_KEY_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** A listed object as a page item: a manifest's row keeps its version id or its problem. Pure. */
export function itemOf(index: number, object: ListedObject & { versionId?: string | undefined; problem?: string | undefined }): PendingPage['items'][number] {
  if (object.problem === undefined && object.versionId === undefined) return [index, object.key];
  return [index, object.key, { ...(object.versionId === undefined ? {} : { versionId: object.versionId }), ...(object.problem === undefined ? {} : { problem: object.problem }) }];
}

/**
 * Why an item gets no job, or undefined: a bad manifest row, or a row naming a version (a metadata
 * rewrite is a copy onto the object, which makes a new current version: it cannot change an older one).
 */
export function problemOf(item: PendingPage['items'][number], versionsAllowed = false): string | undefined {
  const extra = item[2];
  if (extra?.problem !== undefined) return extra.problem;
  if (extra?.versionId !== undefined && !versionsAllowed) return `names version ${extra.versionId}: a metadata rewrite changes the current version only (a copy onto the object); leave the version id out, or use a tagging or acl run`;
  return undefined;
}

/** Builds the rewrite job for one listed object. */
export function rewriteJobFor(spec: MigrationSpec, object: Pick<ListedObject, 'key'>, runId: string | undefined, slot: number | undefined): MetadataRewriteJob {
  const job: MetadataRewriteJob = { kind: 'metadata-rewrite', profile: spec.profile, bucket: spec.bucket, key: object.key, acl: spec.acl as CopyAcl };
  if (spec.set !== undefined) job.set = spec.set;
  if (spec.remove !== undefined) job.remove = spec.remove;
  if (spec.headers !== undefined) job.headers = spec.headers;
  if (spec.mimetypeFromExtension === true) {
    const type = mimetypeFromKey(object.key);
    if (type !== undefined) job.mimetype = type;
  }
  if (spec.requireGuard === true) job.requireGuard = true;
  if (runId !== undefined) job.runId = runId;
  if (slot !== undefined) job.runSlot = slot;
  return job;
}

/** Default of `MigrationOptions.window`. */
export const DEFAULT_WINDOW = 20_000;

/** Pure: the window in force — the one asked for, capped to two seconds' worth of jobs under a rate. */
export function effectiveWindow(window: number | undefined, ratePerSecond: number | undefined): number {
  const asked = window ?? DEFAULT_WINDOW;
  return ratePerSecond === undefined ? asked : Math.min(asked, Math.max(1, Math.ceil(ratePerSecond * 2)));
}

/** Pure: why the run should stop (more than `ratio` of at least `after` finished jobs failed), or undefined. */
export function failureThresholdReason(run: Pick<RunInfo, 'completed' | 'deadLettered'>, threshold: { after: number; ratio: number } | undefined): string | undefined {
  const finished = run.completed + run.deadLettered;
  if (threshold === undefined || finished < threshold.after || finished === 0) return undefined;
  if (run.deadLettered / finished <= threshold.ratio) return undefined;
  return `failure threshold: ${run.deadLettered} of ${finished} finished jobs were dead-lettered (more than ${Math.round(threshold.ratio * 100)}% after ${threshold.after})`;
}

/**
 * A token bucket: at most `perSecond` jobs a second, with a burst of one second's worth — at least
 * one job, so a rate below 1/s still lets one through every 1/rate seconds. Pure (the clock is
 * passed in).
 */
export class RatePacer {
  readonly perSecond: number | undefined;
  #tokens: number;
  #last: number;

  constructor(perSecond: number | undefined, now: number) {
    this.perSecond = perSecond;
    this.#tokens = perSecond === undefined ? Infinity : Math.max(1, perSecond);
    this.#last = now;
  }

  /** How many of `wanted` jobs may go now (0: wait `waitMs` first). */
  take(wanted: number, now: number): number {
    if (this.perSecond === undefined) return wanted;
    this.#tokens = Math.min(Math.max(1, this.perSecond), this.#tokens + ((now - this.#last) / 1000) * this.perSecond);
    this.#last = now;
    const granted = Math.min(wanted, Math.floor(this.#tokens));
    this.#tokens -= granted;
    return granted;
  }

  /** Milliseconds until the next job may go. */
  waitMs(): number {
    if (this.perSecond === undefined || this.#tokens >= 1) return 0;
    return Math.ceil(((1 - this.#tokens) / this.perSecond) * 1000);
  }
}

/** Thrown inside the driver to unwind to the top: the signal fired. */
class Interrupted extends Error {}
/** Thrown inside the driver to unwind to the top: stop the run for `reason`. */
class StopRun extends Error {}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** Resolves after `ms`, or at once when `signal` aborts; leaves no listener behind either way. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((done) => {
    if (isAborted(signal)) return done();
    const onAbort = (): void => {
      clearTimeout(timer);
      done();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      done();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function assertOptions(spec: MigrationSpec, options: MigrationOptions): void {
  if (spec.operation !== undefined) {
    if (spec.set !== undefined || spec.remove !== undefined || spec.headers !== undefined || spec.mimetypeFromExtension === true || spec.acl !== undefined)
      throw new ValidationError('spec', `a ${spec.operation.kind} run changes no metadata: give no set, remove, headers, mimetypeFromExtension or acl`);
  } else if (spec.set === undefined && spec.remove === undefined && spec.headers === undefined && spec.mimetypeFromExtension !== true)
    throw new ValidationError('spec', 'nothing to change: give set, remove, headers or mimetypeFromExtension');
  else if (spec.acl === undefined) throw new ValidationError('acl', 'is required: each rewrite is a copy onto the object, which resets its ACL');
  if (options.window !== undefined && (!Number.isInteger(options.window) || options.window < 1)) throw new ValidationError('window', 'must be a positive integer (objects waiting at most)');
  if (options.batchSize !== undefined && (!Number.isInteger(options.batchSize) || options.batchSize < 1 || options.batchSize > MAX_BATCH_OBJECTS))
    throw new ValidationError('batchSize', `must be an integer from 1 to ${MAX_BATCH_OBJECTS} (objects per job); got ${String(options.batchSize)}`);
  if (options.ratePerSecond !== undefined && !(options.ratePerSecond > 0)) throw new ValidationError('ratePerSecond', 'must be a positive number of jobs per second');
  const t = options.failureThreshold;
  if (t !== undefined && (!Number.isInteger(t.after) || t.after < 1 || !(t.ratio > 0 && t.ratio <= 1)))
    throw new ValidationError('failureThreshold', 'needs after (a positive integer of finished jobs) and ratio (0 < ratio <= 1)');
  if (options.runId !== undefined) RunStore.assertRunId(options.runId);
}

const finished = (run: RunInfo): number => run.completed + run.deadLettered + run.cancelled;

async function dryRun(deps: MigrationDeps, spec: MigrationSpec, options: MigrationOptions): Promise<MigrationResult> {
  const filter = keyFilter(spec.filter ?? {});
  let listed = 0;
  let matched = 0;
  const sample: string[] = [];
  let interrupted = false;
  try {
    for await (const page of deps.bucket.listPages({ prefix: spec.prefix, pageSize: options.pageSize ?? 1000, signal: options.signal })) {
      for (const o of page.objects) {
        listed++;
        if (!filter(o)) continue;
        matched++;
        if (sample.length < 10) sample.push(o.key);
      }
      if (isAborted(options.signal)) break;
    }
  } catch (err) {
    if (!isAborted(options.signal)) throw err;
  }
  interrupted = isAborted(options.signal);
  const now = Date.now();
  const run: RunInfo = {
    id: options.runId ?? defaultRunId(spec),
    kind: MIGRATION_KIND,
    state: 'completed',
    spec,
    cursor: undefined,
    nextPage: 0,
    listed,
    matched,
    enqueued: 0,
    completed: 0,
    changed: 0,
    deadLettered: 0,
    cancelled: 0,
    createdAt: now,
    updatedAt: now,
    finishedAt: now,
    stopReason: 'dry run',
    report: undefined,
  };
  return { run, dryRun: { listed, matched, sample }, reportPath: undefined, interrupted, resumed: false, reportFound: true };
}

/** Runs (or resumes) a migration. */
export async function runMigration(deps: MigrationDeps, spec: MigrationSpec, options: MigrationOptions = {}): Promise<MigrationResult> {
  assertOptions(spec, options);
  // Validate the job shape once, before touching the listing: a bad spec fails at once.
  if (spec.operation !== undefined) validateJob(operationJobFor(spec, spec.operation, 'probe', undefined, undefined, undefined));
  else validateJob(rewriteJobFor(spec, { key: 'probe' }, undefined, undefined));
  if ((options.batchSize ?? 1) > 1) validateJob(batchJobFor(spec, [{ key: 'probe', slot: 0 }], 'probe'));
  if (options.dryRun === true) return dryRun(deps, spec, options);

  const runId = options.runId ?? defaultRunId(spec);
  if (options.mustExist === true && (await deps.store.get(runId)) === undefined) throw new RunNotFoundError(runId);
  const lease = await RunLease.acquire(deps.store, runId, { owner: options.leaseOwner, ttlMs: options.leaseTtlMs });
  try {
    const { run, created } = await deps.store.createOrGet(runId, MIGRATION_KIND, spec);
    if (!created && canonicalJson(run.spec) !== canonicalJson(spec))
      throw new ValidationError('runId', `run "${runId}" exists with a different spec; resume it with the same options or choose another run id`);
    if (run.state === 'stopped') throw new RunStoppedError(run);
    const reportPath = resolve(options.reportPath ?? run.report ?? `${runId}.report.csv`);
    const { report, found } = ReportFile.open(reportPath, created);
    if (run.report !== reportPath) await deps.store.setReport(runId, reportPath);
    const batchSize = options.batchSize ?? run.batchSize ?? 1;
    if (run.batchSize !== batchSize) await deps.store.setBatchSize(runId, batchSize);
    // Window and rate too: a resume without them goes on as the run was going.
    const window = options.window ?? run.window;
    const ratePerSecond = options.ratePerSecond ?? run.ratePerSecond;
    if (options.window !== undefined || options.ratePerSecond !== undefined) await deps.store.setPacing(runId, { window: options.window, ratePerSecond: options.ratePerSecond });
    const driver = new MigrationDriver(deps, spec, { ...options, batchSize, window, ratePerSecond }, runId, lease, report);
    let outcome: { run: RunInfo; interrupted: boolean };
    try {
      outcome = await driver.drive();
    } catch (err) {
      // A run that failed before its first page was counted (no such bucket, listing denied, ...)
      // is removed again: nothing of it to resume, and a fixed command would be another run anyway.
      // Not when S3 was away: that run is resumable as it stands, and the error says so.
      if (created && !(err instanceof S3UnavailableError)) await forgetUnstartedRun(deps.store, runId, reportPath);
      throw err;
    }
    return { run: outcome.run, reportPath, interrupted: outcome.interrupted, resumed: !created, reportFound: found };
  } finally {
    await lease.release().catch(() => undefined);
  }
}

async function forgetUnstartedRun(store: RunStore, runId: string, reportPath: string): Promise<void> {
  try {
    const run = await store.get(runId);
    if (run === undefined || run.nextPage > 0 || run.enqueued > 0 || (await store.pendingPage(runId)) !== undefined) return;
    await store.delete(runId);
    if (readFileSync(reportPath, 'utf8') === `${REPORT_HEADER}\n`) unlinkSync(reportPath);
  } catch {
    // Best effort: the original error is what the caller needs to see.
  }
}

/** One producer's drive of one run, from wherever the run stands to wherever it ends. */
class MigrationDriver {
  readonly #deps: MigrationDeps;
  readonly #spec: MigrationSpec;
  readonly #options: MigrationOptions;
  readonly #runId: string;
  readonly #lease: RunLease;
  readonly #report: ReportFile;
  readonly #window: number;
  readonly #pollMs: number;
  readonly #pacer: RatePacer;
  readonly #jobOptions: JobsOptions;
  readonly #batchSize: number;
  #run!: RunInfo;

  constructor(deps: MigrationDeps, spec: MigrationSpec, options: MigrationOptions, runId: string, lease: RunLease, report: ReportFile) {
    this.#deps = deps;
    this.#spec = spec;
    this.#options = options;
    this.#runId = runId;
    this.#lease = lease;
    this.#report = report;
    this.#window = effectiveWindow(options.window, options.ratePerSecond);
    this.#pollMs = options.pollMs ?? 250;
    this.#pacer = new RatePacer(options.ratePerSecond, Date.now());
    this.#batchSize = options.batchSize ?? 1;
    this.#jobOptions = {
      attempts: options.attempts ?? 5,
      backoff: { type: 's3jobs', delay: options.backoffMs ?? 1_000 },
      // No removeOnComplete here: run jobs rely on the workers' own removal, which costs nothing
      // per job, and their outcome goes to the run store instead.
    };
  }

  async drive(): Promise<{ run: RunInfo; interrupted: boolean }> {
    try {
      await this.#checkpoint(this.#phaseOf(await this.#read()), undefined);
      if (this.#run.state === 'listing') await this.#list();
      if (this.#run.state !== 'completed' && this.#options.waitForCompletion !== false) await this.#waitForJobs();
      return { run: this.#run, interrupted: false };
    } catch (err) {
      if (err instanceof Interrupted) {
        await this.#report.drain(this.#deps.store, this.#runId);
        return { run: await this.#read(), interrupted: true };
      }
      if (err instanceof StopRun) return { run: await this.#stop(err.message), interrupted: false };
      throw err;
    }
  }

  #phaseOf(run: RunInfo): MigrationStatus['phase'] {
    return run.state === 'listing' ? 'listing' : run.state === 'stopped' ? 'stopping' : 'draining';
  }

  async #read(): Promise<RunInfo> {
    const run = await this.#deps.store.get(this.#runId);
    if (run === undefined) throw new S3JobsError('S3JOBS_RUN_DELETED', `run ${this.#runId} was deleted while it ran`);
    this.#run = run;
    return run;
  }

  /** Between pages and polls: report rows to disk, progress, lease, failure threshold. */
  async #checkpoint(phase: MigrationStatus['phase'], queueDepth: number | undefined, s3Outage?: ListingOutage): Promise<void> {
    await this.#report.drain(this.#deps.store, this.#runId);
    const run = await this.#read();
    this.#options.onProgress?.(run, s3Outage === undefined ? { phase, queueDepth } : { phase, queueDepth, s3Outage: { ...s3Outage } });
    await this.#lease.keep();
    // Only a run with something left to do is stopped: a finished one ends completed, failures and all.
    const somethingLeft = run.state === 'listing' || (run.state === 'draining' && finished(run) < run.enqueued);
    const reason = failureThresholdReason(run, this.#options.failureThreshold);
    if (reason !== undefined && somethingLeft && phase !== 'stopping') throw new StopRun(reason);
  }

  #throwIfAborted(): void {
    if (isAborted(this.#options.signal)) throw new Interrupted();
  }

  async #queueDepth(): Promise<number> {
    const counts = await this.#deps.queue.getJobCounts('waiting', 'prioritized', 'delayed');
    return (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0);
  }

  /** Waits until the queue has room; returns how many objects fit (a waiting job counts as the batch size). */
  async #room(): Promise<number> {
    for (;;) {
      this.#throwIfAborted();
      const depth = (await this.#queueDepth()) * this.#batchSize;
      if (depth < this.#window) return this.#window - depth;
      await this.#checkpoint('paused', depth);
      await sleep(this.#pollMs, this.#options.signal);
    }
  }

  async #list(): Promise<void> {
    const filter = keyFilter(this.#spec.filter ?? {});
    let page = this.#run.nextPage;
    let cursor = this.#run.cursor;
    const pending = await this.#deps.store.pendingPage(this.#runId);
    if (pending !== undefined && pending.page === page) {
      // A producer stopped half-way through this page: replay it as it was listed then.
      await this.#enqueue(pending, true);
      page++;
      cursor = pending.nextCursor;
      await this.#checkpoint('listing', undefined);
    }
    if (page > 0 && cursor === undefined) {
      // The listing ended with the page before (a cursor is only empty at the start and at the end).
      if (this.#run.state === 'listing') await this.#deps.store.pageEnqueued(this.#runId, { listed: 0, matched: 0, enqueued: 0, nextCursor: undefined, nextPage: page });
      await this.#read();
      return;
    }
    // A transient S3 failure restarts the listing at the same position (the cursor after the
    // last page counted) until the store answers again or the retry budget is spent.
    let outage: ListingOutage | undefined;
    for (;;) {
      try {
        const pages = this.#deps.bucket.listPages({ prefix: this.#spec.prefix, pageSize: this.#options.pageSize ?? 1000, continuationToken: cursor, signal: this.#options.signal });
        for await (const listed of pages) {
          this.#throwIfAborted();
          outage = undefined;
          const items: PendingPage['items'] = [];
          listed.objects.forEach((object, index) => {
            if (filter(object)) items.push(itemOf(index, object));
          });
          const next: PendingPage = { page, listed: listed.objects.length, nextCursor: listed.nextContinuationToken, items };
          if (items.length === 0) {
            await this.#deps.store.pageEnqueued(this.#runId, { listed: next.listed, matched: 0, enqueued: 0, nextCursor: next.nextCursor, nextPage: page + 1 });
          } else {
            // Wait for room before the page is saved: a producer killed while paused has saved nothing of it.
            await this.#room();
            // Still ours (a listing request may have stalled for long): only the lease holder counts pages.
            await this.#lease.keep();
            // Enqueued exactly as saved (a replay cuts the page by the saved batch size).
            const saved: PendingPage = this.#batchSize > 1 ? { ...next, batchSize: this.#batchSize } : next;
            await this.#deps.store.beginPage(this.#runId, saved);
            await this.#enqueue(saved, false);
          }
          page++;
          cursor = listed.nextContinuationToken;
          await this.#checkpoint('listing', undefined);
        }
        return;
      } catch (err) {
        if (isAborted(this.#options.signal) && !(err instanceof StopRun)) throw new Interrupted();
        if (!isTransientS3Failure(err)) throw err;
        const now = Date.now();
        outage ??= { since: now, retries: 0, lastError: '' };
        outage.lastError = err instanceof Error ? err.message : String(err);
        const budget = this.#options.s3RetryBudgetMs ?? DEFAULT_S3_RETRY_BUDGET_MS;
        if (now - outage.since >= budget) throw new S3UnavailableError({ runId: this.#runId, bucket: this.#spec.bucket, endpoint: this.#deps.bucket.endpoint, outage, budgetMs: budget, cause: err });
        outage.retries++;
        await this.#checkpoint('s3-unavailable', undefined, outage);
        await sleep(Math.min((this.#options.s3RetryDelayMs ?? listingRetryDelay)(outage.retries), Math.max(0, outage.since + budget - now)), this.#options.signal);
        this.#throwIfAborted();
        // The sleep may have been long: still ours before the next request.
        await this.#lease.keep();
      }
    }
  }

  /**
   * The jobs of a saved page, each with the object slots it carries and its Redis key: one job per
   * object, or batches (`metadata-rewrite-batch`, `copy-batch`, ...) when the page was saved with a
   * batch size (a replay cuts the page as it was cut then).
   */
  #jobsOf(saved: PendingPage): { job: { name: string; data: MetadataRewriteJob | BatchJob | TaggingJob | AclJob | CopyJob; opts: JobsOptions }; slots: number[]; key: string }[] {
    const operation = this.#spec.operation;
    const page = { ...saved, items: saved.items.filter((item) => problemOf(item, operation !== undefined) === undefined) };
    const batchSize = page.batchSize ?? 1;
    if (batchSize > 1) {
      return batchesOf(page, batchSize).map((objects) => {
        const jobId = runBatchJobId(this.#runId, objects[0]!.slot);
        const data = batchJobFor(this.#spec, objects, this.#runId);
        return { job: { name: data.kind, data, opts: { ...this.#jobOptions, jobId } }, slots: objects.map((o) => o.slot), key: this.#deps.queue.toKey(jobId) };
      });
    }
    if (operation !== undefined) {
      // One job per object, of that version when the manifest names one.
      return page.items.map(([index, key, extra]) => {
        const slot = RunStore.slot(page.page, index);
        const jobId = runJobId(this.#runId, slot);
        const data = operationJobFor(this.#spec, operation, key, extra?.versionId, this.#runId, slot);
        return { job: { name: data.kind, data, opts: { ...this.#jobOptions, jobId } }, slots: [slot], key: this.#deps.queue.toKey(jobId) };
      });
    }
    return page.items.map(([index, key]) => {
      const slot = RunStore.slot(page.page, index);
      const jobId = runJobId(this.#runId, slot);
      return { job: { name: 'metadata-rewrite', data: rewriteJobFor(this.#spec, { key }, this.#runId, slot), opts: { ...this.#jobOptions, jobId } }, slots: [slot], key: this.#deps.queue.toKey(jobId) };
    });
  }

  /**
   * Which of a saved page's slots still need a job: neither in the queue (in their job) nor
   * finished. See `RunStore.slotsWithoutJob`.
   */
  async #slotsWithoutJob(page: PendingPage): Promise<Set<number>> {
    const jobs = this.#jobsOf(page);
    const slots = jobs.flatMap((j) => j.slots);
    const keys = jobs.flatMap((j) => j.slots.map(() => j.key));
    const missing = await this.#deps.store.slotsWithoutJob(this.#runId, slots, keys);
    return new Set(slots.filter((_, i) => missing[i]));
  }

  /** Adds a saved page's jobs in groups that fit the window and the rate; then records the page. */
  async #enqueue(page: PendingPage, replay: boolean): Promise<void> {
    // A manifest's bad rows get no job: each is reported failed, once (the bitmap), replay or not.
    const failed = page.items.flatMap((item) => {
      const problem = problemOf(item, this.#spec.operation !== undefined);
      return problem === undefined ? [] : [{ slot: RunStore.slot(page.page, item[0]), outcome: { status: 'failed' as const, bucket: this.#spec.bucket, key: item[1], versionId: item[2]?.versionId, errorCode: 'InvalidManifestRow', message: problem, attempts: 0 } }];
    });
    if (failed.length > 0) await this.#deps.store.recordOutcomes(this.#runId, failed);
    let jobs = this.#jobsOf(page);
    if (replay) {
      const missing = await this.#slotsWithoutJob(page);
      jobs = jobs.flatMap((j) => {
        const slots = j.slots.filter((slot) => missing.has(slot));
        if (slots.length === 0) return [];
        const batch = j.job.data;
        if (slots.length === j.slots.length || !isBatchJob(batch)) return [j];
        // Only the objects still to do, under the batch's own id.
        const data = { ...batch, objects: batch.objects.filter((o) => missing.has(o.slot)) } as BatchJob;
        return [{ ...j, job: { ...j.job, data }, slots }];
      });
    }
    for (let i = 0; i < jobs.length; ) {
      const room = await this.#room();
      // As many whole jobs as fit the room (at least one: the window is exceeded by less than a
      // job) and one second of the rate, then wait until the rate grants all their objects.
      const cap = Math.min(room, this.#pacer.perSecond ?? Infinity);
      let count = 0;
      let objects = 0;
      while (i + count < jobs.length && (count === 0 || objects + jobs[i + count]!.slots.length <= cap)) objects += jobs[i + count++]!.slots.length;
      for (let granted = this.#pacer.take(objects, Date.now()); granted < objects; granted += this.#pacer.take(objects - granted, Date.now())) {
        await sleep(this.#pacer.waitMs(), this.#options.signal);
        this.#throwIfAborted();
      }
      await this.#deps.queue.addBulk(jobs.slice(i, i + count).map((j) => j.job));
      i += count;
    }
    await this.#deps.store.pageEnqueued(this.#runId, { listed: 0, matched: 0, enqueued: 0, nextCursor: page.nextCursor, nextPage: page.page + 1 });
  }

  async #waitForJobs(): Promise<void> {
    for (;;) {
      await this.#checkpoint('draining', undefined);
      if (finished(this.#run) >= this.#run.enqueued) break;
      this.#throwIfAborted();
      await sleep(this.#pollMs, this.#options.signal);
      this.#throwIfAborted();
      // Jobs leave the queue only after their outcome is recorded: an empty queue with outcomes
      // missing means jobs were removed by hand, or run by workers that do not report to runs.
      const counts = await this.#deps.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'failed', 'waiting-children');
      if (Object.values(counts).every((n) => n === 0)) {
        const run = await this.#read();
        const missing = run.enqueued - finished(run);
        if (missing > 0) throw new StopRun(`${missing} job${missing === 1 ? '' : 's'} left the queue without an outcome (removed by hand, or run by workers without run support)`);
      }
    }
    await this.#report.drain(this.#deps.store, this.#runId);
    if (this.#run.state !== 'completed') await this.#deps.store.setState(this.#runId, 'completed');
    await this.#read();
  }

  /**
   * Stops the run: marks it, cancels its jobs not started (and the objects of a half-enqueued page
   * that got no job), and waits up to `stopGraceMs` for its running jobs to finish and report.
   */
  async #stop(reason: string): Promise<RunInfo> {
    const { store, queue } = this.#deps;
    await store.setState(this.#runId, 'stopped', reason);
    const note = `run stopped: ${reason}`;
    const pending = await store.pendingPage(this.#runId);
    if (pending !== undefined && pending.page === this.#run.nextPage) {
      const missing = await this.#slotsWithoutJob(pending);
      for (const [index, key, extra] of pending.items) {
        const slot = RunStore.slot(pending.page, index);
        if (missing.has(slot)) await store.recordOutcome(this.#runId, slot, { status: 'cancelled', bucket: this.#spec.bucket, key, versionId: extra?.versionId, errorCode: 'RunStopped', message: note, attempts: 0 });
      }
    }
    const deadline = Date.now() + (this.#options.stopGraceMs ?? 60_000);
    for (;;) {
      await cancelQueuedRunJobs(queue, store, this.#runId, note);
      await this.#checkpoint('stopping', undefined);
      if ((await unfinishedRunJobs(queue, this.#runId)) === 0 || isAborted(this.#options.signal) || Date.now() > deadline) break;
      await sleep(this.#pollMs, this.#options.signal);
    }
    await this.#report.drain(store, this.#runId);
    return this.#read();
  }
}
