/**
 * Graceful shutdown.
 *
 * On SIGTERM/SIGINT the worker (see `WorkerHandle.close`):
 *   1. stops taking jobs (BullMQ's `worker.close()` stops fetching and waits for running jobs);
 *   2. lets running jobs finish for up to `shutdownGraceMs`;
 *   3. then aborts those still running with a `ShutdownRequested` reason. The abort reaches the
 *      S3 sockets through the job's signal; the processor sees the reason, puts the job back in the
 *      wait list **without burning an attempt** (`job.moveToWait(token)`, then `WaitingError`,
 *      which tells BullMQ the job was moved on purpose), and another worker runs it again;
 *   4. waits for every job to be recorded (completed, failed → dead-lettered, or requeued) and only
 *      then closes its Redis connections. Each of those records is one atomic BullMQ script, so no
 *      job is ever half-recorded; the dead-letter move is crash-safe on its own (dead-letter.ts).
 * A second signal aborts running jobs at once (they are requeued the same way); if the worker has
 * still not closed `forceExitMs` later, the process exits anyway — jobs it held are then picked up
 * by the stalled-job check once their lock expires (`lockDurationMs`).
 */
import { WaitingError, type Job } from 'bullmq';
import type { Logger } from '../shared/log/logger.js';

/** Abort reason: the worker is shutting down; the job must be requeued, not failed. */
export class ShutdownRequested extends Error {
  override name = 'ShutdownRequested';
  readonly code = 'S3JOBS_SHUTDOWN';
  constructor(message = 'worker shutting down: grace period over, job requeued') {
    super(message);
  }
}

/** Abort reason: this worker lost the job's lock (another worker may run it now); requeue, don't fail. */
export class LockLost extends Error {
  override name = 'LockLost';
  readonly code = 'S3JOBS_LOCK_LOST';
  constructor(jobId: string) {
    super(`lost the lock of job ${jobId}`);
  }
}

/** Whether an abort reason means "put the job back", rather than "this attempt failed". */
export function isRequeueReason(reason: unknown): reason is ShutdownRequested | LockLost {
  const name = (reason as { name?: unknown } | null)?.name;
  return reason instanceof ShutdownRequested || reason instanceof LockLost || name === 'ShutdownRequested' || name === 'LockLost';
}

/**
 * Puts an active job back in the wait list and returns the `WaitingError` the processor must throw
 * so BullMQ neither fails nor completes it. `attemptsMade` is unchanged: the attempt does not count.
 * If the move fails (our lock is already gone), the job is left to the stalled-job check, which
 * requeues it as well; the WaitingError is still the right thing to throw.
 */
export async function requeueJob(job: Job, token: string | undefined, logger: Logger, reason: unknown): Promise<WaitingError> {
  try {
    await job.moveToWait(token);
    logger.info({ reason: (reason as Error | undefined)?.message }, 'job requeued without using an attempt');
  } catch (err) {
    logger.warn({ err }, 'could not requeue the job (lock already lost); the stalled-job check will requeue it');
  }
  return new WaitingError();
}

export interface Closable {
  /** Starts (or hastens) a graceful close; resolves when closed. */
  close(graceMs?: number): Promise<void>;
}

export interface SignalHandlerOptions {
  /** Grace for running jobs on the first signal. */
  graceMs: number;
  logger: Logger;
  /** Hard exit, used only when a second signal did not lead to a close within `forceExitMs`. */
  forceExit: (code: number) => void;
  /** Default 5 000 ms. */
  forceExitMs?: number;
  /** Default SIGTERM and SIGINT. */
  signals?: readonly NodeJS.Signals[];
  /** Default `process`. */
  emitter?: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
}

/** Installs the handlers; returns a function that removes them. */
export function installSignalHandlers(target: Closable, options: SignalHandlerOptions): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const emitter = options.emitter ?? process;
  let received = 0;
  let forceTimer: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    received += 1;
    if (received === 1) {
      options.logger.info({ signal, graceMs: options.graceMs }, `${signal}: shutting down — no new jobs; running jobs have ${options.graceMs} ms to finish, then are requeued`);
      target.close(options.graceMs).catch((err: unknown) => options.logger.error({ err }, 'error while shutting down'));
      return;
    }
    if (received === 2) {
      const forceExitMs = options.forceExitMs ?? 5_000;
      options.logger.warn({ signal }, `${signal} again: aborting running jobs now (they are requeued); exiting in at most ${forceExitMs} ms`);
      target.close(0).catch((err: unknown) => options.logger.error({ err }, 'error while shutting down'));
      forceTimer = setTimeout(() => {
        options.logger.error('worker did not close in time: exiting; jobs it still held are recovered by the stalled-job check');
        options.forceExit(1);
      }, forceExitMs);
      forceTimer.unref();
    }
  };
  for (const s of signals) emitter.on(s, onSignal);
  return () => {
    clearTimeout(forceTimer);
    for (const s of signals) emitter.off(s, onSignal);
  };
}
