/**
 * The verdicts of `s3jobs doctor`: each probe's observation (store-findings.ts) turned into one
 * row — what the store does, what s3jobs does about it, and whether an s3jobs guarantee holds
 * there. Pure: the probes' I/O is in producers/doctor/probes.ts.
 */
import { copyConditionSupport, conditionHeader, COPY_CONDITIONS, type ConditionOutcome, type EtagForm, type Observed, type StoreObservations } from './store-findings.js';
import type { StoreProfile } from './store-profile.js';

/**
 * `ok`: the guarantee holds; `fail`: an s3jobs guarantee does not hold on this store (exit 1);
 * `warn`: worth knowing, no guarantee broken; `info`: what the store does, nothing to judge;
 * `not checked`: the probe could not run (the reason is in `store`).
 */
export type Verdict = 'ok' | 'warn' | 'fail' | 'info' | 'not checked';

export interface ProbeResult {
  /** Stable id (`guard`, `copy-condition.legacy.if-match`, …), for scripts and the stored findings. */
  id: string;
  /** What was checked, as the table's first column says it. */
  probe: string;
  /** What the store does. */
  store: string;
  /** What s3jobs does about it. */
  s3jobs: string;
  verdict: Verdict;
  /** With `fail`: the s3jobs guarantee that does not hold there, said as the exit message says it. */
  guarantee?: string | undefined;
}

/** Clock skew above this warns (a store may refuse requests signed 15 minutes off; SigV4's limit). */
export const CLOCK_WARN_MS = 5_000;
export const CLOCK_FAIL_MS = 15 * 60_000;

const HEADER_TITLES: Record<string, string> = {
  'content-type': 'Content-Type',
  'cache-control': 'Cache-Control',
  'content-disposition': 'Content-Disposition',
  'content-encoding': 'Content-Encoding',
  'content-language': 'Content-Language',
  expires: 'Expires',
  'x-amz-storage-class': 'storage class',
  'x-amz-website-redirect-location': 'website redirect',
};

function headerList(names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.map((n) => HEADER_TITLES[n] ?? n).join(', ');
}

/** The row of a probe that did not get an observation: an error fails nothing by itself, it warns. */
function unobserved(id: string, probe: string, s3jobs: string, o: Exclude<Observed<unknown>, { state: 'observed' }>): ProbeResult {
  return o.state === 'error' ? { id, probe, store: `probe failed: ${o.error}`, s3jobs, verdict: 'warn' } : { id, probe, store: o.reason, s3jobs, verdict: 'not checked' };
}

function fail(id: string, probe: string, store: string, s3jobs: string, guarantee: string): ProbeResult {
  return { id, probe, store, s3jobs, verdict: 'fail', guarantee };
}

function seconds(ms: number): string {
  const abs = Math.abs(ms);
  return abs >= 60_000 ? `${(abs / 60_000).toFixed(1)} min` : `${(abs / 1000).toFixed(1)} s`;
}

export function judgeClock(o: StoreObservations['clock']): ProbeResult {
  const s3jobs = "signs with the local clock; a request refused as skewed is signed again with the store's Date";
  if (o.state !== 'observed') return unobserved('clock', 'clock skew', s3jobs, o);
  const { offsetMs } = o.value;
  const store = `Date is ${seconds(offsetMs)} ${offsetMs >= 0 ? 'ahead of' : 'behind'} the local clock`;
  if (Math.abs(offsetMs) >= CLOCK_FAIL_MS) return fail('clock', 'clock skew', store, `${s3jobs}; fix the clock (NTP)`, 'signed requests (clock skewed by 15 min or more)');
  return { id: 'clock', probe: 'clock skew', store, s3jobs, verdict: Math.abs(offsetMs) > CLOCK_WARN_MS ? 'warn' : 'ok' };
}

