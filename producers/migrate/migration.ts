/**
 * A bulk metadata migration: stream a bucket listing page by page and enqueue one rewrite job per
 * matching object, as a named, resumable run.
 *
 * Invariants this file keeps:
 * - Memory is flat: one listing page (≤ 1000 keys) is held at a time; the producer never holds the
 *   listing. Redis stays bounded too: enqueuing pauses while the queue holds `window` jobs or more.
 * - Resumable: a page's jobs are added before the page is recorded (counters + next cursor in one
 *   MULTI). A producer killed in between re-lists that page on resume: jobs still queued are
 *   deduplicated by their deterministic ids (`<runId>-<slot>`), and objects already finished are
 *   skipped by their bit in the run's bitmap. So each object is enqueued once in effect.
 * - The report lists every finished object once: workers record outcomes through the run store's
 *   bitmap, and the producer drains them into the CSV file as it goes.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import type { Queue, JobsOptions } from 'bullmq';
import { ValidationError } from '../../shared/errors.js';
import { validateJob, type MetadataRewriteJob } from '../../shared/jobs/index.js';
import { mimetypeFromKey } from '../../shared/s3/mime.js';
import type { CopyAcl, ListedObject, S3Bucket } from '../../shared/s3/index.js';
import type { Metadata } from '../../shared/s3/metadata.js';
import { REPORT_HEADER, RunStore, type RunInfo } from '../../shared/runs/index.js';
import { keyFilter, type KeyFilterOptions } from './key-filter.js';

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
  acl: CopyAcl;
  filter?: KeyFilterOptions | undefined;
}

export interface MigrationOptions {
  /** Run id; default `mig-<hash of the spec>`, so the same command resumes the same run. */
  runId?: string | undefined;
  /** List and count what would be enqueued; change nothing (no jobs, no run record). */
  dryRun?: boolean | undefined;
  /** Max jobs waiting in the queue before listing pauses. Default 20,000. */
  window?: number | undefined;
  /** Jobs enqueued per second at most (the run's request rate). Default: unlimited. */
  ratePerSecond?: number | undefined;
  /** Stop the run when more than `ratio` of the first `after` finished jobs failed. */
  failureThreshold?: { after: number; ratio: number } | undefined;
  /** CSV completion report path; default `<runId>.report.csv` in the working directory. */
  reportPath?: string | undefined;
  /** Wait for every job to finish (default true); false returns once everything is enqueued. */
  waitForCompletion?: boolean | undefined;
  /** Attempts per job (retryable failures). */
  attempts?: number | undefined;
  backoffMs?: number | undefined;
  /** Called after every page and every progress poll. */
  onProgress?: ((run: RunInfo) => void) | undefined;
  signal?: AbortSignal | undefined;
  /** Poll interval while waiting (ms). Default 250. */
  pollMs?: number | undefined;
  /** Keys per listing page (1..1000). Default 1000. */
  pageSize?: number | undefined;
}

export interface MigrationResult {
  run: RunInfo;
  /** Dry run: how many objects matched (and a few of them). */
  dryRun?: { listed: number; matched: number; sample: string[] } | undefined;
  reportPath: string | undefined;
}

export interface MigrationDeps {
  /** The bucket client used for listing (the producer's own credentials, from its profile). */
  bucket: S3Bucket;
  queue: Queue;
  store: RunStore;
}

export function defaultRunId(spec: MigrationSpec): string {
  return `mig-${createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16)}`;
}

/** Builds the rewrite job for one listed object. */
export function rewriteJobFor(spec: MigrationSpec, object: ListedObject, runId: string | undefined, slot: number | undefined): MetadataRewriteJob {
  const job: MetadataRewriteJob = { kind: 'metadata-rewrite', profile: spec.profile, bucket: spec.bucket, key: object.key, acl: spec.acl };
  if (spec.set !== undefined) job.set = spec.set;
  if (spec.remove !== undefined) job.remove = spec.remove;
  if (spec.headers !== undefined) job.headers = spec.headers;
  if (spec.mimetypeFromExtension === true) {
    const type = mimetypeFromKey(object.key);
    if (type !== undefined) job.mimetype = type;
  }
  if (runId !== undefined) job.runId = runId;
  if (slot !== undefined) job.runSlot = slot;
  return job;
}

