/**
 * `startWorker`: a BullMQ worker on the s3jobs queue, with dead-lettering, graceful shutdown and a
 * redacting pino logger.
 *
 * ```ts
 * const handle = startWorker({ config: loadConfig() });
 * await handle.ready;
 * // ... later
 * await handle.close(); // graceful: running jobs get config.worker.shutdownGraceMs
 * ```
 */
import { Queue, Worker, type Job } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Dispatcher } from 'undici';
import { redactUrl, type S3JobsConfig } from '../shared/config/config.js';
import type { JobResult } from '../shared/jobs/index.js';
import { createLogger, type Logger } from '../shared/log/logger.js';
import { createRedisConnection, type RedisConnection } from '../shared/queue/connection.js';
import { deadLetterQueueName } from '../shared/queue/names.js';
import type { MultipartCopyOptions } from '../shared/s3/index.js';
import { BucketCache } from './bucket-cache.js';
import { profileEndpoints, StoreFindingsCache } from './store-findings.js';
import { DeadLetterer } from './dead-letter.js';
import { createFanOut } from './fan-out.js';
import { RunStore } from '../shared/runs/index.js';
import { reportDeadLettered } from './run-outcomes.js';
import { WorkerMetrics } from './metrics.js';
import { startHealthServer, type HealthServer } from './health-server.js';
import { createJobProcessor } from './process-job.js';
import { EndpointBreakers } from './breaker/endpoint-breakers.js';
import { PeerBreakers } from './breaker/peers.js';
import { BREAKER_RECORD_TTL_MS, deleteBreakerRecord, writeBreakerRecord } from '../shared/queue/breakers.js';
import { checkEvictionPolicy } from './redis-policy.js';
import { FinalAttemptError } from './retry/attempt-errors.js';
import { s3jobsBackoffStrategy } from './retry/backoff.js';
import { LockLost, ShutdownRequested } from './shutdown.js';
import { abortLeftUpload } from './left-upload.js';

/**
 * How many times a job may be found stalled (its worker died or stopped renewing the lock) and be
 * requeued before BullMQ fails it ("job stalled more than allowable limit", then dead-lettered with
 * reason `stalled`). 2 survives a crash plus a lost lock; a job that kills every worker running it
 * (out of memory, say) is stopped on its third stall. Stalls never use up `attempts`.
 */
export const DEFAULT_MAX_STALLED_COUNT = 2;

/** How often the failed set is swept into the dead-letter queue (besides start-up). */
export const DEFAULT_SWEEP_INTERVAL_MS = 10_000;

export interface StartWorkerOptions {
  /** The effective configuration (`loadConfig()`). */
  config: S3JobsConfig;
  /** Default: a pino logger at `config.logLevel` on stdout, with secrets redacted. */
  logger?: Logger | undefined;
  /**
   * An ioredis connection (`Redis` or `Cluster`) to use (needs `maxRetriesPerRequest: null`, in
   * `redisOptions` for a cluster); not closed by `close()`.
   * Default: connections to `config.redisUrl`, closed by `close()`.
   */
  connection?: RedisConnection | undefined;
  /** Sources larger than this are copied with multipart copy. Default the core's (5 GiB). */
  multipartThresholdBytes?: number | undefined;
  /** Default `DEFAULT_MAX_STALLED_COUNT`. */
  maxStalledCount?: number | undefined;
  /** Default `DEFAULT_SWEEP_INTERVAL_MS`. */
  sweepIntervalMs?: number | undefined;
  /** Uniform [0,1) for the backoff jitter. Default Math.random. */
  random?: (() => number) | undefined;
  /**
   * An undici dispatcher every S3 request goes through (an outbound proxy's `ProxyAgent`, or a
   * benchmark's in-process S3). Default: a keep-alive pool per client. Not closed by `close()`.
   */
  s3Dispatcher?: Dispatcher | undefined;
  /**
   * Where jobs get their S3 clients (a `BucketCache` or a subclass: a benchmark's no-op S3).
   * Closed by `close()`. Default: a `BucketCache` over `config.profiles`.
   */
  buckets?: BucketCache | undefined;
}

