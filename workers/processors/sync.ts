/**
 * `sync`: list the source and destination prefixes, and fan out one copy job per source object that
 * is missing or different (size, ETag) at the destination. The copies are ordinary copy jobs: they
 * run, retry and are dead-lettered on their own; the sync job itself only lists and enqueues.
 *
 * Invariants:
 * - Memory is flat: the two listings are merge-joined one page at a time (`diffListings`), and each
 *   source page's copy jobs are added in one batch before the next page is read.
 * - A retried sync does not duplicate its fan-out. Copy job ids are deterministic (`copyJobId`: the
 *   key and the state both sides were seen in), so a job still queued or retained is not added
 *   twice; a copy that already happened left the destination up to date, so it is not even
 *   proposed again (objects with multipart ETags: by the source and copy ETags the copy recorded,
 *   see `recognizeOwnCopies`).
 * - A sync that finds nothing to do adds nothing and, reported as a run, creates no run.
 * - Reported as a run (`asRun`), the fan-out is resumable: each page's jobs are added, then the page
 *   is recorded (counters and the last source key, one MULTI), and a retry lists on from that key.
 *   A page added but not recorded is listed again: its jobs are deduplicated by id and the copies
 *   already finished are skipped by their bit in the run's bitmap. A copy job's run slot is where
 *   its source stood in the listing (page * 1000 + index).
 * - A sync without a `timeoutMs` of its own runs without the worker's job deadline: it lasts as
 *   long as its listing. Each listing request keeps the transport's timeouts, shutdown still aborts
 *   it (and requeues it), and BullMQ's renewed lock shows it is alive.
 */
import { S3JobsError, ErrorCodes, ValidationError } from '../../shared/errors.js';
import type { CopyJob, SyncJob, SyncJobResult } from '../../shared/jobs/index.js';
import { validateJob } from '../../shared/jobs/index.js';
import { RunStore, type RunInfo } from '../../shared/runs/index.js';
import { PERMANENT_S3_CODES, type ListedObject } from '../../shared/s3/index.js';
import type { FanOutJob, ProcessorContext } from './context.js';
import { recognizeStreamedCopies } from './sync-cross-store.js';
import { copyJobId, diffListings, needsCopyRecord, normalizeEtag, recognizeOwnCopies, runIdFor, syncBase, type SyncDecision } from './sync-diff.js';

/** Run kind of a sync's fan-out. */
export const SYNC_RUN_KIND = 'sync';

export interface SyncOptions {
  /** Keys per listing page, 1..1000. Default 1000 (ListObjectsV2's maximum). */
  pageSize?: number | undefined;
}

/** The copy job for one decision of the sync. */
export function copyJobFor(job: SyncJob, decision: SyncDecision, run: { runId: string; slot: number } | undefined): CopyJob {
  const copy: CopyJob = {
    kind: 'copy',
    profile: job.profile,
    ...(job.sourceProfile === undefined ? {} : { sourceProfile: job.sourceProfile }),
    source: { bucket: job.source.bucket, key: decision.source.key },
    destination: { bucket: job.destination.bucket, key: `${job.destination.prefix}${decision.suffix}` },
    acl: job.acl,
  };
  if (job.metadata !== undefined) copy.metadata = job.metadata;
  if (job.mimetype !== undefined) copy.mimetype = job.mimetype;
  // Recorded with the copy's ETag when either is multipart (see recognizeOwnCopies).
  copy.listedSourceEtag = normalizeEtag(decision.source.etag);
  if (run !== undefined) {
    copy.runId = run.runId;
    copy.runSlot = run.slot;
  }
  return copy;
}

async function* objectsOf(pages: AsyncIterable<{ objects: ListedObject[] }>): AsyncGenerator<readonly ListedObject[], void, undefined> {
  for await (const page of pages) yield page.objects;
}

/**
 * Pure: the error of a page of deletes some of which failed (DeleteObjects' per-key errors carry a
 * code, no status). Retried unless every code is one S3 answers the same way every time
 * (AccessDenied on a protected prefix, say): retrying those only spends the job's attempts.
 */
export function deleteFailure(errors: readonly { key: string; code: string; message: string }[], total: number): S3JobsError {
  // The error's code decides the retry (workers/retry/classify.ts): a transient one where any is.
  const lead = errors.find((e) => !PERMANENT_S3_CODES.has(e.code)) ?? errors[0]!;
  const codes = [...new Set(errors.map((e) => e.code))].join(', ');
  return new S3JobsError(lead.code, `sync --delete: ${errors.length} of ${total} deletes failed (${codes}), e.g. ${lead.key}: ${lead.message}`, { retryable: !PERMANENT_S3_CODES.has(lead.code) });
}

