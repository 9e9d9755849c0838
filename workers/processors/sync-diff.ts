/**
 * The pure half of a prefix sync: which source objects need copying, and the ids of their copy jobs.
 *
 * Both listings come from ListObjectsV2, which returns keys in ascending UTF-8 byte order. Below a
 * common prefix the order of full keys is the order of their suffixes, so the two listings are
 * merge-joined on the suffix, one page of each at a time: memory stays flat however many keys the
 * prefixes hold.
 *
 * Safety of the merge: an object is `unchanged` only when a destination object with exactly its
 * suffix, size and ETag was met. If a server ordered keys differently from `compareKeys`, matches
 * could be missed, and those objects would be copied again — never skipped.
 */
import { createHash } from 'node:crypto';
import type { ListedObject } from '../../shared/s3/index.js';

/** `missing`: no destination object; `changed`: size or ETag differ; `unchanged`: leave it. */
export type SyncStatus = 'missing' | 'changed' | 'unchanged';

export interface SyncDecision {
  status: SyncStatus;
  /** The key below the source prefix, which is also the key below the destination prefix. */
  suffix: string;
  source: ListedObject;
  /** The destination object with the same suffix, if any. */
  destination: ListedObject | undefined;
}

const isSurrogate = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdfff;

/**
 * Compares keys in UTF-8 byte order (= code point order), S3's listing order. JavaScript's `<`
 * compares UTF-16 units, which puts characters above U+FFFF (surrogate pairs) before U+E000-U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate starts a code point above U+FFFF: after every character of the BMP.
    if (isSurrogate(x) !== isSurrogate(y)) return isSurrogate(x) ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** ETags compare without their quotes and case (`"ABC"` = `abc`). */
export function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase();
}

/**
 * Same size and ETag. An ETag is the content's MD5 only for objects uploaded in one part (and not
 * encrypted with SSE-KMS/SSE-C); a multipart object's ETag depends on its part sizes, and a copy
 * of it gets a different one, so such objects compare as changed here — `recognizeOwnCopies` then
 * tells the sync's own copies apart with what the copy recorded.
 */
export function isSameObject(source: ListedObject, destination: ListedObject): boolean {
  return source.size === destination.size && normalizeEtag(source.etag) === normalizeEtag(destination.etag);
}

/** An ETag of an object uploaded in several parts (`<md5 of the parts' md5s>-<parts>`). */
export function isMultipartEtag(etag: string): boolean {
  return /-\d+$/.test(normalizeEtag(etag));
}

/**
 * Which `changed` decisions are in fact the sync's own earlier copy: an object of the same size on
 * both sides, one of them multipart (a multipart source copied in one request, or any source
 * copied in parts, gets another ETag than its source), whose recorded copy (source ETag, copy ETag — see RunStore.recordSyncedCopy) matches
 * both sides as listed now. Those become `unchanged`. Pure; `records[i]` belongs to `decisions[i]`.
 */
export function recognizeOwnCopies(decisions: readonly SyncDecision[], records: readonly ({ sourceEtag: string; copyEtag: string } | undefined)[]): SyncDecision[] {
  return decisions.map((d, i) => {
    const record = records[i];
    if (d.status !== 'changed' || d.destination === undefined || record === undefined || d.source.size !== d.destination.size) return d;
    const same = record.sourceEtag === normalizeEtag(d.source.etag) && record.copyEtag === normalizeEtag(d.destination.etag);
    return same ? { ...d, status: 'unchanged' } : d;
  });
}

/** The decisions worth looking up in the copy records: same size, other ETag, one side multipart. */
export function needsCopyRecord(d: SyncDecision): boolean {
  return d.status === 'changed' && d.destination !== undefined && d.source.size === d.destination.size && (isMultipartEtag(d.source.etag) || isMultipartEtag(d.destination.etag));
}

