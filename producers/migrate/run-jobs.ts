/**
 * A run's jobs in the queue, found by their ids (`<runId>-<slot>`): how many are left, taking the
 * ones not started out when a run is stopped, and removing a deleted run's dead letters (a run
 * created again under the same id reuses the job ids, and the dead-letterer defers a failure
 * while an older record of its id is still in the dead-letter queue).
 */
import { Job, type JobType, type Queue } from 'bullmq';
import type { RunStore } from '../../shared/runs/index.js';
import { runRefsOf } from '../../shared/jobs/run-refs.js';

/** Jobs that have not started: these can be cancelled. */
const NOT_STARTED: JobType[] = ['waiting', 'prioritized', 'delayed'];
/** Every state a run job is in until its outcome is recorded and it leaves the queue. */
const UNFINISHED: JobType[] = ['waiting', 'prioritized', 'delayed', 'active', 'failed', 'waiting-children'];

/** The job id of an object's job in a run. */
export function runJobId(runId: string, slot: number): string {
  return `${runId}-${slot}`;
}

/**
 * Pure: the slot of a job id of run `runId` — an object's job `<runId>-<slot>`, or a batch's
 * `<runId>-b<first slot>` — or undefined for any other job (`mig-1-2-5` is not run `mig-1`'s).
 */
export function slotOfRunJob(runId: string, jobId: string): number | undefined {
  const prefix = `${runId}-`;
  if (!jobId.startsWith(prefix)) return undefined;
  const m = /^b?(\d{1,15})$/.exec(jobId.slice(prefix.length));
  return m === null ? undefined : Number(m[1]);
}

async function runJobIds(queue: Queue, runId: string, types: JobType[]): Promise<string[]> {
  const ids = await queue.getRanges(types, 0, -1, true);
  return ids.filter((id) => slotOfRunJob(runId, id) !== undefined);
}

/** How many of the run's jobs are still in the queue (not finished). */
export async function unfinishedRunJobs(queue: Queue, runId: string): Promise<number> {
  return (await runJobIds(queue, runId, UNFINISHED)).length;
}

/**
 * Removes the run's jobs that have not started, recording each as `cancelled` in the run (so the
 * report still lists every object). A job a worker takes meanwhile is not removed (BullMQ refuses
 * a locked job) and finishes normally. Returns how many jobs were cancelled (a batch is one job;
 * `run delete --force` reports them as queued jobs).
 */
export async function cancelQueuedRunJobs(queue: Queue, store: RunStore, runId: string, reason: string): Promise<number> {
  const ids = await runJobIds(queue, runId, NOT_STARTED);
  let cancelled = 0;
  for (let i = 0; i < ids.length; i += 100) {
    const counts = await Promise.all(
      ids.slice(i, i + 100).map(async (id) => {
        const job = await Job.fromId(queue, id);
        if (job === undefined) return 0;
        if ((await queue.remove(id)) !== 1) return 0;
        // Removed first, recorded second: a job is never reported cancelled and also run.
        const cancelled = { status: 'cancelled' as const, errorCode: 'RunStopped', message: reason, attempts: job.attemptsMade };
        // A batch's objects an earlier attempt finished keep their outcome (the bitmap ignores the
        // repeat); a payload too broken to name its object is still counted by its job id's slot.
        const refs = runRefsOf(job.data);
        const objects = refs.length > 0 ? refs : [{ slot: slotOfRunJob(runId, id)!, bucket: '', key: '', versionId: undefined }];
        await store.recordOutcomes(runId, objects.map((ref) => ({ slot: ref.slot, outcome: { ...cancelled, bucket: ref.bucket, key: ref.key, versionId: ref.versionId } })));
        return 1;
      }),
    );
    cancelled += counts.reduce<number>((a, b) => a + b, 0);
  }
  return cancelled;
}

/** Removes the run's records from the dead-letter queue; returns how many. */
export async function purgeRunDeadLetters(deadLetters: Queue, runId: string): Promise<number> {
  const ids = await runJobIds(deadLetters, runId, ['waiting', 'prioritized', 'delayed', 'completed', 'failed']);
  let removed = 0;
  for (let i = 0; i < ids.length; i += 100) {
    const results = await Promise.all(ids.slice(i, i + 100).map((id) => deadLetters.remove(id)));
    removed += results.filter((r) => r === 1).length;
  }
  return removed;
}
