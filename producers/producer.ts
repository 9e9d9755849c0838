/**
 * The producer API: what a backend imports to offload S3 work to s3jobs workers.
 *
 * ```ts
 * const producer = new S3JobsProducer({ redisUrl: 'redis://127.0.0.1:6379' });
 * const { jobId } = await producer.copy({ profile: 'default', source: { bucket: 'a', key: 'x' },
 *   destination: { bucket: 'b', key: 'x' }, acl: 'private' });
 * const result = await producer.waitFor(jobId, { timeoutMs: 60_000 });
 * ```
 *
 * Every payload is validated here with the same schemas the workers use, so bad input fails in
 * the caller's hands with a ValidationError naming the field — it never reaches Redis.
 */
import { Job, Queue, QueueEvents, type JobsOptions } from 'bullmq';
import { ErrorCodes, S3JobsError, ValidationError } from '../shared/errors.js';
import { DEFAULT_CONFIG, type S3JobsConfig } from '../shared/config/config.js';
import { validateJob, type AclJob, type BucketJob, type CopyJob, type JobKind, type JobPayload, type JobResult, type MetadataRewriteJob, type TaggingJob } from '../shared/jobs/index.js';
import { createRedisConnection, duplicateConnection, type RedisConnection } from '../shared/queue/connection.js';
import { defaultJobOptions } from '../shared/queue/job-options.js';
import { readBreakerRecords, type BreakerRecord } from '../shared/queue/breakers.js';
import { deadLetterJobId, deadLetterQueueName } from '../shared/queue/names.js';
import type { DeadLetterRecord } from '../shared/queue/dead-letter.js';

/** Distributes `Omit` over a union (plain Omit would collapse the bucket job's create/delete union). */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface ProducerOptions {
  /** Default: `config.redisUrl` or redis://127.0.0.1:6379. */
  redisUrl?: string | undefined;
  /** An existing ioredis connection (`Redis` or `Cluster`) to use instead (not closed by `close()`). */
  connection?: RedisConnection | undefined;
  queue?: string | undefined;
  prefix?: string | undefined;
  /** Effective config (from `loadConfig`); supplies defaults for the fields above and for job options. */
  config?: S3JobsConfig | undefined;
}

/** Per-job options a producer may set. */
export interface EnqueueOptions {
  /**
   * Idempotency key: adding a job whose id exists returns the existing job instead of a duplicate —
   * whether it is queued, running, completed (while retained) or dead-lettered.
   */
  jobId?: string | undefined;
  /**
   * Enqueue `jobId` even though the dead-letter queue holds a record of it. Only for the dead-letter
   * admin's retry, which removes that record right after. Default false.
   */
  replacesDeadLetter?: boolean | undefined;
  /** 1 (highest) .. 2,097,152; default none (FIFO). */
  priority?: number | undefined;
  /** Milliseconds before the job becomes runnable. */
  delayMs?: number | undefined;
  /** Attempts in all (retryable failures only). Default `config.retry.attempts`. */
  attempts?: number | undefined;
  /** Per-job deadline override in ms; `null` runs the job without a deadline. */
  timeoutMs?: number | null | undefined;
}

export interface EnqueuedJob {
  jobId: string;
  kind: JobKind;
}

export type JobState = 'waiting' | 'delayed' | 'prioritized' | 'active' | 'completed' | 'failed' | 'waiting-children' | 'dead-lettered' | 'unknown';

export interface JobStatus {
  jobId: string;
  state: JobState;
  kind: string | undefined;
  attemptsMade: number;
  result: JobResult | undefined;
  /** Set when dead-lettered (or failed and about to be). */
  error: { code: string; message: string } | undefined;
  deadLetter: DeadLetterRecord | undefined;
  timestamps: { enqueuedAt: number | undefined; processedAt: number | undefined; finishedAt: number | undefined };
}

/** Raised by `waitFor` when the job ended dead-lettered (or failed for good). */
export class JobFailedError extends S3JobsError {
  override name = 'JobFailedError';
  readonly jobId: string;
  /** The S3 / s3jobs code of the job's final error. */
  readonly jobErrorCode: string;
  constructor(jobId: string, code: string, message: string) {
    super('S3JOBS_JOB_FAILED', `job ${jobId} failed: ${code}: ${message}`, { retryable: false });
    this.jobId = jobId;
    this.jobErrorCode = code;
  }
}

