/** The worker side of s3jobs, programmatically. */
export { startWorker, DEFAULT_MAX_STALLED_COUNT, DEFAULT_SWEEP_INTERVAL_MS, type StartWorkerOptions, type WorkerHandle } from './worker.js';
export { runWorkerCommand, parseWorkerArgs, WORKER_HELP, WorkerExitCode, type CommandIO } from './cli.js';
export { DeadLetterer, type DeadLetterOutcome, type DeadLettererOptions } from './dead-letter.js';
export { buildDeadLetterRecord, parseFailedReason, isSameFailure, type FailedJobView } from './dead-letter-record.js';
export { classify, errorCode, INVALID_CODES, PERMANENT_WORKER_CODES, RETRYABLE_WORKER_CODES, type RetryDecision, type DeadLetterReason, type AttemptCount } from './retry/classify.js';
export { backoffDelay, backoffCeiling, s3jobsBackoffStrategy, MAX_RETRY_AFTER_MS, type BackoffPolicy } from './retry/backoff.js';
export { WorkerErrorCodes } from './retry/codes.js';
export { FinalAttemptError, RetryableAttemptError, type FailureDetails } from './retry/attempt-errors.js';
export { createJobDeadline, resolveJobTimeout, JobDeadlineExceeded, type JobDeadline } from './deadline.js';
export { installSignalHandlers, ShutdownRequested, LockLost, isRequeueReason } from './shutdown.js';
export { BucketCache } from './bucket-cache.js';
export { runProcessor, processCopy, processMetadataRewrite, processBucket, processSync, type ProcessorContext, type Enqueue, type FanOutJob } from './processors/index.js';
export { createFanOut, DEFAULT_FAN_OUT_WINDOW, DEFAULT_FAN_OUT_MAX_WAIT_MS, type FanOutOptions } from './fan-out.js';