export function judgeSigning(obs: StoreObservations): ProbeResult[] {
  const rows: ProbeResult[] = [];
  const sig = obs.sigv4;
  const signs = 'signs every request with SigV4 headers';
  // Nothing else runs without it: a store that did not answer must not read as "every guarantee holds".
  if (sig.state === 'error') rows.push(fail('sigv4', 'SigV4 header auth', `no answer: ${sig.error}`, `${signs}; check the profile's endpoint and that the store runs`, 'signed requests (the store did not answer)'));
  else if (sig.state !== 'observed') rows.push(unobserved('sigv4', 'SigV4 header auth', signs, sig));
  else if (sig.value.ok) rows.push({ id: 'sigv4', probe: 'SigV4 header auth', store: 'accepts a signed PUT and GET', s3jobs: signs, verdict: 'ok' });
  else {
    const denied = /AccessDenied/.test(sig.value.detail ?? '');
    const advice = denied ? 'the credentials may not write there: give --scratch-prefix a prefix they may write under' : "check the profile's keys, region and endpoint";
    rows.push(fail('sigv4', 'SigV4 header auth', `refuses signed requests: ${sig.value.detail ?? 'unknown'}`, `${signs}; ${advice}`, 'signed requests'));
  }

  const wrong = obs.wrongSecret;
  if (wrong.state !== 'observed') rows.push(unobserved('wrong-secret', 'wrong secret refused', '-', wrong));
  else if (wrong.value.refused) rows.push({ id: 'wrong-secret', probe: 'wrong secret refused', store: `refuses it (${wrong.value.status}${wrong.value.code === undefined ? '' : ` ${wrong.value.code}`})`, s3jobs: '-', verdict: 'ok' });
  else rows.push({ id: 'wrong-secret', probe: 'wrong secret refused', store: `answers ${wrong.value.status} to a request signed with a wrong secret: it checks no signatures`, s3jobs: 'nothing it can do: anyone who reaches this store can read and write', verdict: 'warn' });

  for (const [id, probe, o] of [
    ['presigned-get', 'presigned GET', obs.presignedGet],
    ['presigned-put', 'presigned PUT', obs.presignedPut],
  ] as const) {
    const s3jobs = `makeUrlAuthed(${id === 'presigned-put' ? "{ method: 'PUT' }" : ''}) URLs`;
    if (o.state !== 'observed') rows.push(unobserved(id, probe, s3jobs, o));
    else if (o.value.ok) rows.push({ id, probe, store: id === 'presigned-get' ? 'serves a presigned URL' : 'stores a body PUT to a presigned URL', s3jobs: `${s3jobs} work here`, verdict: 'ok' });
    else rows.push(fail(id, probe, `refuses it: ${o.value.detail ?? 'unknown'}`, `${s3jobs} do not work on this store`, 'presigned URLs'));
  }
  return rows;
}

export function judgeKeys(o: StoreObservations['keys']): ProbeResult[] {
  const s3jobs = 'encodes keys in paths and x-amz-copy-source (RFC 3986), lists with encoding-type=url';
  if (o.state !== 'observed') return [unobserved('keys', 'keys with special characters', s3jobs, o)];
  return o.value.map((k) => {
    const id = `keys.${k.name}`;
    const probe = `key with ${k.name === 'unicode' ? 'unicode' : k.name === 'space' ? 'spaces' : k.name === 'plus' ? '"+"' : '"%"'}: ${JSON.stringify(k.key)}`;
    if (k.failed.length === 0) return { id, probe, store: 'put, head, list and copy keep the exact key', s3jobs, verdict: 'ok' as const };
    return fail(id, probe, `does not round-trip it: ${k.failed.join('; ')}`, s3jobs, `exact keys (${k.name})`);
  });
}

export function judgeReplace(obs: StoreObservations): ProbeResult[] {
  const rows: ProbeResult[] = [];
  const s3jobs = 'sends every system header again on a REPLACE copy (read from a HEAD)';
  const r = obs.replaceHeaders;
  if (r.state !== 'observed') rows.push(unobserved('copy-replace', 'copy with REPLACE, headers not re-sent', s3jobs, r));
  else
    rows.push({
      id: 'copy-replace',
      probe: 'copy with REPLACE, headers not re-sent',
      store: `keeps: ${headerList(r.value.kept)}; drops: ${headerList(r.value.lost)}${r.value.note === undefined ? '' : ` (${r.value.note})`}`,
      s3jobs,
      verdict: 'info',
    });
  const w = obs.rewriteKeeps;
  if (w.state !== 'observed') rows.push(unobserved('rewrite-headers', "s3jobs' metadata rewrite", 'S3Bucket.rewriteMetadata', w));
  else if (w.value.lost.length === 0)
    rows.push({ id: 'rewrite-headers', probe: "s3jobs' metadata rewrite", store: `${w.value.checked.length} headers set: ${headerList(w.value.checked)}`, s3jobs: 'keeps them all', verdict: 'ok' });
  else rows.push(fail('rewrite-headers', "s3jobs' metadata rewrite", `${w.value.checked.length} headers set: ${headerList(w.value.checked)}`, `loses: ${headerList(w.value.lost)}`, 'metadata rewrite keeps the system headers'));
  return rows;
}