/**
 * Merge-joins the source listing (page by page) with the destination listing (object by object),
 * yielding, per source page, one decision per source object in listing order. Destination objects
 * with no source counterpart are passed over — or, with `orphans`, handed to it (a sync with
 * `delete`): then the destination is also read to its end once the source is done, an empty
 * decision page yielded after every 1,000 of those trailing orphans so the caller can act on them
 * page by page. Without `orphans` the destination listing is read only as far as the source goes.
 */
export async function* diffListings(
  sourcePages: AsyncIterable<readonly ListedObject[]>,
  destination: AsyncIterable<ListedObject>,
  prefixes: { source: string; destination: string },
  orphans?: (object: ListedObject) => void,
): AsyncGenerator<SyncDecision[], void, undefined> {
  const it = destination[Symbol.asyncIterator]();
  let dst: ListedObject | undefined;
  let dstSuffix = '';
  const advance = async (): Promise<void> => {
    const next = await it.next();
    dst = next.done === true ? undefined : next.value;
    dstSuffix = dst === undefined ? '' : dst.key.slice(prefixes.destination.length);
  };
  try {
    await advance();
    for await (const page of sourcePages) {
      const decisions: SyncDecision[] = [];
      for (const source of page) {
        const suffix = source.key.slice(prefixes.source.length);
        while (dst !== undefined && compareKeys(dstSuffix, suffix) < 0) {
          orphans?.(dst);
          await advance();
        }
        if (dst !== undefined && dstSuffix === suffix) {
          decisions.push({ status: isSameObject(source, dst) ? 'unchanged' : 'changed', suffix, source, destination: dst });
          await advance();
        } else {
          decisions.push({ status: 'missing', suffix, source, destination: undefined });
        }
      }
      yield decisions;
    }
    if (orphans !== undefined) {
      for (let n = 1; dst !== undefined; n++) {
        orphans(dst);
        await advance();
        if (n % 1000 === 0) yield [];
      }
    }
  } finally {
    await it.return?.();
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const describe = (o: ListedObject | undefined): string => (o === undefined ? 'missing' : `${normalizeEtag(o.etag)}/${o.size}/${o.lastModified?.getTime() ?? ''}`);

/**
 * The copy job's id: `<base>.<hash>` of the destination key and the state both objects were seen
 * in. The same state seen again (a retried sync, an overlapping firing while the copy is still
 * queued) gives the same id, so BullMQ adds the job once. Once the copy has happened the
 * destination's state is new: a later sync that still finds it different (a multipart ETag, the
 * destination overwritten since) gets a new id and copies again, as it should.
 */
export function copyJobId(base: string, decision: SyncDecision): string {
  return `${base}.${sha256(`${decision.suffix}\n${describe(decision.source)}\n${describe(decision.destination)}`).slice(0, 32)}`;
}

/** Id base of copy jobs outside runs: the sync's definition, so every firing of a schedule shares it. */
export function syncBase(spec: { profile: string; sourceProfile?: string | undefined; source: object; destination: object; acl: string; metadata?: object | undefined; mimetype?: string | undefined }): string {
  const { profile, sourceProfile, source, destination, acl, metadata, mimetype } = spec;
  // A source profile of its own is part of the definition; without one, the ids of existing syncs stay as they were.
  const definition = [profile, source, destination, acl, metadata ?? null, mimetype ?? null, ...(sourceProfile === undefined ? [] : [sourceProfile])];
  return `sync-${sha256(JSON.stringify(definition)).slice(0, 16)}`;
}

/**
 * The run a sync job reports its fan-out as: `sync-<job id>`, with characters run ids do not allow
 * (a scheduled job's `repeat:<name>:<time>` colons) replaced and a short hash of the real id added,
 * so two job ids never share a run.
 */
export function runIdFor(jobId: string): string {
  const clean = jobId.replace(/:/g, '.').replace(/[^A-Za-z0-9_.-]/g, '_');
  if (clean === jobId && clean.length <= 95) return `sync-${clean}`;
  const hash = sha256(jobId).slice(0, 8);
  return `sync-${clean.slice(0, 100 - 'sync-'.length - hash.length - 1)}-${hash}`;
}
