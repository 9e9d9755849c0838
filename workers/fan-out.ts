/**
 * How a processor adds jobs to its own queue (a sync fanning out into copy jobs).
 *
 * Invariants:
 * - Every payload is validated with the registry's schemas here, before it reaches Redis, the same
 *   as on the producer side; one invalid payload fails the whole batch (nothing is added).
 * - Jobs get the deployment's options (`defaultJobOptions`), so a fanned-out copy retries, backs off
 *   and is retained exactly like one enqueued through the producer API. Retention matters: a
 *   completed job's id keeps deduplicating while it is retained.
 * - An id the dead-letter queue holds is not added again (as in the producer API): that job failed
 *   for good and left the queue, so BullMQ's own deduplication no longer sees it. Re-added, it would
 *   run and fail again behind its old record. Checked just before the add, not atomically with it.
 * - Backpressure is soft: while the queue holds `window` waiting jobs or more, a batch waits, but
 *   for `maxWaitMs` at most. A hard bound could deadlock a worker whose every slot is taken by a
 *   fan-out waiting for room only those same slots could make.
 */
import type { JobsOptions, Queue } from 'bullmq';
import { setTimeout as sleep } from 'node:timers/promises';
import type { S3JobsConfig } from '../shared/config/config.js';
import { validateJob } from '../shared/jobs/index.js';
import type { Logger } from '../shared/log/logger.js';
import { defaultJobOptions } from '../shared/queue/job-options.js';
import { deadLetterJobId } from '../shared/queue/names.js';
import type { Enqueue } from './processors/context.js';

/** Waiting jobs above which a fan-out pauses. */
export const DEFAULT_FAN_OUT_WINDOW = 20_000;
/** Longest pause per batch before adding it anyway. */
export const DEFAULT_FAN_OUT_MAX_WAIT_MS = 30_000;

export interface FanOutOptions {
  /** The worker's own queue. */
  queue: Queue;
  /** Its dead-letter queue, and a connection to read it: ids held there are not added again. Default: not checked. */
  deadLetters?: { queue: Queue; redis: { exists(key: string): Promise<number> } } | undefined;
  config: Pick<S3JobsConfig, 'retry' | 'retention'>;
  logger: Logger;
  /** Default `DEFAULT_FAN_OUT_WINDOW`. */
  window?: number | undefined;
  /** Default `DEFAULT_FAN_OUT_MAX_WAIT_MS`. */
  maxWaitMs?: number | undefined;
  /** How often the queue depth is read while waiting. Default 250 ms. */
  pollMs?: number | undefined;
}

export function createFanOut(options: FanOutOptions): Enqueue {
  const { queue, logger } = options;
  const window = options.window ?? DEFAULT_FAN_OUT_WINDOW;
  const maxWaitMs = options.maxWaitMs ?? DEFAULT_FAN_OUT_MAX_WAIT_MS;
  const pollMs = options.pollMs ?? 250;
  const base: JobsOptions = defaultJobOptions(options.config);

  const waitForRoom = async (batch: number, signal: AbortSignal): Promise<void> => {
    const until = Date.now() + maxWaitMs;
    let logged = false;
    for (;;) {
      const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed');
      const depth = (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0);
      if (depth === 0 || depth + batch <= window) return;
      if (Date.now() >= until) {
        logger.warn({ depth, window, maxWaitMs }, 'queue still over the fan-out window: adding the batch anyway');
        return;
      }
      if (!logged) logger.info({ depth, window }, 'queue over the fan-out window: waiting for room');
      logged = true;
      await sleep(pollMs, undefined, { signal });
    }
  };

  const deadLettered = async (ids: readonly string[]): Promise<boolean[]> => {
    const dlq = options.deadLetters;
    if (dlq === undefined) return ids.map(() => false);
    const found = await Promise.all(ids.map((id) => dlq.redis.exists(dlq.queue.toKey(deadLetterJobId(id)))));
    return found.map((n) => n === 1);
  };

  return async (jobs, { signal }) => {
    if (jobs.length === 0) return 0;
    const prepared = jobs.map(({ payload, jobId }) => {
      const data = validateJob(payload);
      return { name: data.kind, data, opts: { ...base, jobId } };
    });
    const dead = await deadLettered(jobs.map((j) => j.jobId));
    const fresh = prepared.filter((_, i) => !dead[i]);
    if (fresh.length < prepared.length) logger.info({ skipped: prepared.length - fresh.length }, 'left out jobs the dead-letter queue holds');
    if (fresh.length === 0) return 0;
    await waitForRoom(fresh.length, signal);
    signal.throwIfAborted();
    await queue.addBulk(fresh);
    return fresh.length;
  };
}
