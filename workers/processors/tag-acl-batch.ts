/**
 * `tagging-batch` and `acl-batch`: a tagging or ACL run's change for several objects of one page,
 * each handled as the `tagging` / `acl` job it stands for (see object-batch.ts for the loop: skips,
 * per-object deadlines, dead letters as single jobs, retries for the rest). Each object's job is
 * checked first, as a single job would be when enqueued.
 */
import { tagAclBatchObjectJob, validateJobOf, type AclBatchJob, type TagAclBatchJobResult, type TaggingBatchJob } from '../../shared/jobs/index.js';
import { processAcl } from './acl.js';
import type { ProcessorContext } from './context.js';
import { runObjectBatch } from './object-batch.js';
import { processTagging } from './tagging.js';

export async function processTagAclBatch(batch: TaggingBatchJob | AclBatchJob, ctx: ProcessorContext): Promise<TagAclBatchJobResult> {
  const { objects, completed, changed: written, deadLettered, skipped } = await runObjectBatch(
    {
      kind: batch.kind,
      runId: batch.runId,
      bucket: batch.bucket,
      objects: batch.objects,
      single: (object) => tagAclBatchObjectJob(batch, object),
      run: async (job, objectCtx) => {
        const result = job.kind === 'acl' ? await processAcl(validateJobOf('acl', job), objectCtx) : await processTagging(validateJobOf('tagging', job), objectCtx);
        return { changed: result.changed };
      },
    },
    ctx,
  );
  return { kind: batch.kind, objects, completed, written, deadLettered, skipped, changed: written > 0, durationMs: ctx.now() - ctx.startedAt };
}
