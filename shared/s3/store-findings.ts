/**
 * What `s3jobs doctor` saw on a store (its observations, one per probe), the StoreProfile those
 * observations amount to, and the record kept per endpoint in Redis for the workers.
 *
 * Pure: no I/O. The probes that fill `StoreObservations` live in producers/doctor/probes.ts; the
 * verdicts on them in store-probe.ts.
 */
import { ErrorCodes, S3JobsError } from '../errors.js';
import { DOCUMENTED_S3, withFindings, type CopyConditionSupport, type OwnedBucketCreate, type StoreProfile } from './store-profile.js';

/** One probe's outcome: what was seen, the error that stopped it, or why it was not run. */
export type Observed<T> = { state: 'observed'; value: T } | { state: 'error'; error: string } | { state: 'not-checked'; reason: string };

/** The value a probe records when it observed something: `ObservationOf<'multipart'>`. */
export type ObservationOf<K extends keyof StoreObservations> = StoreObservations[K] extends Observed<infer T> ? T : never;

/** How an ETag came: `"hex"` (quoted, as documented), `hex` (unquoted), empty, or absent altogether. */
export type EtagForm = 'quoted' | 'unquoted' | 'empty' | 'absent';

/** The four copy-source conditions, by their standard suffix. */
export const COPY_CONDITIONS = ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'] as const;
export type CopyCondition = (typeof COPY_CONDITIONS)[number];

/** `standard`: `x-amz-copy-source-<condition>`; `legacy`: `x-amz-copy-<condition>` (older RGW). */
export type ConditionNaming = 'standard' | 'legacy';

/** The header a condition is sent under, by naming. */
export function conditionHeader(condition: CopyCondition, naming: ConditionNaming): string {
  return naming === 'standard' ? `x-amz-copy-source-${condition}` : `x-amz-copy-${condition}`;
}

/**
 * A self-copy sent with a condition that cannot hold (`impossible`), or with `if-match` naming the
 * object's real ETag (`control`, which must copy): `refused` is a 412, `copied` a 200, `error`
 * anything else (`detail` says what).
 */
export interface ConditionOutcome {
  condition: CopyCondition;
  naming: ConditionNaming;
  kind: 'impossible' | 'control';
  result: 'refused' | 'copied' | 'error';
  detail?: string | undefined;
}

/** The special keys written, headed, listed and copied; `failed` names each step that did not round-trip. */
export interface KeyRoundTrip {
  name: 'space' | 'plus' | 'percent' | 'unicode';
  key: string;
  failed: string[];
}

export interface StoreObservations {
  /** The endpoint these hold for (see `storeEndpointId`). */
  endpoint: string;
  bucket: string;
  /** When the probe ran (ISO 8601). */
  at: string;
  /** The store's `Date` header minus the local clock at the middle of the request, ms. */
  clock: Observed<{ offsetMs: number }>;
  /** A PUT and GET signed with SigV4 headers. */
  sigv4: Observed<{ ok: boolean; detail?: string | undefined }>;
  /** A GET signed with a wrong secret key: refused (403) as it must be, or answered. */
  wrongSecret: Observed<{ refused: boolean; status: number; code?: string | undefined }>;
  presignedGet: Observed<{ ok: boolean; detail?: string | undefined }>;
  presignedPut: Observed<{ ok: boolean; detail?: string | undefined }>;
  keys: Observed<KeyRoundTrip[]>;
  /**
   * A REPLACE self-copy that does not send the system headers again: which of those set on the
   * object survive (`kept`) and which are gone or changed (`lost`). `sent` lists what the object had.
   */
  replaceHeaders: Observed<{ sent: string[]; kept: string[]; lost: string[]; note?: string | undefined }>;
  /** s3jobs' own metadata rewrite (S3Bucket.rewriteMetadata) on the same kind of object: headers it lost. */
  rewriteKeeps: Observed<{ checked: string[]; lost: string[] }>;
  copyConditions: Observed<ConditionOutcome[]>;
  /**
   * The same on UploadPartCopy (a multipart copy's parts), if-match only: a part copied with an
   * ETag no object has (`impossible`) must be refused, one with the source's ETag (`control`) not.
   */
  partCopyConditions: Observed<ConditionOutcome[]>;
  etagForms: Observed<{ put: EtagForm; head: EtagForm; list: EtagForm; copy: EtagForm; client: EtagForm }>;
  /**
   * A multipart copy made by hand (UploadPartCopy, parts of 5 MiB): CompleteMultipartUpload's ETag,
   * then HEAD's size and ETag; `client` is s3jobs' own multipart copy of the same source.
   */
  multipart: Observed<{
    parts: number;
    sourceSize: number;
    completeEtag: EtagForm;
    headSize: number;
    headEtag: string;
    client: { ok: boolean; detail?: string | undefined };
  }>;
  /** CreateBucket of a scratch bucket we own already: the store's answer, and what S3Bucket.putBucket said. */
  bucketRecreate: Observed<{ answer: '200' | '409' | 'other'; status: number; code?: string | undefined; clientCreated?: boolean | undefined; clientError?: string | undefined }>;
  acl: Observed<{ read: boolean; write: boolean; detail?: string | undefined }>;
  versioning: Observed<{ status: string }>;
  /**
   * On the scratch bucket: whether versioning could be enabled, how many versions one key written
   * twice listed, and whether s3jobs' `deleteBucket({ empty: true })` then removed it all.
   */
  scratchVersioning: Observed<{ enabled: boolean; versions: number; clientEmptied: boolean; detail?: string | undefined }>;
  /**
   * PUT/GET ?tagging round-trips; `keptByRewrite`: the tags are still there after s3jobs' rewrite;
   * what the store itself does: `replaceKeeps` (a raw REPLACE copy keeps the source's tags),
   * `multipartCreateApplies` (x-amz-tagging on CreateMultipartUpload tags the object).
   */
  tagging: Observed<{
    roundTrip: boolean;
    keptByRewrite?: boolean | undefined;
    replaceKeeps?: boolean | undefined;
    multipartCreateApplies?: boolean | undefined;
    detail?: string | undefined;
  }>;
}