export interface WorkerHandle {
  readonly worker: Worker;
  readonly deadLetterer: DeadLetterer;
  /** Resolves once connected and taking jobs (after the start-up checks); rejects if start-up failed. */
  readonly ready: Promise<void>;
  /** Resolves once `close()` has finished. */
  readonly closed: Promise<void>;
  /**
   * Stops taking jobs, lets running ones finish for `graceMs` (default `shutdownGraceMs`), then
   * aborts and requeues them, records everything, closes connections. Calling it again with a
   * shorter grace hastens the abort. `force` first drops the Redis connections it owns (start-up
   * gave up on Redis: there is nothing to record, and a graceful close would wait for Redis).
   */
  close(graceMs?: number, options?: { force?: boolean }): Promise<void>;
  /** The latest error of the worker's Redis connections (start-up reports it when Redis never answers). */
  readonly lastRedisError: unknown;
  /** Dead-letters everything in the failed set now (also run at start-up and periodically). */
  sweep(): Promise<{ deadLettered: number; deferred: number }>;
  /** The worker's Prometheus metrics (served on `worker.metricsPort` when set). */
  readonly metrics: WorkerMetrics;
  /** Base URL of /metrics, /healthz, /readyz once listening (`worker.metricsPort` set). */
  readonly healthUrl: string | undefined;
  /** Set when the worker stopped on its own because of an error (it then closes itself). */
  readonly fatalError: unknown;
}

