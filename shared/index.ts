/** The s3jobs core: S3 client, errors, job registry, configuration. */
export * from './errors.js';
export * from './s3/index.js';
export * from './jobs/index.js';
export * from './config/index.js';
export { deadLetterQueueName, type DeadLetterRecord } from './queue/index.js';
export { createLogger, scrubSecrets, type Logger } from './log/logger.js';