function outcomeText(o: ConditionOutcome): string {
  if (o.result === 'refused') return o.detail === undefined ? 'honoured (412)' : `honoured, ${o.detail}`;
  if (o.result === 'copied') return o.detail === undefined ? 'ignored: copied anyway' : `ignored: ${o.detail}`;
  return `unclear: ${o.detail ?? 'error'}`;
}

/** One row per condition and naming (info), then the guard's verdict from `if-match`. */
export function judgeCopyConditions(o: StoreObservations['copyConditions'], profile: StoreProfile): ProbeResult[] {
  if (o.state !== 'observed') return [unobserved('guard', 'guarded rewrite (copy conditions)', 'sends both condition names; results say guarded: "unverified"', o)];
  const sent = profile.copyConditions === 'legacy' ? 'legacy' : profile.copyConditions === 'unknown' ? 'both' : 'standard';
  const order = (c: ConditionOutcome): number => (c.naming === 'standard' ? 0 : 10) + COPY_CONDITIONS.indexOf(c.condition);
  const rows: ProbeResult[] = o.value
    .filter((c) => c.kind === 'impossible')
    .sort((a, b) => order(a) - order(b))
    .map((c) => {
      const header = conditionHeader(c.condition, c.naming);
      const used = c.condition === 'if-match' && (sent === 'both' || sent === c.naming);
      return { id: `copy-condition.${c.naming}.${c.condition}`, probe: header, store: outcomeText(c), s3jobs: used ? 'sent on every guarded copy' : c.condition === 'if-match' ? 'not sent (the other name is)' : 'not used by s3jobs', verdict: 'info' as const };
    });
  const support = copyConditionSupport(o);
  const controls = o.value.filter((c) => c.kind === 'control');
  const refusedControl = controls.find((c) => c.result !== 'copied');
  const probe = 'guarded rewrite (copy-source if-match)';
  switch (support) {
    case 'standard':
      rows.push({ id: 'guard', probe, store: 'honours x-amz-copy-source-if-match', s3jobs: 'sends x-amz-copy-source-if-match with the ETag it read', verdict: 'ok' });
      break;
    case 'both':
      rows.push({ id: 'guard', probe, store: 'honours both x-amz-copy-source-if-* and x-amz-copy-if-*', s3jobs: 'sends the standard name, x-amz-copy-source-if-match', verdict: 'ok' });
      break;
    case 'legacy':
      rows.push({ id: 'guard', probe, store: 'honours only the older x-amz-copy-if-* names', s3jobs: 'sends the older name, x-amz-copy-if-match', verdict: 'ok' });
      break;
    case 'none':
      rows.push(
        fail(
          'guard',
          probe,
          refusedControl === undefined ? 'honours no copy condition under either name: copies anyway' : `honours no copy condition (a condition that holds: ${outcomeText(refusedControl)})`,
          'rewrites run unguarded and say guarded: false; --require-guard / S3JOBS_PROFILE_<NAME>_REQUIRE_GUARD refuses them',
          'guarded rewrite not guarded on this store',
        ),
      );
      break;
    case 'unknown':
      rows.push({ id: 'guard', probe, store: 'could not tell (an if-match probe was answered with an error)', s3jobs: 'sends both names; results say guarded: "unverified"', verdict: 'warn' });
      break;
  }
  return rows;
}

/** The guard of a multipart copy: the condition on each UploadPartCopy. */
export function judgePartConditions(o: StoreObservations['partCopyConditions']): ProbeResult {
  const probe = 'guarded multipart copy (UploadPartCopy if-match)';
  if (o.state !== 'observed') return unobserved('part-guard', probe, 'sends the condition under both names; results say guarded: "unverified"', o);
  const support = copyConditionSupport(o);
  const name = support === 'legacy' ? 'x-amz-copy-if-match' : 'x-amz-copy-source-if-match';
  if (support === 'standard' || support === 'both' || support === 'legacy')
    return { id: 'part-guard', probe, store: support === 'legacy' ? 'honours only x-amz-copy-if-match on parts' : `honours ${support === 'both' ? 'either name' : 'x-amz-copy-source-if-match'} on parts`, s3jobs: `sends ${name} on every part`, verdict: 'ok' };
  if (support === 'unknown') return { id: 'part-guard', probe, store: 'could not tell (a part probe was answered with an error)', s3jobs: 'sends both names on parts; results say guarded: "unverified"', verdict: 'warn' };
  return fail(
    'part-guard',
    probe,
    'honours no condition on UploadPartCopy: copies the part anyway',
    'HEADs the source before completing (narrows the window, no guard); rewrites above the multipart threshold say guarded: false, --require-guard refuses them',
    'guarded rewrite not guarded above the multipart threshold on this store',
  );
}

