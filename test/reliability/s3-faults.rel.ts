/**
 * S3 faults: 2,000 jobs (1,000 copies, 1,000 metadata rewrites) through a fault-injecting proxy
 * that breaks 20% of the workers' S3 requests — 503 SlowDown with Retry-After, 500, resets before
 * and during the answer, stalls past the job deadline, 200 carrying <Error>, truncated XML, a
 * Content-Length longer than the body — some after the request really reached S3 (the operation
 * happened, the worker saw a failure). Meanwhile the rewritten objects are overwritten, at random
 * and at the worst moment (after the worker's HEAD, before its copy).
 *
 *   worker ──▶ fault proxy ──▶ copy-condition proxy ──▶ s3rver
 *                                (x-amz-copy-source-if-match, which s3rver lacks)
 *
 * Proves: every job ends completed or dead-lettered (nothing stuck); every completed copy is
 * byte- and metadata-correct (GET + HEAD); no rewrite ever puts stale metadata on newer content.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CopyJobResult, MetadataRewriteJobResult } from '../../shared/jobs/index.js';
import { S3Error } from '../../shared/errors.js';
import type { S3Bucket } from '../../shared/s3/index.js';
import { bucketClient, cleanupBuckets, freshBucket } from '../support/buckets.js';
import { isCopyRequest, mulberry32, startFaultProxy, type Fault, type FaultProxy, type ProxyRequest } from '../support/fault-proxy.js';
import { s3Target, serverHas } from '../support/s3-env.js';
import { startCopyConditionProxy, type CopyConditionProxy } from './support/copy-condition-proxy.js';
import { inBatches, PROFILE, runEnv, sleep, type RunEnv } from './support/harness.js';
import { report } from './support/report.js';

const COPIES = 1_000;
const REWRITES = 1_000;
const FAULT_RATE = 0.2;
const SEED = Number(process.env.RELIABILITY_SEED ?? 20_261_125);
const JOB_TIMEOUT_MS = 2_000;
/** Background overwrites of rewritten objects: at most this many, one every OVERWRITE_EVERY_MS. */
const MAX_OVERWRITES = 400;
const OVERWRITE_EVERY_MS = 25;
/** Share of rewrite copies before which the object is overwritten (once per object). */
const FORCED_RACE_RATE = 0.1;

/** Faults for CopyObject (a body to break, and an operation that may have happened). */
const COPY_FAULTS: Fault[] = [
  { type: 'slowdown', retryAfter: 1 },
  { type: 'internal' },
  { type: 'internal', forward: true },
  { type: 'reset-before' },
  { type: 'reset-before', forward: true },
  { type: 'reset-during' },
  { type: 'stall' },
  { type: 'error-200' },
  { type: 'error-200', forward: true },
  { type: 'truncated-xml' },
  { type: 'wrong-length' },
];
/**
 * Faults for HEAD: those a real HEAD can suffer. (A HEAD answer has no body to truncate, and a
 * wrong Content-Length on a HEAD is indistinguishable from the object's size.)
 */
const HEAD_FAULTS: Fault[] = [{ type: 'slowdown', retryAfter: 1 }, { type: 'internal' }, { type: 'reset-before' }, { type: 'stall' }];

const target = s3Target();
const hasCopyConditions = serverHas('copy-conditions');
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

interface SourceObject {
  key: string;
  body: Buffer;
  contentType: string;
  metadata: Record<string, string>;
  etag: string;
}

/** What the test knows about a rewritten object: every version written, in write order. */
interface RewriteObject {
  index: number;
  key: string;
  /** Version now on the server (the last acknowledged write). */
  version: number;
  body: Buffer;
  v0Etag: string;
  /**
   * When each overwrite (version ≥ 1) was acknowledged. (Not when it was sent: an overwrite through
   * the copy-condition proxy may wait for the object's lock until after a rewrite's copy.)
   */
  overwriteAcks: number[];
  forcedRace: boolean;
}

const rewriteBody = (i: number, version: number): Buffer => Buffer.from(`rewrite object ${i}, version ${version}\n${'.'.repeat((i * 37) % 900)}`);
const rewriteHeaders = (i: number, version: number) => ({
  mimetype: `text/plain; v=${version}`,
  metadata: { v: String(version), keep: 'k' },
  headers: { 'cache-control': `max-age=${i}` },
});

