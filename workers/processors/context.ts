import type { Logger } from '../../shared/log/logger.js';
import type { MultipartCopyOptions, S3Bucket } from '../../shared/s3/index.js';
import type { JobDeadline } from '../deadline.js';

/** What a processor gets besides its payload. */
export interface ProcessorContext {
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
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Child logger carrying jobId, queue, attempt, kind. */
  readonly logger: Logger;
  /** When the attempt started (ms). */
  readonly startedAt: number;
  now(): number;
}

/** A job kind's processor: the S3 work of one attempt. */
export type Processor<P, R> = (payload: P, ctx: ProcessorContext) => Promise<R>;
