/**
 * The loop every batch kind runs (`metadata-rewrite-batch`, `copy-batch`): several objects of one
 * run's page, each handled as the single job it stands for — the batch only shares the BullMQ job
 * (and its ~1 KB of Redis) between them.
 *
 * Per object, in page order, one after another (the worker's concurrency stays the number of S3
 * operations in flight, batch or not):
 *   - an object whose slot already has an outcome in the run is skipped: finished by an earlier
 *     attempt, or by a run of this job that died before BullMQ recorded it;
 *   - success → a `completed` outcome (recorded in groups of FLUSH_EVERY, and before the job ends);
 *   - a failure the classification calls permanent (or retryable on the job's last attempt) → the
 *     object is dead-lettered as its own single job (`<runId>-<slot>`), then counted;
 *   - a retryable failure with attempts left → left without an outcome; once every object was
 *     tried, the job fails retryably and BullMQ runs it again after the backoff, for those only.
 * Each object gets the job deadline (`timeoutMs`, else the worker's) to itself, and a large one is
 * freed from it exactly as a single job is. Shutdown, a lost lock or cancellation stop the batch
 * after recording what finished; the job is requeued and resumes where it stopped.
 */
import { ErrorCodes, S3JobsError } from '../../shared/errors.js';
import type { JobPayload } from '../../shared/jobs/index.js';
import type { Outcome } from '../../shared/runs/index.js';
import { isStoreDownFailure } from '../../shared/s3/retry-rules.js';
import { createJobDeadline } from '../deadline.js';
import { failureDetails } from '../retry/attempt-errors.js';
import { classify } from '../retry/classify.js';
import type { ProcessorContext } from './context.js';

/** Completed outcomes are written to the run store in groups of this many (one round trip each). */
export const FLUSH_EVERY = 50;

/** An object of a batch: its key, its slot in the run, and the version it targets, if any. */
export interface BatchItem {
  key: string;
  slot: number;
  versionId?: string | undefined;
}

/** What one object's single job gave: enough for its report row. */
export interface ObjectDone {
  changed: boolean;
  etag?: string | undefined;
  /** The row's message (a copy's destination). */
  message?: string | undefined;
}

export interface ObjectBatch<O extends BatchItem, J extends JobPayload> {
  /** The batch kind, for messages. */
  kind: string;
  runId: string;
  /** The bucket the report rows name (the one the run's input names). */
  bucket: string;
  objects: readonly O[];
  /** The single job an object stands for: run as it, dead-lettered as it. Pure, never throws. */
  single(object: O): J;
  /** Runs one object's single job under `ctx` (its own deadline and signal); checks it first where it may not be valid. */
  run(job: J, ctx: ProcessorContext): Promise<ObjectDone>;
}

export interface BatchTally {
  objects: number;
  /** Objects this attempt finished with success. */
  completed: number;
  /** Of those, the ones that changed something. */
  changed: number;
  /** Objects this attempt dead-lettered, each as its own single job. */
  deadLettered: number;
  /** Objects an earlier attempt (or run of this job) had already finished. */
  skipped: number;
}