/** What a sync with `delete` or `dryRun` adds to its result. */
interface Extras {
  toDelete?: number | undefined;
  deleted?: number | undefined;
  dryRun?: { copy: string[]; delete: string[] } | undefined;
}

function resultOf(counts: { examined: number; toCopy: number; enqueued: number }, runId: string | undefined, startedAt: number, now: number, extras: Extras = {}): SyncJobResult {
  return {
    kind: 'sync',
    examined: counts.examined,
    toCopy: counts.toCopy,
    enqueued: counts.enqueued,
    unchanged: counts.examined - counts.toCopy,
    ...(runId === undefined ? {} : { runId }),
    changed: counts.enqueued > 0 || (extras.deleted ?? 0) > 0,
    ...(extras.toDelete === undefined ? {} : { toDelete: extras.toDelete, deleted: extras.deleted ?? 0 }),
    ...(extras.dryRun === undefined ? {} : { dryRun: extras.dryRun }),
    durationMs: now - startedAt,
  };
}

/** Keys a dry run lists in its result, per kind. */
const DRY_RUN_SAMPLE = 100;

/**
 * A copy of a multipart source, or a copy made in parts, has another ETag than its source: the
 * copies this sync made earlier are recognised by what they recorded (source and copy ETag), so
 * they are not copied again.
 */
async function withOwnCopiesRecognized(decisions: SyncDecision[], job: SyncJob, ctx: ProcessorContext): Promise<SyncDecision[]> {
  if (ctx.runs === undefined) return decisions;
  const asked = decisions.map((d, i) => (needsCopyRecord(d) ? i : -1)).filter((i) => i >= 0);
  if (asked.length === 0) return decisions;
  const found = await ctx.runs.syncedCopies(job.destination.bucket, asked.map((i) => decisions[i]!.destination!.key));
  const records = new Array<{ sourceEtag: string; copyEtag: string } | undefined>(decisions.length);
  asked.forEach((i, n) => (records[i] = found[n]));
  return recognizeOwnCopies(decisions, records);
}