let src: S3Bucket;
let dst: S3Bucket;
let rw: S3Bucket;
let guard: CopyConditionProxy;
let proxy: FaultProxy;
let env: RunEnv;

beforeAll(async () => {
  src = await freshBucket('rel-src');
  dst = await freshBucket('rel-dst');
  rw = await freshBucket('rel-rw');
  const direct = new Map<string, S3Bucket>();
  guard = await startCopyConditionProxy({
    upstream: target.endpoint,
    enforce: !hasCopyConditions,
    currentEtag: async (bucket, key) => {
      let client = direct.get(bucket);
      if (client === undefined) direct.set(bucket, (client = bucketClient(bucket)));
      try {
        return (await client.head(key)).etag;
      } catch (err) {
        if (err instanceof S3Error && err.status === 404) return undefined;
        throw err;
      }
    },
  });
  proxy = await startFaultProxy({ upstream: guard.endpoint });
});

afterAll(async () => {
  await env?.cleanup();
  await proxy?.close();
  await guard?.close();
  await cleanupBuckets();
}, 120_000);

describe.skipIf(!target.endpoint.startsWith('http:'))('S3 faults', () => {
  it(`${COPIES + REWRITES} jobs at a ${FAULT_RATE * 100}% fault rate: every job completed or dead-lettered, objects correct, no stale rewrite`, async () => {
    const started = Date.now();
    const rand = mulberry32(SEED);

    // --- the objects -------------------------------------------------------------------------
    const sources: SourceObject[] = await inBatches(
      Array.from({ length: COPIES }, (_, i) => i),
      32,
      async (i) => {
        // s3rver decodes x-amz-copy-source with decodeURI, so keys with + & = ; , : @ $ ? # cannot be
        // copied there (NoSuchKey); S3 decodes the whole header. Spaces and non-ASCII work on both.
        const key = i % 5 === 0 ? `c/${i} ünï cødé.bin` : `c/${i}.bin`;
        const body = Buffer.from(Array.from({ length: 64 + Math.floor(rand() * 4000) }, () => Math.floor(rand() * 256)));
        const contentType = i % 2 === 0 ? 'application/octet-stream' : 'image/png';
        const metadata = { origin: `src-${i}` };
        const { etag } = await src.put(key, body, { mimetype: contentType, metadata });
        return { key, body, contentType, metadata, etag };
      },
    );
    const objects: RewriteObject[] = await inBatches(
      Array.from({ length: REWRITES }, (_, i) => i),
      32,
      async (i) => {
        const key = `rw/${i}.txt`;
        const body = rewriteBody(i, 0);
        const { etag } = await rw.put(key, body, rewriteHeaders(i, 0));
        return { index: i, key, version: 0, body, v0Etag: etag, overwriteAcks: [], forcedRace: false };
      },
    );
    const byKey = new Map(objects.map((o) => [o.key, o]));

    /** Writes the next version of `o`. `client` goes through the copy-condition proxy (takes the object's lock) or not (already holds it). */
    const overwrite = async (o: RewriteObject, client: S3Bucket): Promise<void> => {
      const version = o.version + 1;
      const body = rewriteBody(o.index, version);
      await client.put(o.key, body, rewriteHeaders(o.index, version));
      o.overwriteAcks.push(Date.now());
      o.version = version;
      o.body = body;
    };

    // Worst-moment overwrites: under the object's lock, between the worker's HEAD and its copy.
    let forcedRaces = 0;
    guard.setBeforeCopy(async (bucket, key) => {
      const o = bucket === rw.name ? byKey.get(key) : undefined;
      if (o === undefined || o.forcedRace || rand() >= FORCED_RACE_RATE) return;
      o.forcedRace = true;
      forcedRaces++;
      await overwrite(o, rw);
    });

    // --- faults ----------------------------------------------------------------------------
    const faultRand = mulberry32(SEED + 1);
    proxy.setDecide((r: ProxyRequest): Fault => {
      const list = isCopyRequest(r) ? COPY_FAULTS : r.method === 'HEAD' ? HEAD_FAULTS : undefined;
      if (list === undefined || faultRand() >= FAULT_RATE) return { type: 'none' };
      return list[Math.floor(faultRand() * list.length)]!;
    });

    // --- the jobs ----------------------------------------------------------------------------
    env = await runEnv({
      endpoint: proxy.endpoint,
      name: 'rel-s3',
      overrides: { worker: { concurrency: 16, jobTimeoutMs: JOB_TIMEOUT_MS, stallTimeoutMs: 10_000 }, retry: { attempts: 6, backoffBaseMs: 100, backoffMaxMs: 1_000 } },
    });
    await env.startWorker();
    await env.startWorker();

    const copyJob = (i: number) => {
      const s = sources[i]!;
      const base = { kind: 'copy', profile: PROFILE, source: { bucket: src.name, key: s.key }, destination: { bucket: dst.name, key: s.key }, acl: 'private' } as const;
      switch (i % 4) {
        case 0:
          return base;
        case 1:
          return { ...base, metadata: { copied: 'yes', n: String(i) } };
        case 2:
          return { ...base, mimetype: `application/x-rel-${i}` };
        default:
          return { ...base, expectedSourceEtag: s.etag, metadata: { note: `ünïcødé ✓ ${i}` } };
      }
    };
    const rewriteJob = (i: number) => {
      const o = objects[i]!;
      const job = { kind: 'metadata-rewrite', profile: PROFILE, bucket: rw.name, key: o.key, set: { rw: `job-${i}` }, acl: 'private' } as const;
      if (i % 10 === 0) return { ...job, expectedEtag: o.v0Etag };
      if (i % 3 === 0) return { ...job, remove: ['keep'] };
      return job;
    };
    const items = [
      ...sources.map((_, i) => ({ payload: copyJob(i), options: { jobId: `copy-${i}` } })),
      ...objects.map((_, i) => ({ payload: rewriteJob(i), options: { jobId: `rewrite-${i}` } })),
    ].sort(() => rand() - 0.5);
    const enqueueStarted = Date.now();
    await env.addBulk(items);

    // Random overwrites while the jobs run, bounded in count and time.
    let settled = false;
    let backgroundOverwrites = 0;
    const viaGuard = bucketClient(rw.name, { endpoint: guard.endpoint });
    const overwriter = (async () => {
      const until = Date.now() + 150_000;
      while (!settled && backgroundOverwrites < MAX_OVERWRITES && Date.now() < until) {
        await overwrite(objects[Math.floor(rand() * objects.length)]!, viaGuard);
        backgroundOverwrites++;
        await sleep(OVERWRITE_EVERY_MS);
      }
    })();

    let result;
    try {
      result = await env.settle({ timeoutMs: 200_000 });
    } finally {
      settled = true;
      await overwriter;
      await viaGuard.close();
    }
    const { completed, deadLettered } = result;
    const runMs = Date.now() - enqueueStarted;

    // --- every completed copy: bytes, metadata, content type --------------------------------------
    const copyProblems: string[] = [];
    await inBatches(sources, 32, async (s, i) => {
      const id = `copy-${i}`;
      const job = copyJob(i);
      let got: Buffer | undefined;
      let info;
      try {
        info = await dst.head(s.key);
        got = await dst.getBuffer(s.key);
      } catch (err) {
        if (!(err instanceof S3Error && err.status === 404)) throw err;
      }
      if (completed.has(id)) {
        const res = completed.get(id)!.result as CopyJobResult;
        if (got === undefined || info === undefined) return void copyProblems.push(`${id}: completed but the destination is missing`);
        if (res.bytes !== s.body.length) copyProblems.push(`${id}: result says ${res.bytes} bytes, source has ${s.body.length}`);
      } else if (got === undefined || info === undefined) return; // dead-lettered before any copy reached S3
      // Completed — or dead-lettered after a copy that did reach S3: either way it must be right.
      if (sha(got) !== sha(s.body)) copyProblems.push(`${id}: destination bytes differ from the source`);
      const wantMeta = 'metadata' in job && job.metadata !== undefined ? job.metadata : s.metadata;
      if (JSON.stringify(info.metadata) !== JSON.stringify(wantMeta)) copyProblems.push(`${id}: metadata ${JSON.stringify(info.metadata)}, want ${JSON.stringify(wantMeta)}`);
      const wantType = 'mimetype' in job && job.mimetype !== undefined ? job.mimetype : s.contentType;
      if (info.contentType !== wantType) copyProblems.push(`${id}: content-type ${info.contentType}, want ${wantType}`);
      if (info.size !== s.body.length) copyProblems.push(`${id}: HEAD size ${info.size}, want ${s.body.length}`);
    });
    expect(copyProblems.join('\n')).toBe('');

    // --- every rewritten object: newest content, metadata of that same version, rewrite kept or superseded ---
    const rewriteProblems: string[] = [];
    let rewritesSuperseded = 0;
    await inBatches(objects, 32, async (o, i) => {
      const id = `rewrite-${i}`;
      const info = await rw.head(o.key);
      const got = await rw.getBuffer(o.key);
      const contentVersion = Number(/version (\d+)/.exec(got.toString())?.[1]);
      if (sha(got) !== sha(o.body)) rewriteProblems.push(`${id}: content is not the last version written (v${o.version})`);
      if (info.metadata.v !== String(contentVersion)) rewriteProblems.push(`${id}: STALE METADATA: content v${contentVersion} carries metadata of v${info.metadata.v}`);
      if (info.contentType !== `text/plain; v=${contentVersion}`) rewriteProblems.push(`${id}: STALE CONTENT-TYPE: content v${contentVersion} has ${info.contentType}`);
      if (info.headers['cache-control'] !== `max-age=${i}`) rewriteProblems.push(`${id}: cache-control lost (${info.headers['cache-control']})`);
      const job = rewriteJob(i);
      const done = completed.get(id);
      if (done === undefined) {
        const dead = deadLettered.get(id)!;
        // A job pinned to v0 may only fail that way once v0 is gone.
        if (dead.error.code === 'PreconditionFailed' && o.overwriteAcks.length === 0) rewriteProblems.push(`${id}: PreconditionFailed but the object was never overwritten`);
        return;
      }
      if (info.metadata.rw === `job-${i}`) {
        const want: Record<string, string> = { v: String(contentVersion), rw: `job-${i}` };
        if (!('remove' in job)) want.keep = 'k';
        const sorted = (m: Record<string, string>) => JSON.stringify(Object.fromEntries(Object.entries(m).sort()));
        if (sorted(info.metadata) !== sorted(want)) rewriteProblems.push(`${id}: metadata ${JSON.stringify(info.metadata)}, want ${JSON.stringify(want)}`);
      } else {
        // The rewrite is gone only if an overwrite replaced the object after the rewrite's last
        // attempt began (so after its copy, which that attempt made).
        if (!o.overwriteAcks.some((t) => t >= done.processedOn)) rewriteProblems.push(`${id}: completed but its metadata is missing and no later overwrite explains it`);
        rewritesSuperseded++;
      }
      if ('expectedEtag' in job) {
        const res = done.result as MetadataRewriteJobResult;
        if (res.previousEtag !== o.v0Etag) rewriteProblems.push(`${id}: pinned to v0 but rewrote ${res.previousEtag}`);
      }
    });
    expect(rewriteProblems.join('\n')).toBe('');

    // --- the client's guard: every rewrite copy was conditional on the ETag it had read -----------------
    const rewriteCopies = proxy.log.filter((e) => isCopyRequest(e) && e.pathname.startsWith(`/${rw.name}/`));
    expect(rewriteCopies.length).toBeGreaterThan(0);
    expect(rewriteCopies.filter((e) => typeof e.headers['x-amz-copy-source-if-match'] !== 'string').map((e) => e.url)).toEqual([]);
    expect(forcedRaces).toBeGreaterThan(0);
    // Each forced race made the copy's if-match stale: refused (412), then re-read and retried.
    if (!hasCopyConditions) expect(guard.stats.refused).toBeGreaterThanOrEqual(forcedRaces);
    const sourceChangedRetries = env.logs.filter((l) => l.includes('"code":"S3JOBS_SOURCE_CHANGED"')).length;
    expect(sourceChangedRetries).toBeGreaterThan(0);

    // --- what happened ---------------------------------------------------------------------
    const faulted = proxy.log.filter((e) => e.fault !== 'none');
    const eligible = proxy.log.filter((e) => isCopyRequest(e) || e.method === 'HEAD');
    const faultsByType: Record<string, number> = {};
    for (const e of faulted) {
      const name = `${e.fault}${'forward' in e.applied && e.applied.forward === true ? '(forwarded)' : ''}`;
      faultsByType[name] = (faultsByType[name] ?? 0) + 1;
    }
    const deadByCode: Record<string, number> = {};
    for (const d of deadLettered.values()) deadByCode[`${d.reason}:${d.error.code}`] = (deadByCode[`${d.reason}:${d.error.code}`] ?? 0) + 1;
    const attempts: Record<number, number> = {};
    for (const c of completed.values()) attempts[c.attemptsMade] = (attempts[c.attemptsMade] ?? 0) + 1;
    for (const kind of ['slowdown', 'internal', 'reset-before', 'reset-during', 'stall', 'error-200', 'truncated-xml', 'wrong-length']) expect(faultsByType[kind] ?? 0, kind).toBeGreaterThan(0);
    expect(faulted.length / eligible.length).toBeGreaterThan(FAULT_RATE - 0.03);

    report('s3-faults', {
      seed: SEED,
      jobs: items.length,
      copies: COPIES,
      rewrites: REWRITES,
      completed: completed.size,
      deadLettered: deadLettered.size,
      deadLetteredBy: deadByCode,
      completedByAttempts: attempts,
      s3Requests: proxy.log.length,
      faultedRequests: faulted.length,
      faultRate: Number((faulted.length / eligible.length).toFixed(3)),
      faultsByType,
      overwrites: { background: backgroundOverwrites, forcedBetweenHeadAndCopy: forcedRaces, rewritesSupersededByLaterOverwrite: rewritesSuperseded },
      copyConditions: { emulatedByProxy: !hasCopyConditions, rewriteCopiesAllConditional: rewriteCopies.length, conditionalCopies: guard.stats.conditional, refused412: guard.stats.refused, sourceChangedRetries },
      runMs,
      totalMs: Date.now() - started,
    });
  });

  it.skipIf(hasCopyConditions)('negative control: without copy-source if-match (plain s3rver) the same race does put stale metadata on new content', async () => {
    // Shows that the check above has teeth, and what s3rver alone cannot prove: the client sends
    // the condition, but only a server that enforces it refuses the stale copy.
    const bucket = await freshBucket('rel-neg');
    const n = 20;
    for (let i = 0; i < n; i++) await bucket.put(`o${i}`, rewriteBody(i, 0), rewriteHeaders(i, 0));
    guard.setEnforce(false);
    const raced = new Set<string>();
    guard.setBeforeCopy(async (b, key) => {
      if (b !== bucket.name || raced.has(key)) return;
      raced.add(key);
      const i = Number(key.slice(1));
      await bucket.put(key, rewriteBody(i, 1), rewriteHeaders(i, 1));
    });
    proxy.setDecide(undefined);
    const neg = await runEnv({ endpoint: proxy.endpoint, name: 'rel-neg' });
    try {
      await neg.startWorker();
      await neg.addBulk(Array.from({ length: n }, (_, i) => ({ payload: { kind: 'metadata-rewrite', profile: PROFILE, bucket: bucket.name, key: `o${i}`, set: { rw: 'x' }, acl: 'private' } })));
      await neg.settle({ timeoutMs: 60_000 });
      let stale = 0;
      for (let i = 0; i < n; i++) {
        const info = await bucket.head(`o${i}`);
        const body = (await bucket.getBuffer(`o${i}`)).toString();
        if (info.metadata.v !== /version (\d+)/.exec(body)?.[1]) stale++;
      }
      expect(raced.size).toBe(n);
      expect(stale).toBe(n);
      report('s3-faults-negative-control', { racedRewrites: n, staleMetadataWithoutServerCondition: stale });
    } finally {
      guard.setEnforce(true);
      guard.setBeforeCopy(undefined);
      await neg.cleanup();
    }
  });
});
