/**
 * Queue naming: one work queue per deployment (`config.queue`, default "s3jobs") and its
 * dead-letter queue. Jobs are never processed from the dead-letter queue: it is a record of what
 * failed for good, with everything needed to retry it.
 */
export function deadLetterQueueName(queue: string): string {
  return `${queue}-dead`;
}
