/**
 * The BullMQ options every s3jobs job gets, whoever enqueues it: the producer API, a schedule's
 * template (each fired job inherits them), a worker fanning out a sync. One function, so a job
 * retries, backs off and is retained the same way however it entered the queue.
 */
import type { JobsOptions } from 'bullmq';
import type { S3JobsConfig } from '../config/config.js';

/**
 * `attempts` and the `s3jobs` backoff from `config.retry`; completed jobs kept per
 * `config.retention` (so results stay readable and deterministic ids keep deduplicating); failed
 * jobs never dropped here: workers move them to the dead-letter queue.
 */
export function defaultJobOptions(config: Pick<S3JobsConfig, 'retry' | 'retention'>): JobsOptions {
  return {
    attempts: config.retry.attempts,
    backoff: { type: 's3jobs', delay: config.retry.backoffBaseMs },
    removeOnComplete: { count: config.retention.completedCount, age: config.retention.completedAgeSeconds },
    removeOnFail: false,
  };
}
