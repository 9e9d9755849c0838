import type { JobPayload } from '../../shared/jobs/index.js';
import type { Logger } from '../../shared/log/logger.js';
import type { RunStore } from '../../shared/runs/index.js';
import type { MultipartCopyOptions, S3Bucket } from '../../shared/s3/index.js';
import type { JobDeadline } from '../deadline.js';
import type { FailureDetails } from '../retry/attempt-errors.js';
import type { DeadLetterReason } from '../retry/classify.js';

/** One object of a batch that failed for good, dead-lettered as the single job it stands for. */
export interface ObjectFailure {
  /**
   * The object's own job (its `metadata-rewrite`, `copy`, `tagging` or `acl` job, with its runId
   * and runSlot) — as built, which may not be a valid one (why it failed).
   */
  payload: JobPayload;
  /** Its id, as if it had been queued alone: `<runId>-<slot>`. */
  jobId: string;
  details: FailureDetails;
  reason: DeadLetterReason;
  attemptsMade: number;
}

/** Records an object's failure in the dead-letter queue, then its outcome in the run (idempotent). */
export type DeadLetterObject = (failure: ObjectFailure) => Promise<void>;

/** A job a processor adds to its own queue (a sync's copies), under a deterministic id. */
export interface FanOutJob {
  payload: JobPayload;
  /** A job whose id is already in the queue (waiting, running or retained) is not added again. */
  jobId: string;
}

/**
 * Validates and adds jobs to the worker's queue in one round trip, with the deployment's job
 * options (attempts, backoff, retention); may first wait a while for room in the queue. Jobs whose
 * id the dead-letter queue holds are left out (they failed for good: retrying them is the
 * operator's call). Resolves with how many jobs were handed to the queue.
 */
export type Enqueue = (jobs: readonly FanOutJob[], options: { signal: AbortSignal }) => Promise<number>;

/** Settings of copies streamed through the worker (memory: partSize × concurrency per copy). */
export interface StreamSettings {
  partSize: number;
  concurrency: number;
}

/** The job's progress value: read what an earlier attempt saved, save anew. */
export interface JobProgress {
  read(): unknown;
  save(value: object): Promise<void>;
}

/** What a processor gets besides its payload. */
export interface ProcessorContext {
  /** The BullMQ id of the job being processed. */
  readonly jobId: string;
  /** Adds jobs to this worker's queue; undefined where the processor runs without one. */
  readonly enqueue?: Enqueue | undefined;
  /** Where runs keep their progress; undefined where the processor runs without one. */
  readonly runs?: RunStore | undefined;
  /** The job deadline plus shutdown: pass it as `signal` to every S3 call. */
  readonly signal: AbortSignal;
  /** The job's deadline; `deadline.lift()` frees a large transfer from it. */
  readonly deadline: JobDeadline;
  /** Cached client for a bucket under a connection profile. */
  bucketFor(profile: string, bucket: string): S3Bucket;
  /** Copies of sources larger than this run without the job deadline. */
  readonly largeTransferBytes: number;
  /** Multipart copy settings (threshold, part size, parts in parallel). */
  readonly multipart: MultipartCopyOptions;
  /**
   * Whether two connection profiles reach the same store with the same credentials (a server-side
   * copy works between them). Undefined where the processor runs without it: only equal names are.
   */
  sameStore?(profileA: string, profileB: string): boolean;
  /** Part size and parts in flight of copies streamed between stores. Default 16 MiB × 4. */
  readonly stream?: StreamSettings | undefined;
  /**
   * The job's progress in BullMQ, which survives retries and a crashed worker: where a streamed
   * copy keeps the multipart upload a retry resumes. Undefined where the processor runs without a job.
   */
  readonly progress?: JobProgress | undefined;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Attempts the job may make in all (its `attempts` option). */
  readonly attempts: number;
  /**
   * The deadline each object of a batch gets (the job's `timeoutMs`, else the worker's; null =
   * none). A batch job itself runs without one: it lasts as long as its objects take.
   */
  readonly objectTimeoutMs: number | null;
  /** Dead-letters one object of a batch; undefined where the processor runs without a dead-letter queue. */
  readonly deadLetterObject?: DeadLetterObject | undefined;
  /** Child logger carrying jobId, queue, attempt, kind. */
  readonly logger: Logger;
  /** When the attempt started (ms). */
  readonly startedAt: number;
  now(): number;
}

/** A job kind's processor: the S3 work of one attempt. */
export type Processor<P, R> = (payload: P, ctx: ProcessorContext) => Promise<R>;
