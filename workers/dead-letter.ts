/**
 * Moving jobs that failed for good from the main queue to the dead-letter queue, idempotently and
 * without loss.
 *
 * Invariant: **the original leaves the main queue only after the dead-letter queue holds the
 * record of this very failure.** Both steps are keyed by the job id:
 *   1. the record is added to `<queue>-dead` under `deadLetterJobId(id)` (the job's id; `#<n>` for
 *      BullMQ's numeric auto ids, which it refuses as custom ids) — BullMQ's add of an existing id
 *      is a no-op, so a repeated step 1 never duplicates anything;
 *   2. the record is read back and checked to describe this failure (same queue, same `failedAt`);
 *   3. only then is the original removed from the main queue's `failed` set.
 * A crash between any two steps leaves the job in `failed` (with or without its record), and
 * running the whole thing again finishes the job. So every path that can leave a job in `failed`
 * is covered by running it again:
 *   - the worker's `failed` event (the normal path: a final failure the worker just recorded);
 *   - a sweep at start-up and every `sweepIntervalMs`, over everything in the `failed` set — jobs
 *     BullMQ failed itself ("job stalled more than allowable limit"), jobs whose worker died before
 *     step 3, jobs that failed while no s3jobs worker with a dead-letterer was running.
 *
 * A record of an *earlier* failure of the same id can be in the way: the DLQ admin's `retry`
 * re-adds the job to the main queue first and removes the old record right after. While the job's
 * new life is younger than `staleRecordGraceMs` the old record is left alone and the job stays in
 * `failed` for the next sweep (the retry is about to remove it); after that the retry is taken to
 * have died and the old record is overwritten with the new failure.
 */
import { Job, type Queue } from 'bullmq';
import type { Logger } from '../shared/log/logger.js';
import type { DeadLetterRecord } from '../shared/queue/dead-letter.js';
import { deadLetterJobId } from '../shared/queue/names.js';
import type { FailureDetails } from './retry/attempt-errors.js';
import type { DeadLetterReason } from './retry/classify.js';
import { buildDeadLetterRecord, isSameFailure } from './dead-letter-record.js';

export type DeadLetterOutcome =
  /** Recorded in the DLQ and removed from the main queue. */
  | 'dead-lettered'
  /** The job is no longer in the main queue (someone else finished the move). */
  | 'missing'
  /** The job is not in the `failed` state (it was retried, or is still running). Nothing done. */
  | 'not-failed'
  /** An earlier record of the same id is in the way and may be about to go: left for the next sweep. */
  | 'deferred';

export interface DeadLettererOptions {
  /** The main queue (jobs are read and removed here). */
  queue: Queue;
  /** `<queue>-dead`. */
  deadLetters: Queue;
  logger: Logger;
  /**
   * Called once the DLQ holds the record and before the original is removed (so a crash re-runs
   * it: it must be idempotent), with the job's progress (undefined for a batch's object). Used to
   * count run jobs as dead-lettered, and to abort an upload a copy kept (left-upload.ts).
   */
  onRecorded?: ((record: DeadLetterRecord, progress: unknown) => Promise<void>) | undefined;
  /** See the module comment. Default 60 000 ms. */
  staleRecordGraceMs?: number;
  now?: () => number;
}

/** Dead-letter jobs are never processed: kept until an operator retries or purges them. */
const DEAD_LETTER_JOB_OPTIONS = { attempts: 1, removeOnComplete: false, removeOnFail: false } as const;

export class DeadLetterer {
  readonly #queue: Queue;
  readonly #dlq: Queue;
  readonly #logger: Logger;
  readonly #graceMs: number;
  readonly #now: () => number;
  readonly #onRecorded: ((record: DeadLetterRecord, progress: unknown) => Promise<void>) | undefined;
  /** One move per job id at a time within this process (the event and a sweep may both try). */
  readonly #inFlight = new Map<string, Promise<DeadLetterOutcome>>();

  constructor(options: DeadLettererOptions) {
    this.#queue = options.queue;
    this.#dlq = options.deadLetters;
    this.#logger = options.logger;
    this.#graceMs = options.staleRecordGraceMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    this.#onRecorded = options.onRecorded;
  }

