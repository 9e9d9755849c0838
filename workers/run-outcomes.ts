/**
 * Reporting jobs that belong to a run (bulk migrations, syncs) to the run store: every such job
 * ends with exactly one counted outcome, completed or dead-lettered, whichever path it takes.
 * The store's bitmap makes a repeated report (a job run twice after a crash, a dead-letter move
 * re-done by a sweep) a no-op.
 */
import type { JobResult } from '../shared/jobs/index.js';
import type { DeadLetterRecord } from '../shared/queue/dead-letter.js';
import type { RunStore } from '../shared/runs/index.js';
import { batchRefsOf } from '../shared/jobs/batch.js';
import { isMultipartEtag, normalizeEtag } from './processors/sync-diff.js';

interface RunRef {
  runId: string;
  slot: number;
  bucket: string;
  key: string;
}

/** The run a payload belongs to and the object it is about; undefined for jobs outside runs. */
export function runRefOf(payload: unknown): RunRef | undefined {
  if (payload === null || typeof payload !== 'object') return undefined;
  const p = payload as Record<string, unknown>;
  if (typeof p.runId !== 'string' || typeof p.runSlot !== 'number' || !Number.isInteger(p.runSlot) || p.runSlot < 0) return undefined;
  const destination = p.destination as Record<string, unknown> | undefined;
  const bucket = typeof p.bucket === 'string' ? p.bucket : typeof destination?.bucket === 'string' ? destination.bucket : '';
  const key = typeof p.key === 'string' ? p.key : typeof destination?.key === 'string' ? destination.key : '';
  return { runId: p.runId, slot: p.runSlot, bucket, key };
}

export async function reportCompleted(runs: RunStore, payload: unknown, result: JobResult, attempt: number): Promise<void> {
  // A sync's copy with a multipart ETag on either side: remember which source it copied, which a
  // later sync cannot tell from the ETags alone (see recognizeOwnCopies). One field per such object.
  const listed = (payload as { listedSourceEtag?: unknown } | null)?.listedSourceEtag;
  if (result.kind === 'copy' && typeof listed === 'string' && (isMultipartEtag(listed) || isMultipartEtag(result.etag))) {
    const destination = (payload as { destination: { bucket: string; key: string } }).destination;
    await runs.recordSyncedCopy(destination.bucket, destination.key, normalizeEtag(listed), normalizeEtag(result.etag));
  }
  const ref = runRefOf(payload);
  if (ref === undefined) return;
  const etag = 'etag' in result ? result.etag : undefined;
  await runs.recordOutcome(ref.runId, ref.slot, { status: 'completed', bucket: ref.bucket, key: ref.key, changed: result.changed, attempts: attempt, etag });
}

export async function reportDeadLettered(runs: RunStore, record: DeadLetterRecord): Promise<void> {
  const batch = batchRefsOf(record.payload);
  if (batch.length > 0) {
    // A whole batch failed: each of its objects without an outcome yet is dead-lettered with it.
    const outcome = { status: 'dead-lettered' as const, errorCode: record.error.code, message: record.error.message, attempts: record.attemptsMade };
    await runs.recordOutcomes(batch[0]!.runId, batch.map((ref) => ({ slot: ref.slot, outcome: { ...outcome, bucket: ref.bucket, key: ref.key } })));
    return;
  }
  const ref = runRefOf(record.payload);
  if (ref === undefined) return;
  await runs.recordOutcome(ref.runId, ref.slot, {
    status: 'dead-lettered',
    bucket: ref.bucket,
    key: ref.key,
    errorCode: record.error.code,
    message: record.error.message,
    attempts: record.attemptsMade,
  });
}
