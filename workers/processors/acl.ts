/** `acl`: put a canned ACL on an object (PUT ?acl) — the object is not copied, its ETag stays. */
import type { AclJob, AclJobResult } from '../../shared/jobs/index.js';
import type { ProcessorContext } from './context.js';

export async function processAcl(job: AclJob, ctx: ProcessorContext): Promise<AclJobResult> {
  const bucket = ctx.bucketFor(job.profile, job.bucket);
  await bucket.putAcl(job.key, job.acl, { signal: ctx.signal, versionId: job.versionId });
  return { kind: 'acl', acl: job.acl, versionId: job.versionId, changed: true, durationMs: ctx.now() - ctx.startedAt };
}