  /** Moves being made right now (awaited on shutdown so none is left half-done by us). */
  pending(): Promise<unknown>[] {
    return [...this.#inFlight.values()];
  }

  /**
   * Moves job `jobId` to the dead-letter queue if it is in `failed`. `known` is what the worker
   * that failed it knew about the error (status, request id, its classification).
   */
  deadLetter(jobId: string, known?: { details: FailureDetails; reason: DeadLetterReason }): Promise<DeadLetterOutcome> {
    const running = this.#inFlight.get(jobId);
    if (running !== undefined) return running;
    const move = this.#move(jobId, known).finally(() => this.#inFlight.delete(jobId));
    this.#inFlight.set(jobId, move);
    return move;
  }

  /**
   * Dead-letters everything in the main queue's `failed` set, `batchSize` jobs per round trip.
   * Stops when the set is empty or a round moved nothing (what is left is deferred).
   */
  async sweep(batchSize = 100): Promise<{ deadLettered: number; deferred: number }> {
    let deadLettered = 0;
    let deferred = 0;
    for (;;) {
      const ids = (await this.#queue.getFailed(0, batchSize - 1)).map((job) => job.id).filter((id): id is string => id !== undefined);
      if (ids.length === 0) break;
      let moved = 0;
      for (const id of ids) {
        const outcome = await this.deadLetter(id);
        if (outcome === 'dead-lettered' || outcome === 'missing') moved++;
        if (outcome === 'dead-lettered') deadLettered++;
        if (outcome === 'deferred') deferred++;
      }
      if (moved === 0) break;
    }
    return { deadLettered, deferred };
  }

  /**
   * Dead-letters one object of a batch job as the single job it stands for (`failure.jobId`,
   * `<runId>-<slot>`), which was never in the main queue: the record is added (a repeat, after a
   * crash, finds it there and adds nothing), then `onRecorded` counts it in the run.
   */
  async recordObjectFailure(failure: { payload: unknown; jobId: string; details: FailureDetails; reason: DeadLetterReason; attemptsMade: number }): Promise<void> {
    const now = this.#now();
    const record = buildDeadLetterRecord(
      { id: failure.jobId, name: kindOf(failure.payload), data: failure.payload, attemptsMade: failure.attemptsMade, attempts: failure.attemptsMade, timestamp: now, finishedOn: now },
      this.#queue.name,
      now,
      { details: failure.details, reason: failure.reason },
    );
    const deadId = deadLetterJobId(failure.jobId);
    const stored = await this.#storeRecord(deadId, record);
    // Counted with this failure's details; an older record of the object (a crash re-ran it) stays.
    if (this.#onRecorded !== undefined) await this.#onRecorded(record, undefined);
    this.#logger.warn(
      { jobId: failure.jobId, kind: record.kind, reason: record.reason, code: record.error.code, status: record.error.status, requestId: record.error.requestId, attemptsMade: record.attemptsMade, recorded: stored !== undefined },
      `object dead-lettered (${record.reason}): ${record.error.code}: ${record.error.message}`,
    );
  }

  /**
   * The dead-letter queue's record under `deadId`: the one already there (this failure's, or an
   * earlier one's), else `record`, added. Undefined when it was purged between the add and the read.
   * BullMQ's add of an existing id is a no-op, so a repeat never duplicates anything.
   */
  async #storeRecord(deadId: string, record: DeadLetterRecord): Promise<Job<DeadLetterRecord> | undefined> {
    const stored = await Job.fromId<DeadLetterRecord>(this.#dlq, deadId);
    if (stored !== undefined) return stored;
    await this.#dlq.add(record.name, record, { ...DEAD_LETTER_JOB_OPTIONS, jobId: deadId });
    return Job.fromId<DeadLetterRecord>(this.#dlq, deadId);
  }

  async #move(jobId: string, known: { details: FailureDetails; reason: DeadLetterReason } | undefined): Promise<DeadLetterOutcome> {
    const job = await Job.fromId(this.#queue, jobId);
    if (job === undefined) return 'missing';
    const state = await job.getState();
    if (state !== 'failed') return 'not-failed';

    const now = this.#now();
    const record = buildDeadLetterRecord(
      {
        id: jobId,
        name: job.name,
        data: job.data,
        attemptsMade: job.attemptsMade,
        attempts: job.opts.attempts ?? 1,
        timestamp: job.timestamp,
        finishedOn: job.finishedOn,
        failedReason: job.failedReason,
      },
      this.#queue.name,
      now,
      known,
    );
    const log = this.#logger.child({ jobId, kind: record.kind ?? record.name });

    const deadId = deadLetterJobId(jobId);
    const stored = await this.#storeRecord(deadId, record);
    // Purged between our add and our read: nothing recorded, so the original must stay.
    if (stored === undefined) return 'deferred';
    if (!isSameFailure(stored.data, record)) {
      // An earlier failure's record. See the module comment: wait for a DLQ retry to remove it,
      // unless the job's new life is old enough that the retry must have died half-way.
      if (now - job.timestamp < this.#graceMs) {
        log.info({ previousDeadLetteredAt: stored.data?.deadLetteredAt }, 'dead-letter deferred: an earlier record of this job id is still in the dead-letter queue');
        return 'deferred';
      }
      await stored.updateData(record);
    }
    if (this.#onRecorded !== undefined) await this.#onRecorded(stored.data, job.progress);
    // The DLQ holds this failure's record: only now may the original go.
    const removed = await this.#queue.remove(jobId);
    if (removed !== 1) {
      log.warn('dead-letter record written but the original could not be removed (locked); the next sweep retries');
      return 'deferred';
    }
    log.warn(
      { reason: record.reason, code: record.error.code, status: record.error.status, requestId: record.error.requestId, attemptsMade: record.attemptsMade },
      `job dead-lettered (${record.reason}): ${record.error.code}: ${record.error.message}`,
    );
    return 'dead-lettered';
  }
}

/** The kind of an object's own job (a batch's objects are dead-lettered as their single jobs: `metadata-rewrite`, `copy`, `tagging`, `acl`). */
function kindOf(payload: unknown): string {
  const kind = (payload as { kind?: unknown } | null)?.kind;
  return typeof kind === 'string' ? kind : 'metadata-rewrite';
}
