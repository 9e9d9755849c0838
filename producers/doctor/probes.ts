/**
 * The I/O of `s3jobs doctor`: each probe makes its requests and records what the store answered
 * (`StoreObservations`); verdicts are drawn elsewhere (shared/s3/store-probe.ts), from the
 * observations alone. Everything is written under one scratch prefix, removed at the end whatever
 * happened; a scratch bucket (for CreateBucket) is created and deleted the same way.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { S3Error, S3JobsError } from '../../shared/errors.js';
import type { S3BucketOptions } from '../../shared/s3/bucket-config.js';
import { S3Bucket } from '../../shared/s3/bucket.js';
import { SYSTEM_HEADERS } from '../../shared/s3/metadata.js';
import { MiB } from '../../shared/s3/multipart-copy.js';
import { DOCUMENTED_S3, type StoreProfile } from '../../shared/s3/store-profile.js';
import { COPY_CONDITIONS, conditionHeader, etagForm, storeProfileFromObservations, type ConditionNaming, type ConditionOutcome, type CopyCondition, type KeyRoundTrip, type ObservationOf, type Observed, type StoreObservations } from '../../shared/s3/store-findings.js';
import { copySourceHeader } from '../../shared/s3/bucket.js';
import { describeAnswer, elementText, RawStore, removePrefix, succeeded, type RawAnswer } from './raw-store.js';

export interface ProbeOptions {
  /** The bucket under test, as S3Bucket options (credentials, endpoint, region, path style). */
  bucket: S3BucketOptions;
  /** The endpoint id the findings are kept under (see storeEndpointId). */
  endpoint: string;
  /** Where in the bucket to write: `<scratchPrefix>.s3jobs-doctor/<random>/`. Default ''. */
  scratchPrefix?: string;
  /** Per-request timeout. Default 30 s. */
  timeoutMs?: number;
  /** Stops the probes (Ctrl-C); the scratch prefix is still removed. */
  signal?: AbortSignal | undefined;
  /** What s3jobs assumes of this store before the probe (the profile's provider preset). Default DOCUMENTED_S3. */
  baseProfile?: StoreProfile | undefined;
  /** Skip the scratch-bucket probe (CreateBucket of an owned bucket). */
  skipBucketCreate?: boolean;
  /** Told the name of each probe as it starts (progress on stderr). */
  onProbe?: ((name: string) => void) | undefined;
  now?: () => number;
}

export interface ProbeRun {
  observations: StoreObservations;
  scratch: { prefix: string; removed: number; left: number; bucket?: string | undefined; bucketDeleted?: boolean | undefined; error?: string | undefined };
}

/** System headers set on the probe objects, with values a store has no reason to change. */
const PROBE_HEADERS: Record<string, string> = {
  'content-type': 'text/x-s3jobs-doctor; charset=utf-8',
  'cache-control': 'max-age=4321, private',
  'content-disposition': 'attachment; filename="doctor.txt"',
  'content-encoding': 'gzip',
  'content-language': 'de-CH',
  expires: 'Wed, 21 Oct 2037 07:28:00 GMT',
};
/** Tried for the storage-class part of the REPLACE probe; a store without it is told in the note. */
const PROBE_STORAGE_CLASS = 'STANDARD_IA';

const NOT_RUN = 'not run: the signed PUT/GET failed, so nothing else can work';
const ABORTED = 'not run: interrupted';