const FORM_TEXT: Record<EtagForm, string> = { quoted: 'quoted', unquoted: 'unquoted', empty: 'empty', absent: 'absent' };

export function judgeEtags(o: StoreObservations['etagForms']): ProbeResult {
  const s3jobs = 'returns and records the quoted form (as HEAD and listings give it), accepts either as input';
  if (o.state !== 'observed') return unobserved('etag-forms', 'ETag forms', s3jobs, o);
  const v = o.value;
  const store = `PUT ${FORM_TEXT[v.put]}, HEAD ${FORM_TEXT[v.head]}, listing ${FORM_TEXT[v.list]}, CopyObject ${FORM_TEXT[v.copy]}`;
  if (v.client !== 'quoted') return fail('etag-forms', 'ETag forms', store, `copy result came back ${FORM_TEXT[v.client]}`, 'one ETag form (quoted) in results');
  const differs = [v.put, v.head, v.list, v.copy].some((f) => f !== 'quoted');
  return { id: 'etag-forms', probe: 'ETag forms', store, s3jobs: differs ? s3jobs : 'nothing to do (all quoted)', verdict: 'ok' };
}

export function judgeMultipart(o: StoreObservations['multipart']): ProbeResult {
  const probe = 'multipart copy (UploadPartCopy, 5 MiB parts)';
  if (o.state !== 'observed') return unobserved('multipart', probe, 'copies objects above the multipart threshold in parts', o);
  const v = o.value;
  const completion = v.completeEtag === 'empty' || v.completeEtag === 'absent' ? `CompleteMultipartUpload answers ${v.completeEtag === 'empty' ? 'an empty' : 'no'} ETag` : `CompleteMultipartUpload answers an ETag (${v.completeEtag})`;
  const store = `${completion}; HEAD: ${v.headSize} bytes of ${v.sourceSize}, ETag ${v.headEtag || '(none)'}`;
  const how = v.completeEtag === 'quoted' ? 'uses the completion ETag, checks the size' : 'HEADs the result for its ETag and checks its size';
  if (v.headSize !== v.sourceSize) return fail('multipart', probe, store, how, 'multipart copy (the store assembled another size)');
  if (!v.client.ok) return fail('multipart', probe, store, `its multipart copy failed: ${v.client.detail ?? 'unknown'}`, 'multipart copy');
  return { id: 'multipart', probe, store, s3jobs: `${how}: works`, verdict: 'ok' };
}

export function judgeBucketRecreate(o: StoreObservations['bucketRecreate']): ProbeResult {
  const probe = 'CreateBucket of a bucket you own';
  if (o.state !== 'observed') return unobserved('bucket-recreate', probe, "'bucket create' HEADs the bucket first where a 200 is possible", o);
  const v = o.value;
  const store =
    v.answer === '200'
      ? 'answers 200 (a 200 does not mean "created")'
      : v.answer === '409'
        ? `answers 409 ${v.code ?? ''}${v.code === 'BucketAlreadyOwnedByYou' ? ' (as documented)' : ''}`.trim()
        : `answers ${v.status}${v.code === undefined ? '' : ` ${v.code}`}`;
  if (v.clientError !== undefined) return fail('bucket-recreate', probe, store, `S3Bucket.putBucket failed: ${v.clientError}`, "truthful 'changed' for bucket create");
  if (v.clientCreated === true) return fail('bucket-recreate', probe, store, "'bucket create' reports changed: true for it", "truthful 'changed' for bucket create");
  const how = v.answer === '200' ? "HEADs the bucket first: 'bucket create' reports changed: false" : "'bucket create' reports changed: false";
  return { id: 'bucket-recreate', probe, store, s3jobs: how, verdict: v.answer === 'other' ? 'warn' : 'ok' };
}

