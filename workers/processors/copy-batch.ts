/**
 * `copy-batch`: a copy run's server-side copies of several objects of one page, each handled as
 * the `copy` job it stands for (see object-batch.ts for the loop: skips, per-object deadlines — a
 * large object freed from its own exactly as a single copy is — dead letters as single `copy`
 * jobs, retries for the rest). Each object's job is checked first: a key that fits the source but
 * not the destination (a longer destination prefix) is that object's failure, not the batch's.
 */
import { copiedMessageOf, copyBatchObjectJob, validateJobOf, type CopyBatchJob, type CopyBatchJobResult } from '../../shared/jobs/index.js';
import type { ProcessorContext } from './context.js';
import { processCopy } from './copy.js';
import { runObjectBatch } from './object-batch.js';

export async function processCopyBatch(batch: CopyBatchJob, ctx: ProcessorContext): Promise<CopyBatchJobResult> {
  let bytes = 0;
  const tally = await runObjectBatch(
    {
      kind: batch.kind,
      runId: batch.runId,
      bucket: batch.source.bucket,
      objects: batch.objects,
      single: (object) => copyBatchObjectJob(batch, object),
      run: async (job, objectCtx) => {
        const result = await processCopy(validateJobOf('copy', job), objectCtx);
        bytes += result.bytes;
        return { changed: true, etag: result.etag, message: copiedMessageOf(job) };
      },
    },
    ctx,
  );
  return {
    kind: 'copy-batch',
    objects: tally.objects,
    completed: tally.completed,
    deadLettered: tally.deadLettered,
    skipped: tally.skipped,
    bytes,
    changed: tally.completed > 0,
    durationMs: ctx.now() - ctx.startedAt,
  };
}