/** A function, so TypeScript does not narrow `signal.aborted` across awaits. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

function assertOptions(spec: MigrationSpec, options: MigrationOptions): void {
  if (spec.set === undefined && spec.remove === undefined && spec.headers === undefined && spec.mimetypeFromExtension !== true)
    throw new ValidationError('spec', 'nothing to change: give set, remove, headers or mimetypeFromExtension');
  if (options.window !== undefined && (!Number.isInteger(options.window) || options.window < 1)) throw new ValidationError('window', 'must be a positive integer (jobs waiting at most)');
  if (options.ratePerSecond !== undefined && !(options.ratePerSecond > 0)) throw new ValidationError('ratePerSecond', 'must be a positive number of jobs per second');
  const t = options.failureThreshold;
  if (t !== undefined && (!Number.isInteger(t.after) || t.after < 1 || !(t.ratio > 0 && t.ratio <= 1)))
    throw new ValidationError('failureThreshold', 'needs after (a positive integer of finished jobs) and ratio (0 < ratio <= 1)');
}

/** Runs (or resumes) a migration. */
export async function runMigration(deps: MigrationDeps, spec: MigrationSpec, options: MigrationOptions = {}): Promise<MigrationResult> {
  assertOptions(spec, options);
  const filter = keyFilter(spec.filter ?? {});
  const pageSize = options.pageSize ?? 1000;
  // Validate the job shape once, before touching the listing: a bad spec fails at once.
  validateJob(rewriteJobFor(spec, { key: 'probe', size: 0, etag: '', lastModified: undefined, storageClass: undefined }, undefined, undefined));

  if (options.dryRun === true) {
    let listed = 0;
    let matched = 0;
    const sample: string[] = [];
    for await (const page of deps.bucket.listPages({ prefix: spec.prefix, pageSize, signal: options.signal })) {
      for (const o of page.objects) {
        listed++;
        if (!filter(o)) continue;
        matched++;
        if (sample.length < 10) sample.push(o.key);
      }
    }
    const now = Date.now();
    const run: RunInfo = {
      id: options.runId ?? defaultRunId(spec),
      kind: 'metadata-migration',
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
      createdAt: now,
      updatedAt: now,
      finishedAt: now,
      stopReason: 'dry run',
    };
    return { run, dryRun: { listed, matched, sample }, reportPath: undefined };
  }

  const runId = options.runId ?? defaultRunId(spec);
  const { run: existing } = await deps.store.createOrGet(runId, 'metadata-migration', spec);
  if (JSON.stringify(existing.spec) !== JSON.stringify(spec))
    throw new ValidationError('runId', `run "${runId}" exists with a different spec; resume it with the same options or choose another run id`);
  const reportPath = options.reportPath ?? `${runId}.report.csv`;
  if (!existsSync(reportPath)) writeFileSync(reportPath, `${REPORT_HEADER}\n`);

  const window = options.window ?? 20_000;
  const jobOptions: JobsOptions = {
    attempts: options.attempts ?? 5,
    backoff: { type: 's3jobs', delay: options.backoffMs ?? 1_000 },
    // No removeOnComplete here: bulk jobs rely on the workers' own removal, which costs nothing
    // per job, and their outcome goes to the run store instead.
  };
  const pollMs = options.pollMs ?? 250;
  const drain = async () => {
    for (;;) {
      const { ids, rows } = await deps.store.readOutcomes(runId, 1000);
      if (rows.length === 0) return;
      appendFileSync(reportPath, `${rows.join('\n')}\n`);
      await deps.store.ackOutcomes(runId, ids);
    }
  };
  const progress = async (): Promise<RunInfo> => {
    const run = (await deps.store.get(runId))!;
    options.onProgress?.(run);
    return run;
  };
  const overThreshold = (run: RunInfo): string | undefined => {
    const t = options.failureThreshold;
    const finished = run.completed + run.deadLettered;
    if (t === undefined || finished < t.after) return undefined;
    return run.deadLettered / finished > t.ratio ? `${run.deadLettered} of ${finished} finished jobs failed (threshold ${Math.round(t.ratio * 100)}% after ${t.after})` : undefined;
  };

  let run = await progress();
  let tokens = options.ratePerSecond ?? Infinity;
  let lastRefill = Date.now();

  if (run.state === 'listing') {
    let page = run.nextPage;
    const pages = deps.bucket.listPages({ prefix: spec.prefix, pageSize, continuationToken: run.cursor, signal: options.signal });
    for await (const listed of pages) {
      if (isAborted(options.signal)) break;
      const finished = await deps.store.finishedInPage(runId, page, listed.objects.length);
      const jobs: { name: 'metadata-rewrite'; data: MetadataRewriteJob; opts: JobsOptions }[] = [];
      let matched = 0;
      listed.objects.forEach((object, index) => {
        if (!filter(object)) return;
        matched++;
        if (finished[index] === true) return;
        const slot = RunStore.slot(page, index);
        jobs.push({ name: 'metadata-rewrite', data: rewriteJobFor(spec, object, runId, slot), opts: { ...jobOptions, jobId: `${runId}-${slot}` } });
      });

      // Backpressure: wait while the queue is full (and keep the report flowing meanwhile).
      for (;;) {
        const counts = await deps.queue.getJobCounts('waiting', 'prioritized', 'delayed');
        const depth = (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0);
        if (depth + jobs.length <= window || depth === 0) break;
        await drain();
        run = await progress();
        const reason = overThreshold(run);
        if (reason !== undefined) return stop(reason);
        await sleep(pollMs, options.signal);
        if (isAborted(options.signal)) return { run: await progress(), reportPath };
      }
      // Rate: hand out jobs no faster than ratePerSecond (a token bucket refilled by the clock).
      for (let i = 0; i < jobs.length; ) {
        if (options.ratePerSecond !== undefined) {
          const now = Date.now();
          tokens = Math.min(options.ratePerSecond, tokens + ((now - lastRefill) / 1000) * options.ratePerSecond);
          lastRefill = now;
          if (tokens < 1) {
            await sleep(Math.ceil(((1 - tokens) / options.ratePerSecond) * 1000), options.signal);
            continue;
          }
        }
        const n = Math.max(1, Math.min(jobs.length - i, Math.floor(tokens)));
        await deps.queue.addBulk(jobs.slice(i, i + n));
        tokens -= n;
        i += n;
      }
      page++;
      await deps.store.pageEnqueued(runId, { listed: listed.objects.length, matched, enqueued: matched, nextCursor: listed.nextContinuationToken, nextPage: page });
      await drain();
      run = await progress();
      const reason = overThreshold(run);
      if (reason !== undefined) return stop(reason);
    }
    if (isAborted(options.signal)) return { run: await progress(), reportPath };
    run = await progress();
  }

  if (options.waitForCompletion === false) return { run, reportPath };
  while (run.completed + run.deadLettered < run.enqueued) {
    if (isAborted(options.signal)) return { run, reportPath };
    await sleep(pollMs, options.signal);
    await drain();
    run = await progress();
    const reason = overThreshold(run);
    if (reason !== undefined) return stop(reason);
  }
  await drain();
  if (run.state !== 'completed') await deps.store.setState(runId, 'completed');
  return { run: await progress(), reportPath };

  async function stop(reason: string): Promise<MigrationResult> {
    await deps.store.setState(runId, 'stopped', reason);
    await drain();
    return { run: await progress(), reportPath };
  }
}