/** Runs every probe, then removes the scratch prefix (and bucket), also after an error or an abort. */
export async function runProbes(options: ProbeOptions): Promise<ProbeRun> {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const id = `${now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const prefix = `${options.scratchPrefix ?? ''}.s3jobs-doctor/${id}/`;
  const raw = new RawStore(options.bucket, { timeoutMs, signal: options.signal });
  const client = new S3Bucket({ ...options.bucket, timeout: timeoutMs });
  const clients = [client];
  const ctx: Ctx = { raw, client, prefix, options, now, signal: options.signal };
  const notChecked = <T>(reason: string): Observed<T> => ({ state: 'not-checked', reason });
  const obs: StoreObservations = {
    endpoint: options.endpoint,
    bucket: raw.bucket,
    at: new Date(now()).toISOString(),
    clock: notChecked(NOT_RUN),
    sigv4: notChecked(NOT_RUN),
    wrongSecret: notChecked(NOT_RUN),
    presignedGet: notChecked(NOT_RUN),
    presignedPut: notChecked(NOT_RUN),
    keys: notChecked(NOT_RUN),
    replaceHeaders: notChecked(NOT_RUN),
    rewriteKeeps: notChecked(NOT_RUN),
    copyConditions: notChecked(NOT_RUN),
    etagForms: notChecked(NOT_RUN),
    multipart: notChecked(NOT_RUN),
    partCopyConditions: notChecked(NOT_RUN),
    bucketRecreate: notChecked(NOT_RUN),
    acl: notChecked(NOT_RUN),
    versioning: notChecked(NOT_RUN),
    scratchVersioning: notChecked(NOT_RUN),
    tagging: notChecked(NOT_RUN),
  };
  const scratch: ProbeRun['scratch'] = { prefix, removed: 0, left: 0 };
  try {
    const signed = await step(ctx, 'sigv4', () => probeSignedRequests(ctx));
    obs.clock = signed.state === 'observed' ? signed.value.clock : { state: 'error', error: signed.state === 'error' ? signed.error : signed.reason };
    obs.sigv4 = signed.state === 'observed' ? { state: 'observed', value: signed.value.sigv4 } : signed;
    if (obs.sigv4.state === 'observed' && obs.sigv4.value.ok) {
      obs.wrongSecret = await step(ctx, 'wrong secret', () => probeWrongSecret(ctx));
      obs.presignedGet = await step(ctx, 'presigned GET', () => probePresignedGet(ctx));
      obs.presignedPut = await step(ctx, 'presigned PUT', () => probePresignedPut(ctx));
      obs.keys = await step(ctx, 'keys', () => probeKeys(ctx));
      obs.replaceHeaders = await step(ctx, 'copy REPLACE', () => probeReplaceHeaders(ctx));
      obs.copyConditions = await step(ctx, 'copy conditions', () => probeCopyConditions(ctx));
      // From here s3jobs' own client runs as the workers' would: with what was found so far.
      ctx.client = new S3Bucket({ ...options.bucket, timeout: timeoutMs, store: storeProfileFromObservations(obs, options.baseProfile ?? DOCUMENTED_S3) });
      clients.push(ctx.client);
      obs.tagging = await step(ctx, 'tagging', () => probeTagging(ctx));
      obs.rewriteKeeps = await step(ctx, 'rewrite', () => probeRewrite(ctx, obs));
      obs.etagForms = await step(ctx, 'ETag forms', () => probeEtagForms(ctx));
      obs.multipart = await step(ctx, 'multipart copy', () => probeMultipart(ctx));
      obs.partCopyConditions = await step(ctx, 'part copy conditions', () => probePartConditions(ctx));
      obs.bucketRecreate = options.skipBucketCreate === true ? notChecked('not checked: --no-bucket-create') : await step(ctx, 'bucket re-creation', () => probeBucketRecreate(ctx, scratch));
      obs.scratchVersioning = ctx.scratchVersioning ?? (obs.bucketRecreate.state === 'observed' ? notChecked(NOT_RUN) : notChecked('not checked: no scratch bucket (see CreateBucket)'));
      obs.acl = await step(ctx, 'ACL', () => probeAcl(ctx));
      obs.versioning = await step(ctx, 'versioning', () => probeVersioning(ctx));
    }
  } catch (err) {
    // Interrupted: what did not run is marked below; anything else is a bug to report.
    if (!aborted(ctx)) throw err;
  } finally {
    // Cleanup gets its own store handle: the probes' signal may have fired (Ctrl-C).
    const cleaner = new RawStore(options.bucket, { timeoutMs });
    try {
      Object.assign(scratch, await removePrefix(cleaner, prefix));
      if (scratch.bucket !== undefined && scratch.bucketDeleted !== true) {
        // Interrupted or failed half-way: it may hold versions, so empty it the way s3jobs does.
        const leftover = new S3Bucket({ ...options.bucket, name: scratch.bucket, timeout: timeoutMs });
        try {
          await leftover.deleteBucket({ empty: true });
          scratch.bucketDeleted = true;
        } catch (err) {
          scratch.bucketDeleted = err instanceof S3Error && err.code === 'NoSuchBucket';
        } finally {
          await leftover.close();
        }
      }
    } catch (err) {
      scratch.error = errorText(err);
      scratch.left = scratch.left || -1;
    } finally {
      await cleaner.close();
      await raw.close();
      await Promise.all(clients.map((c) => c.close()));
    }
  }
  if (options.signal?.aborted === true) for (const [name, value] of Object.entries(obs)) if (isNotChecked(value, NOT_RUN)) (obs as unknown as Record<string, unknown>)[name] = notChecked(ABORTED);
  return { observations: obs, scratch };
}

interface Ctx {
  /** Set by the CreateBucket probe, which owns the scratch bucket this is tried on. */
  scratchVersioning?: Observed<ObservationOf<'scratchVersioning'>> | undefined;
  raw: RawStore;
  client: S3Bucket;
  prefix: string;
  options: ProbeOptions;
  now: () => number;
  signal: AbortSignal | undefined;
}

function aborted(ctx: Ctx): boolean {
  return ctx.signal?.aborted === true;
}

function isNotChecked(value: unknown, reason: string): boolean {
  return typeof value === 'object' && value !== null && (value as { state?: unknown }).state === 'not-checked' && (value as { reason?: unknown }).reason === reason;
}

/** One probe: its error becomes the observation; an abort stops the whole run. */
async function step<T>(ctx: Ctx, name: string, run: () => Promise<Observed<T>>): Promise<Observed<T>> {
  if (aborted(ctx)) throw new S3JobsError('S3JOBS_ABORTED', 'interrupted');
  ctx.options.onProbe?.(name);
  try {
    return await run();
  } catch (err) {
    if (aborted(ctx)) throw err;
    return { state: 'error', error: errorText(err) };
  }
}

function errorText(err: unknown): string {
  if (err instanceof S3Error) return `${err.status} ${err.code}: ${err.message}`;
  if (err instanceof S3JobsError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

function observed<T>(value: T): Observed<T> {
  return { state: 'observed', value };
}

async function put(ctx: Ctx, key: string, body: string | Uint8Array, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const answer = await ctx.raw.call({ method: 'PUT', key, body, headers: { 'content-type': 'text/plain', ...headers } });
  if (!succeeded(answer)) throw new Error(`PUT ${key} answered ${describeAnswer(answer)}${answer.message === undefined ? '' : ` (${answer.message})`}`);
  return answer;
}

async function head(ctx: Ctx, key: string): Promise<RawAnswer> {
  const answer = await ctx.raw.call({ method: 'HEAD', key });
  if (!succeeded(answer)) throw new Error(`HEAD ${key} answered ${describeAnswer(answer)}`);
  return answer;
}

// ---------------------------------------------------------------------------------------------
// Signing and clock
// ---------------------------------------------------------------------------------------------

const HELLO = 's3jobs doctor says hello';

async function probeSignedRequests(ctx: Ctx): Promise<Observed<{ sigv4: { ok: boolean; detail?: string }; clock: Observed<{ offsetMs: number }> }>> {
  const key = `${ctx.prefix}hello.txt`;
  const before = ctx.now();
  const written = await ctx.raw.call({ method: 'PUT', key, body: HELLO, headers: { 'content-type': 'text/plain' } });
  const after = ctx.now();
  const date = Date.parse(written.headers.date ?? '');
  // Date has whole seconds: the store's time lies in [date, date + 1 s); compare its middle.
  const clock: Observed<{ offsetMs: number }> = Number.isNaN(date)
    ? { state: 'error', error: 'the answer had no Date header' }
    : observed({ offsetMs: Math.round(date + 500 - (before + after) / 2) });
  if (!succeeded(written)) return observed({ sigv4: { ok: false, detail: `PUT answered ${describeAnswer(written)}${written.message === undefined ? '' : `: ${written.message}`}` }, clock });
  const read = await ctx.raw.call({ method: 'GET', key });
  if (!succeeded(read) || read.text !== HELLO) return observed({ sigv4: { ok: false, detail: `GET answered ${describeAnswer(read)}${succeeded(read) ? ' with another body' : ''}` }, clock });
  return observed({ sigv4: { ok: true }, clock });
}

async function probeWrongSecret(ctx: Ctx): Promise<Observed<{ refused: boolean; status: number; code?: string }>> {
  const wrong = new RawStore(ctx.options.bucket, { timeoutMs: ctx.options.timeoutMs ?? 30_000, signal: ctx.signal, secretOverride: `${randomBytes(20).toString('base64')}` });
  try {
    const answer = await wrong.call({ method: 'GET', key: `${ctx.prefix}hello.txt` });
    const value: { refused: boolean; status: number; code?: string } = { refused: answer.status === 403, status: answer.status };
    if (answer.code !== undefined) value.code = answer.code;
    return observed(value);
  } finally {
    await wrong.close();
  }
}

async function probePresignedGet(ctx: Ctx): Promise<Observed<{ ok: boolean; detail?: string }>> {
  const url = ctx.client.makeUrlAuthed(`${ctx.prefix}hello.txt`, { expire: 300 });
  const res = await request(url, { method: 'GET', signal: ctx.signal ?? null });
  const text = await res.body.text();
  if (res.statusCode !== 200) return observed({ ok: false, detail: `answered ${res.statusCode} ${elementText(text, 'Code') ?? ''}`.trim() });
  return text === HELLO ? observed({ ok: true }) : observed({ ok: false, detail: 'answered 200 with another body' });
}

async function probePresignedPut(ctx: Ctx): Promise<Observed<{ ok: boolean; detail?: string }>> {
  const key = `${ctx.prefix}presigned-put.txt`;
  const url = ctx.client.makeUrlAuthed(key, { expire: 300, method: 'PUT' });
  const res = await request(url, { method: 'PUT', body: HELLO, signal: ctx.signal ?? null });
  const text = await res.body.text();
  if (res.statusCode !== 200) return observed({ ok: false, detail: `answered ${res.statusCode} ${elementText(text, 'Code') ?? ''}`.trim() });
  const check = await ctx.raw.call({ method: 'GET', key });
  return check.text === HELLO ? observed({ ok: true }) : observed({ ok: false, detail: `the PUT answered 200 but a GET answered ${describeAnswer(check)}` });
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

const SPECIAL_KEYS: readonly { name: KeyRoundTrip['name']; suffix: string }[] = [
  { name: 'space', suffix: 'key with  spaces .txt' },
  { name: 'plus', suffix: 'c++ notes+1.txt' },
  { name: 'percent', suffix: '100%25 done %.txt' },
  { name: 'unicode', suffix: 'ünïcødé-日本語-🙂.txt' },
];

/** Each key through s3jobs' client: put, head, list (the exact key back), copy (source and destination). */
async function probeKeys(ctx: Ctx): Promise<Observed<KeyRoundTrip[]>> {
  const results: KeyRoundTrip[] = [];
  for (const { name, suffix } of SPECIAL_KEYS) {
    const key = `${ctx.prefix}keys/${suffix}`;
    const failed: string[] = [];
    const attempt = async (what: string, fn: () => Promise<string | undefined>): Promise<void> => {
      try {
        const problem = await fn();
        if (problem !== undefined) failed.push(`${what}: ${problem}`);
      } catch (err) {
        failed.push(`${what}: ${errorText(err)}`);
      }
    };
    await attempt('put', async () => (await ctx.client.put(key, HELLO, { mimetype: 'text/plain' }), undefined));
    await attempt('head', async () => ((await ctx.client.head(key)).size === HELLO.length ? undefined : 'another size'));
    await attempt('list', async () => {
      const page = await ctx.client.listPages({ prefix: key }).next();
      const keys = page.done === true ? [] : page.value.objects.map((o) => o.key);
      return keys.includes(key) ? undefined : `listed ${JSON.stringify(keys)}`;
    });
    await attempt('copy', async () => {
      await ctx.client.copy(`${ctx.raw.bucket}/${key}`, `${key}.copy`, { acl: 'private' });
      return (await ctx.client.head(`${key}.copy`)).size === HELLO.length ? undefined : 'the copy has another size';
    });
    results.push({ name, key: suffix, failed });
  }
  return observed(results);
}

// ---------------------------------------------------------------------------------------------
// REPLACE copies, s3jobs' rewrite, tagging
// ---------------------------------------------------------------------------------------------

/** Puts an object with every probe header (and the storage class when the store has it). */
async function putWithHeaders(ctx: Ctx, key: string): Promise<{ sent: Record<string, string>; note?: string }> {
  const sent = { ...PROBE_HEADERS, 'x-amz-storage-class': PROBE_STORAGE_CLASS };
  const first = await ctx.raw.call({ method: 'PUT', key, body: HELLO, headers: sent });
  if (succeeded(first)) return { sent };
  const { 'x-amz-storage-class': _, ...withoutClass } = sent;
  await put(ctx, key, HELLO, withoutClass);
  return { sent: withoutClass, note: `storage class not checked: the store refused ${PROBE_STORAGE_CLASS} (${describeAnswer(first)})` };
}

/** Which of `sent` a HEAD still shows unchanged. */
function compareHeaders(sent: Record<string, string>, headers: Record<string, string>): { kept: string[]; lost: string[] } {
  const kept: string[] = [];
  const lost: string[] = [];
  for (const [name, value] of Object.entries(sent)) (headers[name] === value ? kept : lost).push(name);
  return { kept, lost };
}

async function probeReplaceHeaders(ctx: Ctx): Promise<Observed<{ sent: string[]; kept: string[]; lost: string[]; note?: string }>> {
  const key = `${ctx.prefix}replace.txt`;
  const { sent, note } = await putWithHeaders(ctx, key);
  const copy = await ctx.raw.call({
    method: 'PUT',
    key,
    headers: { 'x-amz-copy-source': copySourceHeader(ctx.raw.bucket, key), 'x-amz-metadata-directive': 'REPLACE', 'x-amz-meta-doctor': 'replaced' },
  });
  if (!succeeded(copy)) throw new Error(`a REPLACE self-copy answered ${describeAnswer(copy)}`);
  const after = await head(ctx, key);
  const value: { sent: string[]; kept: string[]; lost: string[]; note?: string } = { sent: Object.keys(sent), ...compareHeaders(sent, after.headers) };
  if (note !== undefined) value.note = note;
  return observed(value);
}

const REWRITE_KEY = 'rewrite.txt';
const PROBE_TAGS = '<Tagging><TagSet><Tag><Key>doctor</Key><Value>tagged</Value></Tag></TagSet></Tagging>';

async function probeTagging(ctx: Ctx): Promise<Observed<ObservationOf<'tagging'>>> {
  const key = `${ctx.prefix}${REWRITE_KEY}`;
  await putWithHeaders(ctx, key);
  const tagged = await ctx.raw.call({ method: 'PUT', key, query: { tagging: '' }, body: PROBE_TAGS, headers: { 'content-type': 'application/xml' } });
  if (!succeeded(tagged)) return observed({ roundTrip: false, detail: `PUT ?tagging answered ${describeAnswer(tagged)}` });
  if (!(await hasProbeTag(ctx, key))) return observed({ roundTrip: false, detail: 'GET ?tagging did not give the tag back' });
  // What the store itself does with tags on the writes that may lose them (the client acts on
  // it, tag-carry.ts): a REPLACE copy, and x-amz-tagging on CreateMultipartUpload.
  const copied = `${ctx.prefix}tag-replace.txt`;
  const copy = await ctx.raw.call({
    method: 'PUT',
    key: copied,
    headers: { 'x-amz-copy-source': copySourceHeader(ctx.raw.bucket, key), 'x-amz-metadata-directive': 'REPLACE', 'x-amz-meta-doctor': 'replaced' },
  });
  const replaceKeeps = succeeded(copy) ? await hasProbeTag(ctx, copied) : undefined;
  return observed({ roundTrip: true, replaceKeeps, multipartCreateApplies: await multipartCreateApplies(ctx) });
}

/** Whether GET ?tagging of `key` gives the probe's tag (doctor=tagged). */
async function hasProbeTag(ctx: Ctx, key: string): Promise<boolean> {
  const read = await ctx.raw.call({ method: 'GET', key, query: { tagging: '' } });
  return succeeded(read) && elementText(read.text, 'Value') === 'tagged';
}

/** A one-part upload created with x-amz-tagging: is the tag on the object? Undefined when the upload itself failed. */
async function multipartCreateApplies(ctx: Ctx): Promise<boolean | undefined> {
  const key = `${ctx.prefix}tag-multipart.txt`;
  const created = await ctx.raw.call({ method: 'POST', key, query: { uploads: '' }, headers: { 'content-type': 'text/plain', 'x-amz-tagging': 'doctor=tagged' } });
  const uploadId = elementText(created.text, 'UploadId');
  if (!succeeded(created) || uploadId === undefined || uploadId === '') return undefined;
  const part = await ctx.raw.call({ method: 'PUT', key, query: { partNumber: '1', uploadId }, body: HELLO });
  const etag = part.headers.etag;
  const done =
    succeeded(part) && etag !== undefined
      ? await ctx.raw.call({
          method: 'POST',
          key,
          query: { uploadId },
          body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${etag.replace(/"/g, '&quot;')}</ETag></Part></CompleteMultipartUpload>`,
          headers: { 'content-type': 'application/xml' },
        })
      : undefined;
  if (done === undefined || !succeeded(done)) {
    await ctx.raw.call({ method: 'DELETE', key, query: { uploadId } });
    return undefined;
  }
  return hasProbeTag(ctx, key);
}

