/**
 * Reporting jobs that belong to a run (bulk migrations, syncs) to the run store: every such job
 * ends with exactly one counted outcome, completed or dead-lettered, whichever path it takes.
 * The store's bitmap makes a repeated report (a job run twice after a crash, a dead-letter move
 * re-done by a sweep) a no-op.
 */
import type { JobResult } from '../shared/jobs/index.js';
import type { DeadLetterRecord } from '../shared/queue/dead-letter.js';
import type { RunStore } from '../shared/runs/index.js';
import { copiedMessageOf, runRefOf, runRefsOf } from '../shared/jobs/run-refs.js';
import { isMultipartEtag, normalizeEtag } from './processors/sync-diff.js';

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
  const message = copiedMessageOf(payload);
  await runs.recordOutcome(ref.runId, ref.slot, {
    status: 'completed',
    bucket: ref.bucket,
    key: ref.key,
    versionId: ref.versionId,
    changed: result.changed,
    attempts: attempt,
    etag,
    ...(message === undefined ? {} : { message }),
  });
}

export async function reportDeadLettered(runs: RunStore, record: DeadLetterRecord): Promise<void> {
  // A whole batch dead-lettered (malformed, or stalled out) takes each of its objects without an
  // outcome yet with it; the bitmap keeps the ones an earlier attempt finished as they were.
  const refs = runRefsOf(record.payload);
  if (refs.length === 0) return;
  const outcome = { status: 'dead-lettered' as const, errorCode: record.error.code, message: record.error.message, attempts: record.attemptsMade };
  await runs.recordOutcomes(
    refs[0]!.runId,
    refs.map((ref) => ({ slot: ref.slot, outcome: { ...outcome, bucket: ref.bucket, key: ref.key, versionId: ref.versionId } })),
  );
}
