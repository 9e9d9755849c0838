/**
 * `tagging`: set an object's tags in place (PUT ?tagging), never copying it. A replace is one
 * request (DELETE ?tagging for an empty set); a merge reads the current tags first, writes only
 * when something changes, and is refused (dead-lettered, S3JOBS_INVALID_INPUT) when the merged set
 * would pass S3's 10 tags. Tags have no conditional write: a merge racing another writer of the
 * same object's tags keeps the last writer's set, as S3 itself does.
 */
import type { TaggingJob, TaggingJobResult } from '../../shared/jobs/index.js';
import { mergeTags, sameTags } from '../../shared/s3/tagging.js';
import type { ProcessorContext } from './context.js';

export async function processTagging(job: TaggingJob, ctx: ProcessorContext): Promise<TaggingJobResult> {
  const bucket = ctx.bucketFor(job.profile, job.bucket);
  const options = { signal: ctx.signal, versionId: job.versionId };
  const mode = job.mode ?? 'replace';
  const current = mode === 'merge' ? await bucket.getTagging(job.key, options) : undefined;
  const next = mergeTags(current ?? {}, { mode, tags: job.tags, remove: job.remove });
  const done = (changed: boolean, versionId: string | undefined): TaggingJobResult => ({ kind: 'tagging', changed, tags: Object.keys(next).length, versionId, durationMs: ctx.now() - ctx.startedAt });
  if (current !== undefined && sameTags(current, next)) return done(false, job.versionId);
  if (Object.keys(next).length === 0) {
    await bucket.deleteTagging(job.key, options);
    return done(true, job.versionId);
  }
  const written = await bucket.putTagging(job.key, next, options);
  return done(true, job.versionId ?? written.versionId);
}
