/**
 * Dead-letter admin: read, retry and purge the jobs workers gave up on.
 *
 * Workers move a job that failed for good into `<queue>-dead` as a BullMQ job with the same id
 * (`deadLetterJobId`: numeric auto ids become `#<n>`), whose data is a `DeadLetterRecord` (original
 * payload, error, attempts, times). Nothing processes that queue: it is an archive, and these are
 * its only operations. Methods take the original job id (a dead-letter id works too).
 *
 * ```ts
 * const dlq = new DeadLetters(producer);
 * const { items } = await dlq.list({ limit: 20 });
 * await dlq.retry(items[0].jobId, { payloadPatch: { acl: 'private' } });
 * ```
 *
 * Invariant: a retry adds the job to the main queue *before* removing it from the dead-letter
 * queue, and adding an id that already exists returns the existing job. So a retry interrupted at
 * any point can simply be run again: the job is never lost, and never queued twice.
 */
import { Job } from 'bullmq';
import { S3JobsError, ValidationError, ErrorCodes } from '../shared/errors.js';
import { isBatchJob, singleJobsOf, validateJob, type BatchJob, type JobPayload } from '../shared/jobs/index.js';
import type { DeadLetterRecord } from '../shared/queue/dead-letter.js';
import { deadLetterJobId } from '../shared/queue/names.js';
import type { EnqueueOptions, S3JobsProducer } from './producer.js';

/** States a dead-letter job can sit in (no worker ever takes it, so never active/completed). */
const DEAD_LETTER_STATES = ['waiting', 'prioritized', 'delayed'] as const;

/** Jobs read per round trip when walking the whole dead-letter queue. */
const PAGE = 500;

/** Code of the error raised for an id that is not in the dead-letter queue (same as `waitFor`'s). */
export const JOB_NOT_FOUND = 'S3JOBS_JOB_NOT_FOUND';

/** The job is not in the dead-letter queue. */
export class DeadLetterNotFoundError extends S3JobsError {
  override name = 'DeadLetterNotFoundError';
  readonly jobId: string;
  constructor(jobId: string, queue: string) {
    super(JOB_NOT_FOUND, `job ${jobId} is not in the dead-letter queue ${queue}`);
    this.jobId = jobId;
  }
}

/**
 * A dead-lettered payload (after any patch) does not validate, so retrying it would only
 * dead-letter it again. `field` is `payload.<field>`; fix it with a `payloadPatch`.
 */
export class InvalidDeadLetterPayloadError extends ValidationError {
  override name = 'InvalidDeadLetterPayloadError';
  readonly jobId: string;
  /** The field inside the payload (without the `payload.` prefix). */
  readonly payloadField: string;
  /** What was wrong, without the field name. */
  readonly problem: string;
  constructor(jobId: string, payloadField: string, problem: string) {
    super(`payload.${payloadField}`, `${problem} (job ${jobId} cannot be retried until its payload is fixed with a payload patch)`, ErrorCodes.InvalidJob);
    this.jobId = jobId;
    this.payloadField = payloadField;
    this.problem = problem;
  }
}

/** One line of `list`. */
export interface DeadLetterSummary {
  jobId: string;
  /** The job kind, or the BullMQ job name when the payload was malformed. */
  kind: string;
  errorCode: string;
  message: string;
  attemptsMade: number;
  reason: DeadLetterRecord['reason'] | 'unknown';
  deadLetteredAt: number;
}

export interface DeadLetterPage {
  /** Dead-lettered jobs in all, not just on this page. */
  total: number;
  offset: number;
  items: DeadLetterSummary[];
}

export interface RetryOptions {
  /**
   * A JSON merge patch (RFC 7386) applied to the original payload before it is validated and
   * re-enqueued: objects merge, `null` deletes a field, anything else replaces it. For example
   * `{ acl: 'private', metadata: { bad: null } }`.
   */
  payloadPatch?: Record<string, unknown> | undefined;
  /** Options of the new attempt (job id excepted: the job keeps its id). Defaults as for `add`. */
  enqueue?: Omit<EnqueueOptions, 'jobId'> | undefined;
}

