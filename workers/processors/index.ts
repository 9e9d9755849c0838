import type { JobPayload, JobResult } from '../../shared/jobs/index.js';
import { processBucket } from './bucket.js';
import type { ProcessorContext } from './context.js';
import { processCopy } from './copy.js';
import { processMetadataRewrite } from './metadata-rewrite.js';
import { processMetadataRewriteBatch } from './metadata-rewrite-batch.js';
import { processCopyBatch } from './copy-batch.js';
import { processTagAclBatch } from './tag-acl-batch.js';
import { processSync } from './sync.js';
import { processTagging } from './tagging.js';
import { processAcl } from './acl.js';

export type { ProcessorContext, Processor, Enqueue, FanOutJob, DeadLetterObject, ObjectFailure } from './context.js';
export { processBucket, processCopy, processCopyBatch, processTagAclBatch, processMetadataRewrite, processMetadataRewriteBatch, processSync, processTagging, processAcl };

/** Runs the processor of the payload's kind. */
export function runProcessor(payload: JobPayload, ctx: ProcessorContext): Promise<JobResult> {
  switch (payload.kind) {
    case 'copy':
      return processCopy(payload, ctx);
    case 'metadata-rewrite':
      return processMetadataRewrite(payload, ctx);
    case 'metadata-rewrite-batch':
      return processMetadataRewriteBatch(payload, ctx);
    case 'copy-batch':
      return processCopyBatch(payload, ctx);
    case 'tagging-batch':
    case 'acl-batch':
      return processTagAclBatch(payload, ctx);
    case 'bucket':
      return processBucket(payload, ctx);
    case 'sync':
      return processSync(payload, ctx);
    case 'tagging':
      return processTagging(payload, ctx);
    case 'acl':
      return processAcl(payload, ctx);
  }
}
