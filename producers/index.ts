/**
 * The producer side of s3jobs, as a library (`import … from 's3jobs/producers'`): enqueue typed
 * jobs, follow them, and administer dead letters. The dashboard is its own entry
 * (`s3jobs/dashboard`), so enqueueing does not load a web server.
 */
export { S3JobsProducer, JobFailedError, type ProducerOptions, type EnqueueOptions, type EnqueuedJob, type JobState, type JobStatus } from './producer.js';
export {
  DeadLetters,
  DeadLetterNotFoundError,
  InvalidDeadLetterPayloadError,
  JOB_NOT_FOUND,
  type DeadLetterSummary,
  type DeadLetterPage,
  type RetryOptions,
  type RetryOutcome,
  type RetryAllOutcome,
} from './dead-letters.js';
export {
  addSchedule,
  getSchedule,
  listSchedules,
  removeSchedule,
  ScheduleExistsError,
  parseDuration,
  type Repeat,
  type ScheduleInfo,
  type ScheduleOptions,
  type ScheduleTarget,
} from './schedule/index.js';
