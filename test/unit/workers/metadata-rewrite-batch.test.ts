/**
 * The batch processor against a scripted bucket and an in-memory run store (no network): each
 * object is handled as its own metadata-rewrite job would be — finished slots skipped, outcomes
 * recorded in groups, a permanent failure dead-lettered as the object's own job, a retryable one
 * retried with the batch's next attempt (and dead-lettered on the last), its own deadline — and a
 * batch stopped from outside never ends as if it were done.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, S3Error, S3JobsError } from '../../../shared/errors.js';
import { batchObjectJob, type MetadataRewriteBatchJob } from '../../../shared/jobs/index.js';
import { createLogger } from '../../../shared/log/logger.js';
import type { Outcome, RunStore } from '../../../shared/runs/index.js';
import type { S3Bucket } from '../../../shared/s3/index.js';
import { createJobDeadline } from '../../../workers/deadline.js';
import { FLUSH_EVERY, processMetadataRewriteBatch } from '../../../workers/processors/metadata-rewrite-batch.js';
import type { ObjectFailure, ProcessorContext } from '../../../workers/processors/index.js';
import { classify } from '../../../workers/retry/classify.js';

const RUN = 'mig-batch-unit';

function batchOf(n: number, over: Partial<MetadataRewriteBatchJob> = {}): MetadataRewriteBatchJob {
  return { kind: 'metadata-rewrite-batch', profile: 'p', runId: RUN, bucket: 'media-bucket', objects: Array.from({ length: n }, (_, i) => ({ key: `k${i}.css`, slot: 5000 + i })), set: { v: '2' }, acl: 'private', ...over };
}

type Script = (key: string, call: 'head' | 'rewrite', signal: AbortSignal) => void | Promise<void>;

interface Harness {
  ctx: ProcessorContext;
  /** Each recordOutcomes call, in order. */
  flushes: { slot: number; outcome: Outcome }[][];
  deadLetters: ObjectFailure[];
  /** head/rewrite calls and dead letters, in order, e.g. `head k1.css`, `flush 3`, `dead k2.css`. */
  events: string[];
  rewrites: Map<string, { mimetype?: string | undefined; set?: unknown }>;
  controller: AbortController;
}

function harness(options: { script?: Script; finished?: number[]; attempt?: number; attempts?: number; objectTimeoutMs?: number | null; withoutRuns?: boolean; deadLetterFails?: boolean; guard?: boolean | 'unverified'; multipartGuard?: boolean | 'unverified' } = {}): Harness {
  const finished = new Set(options.finished ?? []);
  const flushes: Harness['flushes'] = [];
  const deadLetters: ObjectFailure[] = [];
  const events: string[] = [];
  const rewrites: Harness['rewrites'] = new Map();
  const runs = {
    async finishedSlots(id: string, slots: readonly number[]) {
      expect(id).toBe(RUN);
      return slots.map((s) => finished.has(s));
    },
    async recordOutcomes(id: string, outcomes: readonly { slot: number; outcome: Outcome }[]) {
      expect(id).toBe(RUN);
      flushes.push([...outcomes]);
      events.push(`flush ${outcomes.length}`);
      let n = 0;
      for (const { slot } of outcomes) if (!finished.has(slot) && finished.add(slot)) n++;
      return n;
    },
  } as unknown as RunStore;
  const bucket = {
    async head(key: string, opts: { signal: AbortSignal }) {
      events.push(`head ${key}`);
      await options.script?.(key, 'head', opts.signal);
      return { key, size: 10, etag: `"old-${key}"`, contentType: 'text/css', metadata: {}, headers: {}, storageClass: 'STANDARD', lastModified: undefined, versionId: undefined };
    },
    async rewriteMetadata(key: string, opts: { signal: AbortSignal; mimetype?: string; set?: unknown }) {
      await options.script?.(key, 'rewrite', opts.signal);
      rewrites.set(key, { mimetype: opts.mimetype, set: opts.set });
      // A key starting with "big" stands for a multipart rewrite, guarded as multipart copies are.
      const guarded = key.startsWith('big') ? (options.multipartGuard ?? true) : (options.guard ?? true);
      return { changed: !key.startsWith('same'), etag: `"new-${key}"`, previousEtag: `"old-${key}"`, size: 10, guarded };
    },
    guard: options.guard ?? true,
    assertGuard(asked: boolean | undefined, what: string) {
      if (asked === true) events.push(`assertGuard ${String(asked)}`);
      if (asked === true && (options.guard ?? true) !== true) throw new S3JobsError(ErrorCodes.Unguarded, `${what} refused`, { retryable: false });
    },
    timeoutDisabled: <T>(fn: () => T) => fn(),
  } as unknown as S3Bucket;
  const controller = new AbortController();
  const deadline = createJobDeadline({ timeoutMs: null, signals: [controller.signal] });
  let clock = 1_000;
  const ctx: ProcessorContext = {
    jobId: `${RUN}-b5000`,
    runs: options.withoutRuns === true ? undefined : runs,
    signal: deadline.signal,
    deadline,
    bucketFor: (profile, name) => {
      expect({ profile, name }).toEqual({ profile: 'p', name: 'media-bucket' });
      return bucket;
    },
    largeTransferBytes: 1_000_000,
    multipart: { partSize: 8 * 1024 * 1024, concurrency: 2, threshold: 5 * 1024 ** 3 },
    attempt: options.attempt ?? 1,
    attempts: options.attempts ?? 3,
    objectTimeoutMs: options.objectTimeoutMs === undefined ? null : options.objectTimeoutMs,
    deadLetterObject: async (failure) => {
      events.push(`dead ${(failure.payload as { key: string }).key}`);
      if (options.deadLetterFails === true) throw new Error('Redis went away');
      deadLetters.push(failure);
    },
    logger: createLogger({ level: 'silent' }),
    startedAt: clock,
    now: () => (clock += 5),
  };
  return { ctx, flushes, deadLetters, events, rewrites, controller };
}

