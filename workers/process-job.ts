/**
 * One attempt of one job, as BullMQ's processor function:
 *
 *   validate the payload (malformed → dead-lettered at once, reason `invalid`)
 *   → resolve its connection profile (unknown → dead-lettered, reason `permanent`)
 *   → run the kind's processor under the job deadline, with a child logger per job
 *   → on error: a shutdown or lost lock requeues the job without using an attempt; anything else
 *     is classified — retryable errors are rethrown for BullMQ to retry after the backoff,
 *     the rest become `UnrecoverableError`s (message `CODE: message`) and are dead-lettered.
 * With circuit breakers (`deps.breakers`), a job whose S3 endpoint's breaker is open is put back
 * in the delayed set without using an attempt (`job.moveToDelayed` + `DelayedError`, BullMQ's way
 * for a processor to delay its own job), and so is one that fails because the store is away
 * (refused, reset, timed out, 502/503/504) once the breaker is open: attempts are for failures of
 * the job itself, never for the store being away. Per job and per endpoint, so jobs for other
 * endpoints keep running (a worker-wide rate limit would stop them too).
 */
import { DelayedError, type Job } from 'bullmq';
import { resolveProfile, type S3JobsConfig } from '../shared/config/config.js';
import { isBatchJob, JOB_KINDS, validateJob, type JobKind, type JobPayload, type JobResult } from '../shared/jobs/index.js';
import type { Logger } from '../shared/log/logger.js';
import type { MultipartCopyOptions, S3Bucket } from '../shared/s3/index.js';
import type { BucketCache } from './bucket-cache.js';
import { createJobDeadline, resolveJobTimeout, type JobDeadline } from './deadline.js';
import { runProcessor, type DeadLetterObject, type Enqueue, type ProcessorContext } from './processors/index.js';
import type { StreamSettings } from './processors/context.js';
import { attemptError, type FinalAttemptError, type RetryableAttemptError } from './retry/attempt-errors.js';
import { classify } from './retry/classify.js';
import { isStoreDownFailure } from '../shared/s3/retry-rules.js';
import type { EndpointBreakers, Probe } from './breaker/endpoint-breakers.js';
import { isRequeueReason, requeueJob } from './shutdown.js';
import { reportCompleted } from './run-outcomes.js';
import type { RunStore } from '../shared/runs/index.js';

export interface JobProcessorDeps {
  config: S3JobsConfig;
  /** Carries the queue and worker name already; each job gets a child of it. */
  logger: Logger;
  buckets: BucketCache;
  /** Fires when the shutdown grace period is over: running jobs are requeued. */
  shutdownSignal: AbortSignal;
  multipart: MultipartCopyOptions;
  /** Part size and parts in flight of copies streamed between stores (default: the copy processor's). */
  stream?: StreamSettings | undefined;
  /** Where jobs that belong to a run report their outcome. */
  runs?: RunStore | undefined;
  /** How processors add jobs to the queue (a sync's fan-out). */
  enqueue?: Enqueue | undefined;
  /** How a batch dead-letters one of its objects. */
  deadLetterObject?: DeadLetterObject | undefined;
  /** Circuit breakers per S3 endpoint; without them every failure uses an attempt. */
  breakers?: EndpointBreakers | undefined;
  now?: () => number;
}

/** A bucket the job names: the breaker's probe asks the store about it (any answer will do). */
function probeBucketOf(payload: JobPayload): string {
  if ('bucket' in payload && typeof payload.bucket === 'string') return payload.bucket;
  if ('destination' in payload) return payload.destination.bucket;
  return 's3jobs-probe';
}

export interface JobProcessor {
  /** BullMQ's processor (three parameters, so BullMQ hands it a cancellation signal). */
  process(job: Job, token?: string, signal?: AbortSignal): Promise<JobResult>;
  /** Aborts one running job; with a requeue reason (LockLost) it is put back, not failed. */
  abortJob(jobId: string, reason: unknown): boolean;
  /** Jobs running now. */
  running(): number;
}

function isKind(name: string): name is JobKind {
  return (JOB_KINDS as readonly string[]).includes(name);
}

/** A short, secret-free summary of a result for the completion log line. */
function summary(result: JobResult): Record<string, unknown> {
  const { kind: _kind, ...rest } = result;
  return rest;
}