export function judgeAcl(o: StoreObservations['acl']): ProbeResult {
  const probe = 'object ACL read and write (?acl)';
  if (o.state !== 'observed') return unobserved('acl', probe, '--acl replicate-source reads and writes ACLs', o);
  const v = o.value;
  if (v.read && v.write) return { id: 'acl', probe, store: 'reads and writes object ACLs', s3jobs: '--acl replicate-source works', verdict: 'ok' };
  return { id: 'acl', probe, store: `${v.read ? 'reads' : 'cannot read'} and ${v.write ? 'writes' : 'cannot write'} object ACLs${v.detail === undefined ? '' : ` (${v.detail})`}`, s3jobs: '--acl replicate-source fails here; canned ACLs (x-amz-acl) still go with every copy', verdict: 'warn' };
}

export function judgeVersioning(o: StoreObservations['versioning'], scratch: StoreObservations['scratchVersioning']): ProbeResult[] {
  const probe = 'bucket versioning (?versioning)';
  const s3jobs = "'bucket delete --empty' removes versions and delete markers too";
  const rows = [o.state !== 'observed' ? unobserved('versioning', probe, s3jobs, o) : { id: 'versioning', probe, store: `answers; this bucket: ${o.value.status}`, s3jobs: 'reads and writes objects as in any bucket', verdict: 'info' as const }];
  const scratchProbe = 'versioned scratch bucket, emptied';
  if (scratch.state !== 'observed') rows.push(unobserved('versioning-scratch', scratchProbe, s3jobs, scratch));
  else if (!scratch.value.enabled) rows.push({ id: 'versioning-scratch', probe: scratchProbe, store: `versioning could not be enabled${scratch.value.detail === undefined ? '' : `: ${scratch.value.detail}`}`, s3jobs: "nothing to do: 'bucket delete --empty' removes plain objects", verdict: 'info' });
  else if (scratch.value.clientEmptied) rows.push({ id: 'versioning-scratch', probe: scratchProbe, store: `versioning enabled; one key written twice lists ${scratch.value.versions} versions`, s3jobs: `${s3jobs}: bucket removed`, verdict: 'ok' });
  else rows.push(fail('versioning-scratch', scratchProbe, `versioning enabled; one key written twice lists ${scratch.value.versions} versions`, `'bucket delete --empty' did not remove it: ${scratch.value.detail ?? 'unknown'}`, "'bucket delete --empty' on a versioned bucket"));
  return rows;
}

export function judgeTagging(o: StoreObservations['tagging']): ProbeResult {
  const probe = 'object tagging (?tagging)';
  if (o.state !== 'observed') return unobserved('tagging', probe, 'copies keep tags (x-amz-tagging-directive COPY, the default)', o);
  const v = o.value;
  if (!v.roundTrip) return { id: 'tagging', probe, store: `no tagging: ${v.detail ?? 'unknown'}`, s3jobs: 'nothing to keep', verdict: 'info' };
  const losses = [v.replaceKeeps === false ? 'a REPLACE copy drops them' : '', v.multipartCreateApplies === false ? 'x-amz-tagging on CreateMultipartUpload is ignored' : ''].filter((x) => x !== '');
  const store = losses.length === 0 ? 'tags round-trip' : `tags round-trip, but ${losses.join('; ')}`;
  if (v.keptByRewrite === false) return { id: 'tagging', probe, store, s3jobs: "a metadata rewrite loses the object's tags here", verdict: 'warn' };
  const kept = v.keptByRewrite === true ? 'a metadata rewrite keeps them' : 'copies keep them';
  return { id: 'tagging', probe, store, s3jobs: losses.length === 0 ? kept : `${kept}: s3jobs puts them back where the store loses them`, verdict: 'ok' };
}

/** Every row, in the table's order. `profile` is what s3jobs will use there (preset + findings). */
export function judgeStore(obs: StoreObservations, profile: StoreProfile): ProbeResult[] {
  return [
    judgeClock(obs.clock),
    ...judgeSigning(obs),
    ...judgeKeys(obs.keys),
    ...judgeReplace(obs),
    ...judgeCopyConditions(obs.copyConditions, profile),
    judgeEtags(obs.etagForms),
    judgeMultipart(obs.multipart),
    judgePartConditions(obs.partCopyConditions),
    judgeBucketRecreate(obs.bucketRecreate),
    judgeAcl(obs.acl),
    ...judgeVersioning(obs.versioning, obs.scratchVersioning),
    judgeTagging(obs.tagging),
  ];
}

/** The guarantees that do not hold (each once, in table order): what the exit-1 message names. */
export function brokenGuarantees(results: readonly ProbeResult[]): string[] {
  return [...new Set(results.filter((r) => r.verdict === 'fail').map((r) => r.guarantee ?? r.probe))];
}