/** `"abc"` → quoted, `abc` → unquoted, `` → empty, undefined → absent (a weak `W/"…"` counts as quoted). */
export function etagForm(etag: string | undefined): EtagForm {
  if (etag === undefined) return 'absent';
  if (etag === '') return 'empty';
  return /^(W\/)?".*"$/.test(etag) ? 'quoted' : 'unquoted';
}

/** Whether the store honours the conditions under `naming`: the impossible if-match refused, the control copied. */
function honours(outcomes: readonly ConditionOutcome[], naming: ConditionNaming): boolean {
  const impossible = outcomes.find((o) => o.naming === naming && o.kind === 'impossible' && o.condition === 'if-match');
  const control = outcomes.find((o) => o.naming === naming && o.kind === 'control');
  // Without a control we cannot tell "honours" from "refuses every conditional copy".
  return impossible?.result === 'refused' && control?.result === 'copied';
}

/**
 * Which condition names guard a copy on this store. Decided on `if-match`, the one s3jobs sends (a
 * rewrite is guarded by the ETag it read); the other three conditions are reported, not decided on.
 */
export function copyConditionSupport(observed: StoreObservations['copyConditions']): CopyConditionSupport {
  if (observed.state !== 'observed') return 'unknown';
  const standard = honours(observed.value, 'standard');
  const legacy = honours(observed.value, 'legacy');
  if (standard && legacy) return 'both';
  if (standard) return 'standard';
  if (legacy) return 'legacy';
  // An error on either if-match probe (not a plain 200) leaves the question open.
  const errored = observed.value.some((o) => o.condition === 'if-match' && o.result === 'error');
  return errored ? 'unknown' : 'none';
}

/**
 * What the observations establish about the store, as StoreProfile fields: only those a probe
 * actually saw (a probe that failed or did not run leaves its field out, so the preset or the
 * default stays in force for it). `source` is `doctor:<time of the run>`.
 */
export function findingsFromObservations(obs: StoreObservations): Partial<StoreProfile> {
  const findings: Partial<StoreProfile> = { source: `doctor:${obs.at}` };
  const conditions = copyConditionSupport(obs.copyConditions);
  if (conditions !== 'unknown') findings.copyConditions = conditions;
  const parts = copyConditionSupport(obs.partCopyConditions);
  if (parts !== 'unknown') findings.partCopyConditions = parts;
  if (obs.multipart.state === 'observed') {
    const form = obs.multipart.value.completeEtag;
    findings.multipartCompletionEtag = form === 'empty' || form === 'absent' ? 'may-be-empty' : 'etag';
  }
  if (obs.bucketRecreate.state === 'observed') {
    const answer = obs.bucketRecreate.value.answer;
    if (answer === '200' || answer === '409') findings.ownedBucketCreate = answer;
  }
  if (obs.tagging.state === 'observed') {
    const { replaceKeeps, multipartCreateApplies } = obs.tagging.value;
    if (replaceKeeps !== undefined) findings.replaceCopyTags = replaceKeeps ? 'kept' : 'dropped';
    if (multipartCreateApplies !== undefined) findings.multipartCreateTags = multipartCreateApplies ? 'applied' : 'ignored';
  }
  return findings;
}