const notFound = (key: string) => new S3Error({ code: 'NoSuchKey', message: 'The specified key does not exist.', status: 404, requestId: 'REQ1', bucket: 'media-bucket', key, retryable: false });
const slowDown = (key: string) => new S3Error({ code: 'SlowDown', message: 'Please reduce your request rate.', status: 503, requestId: 'REQ2', bucket: 'media-bucket', key, retryable: true, retryAfterMs: 2_000 });

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the batch to fail');
}

describe('processMetadataRewriteBatch', () => {
  it('rewrites every object in order, recording completed outcomes in groups of FLUSH_EVERY', async () => {
    const h = harness();
    const batch = batchOf(120, { mimetypeFromExtension: true });
    const result = await processMetadataRewriteBatch(batch, h.ctx);
    expect(result).toMatchObject({ kind: 'metadata-rewrite-batch', objects: 120, completed: 120, rewritten: 120, deadLettered: 0, skipped: 0, changed: true });
    expect(h.flushes.map((f) => f.length)).toEqual([FLUSH_EVERY, FLUSH_EVERY, 120 - 2 * FLUSH_EVERY]);
    const recorded = h.flushes.flat();
    expect(recorded.map((r) => r.slot)).toEqual(batch.objects.map((o) => o.slot));
    expect(recorded[7]).toEqual({ slot: 5007, outcome: { status: 'completed', bucket: 'media-bucket', key: 'k7.css', changed: true, attempts: 1, etag: '"new-k7.css"' } });
    // Each object got the batch's changes and the type of its own key.
    expect(h.rewrites.get('k3.css')).toEqual({ mimetype: 'text/css; charset=utf-8', set: { v: '2' } });
  });

  it('reports the weakest guard of its objects: a multipart one may be weaker than the rest', async () => {
    expect(await processMetadataRewriteBatch(batchOf(3), harness().ctx)).toMatchObject({ guarded: true });
    const mixed: MetadataRewriteBatchJob = { ...batchOf(0), objects: [{ key: 'a', slot: 1 }, { key: 'big-b', slot: 2 }] };
    expect(await processMetadataRewriteBatch(mixed, harness({ multipartGuard: false }).ctx)).toMatchObject({ guarded: false });
    expect(await processMetadataRewriteBatch(batchOf(2), harness({ guard: 'unverified' }).ctx)).toMatchObject({ guarded: 'unverified' });
  });

  it('requireGuard where the store gives no guard: the whole batch is refused (S3JOBS_UNGUARDED, permanent) before any object', async () => {
    const h = harness({ guard: 'unverified' });
    const error = await failureOf(processMetadataRewriteBatch(batchOf(3, { requireGuard: true }), h.ctx));
    expect(error).toMatchObject({ code: 'S3JOBS_UNGUARDED', retryable: false });
    expect(classify(error, { attemptsMade: 1, attempts: 3 })).toMatchObject({ action: 'dead-letter', reason: 'permanent', code: 'S3JOBS_UNGUARDED' });
    expect(h.events).toEqual(['assertGuard true']);
    // Each object's own job carries the requirement too (a dead-lettered object retried alone keeps it).
    expect(batchObjectJob(batchOf(1, { requireGuard: true }), { key: 'k0.css', slot: 5000 }).requireGuard).toBe(true);
  });

  it('counts objects found already right as completed but not rewritten', async () => {
    const h = harness();
    const batch: MetadataRewriteBatchJob = { ...batchOf(0), objects: [{ key: 'same-a', slot: 1 }, { key: 'b', slot: 2 }] };
    expect(await processMetadataRewriteBatch(batch, h.ctx)).toMatchObject({ completed: 2, rewritten: 1, changed: true });
    expect(h.flushes.flat().map((r) => r.outcome.changed)).toEqual([false, true]);
  });

  it('skips objects whose slot already has an outcome (an earlier attempt finished them)', async () => {
    const h = harness({ finished: [5000, 5002, 5004], attempt: 2 });
    const result = await processMetadataRewriteBatch(batchOf(5), h.ctx);
    expect(result).toMatchObject({ objects: 5, completed: 2, skipped: 3, deadLettered: 0 });
    expect(h.events.filter((e) => e.startsWith('head'))).toEqual(['head k1.css', 'head k3.css']);
    expect(h.flushes.flat().map((r) => [r.slot, r.outcome.attempts])).toEqual([
      [5001, 2],
      [5003, 2],
    ]);
  });

  it('a permanent failure dead-letters that object alone, as its own metadata-rewrite job <runId>-<slot>; the others complete', async () => {
    const h = harness({
      script: (key, call) => {
        if (key === 'k2.css' && call === 'head') throw notFound(key);
      },
    });
    const batch = batchOf(5, { timeoutMs: 9_000 });
    const result = await processMetadataRewriteBatch(batch, h.ctx);
    expect(result).toMatchObject({ objects: 5, completed: 4, deadLettered: 1, skipped: 0 });
    expect(h.deadLetters).toHaveLength(1);
    const dead = h.deadLetters[0]!;
    expect(dead.jobId).toBe(`${RUN}-5002`);
    expect(dead.payload).toEqual(batchObjectJob(batch, batch.objects[2]!));
    expect(dead.payload).toMatchObject({ kind: 'metadata-rewrite', key: 'k2.css', runId: RUN, runSlot: 5002, timeoutMs: 9_000 });
    expect(dead).toMatchObject({ reason: 'permanent', attemptsMade: 1, details: { code: 'NoSuchKey', retryable: false, status: 404, requestId: 'REQ1' } });
    // The objects done before it are recorded before it is dead-lettered; the failed one gets no completed outcome.
    expect(h.events.filter((e) => !e.startsWith('head'))).toEqual(['flush 2', 'dead k2.css', 'flush 2']);
    expect(h.flushes.flat().map((r) => r.slot)).toEqual([5000, 5001, 5003, 5004]);
  });

  it('a retryable failure with attempts left: the others are done, then the batch fails retryably for that one', async () => {
    const h = harness({
      script: (key, call) => {
        if (key === 'k1.css' && call === 'rewrite') throw slowDown(key);
      },
      attempt: 1,
      attempts: 3,
    });
    const err = await failureOf(processMetadataRewriteBatch(batchOf(4), h.ctx));
    expect(err).toBeInstanceOf(S3JobsError);
    expect(err).toMatchObject({ code: 'SlowDown', retryable: true, status: 503, retryAfterMs: 2_000 });
    expect((err as Error).message).toMatch(/^1 of 4 objects failed and will be retried \(first: k1\.css: /);
    // The worker retries it (attempt 1 of 3), after at least the server's Retry-After.
    expect(classify(err, { attemptsMade: 1, attempts: 3 })).toEqual({ action: 'retry', code: 'SlowDown', delayHintMs: 2_000 });
    expect(h.deadLetters).toEqual([]);
    expect(h.flushes.flat().map((r) => r.slot)).toEqual([5000, 5002, 5003]);

    // The next attempt runs that object only.
    const next = harness({ finished: [5000, 5002, 5003], attempt: 2, attempts: 3 });
    expect(await processMetadataRewriteBatch(batchOf(4), next.ctx)).toMatchObject({ completed: 1, skipped: 3 });
    expect(next.flushes.flat()).toEqual([{ slot: 5001, outcome: expect.objectContaining({ status: 'completed', key: 'k1.css', attempts: 2 }) }]);
  });

  it('the same failure on the last attempt dead-letters the object (retries exhausted) and the batch completes', async () => {
    const h = harness({
      script: (key, call) => {
        if (key === 'k1.css' && call === 'rewrite') throw slowDown(key);
      },
      finished: [5000],
      attempt: 3,
      attempts: 3,
    });
    expect(await processMetadataRewriteBatch(batchOf(3), h.ctx)).toMatchObject({ completed: 1, deadLettered: 1, skipped: 1 });
    expect(h.deadLetters).toEqual([expect.objectContaining({ jobId: `${RUN}-5001`, reason: 'retries-exhausted', attemptsMade: 3, details: expect.objectContaining({ code: 'SlowDown', retryable: true }) })]);
  });

  it('each object has its own deadline: one that hangs times out alone (retryable), the rest are done', async () => {
    const h = harness({
      objectTimeoutMs: 50,
      script: (key, call, signal) =>
        key === 'k0.css' && call === 'head'
          ? new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(new S3JobsError(ErrorCodes.Aborted, 'aborted by the caller', { retryable: true }))))
          : undefined,
    });
    const err = await failureOf(processMetadataRewriteBatch(batchOf(3), h.ctx));
    expect(err).toMatchObject({ code: ErrorCodes.Timeout, retryable: true });
    expect((err as Error).message).toMatch(/first: k0\.css: job deadline of 50 ms exceeded/);
    expect(h.flushes.flat().map((r) => r.slot)).toEqual([5001, 5002]);
  });

  it('stopped from outside during an object: the batch fails (to be requeued), keeping what finished', async () => {
    const h = harness({
      script: (key, call, signal) => {
        if (key !== 'k1.css' || call !== 'head') return undefined;
        return new Promise<void>((_, reject) => {
          signal.addEventListener('abort', () => reject(new S3JobsError(ErrorCodes.Aborted, 'aborted by the caller', { retryable: true })));
          h.controller.abort(new Error('shutdown'));
        });
      },
    });
    await failureOf(processMetadataRewriteBatch(batchOf(4), h.ctx));
    expect(h.flushes.flat().map((r) => r.slot)).toEqual([5000]);
    expect(h.deadLetters).toEqual([]);
    expect(h.events).not.toContain('head k2.css');
  });

  it('stopped from outside between two objects: the batch fails rather than completing with objects never tried', async () => {
    const h = harness({
      script: (key, call) => {
        // The stop arrives just as k1's rewrite succeeds: nothing is aborted, the next object must not start.
        if (key === 'k1.css' && call === 'rewrite') h.controller.abort(new Error('shutdown'));
      },
    });
    const outcome = await processMetadataRewriteBatch(batchOf(4), h.ctx).then(
      (result) => ({ completed: result }),
      (err: unknown) => ({ failed: err }),
    );
    // Completing here would remove the job with k2 and k3 never rewritten nor reported.
    expect(outcome).toHaveProperty('failed');
    expect(h.flushes.flat().map((r) => r.slot)).toEqual([5000, 5001]);
    expect(h.events).not.toContain('head k2.css');
  });

  it('already stopped when it starts: fails without touching any object', async () => {
    const h = harness();
    h.controller.abort(new Error('lock lost'));
    await failureOf(processMetadataRewriteBatch(batchOf(2), h.ctx));
    expect(h.events).toEqual([]);
  });

  it('a dead letter that cannot be written fails the batch, keeping the completed outcomes', async () => {
    const h = harness({
      deadLetterFails: true,
      script: (key, call) => {
        if (key === 'k1.css' && call === 'head') throw notFound(key);
      },
    });
    expect(await failureOf(processMetadataRewriteBatch(batchOf(3), h.ctx))).toMatchObject({ message: 'Redis went away' });
    expect(h.flushes.flat().map((r) => r.slot)).toEqual([5000]);
  });

  it('refuses to run without a run store or a dead-letter queue (never retried)', async () => {
    const h = harness({ withoutRuns: true });
    expect(await failureOf(processMetadataRewriteBatch(batchOf(1), h.ctx))).toMatchObject({ code: 'S3JOBS_BATCH_UNSUPPORTED', retryable: false });
    const noDlq = harness();
    expect(await failureOf(processMetadataRewriteBatch(batchOf(1), { ...noDlq.ctx, deadLetterObject: undefined }))).toMatchObject({ code: 'S3JOBS_BATCH_UNSUPPORTED' });
    expect([...h.events, ...noDlq.events]).toEqual([]);
  });
});