export async function runObjectBatch<O extends BatchItem, J extends JobPayload>(batch: ObjectBatch<O, J>, ctx: ProcessorContext): Promise<BatchTally> {
  const { runs, deadLetterObject } = ctx;
  if (runs === undefined || deadLetterObject === undefined)
    throw new S3JobsError('S3JOBS_BATCH_UNSUPPORTED', `${batch.kind} jobs need a worker with a run store and a dead-letter queue (startWorker)`, { retryable: false });

  const finished = await runs.finishedSlots(batch.runId, batch.objects.map((o) => o.slot));
  const todo = batch.objects.filter((_, i) => !finished[i]);
  const pending: { slot: number; outcome: Outcome }[] = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    await runs.recordOutcomes(batch.runId, pending.splice(0));
  };
  const tally: BatchTally = { objects: batch.objects.length, completed: 0, changed: 0, deadLettered: 0, skipped: batch.objects.length - todo.length };
  const retry: { object: O; error: unknown }[] = [];
  let storeDownInARow = 0;

  try {
    for (const object of todo) {
      // Never end as done with objects not tried: the job would be removed without their outcomes.
      // Failing lets the caller requeue it (shutdown, lost lock) or retry it, for those only.
      if (ctx.signal.aborted)
        throw new S3JobsError(ErrorCodes.Aborted, `batch stopped from outside before ${object.key} (slot ${object.slot}); its remaining objects run again with the job`, { retryable: true, cause: ctx.signal.reason });
      const deadline = createJobDeadline({ timeoutMs: ctx.objectTimeoutMs, signals: [ctx.signal] });
      const single = batch.single(object);
      try {
        // No job progress per object: it is the batch's (a streamed copy would keep its upload there).
        const done = await batch.run(single, { ...ctx, signal: deadline.signal, deadline, startedAt: ctx.now(), progress: undefined });
        tally.completed++;
        storeDownInARow = 0;
        if (done.changed) tally.changed++;
        pending.push({
          slot: object.slot,
          outcome: { status: 'completed', bucket: batch.bucket, key: object.key, versionId: object.versionId, changed: done.changed, attempts: ctx.attempt, etag: done.etag, message: done.message },
        });
        if (pending.length >= FLUSH_EVERY) await flush();
      } catch (err) {
        // Stopped from outside: not this object's failure. What finished is recorded below, and
        // the job is requeued by the caller (which reads the same signal).
        if (ctx.signal.aborted) throw err;
        const error = deadline.errorFor(err);
        // The store itself is away (two objects in a row refused, reset, timed out, 503): the
        // others would only wait out their deadlines one by one. Stop here; the job is retried —
        // or held back by the worker's circuit breaker without using an attempt — for what is
        // left. One such failure alone may be that object's (a slow one). Not on the last
        // attempt: there each object still gets its own try and its own dead letter.
        storeDownInARow = isStoreDownFailure(error) ? storeDownInARow + 1 : 0;
        if (storeDownInARow >= 2 && ctx.attempt < ctx.attempts) throw error;
        const decision = classify(error, { attemptsMade: ctx.attempt, attempts: ctx.attempts });
        const log = ctx.logger.child({ key: object.key, slot: object.slot });
        if (decision.action === 'retry') {
          log.warn({ code: decision.code, err: error }, `object failed, retried with the batch's next attempt`);
          retry.push({ object, error });
        } else {
          const details = failureDetails(error, decision.code, decision.action === 'dead-letter' && decision.reason === 'retries-exhausted');
          log.warn({ code: decision.code, reason: decision.reason, err: error }, `object failed for good (${decision.reason}), dead-lettering it: ${details.code}: ${details.message}`);
          // Completed outcomes first: the dead letter below may take a while, and they are done.
          await flush();
          await deadLetterObject({ payload: single, jobId: `${batch.runId}-${object.slot}`, details, reason: decision.reason, attemptsMade: ctx.attempt });
          tally.deadLettered++;
        }
      } finally {
        deadline.dispose();
      }
    }
  } finally {
    // Whatever happens (shutdown, a Redis error on a dead letter), what finished is kept.
    await flush();
  }

  if (retry.length > 0) {
    const first = retry[0]!;
    const details = failureDetails(first.error, classify(first.error, { attemptsMade: 0, attempts: 2 }).code, true);
    const hint = retry.map(({ error }) => (error as { retryAfterMs?: unknown } | null)?.retryAfterMs).filter((ms): ms is number => typeof ms === 'number' && ms > 0);
    const status = (first.error as { status?: unknown } | null)?.status;
    throw Object.assign(
      new S3JobsError(details.code, `${retry.length} of ${batch.objects.length} objects failed and will be retried (first: ${first.object.key}: ${details.message})`, { retryable: true, cause: first.error }),
      typeof status === 'number' ? { status } : {},
      hint.length > 0 ? { retryAfterMs: Math.max(...hint) } : {},
    );
  }
  return tally;
}