const JOB_ID = /^[A-Za-z0-9_.@/-]{1,200}$/;

export class S3JobsProducer {
  readonly queueName: string;
  readonly prefix: string;
  readonly queue: Queue;
  readonly deadLetters: Queue;
  readonly #config: S3JobsConfig;
  readonly #connection: RedisConnection;
  readonly #ownsConnection: boolean;
  #events: QueueEvents | undefined;
  /** Ours to close: BullMQ reads events through its own copy of it. */
  #eventsConnection: RedisConnection | undefined;

  constructor(options: ProducerOptions = {}) {
    this.#config = options.config ?? DEFAULT_CONFIG;
    this.queueName = options.queue ?? this.#config.queue;
    this.prefix = options.prefix ?? this.#config.prefix;
    this.#ownsConnection = options.connection === undefined;
    this.#connection = options.connection ?? createRedisConnection(options.redisUrl ?? this.#config.redisUrl);
    this.queue = new Queue(this.queueName, { connection: this.#connection, prefix: this.prefix });
    this.deadLetters = new Queue(deadLetterQueueName(this.queueName), { connection: this.#connection, prefix: this.prefix });
  }

  /** The BullMQ options every job this producer enqueues starts from (attempts, backoff, retention). */
  jobOptions(): JobsOptions {
    return defaultJobOptions(this.#config);
  }

  /** Enqueues a server-side copy. */
  copy(job: Omit<CopyJob, 'kind'>, options: EnqueueOptions = {}): Promise<EnqueuedJob> {
    return this.add({ ...job, kind: 'copy' }, options);
  }

  /** Enqueues a metadata rewrite (self-copy guarded by the ETag read). */
  rewriteMetadata(job: Omit<MetadataRewriteJob, 'kind'>, options: EnqueueOptions = {}): Promise<EnqueuedJob> {
    return this.add({ ...job, kind: 'metadata-rewrite' }, options);
  }

  /** Enqueues a change of an object's tags (replace, or merge with `mode: 'merge'`), without copying it. */
  tag(job: Omit<TaggingJob, 'kind'>, options: EnqueueOptions = {}): Promise<EnqueuedJob> {
    return this.add({ ...job, kind: 'tagging' }, options);
  }

  /** Enqueues a canned ACL on an object, without copying it. */
  acl(job: Omit<AclJob, 'kind'>, options: EnqueueOptions = {}): Promise<EnqueuedJob> {
    return this.add({ ...job, kind: 'acl' }, options);
  }

  /** Enqueues a bucket create or delete. */
  bucket(job: DistributiveOmit<BucketJob, 'kind'>, options: EnqueueOptions = {}): Promise<EnqueuedJob> {
    return this.add({ ...job, kind: 'bucket' } as BucketJob, options);
  }

  /** Validates and enqueues any job payload. */
  async add(payload: unknown, options: EnqueueOptions = {}): Promise<EnqueuedJob> {
    const [prepared] = this.#prepare([{ payload, options }]);
    if ((await this.#deadLettered([prepared!]))[0]) return { jobId: prepared!.opts.jobId!, kind: prepared!.name };
    const job = await this.queue.add(prepared!.name, prepared!.data, prepared!.opts);
    return { jobId: job.id!, kind: prepared!.name };
  }

  /**
   * Validates every payload first (nothing is enqueued if one is invalid; the error names its
   * index), then enqueues them in one round trip.
   */
  async addBulk(items: readonly { payload: unknown; options?: EnqueueOptions }[]): Promise<EnqueuedJob[]> {
    const prepared = this.#prepare(items);
    const dead = await this.#deadLettered(prepared);
    const jobs = await this.queue.addBulk(prepared.filter((_, i) => !dead[i]).map(({ name, data, opts }) => ({ name, data, opts })));
    let added = 0;
    return prepared.map((p, i) => ({ jobId: dead[i] ? p.opts.jobId! : jobs[added++]!.id!, kind: p.name }));
  }

  /**
   * Resolves with the job's result once it completes; rejects with JobFailedError when it is
   * dead-lettered, or S3JOBS_TIMEOUT after `timeoutMs` (the job keeps running).
   */
  async waitFor(jobId: string, options: { timeoutMs?: number } = {}): Promise<JobResult> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    const events = await this.#queueEvents();
    for (;;) {
      const status = await this.status(jobId);
      if (status.state === 'completed') return status.result as JobResult;
      if (status.state === 'dead-lettered') throw new JobFailedError(jobId, status.error?.code ?? 'unknown', status.error?.message ?? '');
      if (status.state === 'unknown') throw new S3JobsError('S3JOBS_JOB_NOT_FOUND', `job ${jobId} does not exist in queue ${this.queueName}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new S3JobsError(ErrorCodes.Timeout, `job ${jobId} did not finish within ${timeoutMs} ms (state: ${status.state})`, { retryable: true });
      // Wake on any completion/dead-lettering event for this job, or re-check every second:
      // events can be missed across reconnects, the poll cannot.
      await new Promise<void>((resolve) => {
        const done = (args: { jobId: string }) => {
          if (args.jobId === jobId) finish();
        };
        const timer = setTimeout(finish, Math.min(left, 1_000));
        function finish(): void {
          clearTimeout(timer);
          events.off('completed', done);
          events.off('failed', done);
          events.off('removed', done);
          resolve();
        }
        events.on('completed', done);
        events.on('failed', done);
        events.on('removed', done);
      });
    }
  }

  /** Where a job is: waiting / active / completed (with result) / dead-lettered (with error) / … */
  async status(jobId: string): Promise<JobStatus> {
    let job = await Job.fromId(this.queue, jobId);
    if (job !== undefined) {
      const state = (await job.getState()) as JobState;
      // The job may have finished between the two reads above: read it again so its return value
      // and failure reason belong to the state reported (finished states are final).
      if (state === 'completed' || state === 'failed') job = (await Job.fromId(this.queue, jobId)) ?? job;
      // 'unknown' here: the job left the queue between the two reads — a dead-letter move (the
      // record is written before the original leaves), or a removal: the lookup below tells which.
      if ((state !== 'failed' && state !== 'unknown') || (state === 'failed' && (await this.#deadLetterOf(jobId)) === undefined)) {
        return {
          jobId,
          state,
          kind: job.name,
          attemptsMade: job.attemptsMade,
          result: state === 'completed' ? (job.returnvalue as JobResult) : undefined,
          error: job.failedReason ? { code: errorCodeOf(job.failedReason), message: job.failedReason } : undefined,
          deadLetter: undefined,
          timestamps: { enqueuedAt: job.timestamp, processedAt: job.processedOn, finishedAt: job.finishedOn },
        };
      }
    }
    const dead = await this.#deadLetterOf(jobId);
    if (dead !== undefined) {
      return {
        jobId,
        state: 'dead-lettered',
        kind: dead.kind ?? dead.name,
        attemptsMade: dead.attemptsMade,
        result: undefined,
        error: { code: dead.error.code, message: dead.error.message },
        deadLetter: dead,
        timestamps: { enqueuedAt: dead.enqueuedAt, processedAt: undefined, finishedAt: dead.failedAt },
      };
    }
    return { jobId, state: 'unknown', kind: undefined, attemptsMade: 0, result: undefined, error: undefined, deadLetter: undefined, timestamps: { enqueuedAt: undefined, processedAt: undefined, finishedAt: undefined } };
  }

  /**
   * The S3 endpoints workers hold jobs back for (an open circuit breaker), one record per worker
   * and endpoint; empty when every store answers.
   */
  async breakers(): Promise<BreakerRecord[]> {
    return readBreakerRecords(this.#connection, this.prefix, this.queueName);
  }

  /** Job counts per state, plus the dead-letter queue's size. */
  async counts(): Promise<Record<string, number>> {
    const counts = await this.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
    const dead = await this.deadLetters.getJobCounts('waiting', 'prioritized', 'delayed');
    counts['dead-lettered'] = Object.values(dead).reduce((a, b) => a + b, 0);
    return counts;
  }

  async close(): Promise<void> {
    await this.#events?.close();
    const events = this.#eventsConnection;
    if (events !== undefined) await events.quit().catch(() => events.disconnect());
    await this.queue.close();
    await this.deadLetters.close();
    if (this.#ownsConnection) await this.#connection.quit().catch(() => undefined);
  }

  /**
   * Which of `prepared` name an id the dead-letter queue holds. A dead-lettered job has left the
   * main queue, so BullMQ's own idempotency (an existing id is not added again) no longer covers it:
   * a producer resuming a bulk enqueue would run it again, and its new failure would then wait
   * behind the old record. Checked just before the add, not atomically with it: a job dead-lettered
   * in between (a few milliseconds) can still be enqueued again.
   */
  async #deadLettered(prepared: readonly { opts: JobsOptions; replacesDeadLetter: boolean }[]): Promise<boolean[]> {
    const checked = prepared.map((p) => (p.opts.jobId !== undefined && !p.replacesDeadLetter ? p.opts.jobId : undefined));
    const ids = checked.filter((id): id is string => id !== undefined);
    if (ids.length === 0) return prepared.map(() => false);
    const exists = await Promise.all(ids.map((id) => this.#connection.exists(this.deadLetters.toKey(deadLetterJobId(id)))));
    let next = 0;
    return checked.map((id) => id !== undefined && exists[next++] === 1);
  }

  async #deadLetterOf(jobId: string): Promise<DeadLetterRecord | undefined> {
    const dead = await Job.fromId(this.deadLetters, deadLetterJobId(jobId));
    return dead?.data as DeadLetterRecord | undefined;
  }

  async #queueEvents(): Promise<QueueEvents> {
    if (this.#events === undefined) {
      this.#eventsConnection = duplicateConnection(this.#connection, { blocking: true });
      this.#events = new QueueEvents(this.queueName, { connection: this.#eventsConnection, prefix: this.prefix });
      await this.#events.waitUntilReady();
    }
    return this.#events;
  }

  #prepare(items: readonly { payload: unknown; options?: EnqueueOptions | undefined }[]): { name: JobKind; data: JobPayload; opts: JobsOptions; replacesDeadLetter: boolean }[] {
    return items.map(({ payload, options = {} }, index) => {
      const field = (f: string) => (items.length > 1 ? `jobs[${index}].${f}` : f);
      let withTimeout = payload;
      if (options.timeoutMs !== undefined && payload !== null && typeof payload === 'object') withTimeout = { ...payload, timeoutMs: options.timeoutMs };
      let data: JobPayload;
      try {
        data = validateJob(withTimeout);
      } catch (err) {
        if (err instanceof ValidationError && items.length > 1) throw new ValidationError(field(err.field), err.message.replace(/^[^:]*: /, ''), err.code);
        throw err;
      }
      // Failed jobs are moved to the dead-letter queue by the workers, never dropped here.
      const opts: JobsOptions = defaultJobOptions(this.#config);
      if (options.jobId !== undefined) {
        if (!JOB_ID.test(options.jobId) || /^\d+$/.test(options.jobId))
          throw new ValidationError(field('jobId'), 'must be 1-200 letters, digits or _.@/- (no ":", which BullMQ reserves) and not all digits (BullMQ reserves numeric ids)');
        opts.jobId = options.jobId;
      }
      if (options.priority !== undefined) {
        if (!Number.isInteger(options.priority) || options.priority < 1 || options.priority > 2_097_152) throw new ValidationError(field('priority'), 'must be an integer from 1 (highest) to 2097152');
        opts.priority = options.priority;
      }
      if (options.delayMs !== undefined) {
        if (!Number.isInteger(options.delayMs) || options.delayMs < 0) throw new ValidationError(field('delayMs'), 'must be a non-negative integer of milliseconds');
        opts.delay = options.delayMs;
      }
      if (options.attempts !== undefined) {
        if (!Number.isInteger(options.attempts) || options.attempts < 1 || options.attempts > 100) throw new ValidationError(field('attempts'), 'must be an integer from 1 to 100');
        opts.attempts = options.attempts;
      }
      // A run's job back from the dead-letter queue leaves Redis when it completes, like the run's
      // other jobs: its outcome is in the run.
      if (options.replacesDeadLetter === true && 'runId' in data && data.runId !== undefined) opts.removeOnComplete = true;
      return { name: data.kind, data, opts, replacesDeadLetter: options.replacesDeadLetter === true };
    });
  }
}

/** Workers prefix failure reasons with the error code (`CODE: message`). */
function errorCodeOf(reason: string): string {
  const m = /^([A-Za-z0-9_]+): /.exec(reason);
  return m?.[1] ?? 'unknown';
}
