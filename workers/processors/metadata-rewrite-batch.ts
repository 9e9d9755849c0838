/**
 * `metadata-rewrite-batch`: one run's rewrite for several objects of a listing page, each handled
 * as its own `metadata-rewrite` job would be (see object-batch.ts for the loop: skips, per-object
 * deadlines, dead letters as single jobs, retries for the rest). A batch that requires a guard the
 * store does not give is refused whole, before any object.
 */
import { batchObjectJob, type MetadataRewriteBatchJob, type MetadataRewriteBatchJobResult } from '../../shared/jobs/index.js';
import { weakerGuard } from '../../shared/s3/store-profile.js';
import type { ProcessorContext } from './context.js';
import { processMetadataRewrite } from './metadata-rewrite.js';
import { runObjectBatch } from './object-batch.js';

export { FLUSH_EVERY } from './object-batch.js';

export async function processMetadataRewriteBatch(batch: MetadataRewriteBatchJob, ctx: ProcessorContext): Promise<MetadataRewriteBatchJobResult> {
  // Dead-lettered with S3JOBS_UNGUARDED like each of its objects would be.
  const bucket = ctx.bucketFor(batch.profile, batch.bucket);
  bucket.assertGuard(batch.requireGuard, `metadata rewrite batch of ${batch.objects.length} objects in ${batch.bucket}`);
  // The weakest guard of the objects rewritten here (a multipart one may be weaker than the rest).
  let guarded = bucket.guard;
  const tally = await runObjectBatch(
    {
      kind: batch.kind,
      runId: batch.runId,
      bucket: batch.bucket,
      objects: batch.objects,
      single: (object) => batchObjectJob(batch, object),
      run: async (job, objectCtx) => {
        const result = await processMetadataRewrite(job, objectCtx);
        guarded = weakerGuard(guarded, result.guarded);
        return { changed: result.changed, etag: result.etag };
      },
    },
    ctx,
  );
  return {
    kind: 'metadata-rewrite-batch',
    objects: tally.objects,
    completed: tally.completed,
    rewritten: tally.changed,
    deadLettered: tally.deadLettered,
    skipped: tally.skipped,
    changed: tally.changed > 0,
    guarded,
    durationMs: ctx.now() - ctx.startedAt,
  };
}
