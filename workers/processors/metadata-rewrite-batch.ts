/**
 * `metadata-rewrite-batch`: one run's rewrite for several objects of a listing page, each handled
 * as its own `metadata-rewrite` job would be — the batch only shares the BullMQ job (and its ~1 KB
 * of Redis) between them.
 *
 * Per object, in listing order, one after another (the worker's concurrency stays the number of
 * S3 operations in flight, batch or not):
 *   - an object whose slot already has an outcome in the run is skipped: finished by an earlier
 *     attempt, or by a run of this job that died before BullMQ recorded it;
 *   - success → a `completed` outcome (recorded in groups of FLUSH_EVERY, and before the job ends);
 *   - a failure the classification calls permanent (or retryable on the job's last attempt) → the
 *     object is dead-lettered as its own `metadata-rewrite` job (`<runId>-<slot>`), then counted;
 *   - a retryable failure with attempts left → left without an outcome; once every object was
 *     tried, the job fails retryably and BullMQ runs it again after the backoff, for those only.
 * Each object gets the job deadline (`timeoutMs`, else the worker's) to itself, and a large one is
 * freed from it exactly as a single rewrite is. Shutdown, a lost lock or cancellation stop the
 * batch after recording what finished; the job is requeued and resumes where it stopped.
 */
import { ErrorCodes, S3JobsError } from '../../shared/errors.js';
import { batchObjectJob, type BatchObject, type MetadataRewriteBatchJob, type MetadataRewriteBatchJobResult } from '../../shared/jobs/index.js';
import type { Outcome } from '../../shared/runs/index.js';
import { createJobDeadline } from '../deadline.js';
import { failureDetails } from '../retry/attempt-errors.js';
import { classify } from '../retry/classify.js';
import { isStoreDownFailure } from '../../shared/s3/retry-rules.js';
import { weakerGuard } from '../../shared/s3/store-profile.js';
import type { ProcessorContext } from './context.js';
import { processMetadataRewrite } from './metadata-rewrite.js';

/** Completed outcomes are written to the run store in groups of this many (one round trip each). */
export const FLUSH_EVERY = 50;

/** An error that is only a sign of the batch being stopped from outside (shutdown, lost lock). */
function stoppedFromOutside(ctx: ProcessorContext): boolean {
  return ctx.signal.aborted;
}

export async function processMetadataRewriteBatch(batch: MetadataRewriteBatchJob, ctx: ProcessorContext): Promise<MetadataRewriteBatchJobResult> {
  const runs = ctx.runs;
  const deadLetterObject = ctx.deadLetterObject;
  if (runs === undefined || deadLetterObject === undefined)
    throw new S3JobsError('S3JOBS_BATCH_UNSUPPORTED', 'metadata-rewrite-batch jobs need a worker with a run store and a dead-letter queue (startWorker)', { retryable: false });

  // A batch that requires a guard the store does not give is refused whole, before any object:
  // dead-lettered with S3JOBS_UNGUARDED like each of its objects would be.
  const bucket = ctx.bucketFor(batch.profile, batch.bucket);
  bucket.assertGuard(batch.requireGuard, `metadata rewrite batch of ${batch.objects.length} objects in ${batch.bucket}`);
  const finished = await runs.finishedSlots(batch.runId, batch.objects.map((o) => o.slot));
  const todo = batch.objects.filter((_, i) => !finished[i]);
  const pending: { slot: number; outcome: Outcome }[] = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    await runs.recordOutcomes(batch.runId, pending.splice(0));
  };
  let completed = 0;
  let rewritten = 0;
  let deadLettered = 0;
  // The weakest guard of the objects rewritten here (a multipart one may be weaker than the rest).
  let guarded = bucket.guard;
  const retry: { object: BatchObject; error: unknown }[] = [];
  let storeDownInARow = 0;

  try {
    for (const object of todo) {
      // Never end as done with objects not tried: the job would be removed without their outcomes.
      // Failing lets the caller requeue it (shutdown, lost lock) or retry it, for those only.
      if (stoppedFromOutside(ctx))
        throw new S3JobsError(ErrorCodes.Aborted, `batch stopped from outside before ${object.key} (slot ${object.slot}); its remaining objects run again with the job`, { retryable: true, cause: ctx.signal.reason });
      const single = batchObjectJob(batch, object);
      const deadline = createJobDeadline({ timeoutMs: ctx.objectTimeoutMs, signals: [ctx.signal] });
      try {
        const result = await processMetadataRewrite(single, { ...ctx, signal: deadline.signal, deadline, startedAt: ctx.now() });
        completed++;
        storeDownInARow = 0;
        if (result.changed) rewritten++;
        guarded = weakerGuard(guarded, result.guarded);
        pending.push({ slot: object.slot, outcome: { status: 'completed', bucket: batch.bucket, key: object.key, changed: result.changed, attempts: ctx.attempt, etag: result.etag } });
        if (pending.length >= FLUSH_EVERY) await flush();
      } catch (err) {
        // Stopped from outside: not this object's failure. What finished is recorded below, and
        // the job is requeued by the caller (which reads the same signal).
        if (stoppedFromOutside(ctx)) throw err;
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
          deadLettered++;
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
  return {
    kind: 'metadata-rewrite-batch',
    objects: batch.objects.length,
    completed,
    rewritten,
    deadLettered,
    skipped: batch.objects.length - todo.length,
    changed: rewritten > 0,
    guarded,
    durationMs: ctx.now() - ctx.startedAt,
  };
}