/** s3jobs' metadata rewrite of the tagged, fully-headered object: every header (and the tag) must survive. */
async function probeRewrite(ctx: Ctx, obs: StoreObservations): Promise<Observed<{ checked: string[]; lost: string[] }>> {
  const key = `${ctx.prefix}${REWRITE_KEY}`;
  const before = await ctx.raw.call({ method: 'HEAD', key });
  if (!succeeded(before)) await putWithHeaders(ctx, key); // the tagging probe did not get to write it
  const sent = await head(ctx, key);
  const expected: Record<string, string> = {};
  for (const name of SYSTEM_HEADERS) if (sent.headers[name] !== undefined) expected[name] = sent.headers[name]!;
  await ctx.client.rewriteMetadata(key, { acl: 'private', set: { doctor: 'rewritten' } });
  const after = await head(ctx, key);
  const { lost } = compareHeaders(expected, after.headers);
  if (after.headers['x-amz-meta-doctor'] !== 'rewritten') lost.push('x-amz-meta-doctor (the new value)');
  if (obs.tagging.state === 'observed' && obs.tagging.value.roundTrip) {
    const tags = await ctx.raw.call({ method: 'GET', key, query: { tagging: '' } });
    obs.tagging = observed({ ...obs.tagging.value, keptByRewrite: elementText(tags.text, 'Value') === 'tagged' });
  }
  return observed({ checked: Object.keys(expected), lost });
}