export function startWorker(options: StartWorkerOptions): WorkerHandle {
  const { config } = options;
  const queueName = config.queue;
  // Stored by BullMQ on every job this worker processes, and on every log line it writes.
  const workerName = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const logger = (options.logger ?? createLogger({ level: config.logLevel })).child({ queue: queueName, worker: workerName });
  const maxStalledCount = options.maxStalledCount ?? DEFAULT_MAX_STALLED_COUNT;
  const sweepIntervalMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;

  // The worker needs `maxRetriesPerRequest: null` (blocking commands); so do our queues: a
  // dead-letter move should wait for Redis to come back rather than fail half-way.
  const ownsConnections = options.connection === undefined;
  const workerConnection = options.connection ?? createRedisConnection(config.redisUrl, { blocking: true });
  const queueConnection = options.connection ?? createRedisConnection(config.redisUrl, { blocking: true });
  let lastRedisError: unknown;
  for (const connection of new Set([workerConnection, queueConnection])) connection.on('error', (err: unknown) => (lastRedisError = err));
  const queue = new Queue(queueName, { connection: queueConnection, prefix: config.prefix });
  const deadLetters = new Queue(deadLetterQueueName(queueName), { connection: queueConnection, prefix: config.prefix });
  const runs = new RunStore(queueConnection, config.prefix, queueName);
  const metrics = new WorkerMetrics(async () => {
    const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
    const dead = await deadLetters.getJobCounts('waiting');
    return { ...counts, 'dead-lettered': dead.waiting ?? 0 };
  });
  const deadLetterer = new DeadLetterer({
    queue,
    deadLetters,
    logger,
    onRecorded: async (record, progress) => {
      await reportDeadLettered(runs, record);
      metrics.jobFinished(record.kind ?? 'invalid', 'dead_lettered');
      await abortLeftUpload(record, progress, (profile, bucket) => buckets.bucketFor(profile, bucket), logger);
    },
  });
  // What s3jobs doctor found at each profile's endpoint, over the profile's preset: read before the
  // first job, re-read every 5 minutes (a change retires the clients built on the old findings).
  const storeFindings = new StoreFindingsCache({ redis: queueConnection, prefix: config.prefix, endpoints: profileEndpoints(config.profiles), log: logger, onChange: () => buckets.retire() });
  const buckets = options.buckets ?? new BucketCache(config, (info) => metrics.s3Request(info), options.s3Dispatcher, storeFindings);
  const shutdown = new AbortController();
  const multipart: MultipartCopyOptions = {
    partSize: config.worker.multipartPartBytes,
    concurrency: config.worker.multipartConcurrency,
    threshold: options.multipartThresholdBytes ?? config.worker.multipartThresholdBytes,
  };
  // One circuit breaker per S3 endpoint (see workers/breaker/). Its state goes to the logs, to
  // /metrics, and to a Redis record that `s3jobs queue` and the dashboard read.
  const publishBreakers = async (): Promise<void> => {
    const now = Date.now();
    for (const open of breakers.open()) await writeBreakerRecord(queueConnection, config.prefix, queueName, { ...open, worker: workerName, state: 'open', expiresAt: now + BREAKER_RECORD_TTL_MS });
  };
  const publishQuietly = (): void => void publishBreakers().catch((err: unknown) => logger.warn({ err }, 'could not record the circuit breakers in Redis'));
  /** Brings forward the jobs a closed breaker put back (they would otherwise wait for their delay). */
  const promote = async (jobIds: string[]): Promise<void> => {
    for (let i = 0; i < jobIds.length; i += 50) {
      await Promise.all(
        jobIds.slice(i, i + 50).map(async (id) => {
          // Another worker may have run it meanwhile: only a job still delayed is brought forward.
          const job = await queue.getJob(id);
          if (job !== undefined && (await job.isDelayed())) await job.promote().catch(() => undefined);
        }),
      );
    }
  };
  const breakers = new EndpointBreakers({
    policy: { failures: config.worker.breakerFailures, firstProbeMs: 1_000, maxProbeMs: config.worker.breakerMaxProbeMs },
    logger,
    onOpen: (open) => {
      metrics.breakerOpened(open.endpoint);
      publishQuietly();
    },
    onClose: (endpoint, openMs, jobIds) => {
      metrics.breakerClosed(endpoint, openMs);
      deleteBreakerRecord(queueConnection, config.prefix, queueName, workerName, endpoint).catch((err: unknown) => logger.warn({ err }, 'could not remove the circuit breaker record from Redis'));
      promote(jobIds).catch((err: unknown) => logger.warn({ err, endpoint }, 'could not bring the held-back jobs forward; they run when their delay ends'));
    },
    onDefer: (endpoint) => metrics.jobDeferred(endpoint),
    // Between the reads every second: when all workers meet an outage at once, the first to open
    // its breaker spares the others the rest of their count.
    onCounted: () => void peerBreakers.refresh(),
  });
  const breakerTimer = setInterval(publishQuietly, BREAKER_RECORD_TTL_MS / 3);
  breakerTimer.unref();
  // The other workers' open breakers, so that an outage one of them found opens ours at the first failure.
  const peerBreakers = new PeerBreakers({ redis: queueConnection, prefix: config.prefix, queue: queueName, self: workerName, breakers, logger });

  const enqueue = createFanOut({ queue, deadLetters: { queue: deadLetters, redis: queueConnection }, config, logger });
  const processor = createJobProcessor({
    config,
    logger,
    buckets,
    shutdownSignal: shutdown.signal,
    multipart,
    stream: { partSize: config.worker.streamPartBytes, concurrency: config.worker.streamConcurrency },
    runs,
    enqueue,
    deadLetterObject: (failure) => deadLetterer.recordObjectFailure(failure),
    breakers,
  });

  const worker = new Worker<unknown, JobResult>(queueName, processor.process, {
    connection: workerConnection,
    prefix: config.prefix,
    name: workerName,
    autorun: false,
    concurrency: config.worker.concurrency,
    ...(config.worker.rateLimitPerSecond === undefined ? {} : { limiter: { max: config.worker.rateLimitPerSecond, duration: 1000 } }),
    // Jobs that carry no retention of their own (bulk run jobs) leave Redis as soon as they
    // complete: their outcome is in the run store. Jobs enqueued through the producer API carry
    // their own retention, which wins, so their results stay readable.
    removeOnComplete: { count: 0 },
    lockDuration: config.worker.lockDurationMs,
    stalledInterval: config.worker.stalledIntervalMs,
    maxStalledCount,
    settings: {
      backoffStrategy: s3jobsBackoffStrategy(
        { baseMs: config.retry.backoffBaseMs, maxMs: config.retry.backoffMaxMs },
        {
          ...(options.random === undefined ? {} : { random: options.random }),
          onDelay: (delayMs, job) => logger.info({ jobId: job?.id, kind: job?.name, attemptsMade: job?.attemptsMade, delayMs }, `retrying in ${delayMs} ms`),
        },
      ),
    },
  });

  worker.on('error', (err) => logger.error({ err }, 'worker error'));
  worker.on('stalled', (jobId) => logger.warn({ jobId }, 'job stalled (its worker died or lost the lock): requeued'));
  worker.on('lockRenewalFailed', (jobIds) => {
    // Another worker may run these now: stop ours and put them back rather than fail them.
    for (const id of jobIds) if (processor.abortJob(id, new LockLost(id))) logger.warn({ jobId: id }, 'lost the job lock: aborting our run of it');
  });
  worker.on('completed', (job: Job, result: JobResult) => metrics.jobCompleted(job.name, result as { durationMs?: number; bytes?: number; changed?: boolean }));
  worker.on('failed', (job: Job | undefined, err: Error) => {
    if (job?.id === undefined) return;
    const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!final) {
      metrics.jobFinished(job.name, 'retried');
      return;
    }
    const known = err instanceof FinalAttemptError ? { details: err.details, reason: err.reason } : undefined;
    deadLetterer.deadLetter(job.id, known).catch((e: unknown) => logger.error({ err: e, jobId: job.id }, 'dead-lettering failed; the next sweep retries'));
  });

  let sweeping: Promise<{ deadLettered: number; deferred: number }> | undefined;
  const sweep = (): Promise<{ deadLettered: number; deferred: number }> => {
    sweeping ??= deadLetterer
      .sweep()
      .then((result) => {
        if (result.deadLettered > 0 || result.deferred > 0) logger.info(result, 'swept failed jobs into the dead-letter queue');
        return result;
      })
      .finally(() => {
        sweeping = undefined;
      });
    return sweeping;
  };
  const sweepQuietly = (): void => {
    sweep().catch((err: unknown) => logger.error({ err }, 'dead-letter sweep failed; retried at the next interval'));
  };
  let sweepTimer: NodeJS.Timeout | undefined;
  let health: HealthServer | undefined;
  let fatalError: unknown;
  let closing: Promise<void> | undefined;
  let abortTimer: NodeJS.Timeout | undefined;
  let abortAt = Infinity;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });

  logger.info(
    {
      prefix: config.prefix,
      redis: redactUrl(config.redisUrl),
      concurrency: config.worker.concurrency,
      rateLimitPerSecond: config.worker.rateLimitPerSecond,
      jobTimeoutMs: config.worker.jobTimeoutMs,
      largeTransferBytes: config.worker.largeTransferBytes,
      stallTimeoutMs: config.worker.stallTimeoutMs,
      shutdownGraceMs: config.worker.shutdownGraceMs,
      lockDurationMs: config.worker.lockDurationMs,
      stalledIntervalMs: config.worker.stalledIntervalMs,
      maxStalledCount,
      attempts: config.retry.attempts,
      backoff: { baseMs: config.retry.backoffBaseMs, maxMs: config.retry.backoffMaxMs },
      profiles: Object.keys(config.profiles),
    },
    'worker starting',
  );

  const ready = (async () => {
    await worker.waitUntilReady();
    await queue.waitUntilReady();
    if (closing !== undefined) return;
    await checkEvictionPolicy(queueConnection, logger);
    // Failed jobs left by anyone before us (a worker that died before dead-lettering, BullMQ's own
    // failures while no worker ran) are moved first; then periodically.
    await sweep().catch((err: unknown) => logger.error({ err }, 'start-up dead-letter sweep failed; retried at the next interval'));
    if (closing !== undefined) return;
    await storeFindings.refresh().catch((err: unknown) => logger.warn({ err }, 'could not read store findings (s3jobs doctor); profile presets apply until the next try'));
    storeFindings.start();
    await peerBreakers.refresh();
    peerBreakers.start();
    worker.run().catch((err: unknown) => {
      fatalError = err;
      logger.fatal({ err }, 'worker loop failed: closing');
      close(0).catch(() => undefined);
    });
    sweepTimer = setInterval(sweepQuietly, sweepIntervalMs);
    sweepTimer.unref();
    if (config.worker.metricsPort !== undefined) {
      health = await startHealthServer({
        port: config.worker.metricsPort,
        metrics,
        ready: async () => {
          if (closing !== undefined) return { ready: false, reason: 'shutting down' };
          try {
            await queueConnection.ping();
            return { ready: true };
          } catch {
            return { ready: false, reason: 'Redis does not answer' };
          }
        },
      });
      logger.info({ url: health.url }, 'metrics and health endpoints listening (/metrics, /healthz, /readyz)');
    }
    logger.info('worker ready');
  })();
  // `ready` may be ignored by callers; its failure is logged here and surfaced to those who await it.
  ready.catch((err: unknown) => logger.error({ err }, 'worker failed to start'));

  const scheduleAbort = (graceMs: number): void => {
    const at = Date.now() + Math.max(0, graceMs);
    if (at >= abortAt) return;
    abortAt = at;
    clearTimeout(abortTimer);
    abortTimer = setTimeout(() => {
      if (processor.running() > 0) logger.warn({ running: processor.running() }, 'grace period over: aborting running jobs and requeuing them');
      shutdown.abort(new ShutdownRequested());
    }, Math.max(0, graceMs));
  };

  const close = (graceMs: number = config.worker.shutdownGraceMs, closeOptions: { force?: boolean } = {}): Promise<void> => {
    if (closeOptions.force === true && ownsConnections) {
      workerConnection.disconnect();
      queueConnection.disconnect();
    }
    scheduleAbort(graceMs);
    closing ??= (async () => {
      clearInterval(sweepTimer);
      clearInterval(breakerTimer);
      peerBreakers.stop();
      breakers.close();
      storeFindings.stop();
      try {
        // Stops fetching, waits for running jobs (which finish, or are requeued once aborted).
        await worker.close();
      } finally {
        clearTimeout(abortTimer);
      }
      // Every final failure has been recorded by now and its move to the DLQ started: finish them.
      await sweeping?.catch(() => undefined);
      for (let pending = deadLetterer.pending(); pending.length > 0; pending = deadLetterer.pending()) await Promise.allSettled(pending);
      await health?.close();
      // Open breakers end with this worker: their records go with it rather than expire.
      for (const open of breakers.open()) await deleteBreakerRecord(queueConnection, config.prefix, queueName, workerName, open.endpoint).catch(() => undefined);
      await queue.close();
      await deadLetters.close();
      await buckets.close();
      if (ownsConnections) {
        await workerConnection.quit().catch(() => undefined);
        await queueConnection.quit().catch(() => undefined);
      }
      logger.info('worker closed');
      resolveClosed();
    })();
    return closing;
  };

  return {
    worker,
    deadLetterer,
    ready,
    closed,
    close,
    sweep,
    metrics,
    get healthUrl() {
      return health?.url;
    },
    get fatalError() {
      return fatalError;
    },
    get lastRedisError() {
      return lastRedisError;
    },
  };
}