export async function processSync(job: SyncJob, ctx: ProcessorContext, options: SyncOptions = {}): Promise<SyncJobResult> {
  const enqueue = ctx.enqueue;
  if (enqueue === undefined) throw new S3JobsError(ErrorCodes.InvalidConfig, 'this worker cannot add jobs to its queue, which a sync needs (start workers with startWorker)');
  // A dry run changes nothing, a run included.
  const runs = job.asRun === true && job.dryRun !== true ? ctx.runs : undefined;
  if (job.asRun === true && job.dryRun !== true && runs === undefined) throw new S3JobsError(ErrorCodes.InvalidConfig, 'this worker has no run store, which a sync reported as a run needs (start workers with startWorker)');
  const signal = job.timeoutMs === undefined ? ctx.deadline.lift() : ctx.signal;
  const prefixes = { source: job.source.prefix, destination: job.destination.prefix };
  const runId = runs === undefined ? undefined : runIdFor(ctx.jobId);
  const base = runId ?? syncBase(job);

  let run: RunInfo | undefined = runId === undefined ? undefined : await runs!.get(runId);
  if (run !== undefined && run.state !== 'listing') {
    // An earlier attempt listed everything; its copies are queued (or done).
    ctx.logger.info({ runId }, 'sync already listed by an earlier attempt');
    return resultOf({ examined: run.listed, toCopy: run.matched, enqueued: run.enqueued }, runId, ctx.startedAt, ctx.now());
  }
  // Resume after the last page an earlier attempt recorded (its last source key).
  const after = run?.cursor;
  let page = run?.nextPage ?? 0;
  const counts = { examined: run?.listed ?? 0, toCopy: run?.matched ?? 0, enqueued: run?.enqueued ?? 0 };
  // Pages listed before the run exists (a run is only created once there is something to copy).
  const unrecorded = { listed: 0, matched: 0 };
  if (after !== undefined) ctx.logger.info({ runId, after, page }, 'resuming the sync listing after the last recorded page');

  const sourceProfile = job.sourceProfile ?? job.profile;
  const crossStore = sourceProfile !== job.profile && ctx.sameStore?.(sourceProfile, job.profile) !== true;
  const source = ctx.bucketFor(sourceProfile, job.source.bucket);
  const destination = ctx.bucketFor(job.profile, job.destination.bucket);
  const dryRun = job.dryRun === true ? { copy: [] as string[], delete: [] as string[] } : undefined;
  // Destination objects the source does not have (with `delete`), deleted page by page.
  const orphans: string[] = [];
  const deletion = { toDelete: 0, deleted: 0 };
  const flushOrphans = async (): Promise<void> => {
    if (orphans.length === 0) return;
    const keys = orphans.splice(0);
    deletion.toDelete += keys.length;
    if (dryRun !== undefined) {
      dryRun.delete.push(...keys.slice(0, DRY_RUN_SAMPLE - dryRun.delete.length));
      return;
    }
    const { deleted, errors } = await destination.deleteMany(keys, { signal });
    deletion.deleted += deleted.length;
    if (errors.length > 0) throw deleteFailure(errors, keys.length);
  };
  const sourcePages = source.listPages({ prefix: prefixes.source, startAfter: after, pageSize: options.pageSize, signal });
  const destinationObjects = destination.list({
    prefix: prefixes.destination,
    startAfter: after === undefined ? undefined : `${prefixes.destination}${after.slice(prefixes.source.length)}`,
    pageSize: options.pageSize,
    signal,
  });

  const onOrphan = job.delete === true ? (o: ListedObject): void => void orphans.push(o.key) : undefined;
  for await (const listed of diffListings(objectsOf(sourcePages), destinationObjects, prefixes, onOrphan)) {
    await flushOrphans();
    if (listed.length === 0) continue; // only orphans past the source's last key
    let decisions = await withOwnCopiesRecognized(listed, job, ctx);
    if (crossStore) decisions = await recognizeStreamedCopies(decisions, destination, signal);
    if (dryRun !== undefined) {
      const wanted = decisions.filter((d) => d.status !== 'unchanged');
      counts.examined += decisions.length;
      counts.toCopy += wanted.length;
      dryRun.copy.push(...wanted.slice(0, DRY_RUN_SAMPLE - dryRun.copy.length).map((d) => d.source.key));
      continue;
    }
    const wanted = decisions.filter((d) => d.status !== 'unchanged').length;
    counts.examined += decisions.length;
    counts.toCopy += wanted;
    if (runId !== undefined && run === undefined && wanted > 0) {
      ({ run } = await runs!.createOrGet(runId, SYNC_RUN_KIND, { jobId: ctx.jobId, profile: job.profile, source: job.source, destination: job.destination, acl: job.acl }));
    }
    const finished = run === undefined ? [] : await runs!.finishedInPage(run.id, page, decisions.length);
    const jobs: FanOutJob[] = [];
    decisions.forEach((decision, index) => {
      if (decision.status === 'unchanged' || finished[index] === true) return;
      const payload = copyJobFor(job, decision, run === undefined ? undefined : { runId: run.id, slot: RunStore.slot(page, index) });
      try {
        validateJob(payload);
      } catch (err) {
        // The one field a listing can make invalid: a destination key too long once re-prefixed.
        if (!(err instanceof ValidationError)) throw err;
        ctx.logger.warn({ key: decision.source.key, err: err.message }, 'cannot copy this object: its copy job would be invalid; skipped');
        return;
      }
      jobs.push({ payload, jobId: copyJobId(base, decision) });
    });
    const added = await enqueue(jobs, { signal });
    counts.enqueued += added;
    const last = decisions[decisions.length - 1];
    if (run !== undefined && last !== undefined) {
      await runs!.pageEnqueued(run.id, { listed: decisions.length + unrecorded.listed, matched: wanted + unrecorded.matched, enqueued: added, nextCursor: last.source.key, nextPage: page + 1 });
      unrecorded.listed = 0;
      unrecorded.matched = 0;
    } else {
      unrecorded.listed += decisions.length;
      unrecorded.matched += wanted;
    }
    ctx.logger.debug({ page, listed: decisions.length, toCopy: wanted, enqueued: added }, 'sync page done');
    page++;
  }
  await flushOrphans();
  // The listing is over: the run moves to `draining` (its copies finish on their own).
  if (run !== undefined) await runs!.pageEnqueued(run.id, { listed: unrecorded.listed, matched: unrecorded.matched, enqueued: 0, nextCursor: undefined, nextPage: page });

  const result = resultOf(counts, run?.id, ctx.startedAt, ctx.now(), { ...(job.delete === true ? deletion : {}), dryRun });
  ctx.logger.info(
    { examined: result.examined, toCopy: result.toCopy, enqueued: result.enqueued, unchanged: result.unchanged, runId: result.runId, toDelete: result.toDelete, deleted: result.deleted, dryRun: dryRun !== undefined },
    dryRun !== undefined ? 'sync dry run: nothing copied or deleted' : result.enqueued > 0 ? 'sync fanned out copy jobs' : 'sync found nothing to copy',
  );
  return result;
}