export interface RetryOutcome {
  /** The id the job had (and has in the dead-letter queue). */
  jobId: string;
  /**
   * The id it was re-enqueued under: the same id, except for jobs whose original id was BullMQ's
   * numeric auto id (BullMQ refuses numeric custom ids), which get `retry-<id>-<deadLetteredAt>`
   * (stable, so a repeated retry still finds the same job).
   */
  requeuedAs: string;
  kind: string;
  /** True when the main queue already held the job (a retry that had been interrupted). */
  alreadyQueued: boolean;
}

export interface RetryAllOutcome {
  retried: RetryOutcome[];
  /** Jobs left in the dead-letter queue because their payload does not validate. */
  skipped: { jobId: string; field: string; message: string }[];
}

/**
 * RFC 7386 JSON merge patch, pure: returns a new value, never modifies `target`.
 * `null` in the patch deletes; a non-object patch replaces the target wholesale.
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const base: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete base[name];
    else base[name] = mergePatch(base[name], value);
  }
  return base;
}

/**
 * Reads a dead-letter job's data defensively: the record was written by another process (maybe
 * an older version), so nothing about its shape is trusted beyond what is checked here.
 */
export function toRecord(job: { id?: string | undefined; name: string; data: unknown; timestamp: number }, queue: string): DeadLetterRecord {
  const data = (job.data !== null && typeof job.data === 'object' ? job.data : {}) as Partial<DeadLetterRecord> & Record<string, unknown>;
  const error = (data.error !== null && typeof data.error === 'object' ? data.error : {}) as Partial<DeadLetterRecord['error']>;
  const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
  return {
    ...data,
    jobId: typeof data.jobId === 'string' && data.jobId !== '' ? data.jobId : (job.id ?? ''),
    queue: typeof data.queue === 'string' ? data.queue : queue,
    name: typeof data.name === 'string' ? data.name : job.name,
    kind: data.kind,
    payload: data.payload,
    error: {
      ...error,
      code: typeof error.code === 'string' ? error.code : 'unknown',
      message: typeof error.message === 'string' ? error.message : '',
      retryable: error.retryable === true,
    },
    attemptsMade: num(data.attemptsMade, 0),
    reason: data.reason ?? ('unknown' as DeadLetterRecord['reason']),
    enqueuedAt: num(data.enqueuedAt, job.timestamp),
    failedAt: num(data.failedAt, job.timestamp),
    deadLetteredAt: num(data.deadLetteredAt, job.timestamp),
  };
}

export function summarize(record: DeadLetterRecord): DeadLetterSummary {
  return {
    jobId: record.jobId,
    kind: record.kind ?? record.name,
    errorCode: record.error.code,
    message: record.error.message,
    attemptsMade: record.attemptsMade,
    reason: record.reason,
    deadLetteredAt: record.deadLetteredAt,
  };
}

/** The id a retried job gets in the main queue (see `RetryOutcome.requeuedAs`). */
export function requeueIdFor(record: Pick<DeadLetterRecord, 'jobId' | 'deadLetteredAt'>): string {
  return /^\d+$/.test(record.jobId) ? `retry-${record.jobId}-${record.deadLetteredAt}` : record.jobId;
}

/**
 * The patched payload, validated; throws InvalidDeadLetterPayloadError naming `payload.<field>`.
 * Pure, so what `retry` would enqueue can be checked without Redis.
 */
export function payloadForRetry(record: Pick<DeadLetterRecord, 'jobId' | 'payload'>, payloadPatch?: Record<string, unknown>): JobPayload {
  const payload = payloadPatch === undefined ? record.payload : mergePatch(record.payload, payloadPatch);
  try {
    return validateJob(payload);
  } catch (err) {
    if (err instanceof ValidationError) throw new InvalidDeadLetterPayloadError(record.jobId, err.field, err.message.replace(/^[^:]*: /, ''));
    throw err;
  }
}