/** The profile a client of this store uses: `base` (a preset, or DOCUMENTED_S3) with the findings on top. */
export function storeProfileFromObservations(obs: StoreObservations, base: StoreProfile = DOCUMENTED_S3): StoreProfile {
  return withFindings(base, findingsFromObservations(obs));
}

// ---------------------------------------------------------------------------------------------
// Kept per endpoint (Redis)
// ---------------------------------------------------------------------------------------------

/** What `doctor --save` writes under `storeFindingsKey`, and what workers read back. */
export interface StoredFindings {
  version: 1;
  endpoint: string;
  /** The bucket the probe ran in (findings hold for the endpoint; the bucket is for the record). */
  bucket: string;
  at: string;
  /** What the run established (only the fields it saw), merged over the preset by the workers. */
  findings: Partial<StoreProfile>;
  /** Ids of the probes whose verdict was `fail` (the s3jobs guarantees that do not hold there). */
  failed: string[];
}

/**
 * The identity of a store: the origin of the profile's endpoint (`http://127.0.0.1:7480`), or AWS's
 * regional origin when no endpoint is set. Buckets of one endpoint share its behaviour.
 */
export function storeEndpointId(profile: { endpoint?: string | undefined; region: string }): string {
  if (profile.endpoint !== undefined && profile.endpoint !== '') {
    const url = new URL(profile.endpoint);
    return url.origin;
  }
  return profile.region === 'us-east-1' ? 'https://s3.amazonaws.com' : `https://s3.${profile.region}.amazonaws.com`;
}

/** The Redis key of an endpoint's findings, beside the queue's keys: `<prefix>:store:<endpoint>`. */
export function storeFindingsKey(prefix: string, endpoint: string): string {
  return `${prefix}:store:${endpoint}`;
}

const COPY_CONDITION_VALUES: readonly CopyConditionSupport[] = ['standard', 'legacy', 'both', 'none', 'unknown'];
const OWNED_CREATE_VALUES: readonly OwnedBucketCreate[] = ['409', '200', '200-in-us-east-1', 'unknown'];

/** The values each stored finding may take (anything else is refused, never guessed at). */
const FINDING_VALUES = {
  copyConditions: COPY_CONDITION_VALUES,
  partCopyConditions: COPY_CONDITION_VALUES,
  multipartCompletionEtag: ['etag', 'may-be-empty'],
  ownedBucketCreate: OWNED_CREATE_VALUES,
  replaceCopyTags: ['kept', 'dropped', 'unknown'],
  multipartCreateTags: ['applied', 'ignored', 'unknown'],
} as const satisfies { [K in keyof StoreProfile]?: readonly NonNullable<StoreProfile[K]>[] };

/**
 * Reads a stored record back, checking each field the workers use. A record written by another
 * version, or damaged, is refused with a message naming the field (the caller logs it and keeps
 * the preset): findings steer how copies are guarded, so a guess is worse than none.
 */
export function parseStoredFindings(text: string, key: string): StoredFindings {
  const bad = (what: string): S3JobsError => new S3JobsError(ErrorCodes.InvalidConfig, `store findings at ${key}: ${what}; run 's3jobs doctor' again to rewrite them`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('not a JSON object');
  const r = raw as Record<string, unknown>;
  if (r.version !== 1) throw bad(`version ${JSON.stringify(r.version)} is not one this s3jobs reads (1)`);
  for (const field of ['endpoint', 'bucket', 'at'] as const) if (typeof r[field] !== 'string') throw bad(`${field} is not a string`);
  const f = r.findings as Record<string, unknown> | null | undefined;
  if (f === null || typeof f !== 'object' || Array.isArray(f)) throw bad('findings is missing');
  const findings: Partial<StoreProfile> = { source: typeof f.source === 'string' ? f.source : `doctor:${r.at as string}` };
  for (const [field, allowed] of Object.entries(FINDING_VALUES) as [keyof typeof FINDING_VALUES, readonly string[]][]) {
    const value = f[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !allowed.includes(value)) throw bad(`findings.${field} ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
    (findings as Record<string, unknown>)[field] = value;
  }
  const failed = Array.isArray(r.failed) ? r.failed.filter((x): x is string => typeof x === 'string') : [];
  return { version: 1, endpoint: r.endpoint as string, bucket: r.bucket as string, at: r.at as string, findings, failed };
}