// ---------------------------------------------------------------------------------------------
// Copy conditions
// ---------------------------------------------------------------------------------------------

/** A copy whose condition cannot hold: an ETag no object has, the object's own ETag for if-none-match, dates around its Last-Modified. */
function impossibleValue(condition: CopyCondition, headers: Record<string, string>): string {
  const lastModified = Date.parse(headers['last-modified'] ?? '');
  switch (condition) {
    case 'if-match':
      return '"0123456789abcdef0123456789abcdef"';
    case 'if-none-match':
      return headers.etag ?? '""';
    case 'if-modified-since':
      // Not modified since a second after its Last-Modified (whole seconds: covers sub-second mtimes).
      return new Date(lastModified + 1000).toUTCString();
    case 'if-unmodified-since':
      return new Date(lastModified - 86_400_000).toUTCString();
  }
}

async function conditionalSelfCopy(ctx: Ctx, key: string, header: string, value: string): Promise<{ result: ConditionOutcome['result']; detail?: string }> {
  // Its own connection, closed afterwards: Ceph 16.2 answers some conditions with a 304 that
  // carries a body, which leaves the connection unusable for the next request.
  const once = new RawStore(ctx.options.bucket, { timeoutMs: ctx.options.timeoutMs ?? 30_000, signal: ctx.signal });
  let answer: RawAnswer;
  try {
    answer = await once.call({
      method: 'PUT',
      key,
      headers: { 'x-amz-copy-source': copySourceHeader(ctx.raw.bucket, key), 'x-amz-metadata-directive': 'REPLACE', 'x-amz-meta-doctor': 'copied', 'content-type': 'text/plain', [header]: value },
    });
  } catch (err) {
    if (aborted(ctx)) throw err;
    // A store may answer some conditions with a broken response (seen on Ceph 16.2).
    answer = { status: 0, headers: {}, text: '', code: errorText(err) };
  } finally {
    await once.close();
  }
  // Whether the copy happened is the object's word, not the answer's: a 304, or a broken answer,
  // may still have refused it, and a 200 must have made it.
  const after = await ctx.raw.call({ method: 'HEAD', key });
  if (!succeeded(after)) return { result: 'error', detail: `the copy answered ${describeAnswer(answer)}, then HEAD answered ${describeAnswer(after)}` };
  const copied = after.headers['x-amz-meta-doctor'] === 'copied';
  if (copied) return succeeded(answer) ? { result: 'copied' } : { result: 'copied', detail: `copied, yet answered ${describeAnswer(answer)}` };
  if (answer.status === 412) return { result: 'refused' };
  if (succeeded(answer)) return { result: 'error', detail: 'answered 2xx but the object was not rewritten' };
  return { result: 'refused', detail: `refused with ${answer.status === 0 ? answer.code : describeAnswer(answer)} instead of 412` };
}