export class DeadLetters {
  readonly #producer: S3JobsProducer;

  /** Works over the producer's queues and connection; closing the producer is the caller's job. */
  constructor(producer: S3JobsProducer) {
    this.#producer = producer;
  }

  /** Name of the dead-letter queue. */
  get queueName(): string {
    return this.#producer.deadLetters.name;
  }

  /** How many jobs are dead-lettered. */
  async count(): Promise<number> {
    const counts = await this.#producer.deadLetters.getJobCounts(...DEAD_LETTER_STATES);
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  /** Dead-lettered jobs, newest first. `limit` default 20 (at most 1000), `offset` default 0. */
  async list(options: { limit?: number | undefined; offset?: number | undefined } = {}): Promise<DeadLetterPage> {
    const limit = options.limit ?? 20;
    const offset = options.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ValidationError('limit', 'must be an integer from 1 to 1000');
    if (!Number.isInteger(offset) || offset < 0) throw new ValidationError('offset', 'must be a non-negative integer');
    const dlq = this.#producer.deadLetters;
    const counts = await dlq.getJobCounts(...DEAD_LETTER_STATES);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    let records: DeadLetterRecord[];
    if (total === (counts.waiting ?? 0)) {
      // The normal case: workers add dead letters plainly, so they all sit in the wait list, which
      // BullMQ pushes at the head — list order is newest first and can be paged in Redis.
      const jobs = await dlq.getJobs(['waiting'], offset, offset + limit - 1, false);
      records = jobs.map((job) => toRecord(job, this.#producer.queueName));
    } else {
      // Someone added dead letters with a delay or priority: read all and sort by time.
      const all = (await this.#all()).map((entry) => entry.record);
      records = all.sort((a, b) => b.deadLetteredAt - a.deadLetteredAt).slice(offset, offset + limit);
    }
    return { total, offset, items: records.map(summarize) };
  }

  /** The full record of one dead-lettered job; DeadLetterNotFoundError when absent. */
  async show(jobId: string): Promise<DeadLetterRecord> {
    const job = await this.#get(jobId);
    return toRecord(job, this.#producer.queueName);
  }

  /**
   * Re-enqueues the original payload (with `payloadPatch` applied) into the main queue under the
   * same job id, as a new job — attempts start again from zero — then removes the dead letter.
   *
   * Throws DeadLetterNotFoundError for an unknown id, and InvalidDeadLetterPayloadError (nothing
   * changed) when the payload does not validate.
   */
  async retry(jobId: string, options: RetryOptions = {}): Promise<RetryOutcome> {
    const job = await this.#get(jobId);
    const record = toRecord(job, this.#producer.queueName);
    const payload = payloadForRetry(record, options.payloadPatch);
    if (isBatchJob(payload)) return this.#retryBatch(job, record, payload, options);
    const requeuedAs = requeueIdFor(record);

    // A copy of the job still in the main queue in the `failed` state is the original, left there
    // by a dead-lettering that was interrupted before its last step (or the retried job failing
    // again while we look): it is finished, so removing it is safe, and it must go — otherwise
    // `add` would return it instead of running the job again.
    let alreadyQueued = false;
    const existing = await Job.fromId(this.#producer.queue, requeuedAs);
    if (existing !== undefined) {
      const state = await existing.getState();
      if (state === 'failed') await existing.remove();
      else alreadyQueued = true;
    }
    const added = await this.#producer.add(payload, { ...options.enqueue, jobId: requeuedAs, replacesDeadLetter: true });
    await this.#producer.deadLetters.remove(job.id ?? jobId);
    return { jobId: record.jobId, requeuedAs: added.jobId, kind: added.kind, alreadyQueued };
  }

  /**
   * A batch dead-lettered whole (malformed, or stalled out): each of its objects already counts as
   * dead-lettered in its run, so the batch itself would skip them all. Its objects go back as the
   * single jobs they stand for (`<runId>-<slot>`, like an object's own dead letter), in one
   * all-or-nothing add; then the record goes.
   */
  async #retryBatch(job: Job, record: DeadLetterRecord, batch: BatchJob, options: RetryOptions): Promise<RetryOutcome> {
    const singles = singleJobsOf(batch);
    const items = singles.map(({ slot, job: payload }) => ({ payload, options: { ...options.enqueue, jobId: `${batch.runId}-${slot}`, replacesDeadLetter: true } }));
    let added;
    try {
      added = await this.#producer.addBulk(items);
    } catch (err) {
      // The bulk add's `jobs[<i>].<field>` (or `<field>` alone for one object) is the batch's `objects.<i>.<field>`.
      if (err instanceof ValidationError) {
        const field = items.length > 1 ? err.field.replace(/^jobs\[(\d+)\]\./, 'objects.$1.') : `objects.0.${err.field}`;
        throw new InvalidDeadLetterPayloadError(record.jobId, field, err.message.replace(/^[^:]*: /, ''));
      }
      throw err;
    }
    await this.#producer.deadLetters.remove(job.id ?? record.jobId);
    return { jobId: record.jobId, requeuedAs: added.map((a) => a.jobId).join(', '), kind: singles[0]!.job.kind, alreadyQueued: false };
  }

  /**
   * Retries every dead-lettered job. Jobs whose payload does not validate (even after the patch)
   * stay dead-lettered and are reported in `skipped`; the others are retried one by one.
   */
  async retryAll(options: RetryOptions = {}): Promise<RetryAllOutcome> {
    const outcome: RetryAllOutcome = { retried: [], skipped: [] };
    for (const { id, record } of await this.#all()) {
      try {
        outcome.retried.push(await this.retry(id, options));
      } catch (err) {
        if (err instanceof DeadLetterNotFoundError) continue; // retried or purged meanwhile
        if (err instanceof InvalidDeadLetterPayloadError) {
          outcome.skipped.push({ jobId: record.jobId, field: err.field, message: err.problem });
          continue;
        }
        throw err;
      }
    }
    return outcome;
  }

  /** Deletes one dead letter for good; DeadLetterNotFoundError when absent. */
  async purge(jobId: string): Promise<void> {
    const job = await this.#get(jobId);
    await this.#producer.deadLetters.remove(job.id ?? jobId);
  }

  /** Deletes every dead letter; returns how many were deleted. */
  async purgeAll(): Promise<number> {
    const dlq = this.#producer.deadLetters;
    let purged = 0;
    for (;;) {
      const jobs = await dlq.getJobs([...DEAD_LETTER_STATES], 0, PAGE - 1, false);
      if (jobs.length === 0) return purged;
      let removed = 0;
      for (const job of jobs) if (job.id !== undefined) removed += await dlq.remove(job.id);
      // Nothing removable left (a job locked by something that is not ours): stop, don't spin.
      if (removed === 0) return purged;
      purged += removed;
    }
  }

  async #get(jobId: string): Promise<Job> {
    const job = await Job.fromId(this.#producer.deadLetters, deadLetterJobId(jobId));
    if (job === undefined) throw new DeadLetterNotFoundError(jobId, this.queueName);
    return job;
  }

  /** Every dead letter with its id in the dead-letter queue. */
  async #all(): Promise<{ id: string; record: DeadLetterRecord }[]> {
    const jobs = await this.#producer.deadLetters.getJobs([...DEAD_LETTER_STATES], 0, -1, false);
    return jobs.filter((job) => job.id !== undefined).map((job) => ({ id: job.id!, record: toRecord(job, this.#producer.queueName) }));
  }
}
