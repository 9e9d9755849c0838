/**
 * `s3jobs doctor`'s observations into findings, a StoreProfile and verdicts; the stored record
 * read back. Pure: no network.
 */
import { describe, expect, it } from 'vitest';
import {
  copyConditionSupport,
  etagForm,
  findingsFromObservations,
  parseStoredFindings,
  storeEndpointId,
  storeFindingsKey,
  storeProfileFromObservations,
  type ConditionOutcome,
  type StoreObservations,
} from '../../../shared/s3/store-findings.js';
import { brokenGuarantees, judgeBucketRecreate, judgeClock, judgeCopyConditions, judgeEtags, judgeMultipart, judgePartConditions, judgeStore, judgeTagging, judgeVersioning } from '../../../shared/s3/store-probe.js';
import { DOCUMENTED_S3, PROVIDER_PROFILES } from '../../../shared/s3/store-profile.js';

const AT = '2026-12-03T22:00:00.000Z';

function conditions(honoured: { standard: boolean; legacy: boolean }, control: ConditionOutcome['result'] = 'copied'): ConditionOutcome[] {
  const out: ConditionOutcome[] = [];
  for (const naming of ['standard', 'legacy'] as const) {
    for (const condition of ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'] as const)
      out.push({ condition, naming, kind: 'impossible', result: honoured[naming] ? 'refused' : 'copied' });
    out.push({ condition: 'if-match', naming, kind: 'control', result: control });
  }
  return out;
}

/** UploadPartCopy probes: if-match only. */
function partConditions(honoured: { standard: boolean; legacy: boolean }): ConditionOutcome[] {
  return conditions(honoured).filter((o) => o.condition === 'if-match');
}

/** Everything observed as on a store that does what the S3 documentation says. */
function documentedStore(): StoreObservations {
  return {
    endpoint: 'http://127.0.0.1:7480',
    bucket: 'b',
    at: AT,
    clock: { state: 'observed', value: { offsetMs: 120 } },
    sigv4: { state: 'observed', value: { ok: true } },
    wrongSecret: { state: 'observed', value: { refused: true, status: 403, code: 'SignatureDoesNotMatch' } },
    presignedGet: { state: 'observed', value: { ok: true } },
    presignedPut: { state: 'observed', value: { ok: true } },
    keys: { state: 'observed', value: (['space', 'plus', 'percent', 'unicode'] as const).map((name) => ({ name, key: `${name}.txt`, failed: [] })) },
    replaceHeaders: { state: 'observed', value: { sent: ['content-type', 'cache-control'], kept: [], lost: ['content-type', 'cache-control'] } },
    rewriteKeeps: { state: 'observed', value: { checked: ['content-type', 'cache-control'], lost: [] } },
    copyConditions: { state: 'observed', value: conditions({ standard: true, legacy: false }) },
    partCopyConditions: { state: 'observed', value: partConditions({ standard: true, legacy: false }) },
    etagForms: { state: 'observed', value: { put: 'quoted', head: 'quoted', list: 'quoted', copy: 'quoted', client: 'quoted' } },
    multipart: { state: 'observed', value: { parts: 2, sourceSize: 100, completeEtag: 'quoted', headSize: 100, headEtag: '"abc-2"', client: { ok: true } } },
    bucketRecreate: { state: 'observed', value: { answer: '409', status: 409, code: 'BucketAlreadyOwnedByYou', clientCreated: false } },
    acl: { state: 'observed', value: { read: true, write: true } },
    versioning: { state: 'observed', value: { status: 'never enabled' } },
    scratchVersioning: { state: 'observed', value: { enabled: true, versions: 2, clientEmptied: true } },
    tagging: { state: 'observed', value: { roundTrip: true, keptByRewrite: true } },
  };
}

describe('ETag forms', () => {
  it('tells quoted, unquoted, empty and absent apart', () => {
    expect(etagForm('"abc"')).toBe('quoted');
    expect(etagForm('W/"abc"')).toBe('quoted');
    expect(etagForm('abc-2')).toBe('unquoted');
    expect(etagForm('"abc')).toBe('unquoted');
    expect(etagForm('')).toBe('empty');
    expect(etagForm(undefined)).toBe('absent');
  });
});

describe('copy condition support', () => {
  it.each([
    [{ standard: true, legacy: false }, 'standard'],
    [{ standard: false, legacy: true }, 'legacy'],
    [{ standard: true, legacy: true }, 'both'],
    [{ standard: false, legacy: false }, 'none'],
  ] as const)('%j → %s', (honoured, support) => {
    expect(copyConditionSupport({ state: 'observed', value: conditions(honoured) })).toBe(support);
  });

  it('a store that refuses even a condition that holds is not honouring it', () => {
    expect(copyConditionSupport({ state: 'observed', value: conditions({ standard: true, legacy: true }, 'refused') })).toBe('none');
  });

  it('decides on if-match alone: the other three conditions are reported, not decided on', () => {
    const value = conditions({ standard: false, legacy: false });
    for (const o of value) if (o.naming === 'legacy' && o.kind === 'impossible' && o.condition === 'if-match') o.result = 'refused';
    expect(copyConditionSupport({ state: 'observed', value })).toBe('legacy');
    for (const o of value) if (o.naming === 'legacy' && o.condition !== 'if-match') o.result = 'copied';
    expect(copyConditionSupport({ state: 'observed', value })).toBe('legacy');
  });

  it('an error on an if-match probe, or no probe, leaves it unknown', () => {
    const value = conditions({ standard: false, legacy: false });
    value[0] = { ...value[0]!, result: 'error', detail: '400 InvalidArgument' };
    expect(copyConditionSupport({ state: 'observed', value })).toBe('unknown');
    expect(copyConditionSupport({ state: 'error', error: 'boom' })).toBe('unknown');
    expect(copyConditionSupport({ state: 'not-checked', reason: 'x' })).toBe('unknown');
  });
});

describe('findings and the StoreProfile', () => {
  it('Ceph 16.2 as observed: legacy conditions, empty completion ETag, 200 on re-creation', () => {
    const obs = documentedStore();
    obs.copyConditions = { state: 'observed', value: conditions({ standard: false, legacy: true }) };
    obs.partCopyConditions = { state: 'observed', value: partConditions({ standard: false, legacy: false }) };
    obs.multipart = { state: 'observed', value: { parts: 2, sourceSize: 100, completeEtag: 'empty', headSize: 100, headEtag: '"abc-2"', client: { ok: true } } };
    obs.bucketRecreate = { state: 'observed', value: { answer: '200', status: 200, clientCreated: false } };
    obs.tagging = { state: 'observed', value: { roundTrip: true, keptByRewrite: true, replaceKeeps: false, multipartCreateApplies: false } };
    const ceph = {
      copyConditions: 'legacy',
      partCopyConditions: 'none',
      multipartCompletionEtag: 'may-be-empty',
      ownedBucketCreate: '200',
      replaceCopyTags: 'dropped',
      multipartCreateTags: 'ignored',
    } as const;
    expect(findingsFromObservations(obs)).toEqual({ source: `doctor:${AT}`, ...ceph });
    const profile = storeProfileFromObservations(obs);
    expect(profile).toEqual({ ...DOCUMENTED_S3, ...ceph, source: `doctor:${AT} over documented` });
    // What the project's preset for Ceph says, found again by the probe.
    expect(PROVIDER_PROFILES.ceph).toMatchObject(ceph);
  });

  it('keeps out what was not observed, so the preset stays in force for it', () => {
    const obs = documentedStore();
    obs.copyConditions = { state: 'error', error: 'timeout' };
    obs.partCopyConditions = { state: 'not-checked', reason: 'interrupted' };
    obs.multipart = { state: 'not-checked', reason: 'interrupted' };
    obs.bucketRecreate = { state: 'not-checked', reason: 'not checked: these credentials may not create buckets (403 AccessDenied)' };
    expect(findingsFromObservations(obs)).toEqual({ source: `doctor:${AT}` });
    const profile = storeProfileFromObservations(obs, PROVIDER_PROFILES.ceph);
    expect(profile).toMatchObject({ copyConditions: 'legacy', multipartCompletionEtag: 'may-be-empty', ownedBucketCreate: '200', source: `doctor:${AT} over provider:ceph` });
    expect(storeProfileFromObservations(obs)).toMatchObject({ copyConditions: DOCUMENTED_S3.copyConditions, ownedBucketCreate: DOCUMENTED_S3.ownedBucketCreate });
  });

  it('a 409 of another code (BucketAlreadyExists to the owner) still counts as 409', () => {
    const obs = documentedStore();
    obs.bucketRecreate = { state: 'observed', value: { answer: '409', status: 409, code: 'BucketAlreadyExists', clientCreated: false } };
    expect(findingsFromObservations(obs).ownedBucketCreate).toBe('409');
  });
});

describe('verdicts', () => {
  it('a documented store: every guarantee holds', () => {
    const obs = documentedStore();
    const results = judgeStore(obs, storeProfileFromObservations(obs));
    expect(brokenGuarantees(results)).toEqual([]);
    expect(results.filter((r) => r.verdict === 'fail' || r.verdict === 'warn')).toEqual([]);
    expect(new Set(results.map((r) => r.id)).size).toBe(results.length);
    expect(results.find((r) => r.id === 'guard')).toMatchObject({ verdict: 'ok', s3jobs: expect.stringContaining('x-amz-copy-source-if-match') });
  });

  it('no copy condition honoured: the guard fails, named as the exit message names it', () => {
    const obs = documentedStore();
    obs.copyConditions = { state: 'observed', value: conditions({ standard: false, legacy: false }) };
    const results = judgeStore(obs, storeProfileFromObservations(obs));
    expect(brokenGuarantees(results)).toEqual(['guarded rewrite not guarded on this store']);
    const guard = results.find((r) => r.id === 'guard')!;
    expect(guard.store).toMatch(/honours no copy condition/);
    expect(guard.s3jobs).toMatch(/guarded: false/);
  });

  it('older names only: s3jobs sends the older names, and the rows say which header is sent', () => {
    const obs = documentedStore();
    obs.copyConditions = { state: 'observed', value: conditions({ standard: false, legacy: true }) };
    const profile = storeProfileFromObservations(obs);
    const rows = judgeCopyConditions(obs.copyConditions, profile);
    expect(rows.find((r) => r.id === 'guard')).toMatchObject({ verdict: 'ok', store: 'honours only the older x-amz-copy-if-* names', s3jobs: 'sends the older name, x-amz-copy-if-match' });
    expect(rows.find((r) => r.id === 'copy-condition.legacy.if-match')).toMatchObject({ probe: 'x-amz-copy-if-match', store: 'honoured (412)', s3jobs: 'sent on every guarded copy' });
    expect(rows.find((r) => r.id === 'copy-condition.standard.if-match')).toMatchObject({ probe: 'x-amz-copy-source-if-match', store: 'ignored: copied anyway', s3jobs: 'not sent (the other name is)' });
    // Standard names first, in the conditions' order, then the older names.
    expect(rows.slice(0, 8).map((r) => r.probe)).toEqual([
      'x-amz-copy-source-if-match',
      'x-amz-copy-source-if-none-match',
      'x-amz-copy-source-if-modified-since',
      'x-amz-copy-source-if-unmodified-since',
      'x-amz-copy-if-match',
      'x-amz-copy-if-none-match',
      'x-amz-copy-if-modified-since',
      'x-amz-copy-if-unmodified-since',
    ]);
  });

  it('a refusal other than 412 is named', () => {
    const value = conditions({ standard: false, legacy: true });
    value[6] = { condition: 'if-none-match', naming: 'legacy', kind: 'impossible', result: 'refused', detail: 'refused with 304 NotModified instead of 412' };
    const rows = judgeCopyConditions({ state: 'observed', value }, DOCUMENTED_S3);
    expect(rows.find((r) => r.id === 'copy-condition.legacy.if-none-match')!.store).toBe('honoured, refused with 304 NotModified instead of 412');
  });

  it('clock skew: ok within 5 s, warns above, fails at 15 minutes', () => {
    expect(judgeClock({ state: 'observed', value: { offsetMs: -4_900 } }).verdict).toBe('ok');
    expect(judgeClock({ state: 'observed', value: { offsetMs: 6_000 } })).toMatchObject({ verdict: 'warn', store: 'Date is 6.0 s ahead of the local clock' });
    expect(judgeClock({ state: 'observed', value: { offsetMs: -15 * 60_000 } })).toMatchObject({ verdict: 'fail', store: 'Date is 15.0 min behind the local clock' });
    expect(judgeClock({ state: 'error', error: 'the answer had no Date header' }).verdict).toBe('warn');
  });

  it('ETags: an unquoted CopyObject ETag is fine while s3jobs returns the quoted form, a failure when it does not', () => {
    const mixed = { put: 'quoted', head: 'quoted', list: 'quoted', copy: 'unquoted', client: 'quoted' } as const;
    expect(judgeEtags({ state: 'observed', value: mixed })).toMatchObject({ verdict: 'ok', store: 'PUT quoted, HEAD quoted, listing quoted, CopyObject unquoted' });
    expect(judgeEtags({ state: 'observed', value: { ...mixed, client: 'unquoted' } })).toMatchObject({ verdict: 'fail', guarantee: 'one ETag form (quoted) in results' });
  });

  it('multipart: an empty completion ETag is handled; a failed s3jobs copy or a wrong size is not', () => {
    const base = { parts: 2, sourceSize: 100, completeEtag: 'empty', headSize: 100, headEtag: '"x-2"', client: { ok: true } } as const;
    expect(judgeMultipart({ state: 'observed', value: base })).toMatchObject({ verdict: 'ok', store: expect.stringContaining('CompleteMultipartUpload answers an empty ETag'), s3jobs: expect.stringContaining('HEADs the result') });
    expect(judgeMultipart({ state: 'observed', value: { ...base, client: { ok: false, detail: 'S3JOBS_BAD_RESPONSE' } } })).toMatchObject({ verdict: 'fail', guarantee: 'multipart copy' });
    expect(judgeMultipart({ state: 'observed', value: { ...base, headSize: 99 } }).verdict).toBe('fail');
  });

  it('bucket re-creation: a 200 is fine while bucket create says changed: false; not checked says why', () => {
    expect(judgeBucketRecreate({ state: 'observed', value: { answer: '200', status: 200, clientCreated: false } })).toMatchObject({ verdict: 'ok', store: expect.stringContaining('answers 200') });
    expect(judgeBucketRecreate({ state: 'observed', value: { answer: '200', status: 200, clientCreated: true } })).toMatchObject({ verdict: 'fail', guarantee: "truthful 'changed' for bucket create" });
    expect(judgeBucketRecreate({ state: 'not-checked', reason: 'not checked: these credentials may not create buckets (403 AccessDenied)' })).toMatchObject({
      verdict: 'not checked',
      store: 'not checked: these credentials may not create buckets (403 AccessDenied)',
    });
  });

  it('parts: no condition honoured on UploadPartCopy fails the guard above the multipart threshold', () => {
    const obs = documentedStore();
    obs.partCopyConditions = { state: 'observed', value: partConditions({ standard: false, legacy: false }) };
    const results = judgeStore(obs, storeProfileFromObservations(obs));
    expect(brokenGuarantees(results)).toEqual(['guarded rewrite not guarded above the multipart threshold on this store']);
    expect(results.find((r) => r.id === 'part-guard')).toMatchObject({ store: 'honours no condition on UploadPartCopy: copies the part anyway', s3jobs: expect.stringContaining('guarded: false') });
    expect(judgePartConditions({ state: 'observed', value: partConditions({ standard: false, legacy: true }) })).toMatchObject({ verdict: 'ok', s3jobs: 'sends x-amz-copy-if-match on every part' });
  });

  it('versioning on the scratch bucket: bucket delete --empty must remove every version', () => {
    expect(judgeVersioning({ state: 'observed', value: { status: 'never enabled' } }, { state: 'observed', value: { enabled: true, versions: 2, clientEmptied: true } })[1]).toMatchObject({
      verdict: 'ok',
      store: 'versioning enabled; one key written twice lists 2 versions',
    });
    expect(judgeVersioning({ state: 'observed', value: { status: 'never enabled' } }, { state: 'observed', value: { enabled: true, versions: 2, clientEmptied: false, detail: 'bucket delete --empty failed: 409 BucketNotEmpty' } })[1]).toMatchObject({
      verdict: 'fail',
      guarantee: "'bucket delete --empty' on a versioned bucket",
    });
    expect(judgeVersioning({ state: 'observed', value: { status: 'never enabled' } }, { state: 'observed', value: { enabled: false, versions: 0, clientEmptied: false, detail: 'PUT ?versioning: 501 NotImplemented' } })[1]).toMatchObject({ verdict: 'info' });
  });

  it('a store that does not answer fails, never reads as "every guarantee holds"', () => {
    const obs = documentedStore();
    obs.sigv4 = { state: 'error', error: 'S3JOBS_NETWORK: network error ECONNREFUSED' };
    const results = judgeStore(obs, storeProfileFromObservations(obs));
    expect(brokenGuarantees(results)).toEqual(['signed requests (the store did not answer)']);
    expect(results.find((r) => r.id === 'sigv4')!.store).toBe('no answer: S3JOBS_NETWORK: network error ECONNREFUSED');
  });

  it('tagging lost by a rewrite warns; tags the store loses and s3jobs puts back are said, and ok', () => {
    expect(judgeTagging({ state: 'observed', value: { roundTrip: true, keptByRewrite: false } }).verdict).toBe('warn');
    const ceph = judgeTagging({ state: 'observed', value: { roundTrip: true, keptByRewrite: true, replaceKeeps: false, multipartCreateApplies: false } });
    expect(ceph).toMatchObject({ verdict: 'ok', store: 'tags round-trip, but a REPLACE copy drops them; x-amz-tagging on CreateMultipartUpload is ignored' });
    expect(ceph.s3jobs).toContain('puts them back');
    const aws = judgeTagging({ state: 'observed', value: { roundTrip: true, keptByRewrite: true, replaceKeeps: true, multipartCreateApplies: true } });
    expect(aws).toMatchObject({ verdict: 'ok', store: 'tags round-trip', s3jobs: 'a metadata rewrite keeps them' });
  });

  it('a failing key names the key kind; several failures are each named once', () => {
    const obs = documentedStore();
    obs.keys = { state: 'observed', value: [{ name: 'plus', key: 'a+b.txt', failed: ['copy: 404 NoSuchKey'] }] };
    obs.sigv4 = { state: 'observed', value: { ok: false, detail: 'PUT answered 403 SignatureDoesNotMatch' } };
    const results = judgeStore(obs, storeProfileFromObservations(obs));
    expect(brokenGuarantees(results)).toEqual(['signed requests', 'exact keys (plus)']);
  });
});

describe('the record kept per endpoint', () => {
  it('endpoint ids: the endpoint origin, or AWS by region', () => {
    expect(storeEndpointId({ endpoint: 'http://127.0.0.1:7480/', region: 'us-east-1' })).toBe('http://127.0.0.1:7480');
    expect(storeEndpointId({ endpoint: 'https://S3.Example.com', region: 'x' })).toBe('https://s3.example.com');
    expect(storeEndpointId({ region: 'us-east-1' })).toBe('https://s3.amazonaws.com');
    expect(storeEndpointId({ region: 'eu-west-1' })).toBe('https://s3.eu-west-1.amazonaws.com');
    expect(storeFindingsKey('{s3jobs}', 'http://127.0.0.1:7480')).toBe('{s3jobs}:store:http://127.0.0.1:7480');
  });

  it('reads back what doctor writes', () => {
    const record = { version: 1, endpoint: 'http://e', bucket: 'b', at: AT, findings: { source: `doctor:${AT}`, copyConditions: 'legacy', ownedBucketCreate: '200' }, failed: ['guard'] };
    expect(parseStoredFindings(JSON.stringify(record), 'k')).toEqual(record);
  });

  it.each([
    ['not json', /k: not JSON/],
    ['[]', /not a JSON object/],
    [JSON.stringify({ version: 2 }), /version 2 is not one this s3jobs reads/],
    [JSON.stringify({ version: 1, endpoint: 'e', bucket: 'b', at: AT }), /findings is missing/],
    [JSON.stringify({ version: 1, endpoint: 'e', bucket: 'b', at: AT, findings: { copyConditions: 'maybe' } }), /findings.copyConditions "maybe" is not one of standard, legacy, both, none, unknown/],
    [JSON.stringify({ version: 1, endpoint: 'e', bucket: 'b', at: AT, findings: { ownedBucketCreate: 201 } }), /findings.ownedBucketCreate 201/],
  ])('refuses %s naming what is wrong', (text, message) => {
    expect(() => parseStoredFindings(text, 'k')).toThrow(message);
    try {
      parseStoredFindings(text, 'k');
    } catch (err) {
      expect((err as { code?: string }).code).toBe('S3JOBS_INVALID_CONFIG');
      expect((err as Error).message).toMatch(/run 's3jobs doctor' again/);
    }
  });
});