export function createJobProcessor(deps: JobProcessorDeps): JobProcessor {
  const now = deps.now ?? Date.now;
  const running = new Map<string, JobDeadline>();
  const bucketFor = (profile: string, bucket: string): S3Bucket => deps.buckets.bucketFor(profile, bucket);

  /** Puts the job back in the delayed set until the endpoint's next probe; no attempt used. */
  const defer = async (job: Job, token: string | undefined, endpoint: string, log: Logger, why: string): Promise<DelayedError> => {
    const breakers = deps.breakers!;
    try {
      await job.moveToDelayed(breakers.retryAt(endpoint), token);
      breakers.deferred(endpoint, job.id ?? '');
      if (deps.logger.isLevelEnabled('debug')) log.debug({ endpoint }, `S3 endpoint unavailable (${why}): job put back without using an attempt`);
    } catch (err) {
      log.warn({ err, endpoint }, 'could not put the job back (lock already lost); the stalled-job check will requeue it');
    }
    return new DelayedError();
  };

  const failure = (log: Logger, error: unknown, attempt: number, attempts: number): RetryableAttemptError | FinalAttemptError => {
    const decision = classify(error, { attemptsMade: attempt, attempts });
    const thrown = attemptError(error, decision);
    if (decision.action === 'retry') {
      log.warn({ code: decision.code, retryAfterMs: decision.delayHintMs, err: error }, `attempt ${attempt} of ${attempts} failed, will retry: ${thrown.message}`);
    } else {
      log.warn({ code: decision.code, reason: decision.reason, err: error }, `job failed for good (${decision.reason}), dead-lettering: ${thrown.message}`);
    }
    return thrown;
  };

  const process = async (job: Job, token?: string, signal?: AbortSignal): Promise<JobResult> => {
    const jobId = job.id ?? '';
    const attempt = job.attemptsMade + 1;
    const attempts = job.opts.attempts ?? 1;
    // `deps.logger` already carries the queue (and the worker id). The job's child logger is built
    // on first use: pino's child() re-runs redaction over its bindings (~5 µs), and most jobs log
    // nothing below the completion line.
    let child: Logger | undefined;
    const log = (): Logger => (child ??= deps.logger.child({ jobId, attempt, kind: job.name }));
    try {
      let payload: JobPayload;
      try {
        payload = validateJob(job.data, isKind(job.name) ? job.name : undefined);
        resolveProfile(deps.config, payload.profile);
        if (payload.kind === 'copy' && payload.sourceProfile !== undefined) resolveProfile(deps.config, payload.sourceProfile);
      } catch (err) {
        throw failure(log(), err, attempt, attempts);
      }

      // The endpoint the job talks to, and how to ask it whether it is there.
      let breaker: { endpoint: string; probe: Probe } | undefined;
      if (deps.breakers !== undefined) {
        const client = bucketFor(payload.profile, probeBucketOf(payload));
        breaker = { endpoint: client.endpoint, probe: (signal) => client.ping({ signal, timeout: null }) };
        if (!deps.breakers.admits(breaker.endpoint)) throw await defer(job, token, breaker.endpoint, log(), 'circuit breaker open');
      }

      const timeoutMs = resolveJobTimeout(payload.timeoutMs, deps.config.worker.jobTimeoutMs);
      const deadline = createJobDeadline({
        // A batch's deadline is per object (the processor applies it); the batch takes what they take.
        timeoutMs: isBatchJob(payload) ? null : timeoutMs,
        // A lost lock stops the job through `deadline.abort()` (abortJob), not a signal of its own.
        signals: [deps.shutdownSignal, signal],
      });
      // Nothing has awaited since the job started: no lost lock can have been missed.
      running.set(jobId, deadline);
      const startedAt = now();
      const ctx: ProcessorContext = {
        jobId,
        enqueue: deps.enqueue,
        runs: deps.runs,
        signal: deadline.signal,
        deadline,
        bucketFor,
        largeTransferBytes: deps.config.worker.largeTransferBytes,
        multipart: deps.multipart,
        sameStore: (a, b) => deps.buckets.sameStore(a, b),
        stream: deps.stream,
        progress: { read: () => job.progress, save: (value) => job.updateProgress(value) },
        attempt,
        attempts,
        objectTimeoutMs: timeoutMs,
        deadLetterObject: deps.deadLetterObject,
        // An own, enumerable getter: a batch's `{ ...ctx }` copies the logger itself.
        get logger() {
          return log();
        },
        startedAt,
        now,
      };
      if (deps.logger.isLevelEnabled('debug')) log().debug({ timeoutMs: deadline.timeoutMs }, 'job started');
      try {
        const result = await runProcessor(payload, ctx);
        // Before BullMQ records completion: a crash in between re-runs the job, and the run
        // store counts the object once all the same.
        if (deps.runs !== undefined) await reportCompleted(deps.runs, payload, result, attempt);
        if (breaker !== undefined) deps.breakers!.answered(breaker.endpoint);
        if (deps.logger.isLevelEnabled('info')) log().info(summary(result), 'job completed');
        return result;
      } catch (err) {
        // Shutdown first, then a lost lock (abortJob), then BullMQ's cancellation.
        const reason = deps.shutdownSignal.aborted ? deps.shutdownSignal.reason : deadline.abortReason();
        if (isRequeueReason(reason)) throw await requeueJob(job, token, log(), reason);
        const error = deadline.errorFor(err);
        if (breaker !== undefined) {
          // The store away: counted, and once the breaker is open the job waits for it instead
          // of spending an attempt — this job too when a probe right away gets no answer either.
          // Any S3 answer (404, 412, 500) shows the store is there.
          if (isStoreDownFailure(error)) {
            const breakers = deps.breakers!;
            const message = (error as Error).message;
            if (breakers.storeDown(breaker.endpoint, breaker.probe, message) || (await breakers.confirmDown(breaker.endpoint, breaker.probe))) throw await defer(job, token, breaker.endpoint, log(), message);
          } else if (typeof (error as { status?: unknown } | null)?.status === 'number') deps.breakers!.answered(breaker.endpoint);
        }
        throw failure(log(), error, attempt, attempts);
      } finally {
        deadline.dispose();
      }
    } finally {
      running.delete(jobId);
    }
  };

  return {
    process: (job, token, signal) => process(job, token, signal),
    abortJob(jobId, reason) {
      const deadline = running.get(jobId);
      if (deadline === undefined) return false;
      deadline.abort(reason);
      return true;
    },
    running: () => running.size,
  };
}