async function probeCopyConditions(ctx: Ctx): Promise<Observed<ConditionOutcome[]>> {
  const namings: ConditionNaming[] = ['standard', 'legacy'];
  const plan: { condition: CopyCondition; naming: ConditionNaming; kind: 'impossible' | 'control'; key: string }[] = [];
  for (const naming of namings) {
    for (const condition of COPY_CONDITIONS) plan.push({ condition, naming, kind: 'impossible', key: `${ctx.prefix}conditions/${naming}-${condition}.txt` });
    plan.push({ condition: 'if-match', naming, kind: 'control', key: `${ctx.prefix}conditions/${naming}-control.txt` });
  }
  // One object per probe, so an ignored condition (a copy made) cannot change what the next one sees.
  for (const p of plan) await put(ctx, p.key, HELLO);
  const written = ctx.now();
  const outcomes: ConditionOutcome[] = [];
  // if-modified-since last: "not modified since Last-Modified + 1 s" needs that second to be past.
  const ordered = [...plan.filter((p) => p.condition !== 'if-modified-since'), ...plan.filter((p) => p.condition === 'if-modified-since')];
  for (const p of ordered) {
    if (p.condition === 'if-modified-since') {
      const wait = written + 2_500 - ctx.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const headers = (await head(ctx, p.key)).headers;
    const value = p.kind === 'control' ? (headers.etag ?? '') : impossibleValue(p.condition, headers);
    const outcome = await conditionalSelfCopy(ctx, p.key, conditionHeader(p.condition, p.naming), value);
    outcomes.push({ condition: p.condition, naming: p.naming, kind: p.kind, ...outcome });
  }
  return observed(outcomes);
}

// ---------------------------------------------------------------------------------------------
// ETags, multipart copy
// ---------------------------------------------------------------------------------------------

async function probeEtagForms(ctx: Ctx): Promise<Observed<ObservationOf<'etagForms'>>> {
  const key = `${ctx.prefix}etag.txt`;
  const written = await put(ctx, key, HELLO);
  const headed = await head(ctx, key);
  const listing = await ctx.raw.call({ method: 'GET', query: { 'list-type': '2', prefix: key } });
  const listed = succeeded(listing) ? elementText(listing.text, 'ETag') : undefined;
  const copied = await ctx.raw.call({ method: 'PUT', key: `${key}.copy`, headers: { 'x-amz-copy-source': copySourceHeader(ctx.raw.bucket, key) } });
  if (!succeeded(copied)) throw new Error(`CopyObject answered ${describeAnswer(copied)}`);
  const client = await ctx.client.copy(`${ctx.raw.bucket}/${key}`, `${key}.client-copy`, { acl: 'private' });
  return observed({ put: etagForm(written.headers.etag), head: etagForm(headed.headers.etag), list: etagForm(listed), copy: etagForm(elementText(copied.text, 'ETag')), client: etagForm(client.etag) });
}

const PART = 5 * MiB;

async function probeMultipart(ctx: Ctx): Promise<Observed<ObservationOf<'multipart'>>> {
  const source = `${ctx.prefix}multipart-source.bin`;
  const size = PART + 1024;
  await put(ctx, source, randomBytes(size), { 'content-type': 'application/octet-stream' });
  const target = `${ctx.prefix}multipart-raw.bin`;
  const created = await ctx.raw.call({ method: 'POST', key: target, query: { uploads: '' }, headers: { 'content-type': 'application/octet-stream' } });
  const uploadId = elementText(created.text, 'UploadId');
  if (!succeeded(created) || uploadId === undefined || uploadId === '') throw new Error(`CreateMultipartUpload answered ${describeAnswer(created)}`);
  const ranges = [
    [0, PART - 1],
    [PART, size - 1],
  ] as const;
  const parts: { partNumber: number; etag: string }[] = [];
  for (const [i, [start, end]] of ranges.entries()) {
    const answer = await ctx.raw.call({
      method: 'PUT',
      key: target,
      query: { partNumber: String(i + 1), uploadId },
      headers: { 'x-amz-copy-source': copySourceHeader(ctx.raw.bucket, source), 'x-amz-copy-source-range': `bytes=${start}-${end}` },
    });
    const etag = elementText(answer.text, 'ETag');
    if (!succeeded(answer) || etag === undefined || etag === '') throw new Error(`UploadPartCopy ${i + 1} answered ${describeAnswer(answer)}${etag === '' ? ' with an empty ETag' : ''}`);
    parts.push({ partNumber: i + 1, etag });
  }
  const body = `<CompleteMultipartUpload>${parts.map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${p.etag.replace(/"/g, '&quot;')}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
  const done = await ctx.raw.call({ method: 'POST', key: target, query: { uploadId }, body, headers: { 'content-type': 'application/xml' } });
  if (!succeeded(done)) throw new Error(`CompleteMultipartUpload answered ${describeAnswer(done)}`);
  const completeEtag = etagForm(elementText(done.text, 'ETag'));
  const headed = await head(ctx, target);
  // s3jobs' own multipart copy of the same source (parts of 5 MiB, so this small object takes two).
  let client: { ok: boolean; detail?: string };
  try {
    const copy = await ctx.client.copy(`${ctx.raw.bucket}/${source}`, `${ctx.prefix}multipart-client.bin`, { acl: 'private', multipart: { threshold: PART, partSize: PART, concurrency: 2 } });
    const check = await head(ctx, `${ctx.prefix}multipart-client.bin`);
    const headSize = Number(check.headers['content-length']);
    client = !copy.multipart ? { ok: false, detail: 'the copy did not use multipart' } : headSize !== size ? { ok: false, detail: `the copy has ${headSize} bytes, the source ${size}` } : copy.etag === '' ? { ok: false, detail: 'the copy result has no ETag' } : { ok: true };
  } catch (err) {
    client = { ok: false, detail: errorText(err) };
  }
  return observed({ parts: parts.length, sourceSize: size, completeEtag, headSize: Number(headed.headers['content-length']), headEtag: headed.headers.etag ?? '', client });
}

/**
 * UploadPartCopy of the multipart source's first 5 MiB with if-match under each name: an ETag no
 * object has (must be refused with 412) and the source's own (must copy). Each on its own upload,
 * aborted afterwards, and its own connection (a store may answer a refusal with a broken response).
 */
async function probePartConditions(ctx: Ctx): Promise<Observed<ConditionOutcome[]>> {
  const source = `${ctx.prefix}multipart-source.bin`;
  const sourceHead = await ctx.raw.call({ method: 'HEAD', key: source });
  if (!succeeded(sourceHead)) return { state: 'not-checked', reason: `not run: the multipart probe left no source (${describeAnswer(sourceHead)})` };
  const target = `${ctx.prefix}multipart-conditions.bin`;
  const outcomes: ConditionOutcome[] = [];
  for (const naming of ['standard', 'legacy'] as const) {
    for (const kind of ['impossible', 'control'] as const) {
      const created = await ctx.raw.call({ method: 'POST', key: target, query: { uploads: '' } });
      const uploadId = elementText(created.text, 'UploadId');
      if (!succeeded(created) || uploadId === undefined || uploadId === '') throw new Error(`CreateMultipartUpload answered ${describeAnswer(created)}`);
      const once = new RawStore(ctx.options.bucket, { timeoutMs: ctx.options.timeoutMs ?? 30_000, signal: ctx.signal });
      let answer: RawAnswer;
      try {
        answer = await once.call({
          method: 'PUT',
          key: target,
          query: { partNumber: '1', uploadId },
          headers: {
            'x-amz-copy-source': copySourceHeader(ctx.raw.bucket, source),
            'x-amz-copy-source-range': `bytes=0-${PART - 1}`,
            [conditionHeader('if-match', naming)]: kind === 'control' ? (sourceHead.headers.etag ?? '') : '"0123456789abcdef0123456789abcdef"',
          },
        });
      } catch (err) {
        if (aborted(ctx)) throw err;
        answer = { status: 0, headers: {}, text: '', code: errorText(err) };
      } finally {
        await once.close();
        await ctx.raw.call({ method: 'DELETE', key: target, query: { uploadId } });
      }
      const result: ConditionOutcome['result'] = answer.status === 412 ? 'refused' : succeeded(answer) ? 'copied' : 'error';
      outcomes.push(result === 'error' ? { condition: 'if-match', naming, kind, result, detail: answer.status === 0 ? answer.code : describeAnswer(answer) } : { condition: 'if-match', naming, kind, result });
    }
  }
  return observed(outcomes);
}

// ---------------------------------------------------------------------------------------------
// Bucket re-creation, ACL, versioning
// ---------------------------------------------------------------------------------------------

async function probeBucketRecreate(ctx: Ctx, scratch: ProbeRun['scratch']): Promise<Observed<ObservationOf<'bucketRecreate'>>> {
  const name = `s3jobs-doctor-${ctx.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const region = ctx.raw.config.region;
  // Outside us-east-1 AWS wants the region as LocationConstraint; elsewhere send none (a store's
  // default placement: Ceph accepts only its zonegroup names there).
  const body = region === 'us-east-1' ? undefined : `<CreateBucketConfiguration><LocationConstraint>${region}</LocationConstraint></CreateBucketConfiguration>`;
  const create = (): Promise<RawAnswer> => ctx.raw.call({ method: 'PUT', bucket: name, ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/xml' } }) });
  const first = await create();
  if (!succeeded(first)) {
    if (first.status === 403) return { state: 'not-checked', reason: `not checked: these credentials may not create buckets (${describeAnswer(first)})` };
    return { state: 'not-checked', reason: `not checked: creating a scratch bucket answered ${describeAnswer(first)}` };
  }
  scratch.bucket = name;
  const again = await create();
  // 409 BucketAlreadyOwnedByYou as documented; some stores say BucketAlreadyExists to the owner too (the code is kept).
  const answer = succeeded(again) ? '200' : again.status === 409 ? '409' : 'other';
  const value: ObservationOf<'bucketRecreate'> = { answer, status: again.status };
  if (again.code !== undefined) value.code = again.code;
  const client = new S3Bucket({ ...ctx.options.bucket, name, timeout: ctx.options.timeoutMs ?? 30_000, store: { ...ctx.client.store, ownedBucketCreate: answer === '200' ? '200' : answer === '409' ? '409' : ctx.client.store.ownedBucketCreate } });
  try {
    value.clientCreated = (await client.putBucket(body === undefined ? {} : { location: region })).created;
  } catch (err) {
    value.clientError = errorText(err);
  }
  try {
    ctx.scratchVersioning = await probeScratchVersioning(ctx, client);
  } catch (err) {
    if (aborted(ctx)) throw err;
    ctx.scratchVersioning = { state: 'error', error: errorText(err) };
  } finally {
    await client.close();
  }
  const deleted = await ctx.raw.call({ method: 'DELETE', bucket: name });
  scratch.bucketDeleted = succeeded(deleted) || deleted.code === 'NoSuchBucket';
  return observed(value);
}

/**
 * On the scratch bucket: versioning enabled, one key written twice (two versions listed), then
 * s3jobs' own `deleteBucket({ empty: true })` — what `bucket delete --empty` runs — must remove
 * every version and the bucket.
 */
async function probeScratchVersioning(ctx: Ctx, client: S3Bucket): Promise<Observed<ObservationOf<'scratchVersioning'>>> {
  const bucket = client.name;
  try {
    await client.putBucketVersioning('Enabled');
  } catch (err) {
    return observed({ enabled: false, versions: 0, clientEmptied: false, detail: `PUT ?versioning: ${errorText(err)}` });
  }
  const status = await ctx.raw.call({ method: 'GET', bucket, query: { versioning: '' } });
  const enabled = succeeded(status) && elementText(status.text, 'Status') === 'Enabled';
  for (const body of ['one', 'two']) {
    const written = await ctx.raw.call({ method: 'PUT', bucket, key: 'versioned.txt', body, headers: { 'content-type': 'text/plain' } });
    if (!succeeded(written)) throw new Error(`PUT in the versioned scratch bucket answered ${describeAnswer(written)}`);
  }
  const listed = await ctx.raw.call({ method: 'GET', bucket, query: { versions: '', prefix: 'versioned.txt' } });
  const versions = succeeded(listed) ? [...listed.text.matchAll(/<Version>/g)].length : 0;
  let clientEmptied = false;
  let detail: string | undefined;
  try {
    await client.deleteBucket({ empty: true });
    const gone = await ctx.raw.call({ method: 'HEAD', bucket });
    clientEmptied = gone.status === 404;
    if (!clientEmptied) detail = `the bucket still answers HEAD with ${describeAnswer(gone)}`;
  } catch (err) {
    detail = `bucket delete --empty failed: ${errorText(err)}`;
  }
  return observed(detail === undefined ? { enabled, versions, clientEmptied } : { enabled, versions, clientEmptied, detail });
}

async function probeAcl(ctx: Ctx): Promise<Observed<{ read: boolean; write: boolean; detail?: string }>> {
  const key = `${ctx.prefix}hello.txt`;
  const read = await ctx.raw.call({ method: 'GET', key, query: { acl: '' } });
  const readOk = succeeded(read) && read.text.includes('AccessControlPolicy');
  const write = await ctx.raw.call({ method: 'PUT', key, query: { acl: '' }, headers: { 'x-amz-acl': 'private' } });
  const writeOk = succeeded(write);
  const details = [...(readOk ? [] : [`GET ?acl answered ${describeAnswer(read)}`]), ...(writeOk ? [] : [`PUT ?acl answered ${describeAnswer(write)}`])];
  return observed(details.length === 0 ? { read: readOk, write: writeOk } : { read: readOk, write: writeOk, detail: details.join('; ') });
}

async function probeVersioning(ctx: Ctx): Promise<Observed<{ status: string }>> {
  const answer = await ctx.raw.call({ method: 'GET', query: { versioning: '' } });
  if (!succeeded(answer)) throw new Error(`GET ?versioning answered ${describeAnswer(answer)}`);
  const status = elementText(answer.text, 'Status');
  return observed({ status: status === undefined || status === '' ? 'never enabled' : status });
}

