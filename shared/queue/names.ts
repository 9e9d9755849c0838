/**
 * Queue naming: one work queue per deployment (`config.queue`, default "s3jobs") and its
 * dead-letter queue. Jobs are never processed from the dead-letter queue: it is a record of what
 * failed for good, with everything needed to retry it.
 */
export function deadLetterQueueName(queue: string): string {
  return `${queue}-dead`;
}

/**
 * The id of a job's record in the dead-letter queue: the job's own id — except BullMQ's numeric
 * auto ids (`"17"`), which BullMQ refuses as custom ids: those become `#17`. A producer-given id
 * never contains `#`, so the two kinds never collide. Idempotent: a dead-letter id maps to itself.
 */
export function deadLetterJobId(jobId: string): string {
  // The very test BullMQ applies to custom ids (Job.validateOptions).
  return `${parseInt(jobId, 10)}` === jobId ? `#${jobId}` : jobId;
}
