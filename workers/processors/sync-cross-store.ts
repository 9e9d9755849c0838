/**
 * A sync between two stores: which `changed` decisions are in fact a streamed copy of the source
 * as it is now. The two stores' ETags of a multipart object never match (part sizes differ, and a
 * store may not use S3's form at all), so a streamed copy records the source's ETag in its user
 * metadata (`s3jobs-source-etag`); a destination of the same size whose record is the source's
 * current ETag is that copy. One HEAD per such object, a few at a time; objects of another size
 * are copied without asking.
 */
import type { ListedObject, S3Bucket } from '../../shared/s3/index.js';
import { mapConcurrent } from '../../shared/s3/multipart-copy.js';
import { bareEtag, SOURCE_ETAG_METADATA } from '../../shared/s3/transfer-plan.js';
import type { SyncDecision } from './sync-diff.js';

/** HEADs in flight per page. */
const HEADS_AT_ONCE = 8;

/** Pure: whether a destination with this metadata is a streamed copy of `source` as listed. */
export function isStreamedCopyOf(source: ListedObject, destination: ListedObject, metadata: Record<string, string>): boolean {
  return source.size === destination.size && metadata[SOURCE_ETAG_METADATA] === bareEtag(source.etag);
}

/** The decisions with the destination's own streamed copies of the source turned `unchanged`. */
export async function recognizeStreamedCopies(decisions: SyncDecision[], destination: S3Bucket, signal: AbortSignal): Promise<SyncDecision[]> {
  const asked = decisions.map((d, i) => (d.status === 'changed' && d.destination !== undefined && d.destination.size === d.source.size ? i : -1)).filter((i) => i >= 0);
  if (asked.length === 0) return decisions;
  const heads = await mapConcurrent(asked, HEADS_AT_ONCE, async (i) => {
    try {
      return await destination.head(decisions[i]!.destination!.key, { signal });
    } catch {
      return undefined; // gone or unreadable since the listing: copy it
    }
  });
  const out = [...decisions];
  asked.forEach((i, n) => {
    const d = out[i]!;
    const head = heads[n];
    if (head !== undefined && isStreamedCopyOf(d.source, d.destination!, head.metadata)) out[i] = { ...d, status: 'unchanged' };
  });
  return out;
}
