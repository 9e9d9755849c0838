/**
 * The objects a job payload does something to on behalf of a run — read from a payload that may
 * be malformed (a dead letter, a job cancelled from the queue), so that every object still gets
 * its one outcome and report row. Pure.
 *
 * A report row names the task the way the run's input named it: the object listed or named in
 * the manifest (for a copy, its source and source version — as S3 Batch Operations reports a copy
 * task), not where a copy went.
 */
import { BATCH_KINDS } from './payloads.js';

/** One object of a run, as far as a payload tells. */
export interface RunObjectRef {
  runId: string;
  slot: number;
  bucket: string;
  key: string;
  /** The version the job targets (a manifest row's version id), if any. */
  versionId?: string | undefined;
}

type Fields = Record<string, unknown>;

const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const optionalText = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const isSlot = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;
const record = (value: unknown): Fields | undefined => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : undefined);


/**
 * The objects of a batch payload that belong to a run, as far as they can be read from it; [] for
 * anything else. A copy batch's objects are named by their source.
 */
export function batchRefsOf(payload: unknown): RunObjectRef[] {
  const p = record(payload);
  if (p === undefined || !(BATCH_KINDS as readonly string[]).includes(text(p.kind)) || typeof p.runId !== 'string' || !Array.isArray(p.objects)) return [];
  const runId = p.runId;
  const bucket = p.kind === 'copy-batch' ? text(record(p.source)?.bucket) : text(p.bucket);
  const refs: RunObjectRef[] = [];
  for (const o of p.objects as unknown[]) {
    const object = record(o);
    if (!isSlot(object?.slot)) continue;
    const versionId = optionalText(object?.versionId);
    refs.push({ runId, slot: object.slot, bucket, key: text(object?.key), ...(versionId === undefined ? {} : { versionId }) });
  }
  return refs;
}

/**
 * The object a single job does something to on behalf of a run, or undefined for jobs outside
 * runs. A copy names its source (see above).
 */
export function runRefOf(payload: unknown): RunObjectRef | undefined {
  const p = record(payload);
  if (p === undefined || typeof p.runId !== 'string' || !isSlot(p.runSlot)) return undefined;
  const object = p.kind === 'copy' ? (record(p.source) ?? {}) : p;
  const versionId = optionalText(object.versionId);
  return { runId: p.runId, slot: p.runSlot, bucket: text(object.bucket), key: text(object.key), ...(versionId === undefined ? {} : { versionId }) };
}

/** Every object of a run a payload carries: a batch's, or a single job's; [] for jobs outside runs. */
export function runRefsOf(payload: unknown): RunObjectRef[] {
  const batch = batchRefsOf(payload);
  if (batch.length > 0) return batch;
  const single = runRefOf(payload);
  return single === undefined ? [] : [single];
}

/** Where a copy job writes, for its report row's message (`copied to s3://bucket/key`); undefined for other payloads. */
export function copyDestinationOf(payload: unknown): string | undefined {
  const p = record(payload);
  const destination = record(p?.destination);
  if (p?.kind !== 'copy' || destination === undefined) return undefined;
  return `s3://${text(destination.bucket)}/${text(destination.key)}`;
}

/** A completed copy's report message, `copied to s3://bucket/key` (a single copy job's or a batch object's); undefined for other payloads. */
export function copiedMessageOf(payload: unknown): string | undefined {
  const destination = copyDestinationOf(payload);
  return destination === undefined ? undefined : `copied to ${destination}`;
}
