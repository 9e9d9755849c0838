/**
 * A batched migration whose worker process dies mid-batch (SIGKILL) loses nothing. The batches the
 * dead worker held are found stalled by a second worker process once their lock expires and run
 * again from their first object without an outcome; the run ends with every object rewritten,
 * counted once and reported once, and nothing of it left in the queue, the DLQ or Redis.
 *
 * Two batch sizes, either side of FLUSH_EVERY (the batch records completed outcomes in groups of
 * that many, and when it ends):
 *   - 25: a batch records nothing before it ends, so the dead worker's running batches leave
 *     objects rewritten in S3 with no outcome at all; the second worker does them again;
 *   - 100: the dead worker's running batches had recorded part of their objects; the second
 *     worker resumes each after those, never touching a recorded object again.
 *
 * Copies go through a fault proxy that delays each one, so a batch runs for a second or more and
 * the worker is always in the middle of some when it is killed. Workers are child processes (a
 * SIGKILL must not take the test with it); the producer runs in-process and drives the run to its
 * end (and its report) across the crash.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runMigration, type MigrationOptions, type MigrationSpec } from '../../../producers/migrate/migration.js';
import type { MetadataRewriteBatchJob } from '../../../shared/jobs/index.js';
import { FLUSH_EVERY } from '../../../workers/processors/metadata-rewrite-batch.js';
import { bucketClient, cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { isCopyRequest, startFaultProxy, type FaultProxy } from '../../support/fault-proxy.js';
import { s3Target } from '../../support/s3-env.js';
import { startWorkerProcess, workerEnv, type WorkerProcess } from '../../support/worker-process.js';
import { testConfig } from '../workers/helpers.js';
import { expectEveryKeyOnce, mapConcurrent, migrateTestEnv, PROFILE, putObjects, readReport, repeated, until, type MigrateTestEnv } from './helpers.js';

const httpTarget = s3Target().endpoint.startsWith('http:');

const OBJECTS = 300;
/** Added to every copy (the rewrite itself): a batch of 25 runs for well over a second. */
const COPY_LATENCY_MS = 60;

let env: MigrateTestEnv;
let proxy: FaultProxy | undefined;
const children: WorkerProcess[] = [];
beforeEach(async () => {
  env = await migrateTestEnv();
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop()));
  await env.cleanup();
  await proxy?.close();
  proxy = undefined;
});
afterAll(cleanupBuckets);

/** Listing order is key order: the object at index i has run slot i. */
const keys = (n: number) => Array.from({ length: n }, (_, i) => `crash/${String(i).padStart(4, '0')}.bin`);

/** The distinct object paths (`/<bucket>/<key>`) the proxy saw copied successfully. */
function copiedPaths(p: FaultProxy): Set<string> {
  return new Set(p.log.filter((e) => isCopyRequest(e) && e.status === 200 && !e.clientAborted).map((e) => e.pathname));
}

/** `job completed` log lines of worker processes, by job id. */
function completionsOf(procs: readonly WorkerProcess[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const proc of procs)
    for (const entry of proc.entries()) if (entry.msg === 'job completed' && typeof entry.jobId === 'string') counts.set(entry.jobId, (counts.get(entry.jobId) ?? 0) + 1);
  return counts;
}

const isStalledLine = (l: { msg?: string }) => typeof l.msg === 'string' && l.msg.startsWith('job stalled');

describe.skipIf(!httpTarget)('batched migrations and a worker process crash', () => {
  it.each([{ batch: 25 }, { batch: 100 }])(`SIGKILL of the worker process mid-batch (batch size $batch, ${OBJECTS} objects): a second worker finishes the stalled batches; every object rewritten, counted and reported once`, { timeout: 60_000 }, async ({ batch: BATCH }) => {
    const target = s3Target();
    proxy = await startFaultProxy({ upstream: target.endpoint, match: isCopyRequest, decide: () => ({ type: 'stall', afterMs: COPY_LATENCY_MS }) });
    const bucket = await freshBucket('mig-batch-crash');
    const all = keys(OBJECTS);
    const slotOf = new Map(all.map((key, i) => [`/${bucket.name}/${key}`, i]));
    await putObjects(bucket, all, { mimetype: 'text/x-custom', metadata: { origin: 'upload', stage: 'raw' } });

    // Workers rewrite through the proxy; a short lock and stalled-check interval so the batches a
    // dead worker held go back to the queue within seconds.
    const workerConfig = testConfig(env.queue, proxy.endpoint, { logLevel: 'info', worker: { concurrency: 3, lockDurationMs: 3_000, stalledIntervalMs: 500, jobTimeoutMs: 10_000 } });
    const startChild = async (): Promise<WorkerProcess> => {
      const child = startWorkerProcess({ env: workerEnv(workerConfig) });
      children.push(child);
      await child.waitForLog((l) => l.msg === 'worker ready', 30_000);
      return child;
    };
    const first = await startChild();

    // The producer lists straight from S3 and waits for the run to finish, across the crash.
    const spec: MigrationSpec = { profile: PROFILE, bucket: bucket.name, set: { stage: 'done' }, acl: 'private' };
    const report = join(env.dir, 'crash.csv');
    const listing = bucketClient(bucket.name);
    const stop = new AbortController();
    const options: MigrationOptions = { batchSize: BATCH, reportPath: report, pollMs: 50, backoffMs: 50, signal: stop.signal };
    const migration = runMigration({ bucket: listing, queue: env.bullQueue, store: env.store }, spec, options).finally(() => listing.close());
    migration.catch(() => undefined); // observed below; never an unhandled rejection

    try {
      // Wait until the first outcomes are recorded and the worker is well inside a group of objects
      // it records together (a batch, or FLUSH_EVERY of a larger one): at least 3 of the group
      // rewritten (copied through the proxy) without an outcome yet, and at least 5 still to go,
      // so its outcomes cannot be written before the kill lands. (Copies are read before outcomes:
      // outcomes only grow, so this never overstates what is unrecorded.)
      const GROUP = Math.min(BATCH, FLUSH_EVERY);
      const before = await until(
        async () => {
          const copied = copiedPaths(proxy!);
          const run = (await env.store.list())[0];
          if (run === undefined || run.enqueued < OBJECTS || run.completed < GROUP || run.completed > OBJECTS / 2) return undefined;
          const recorded = await env.store.finishedSlots(run.id, all.map((_, i) => i));
          const unrecordedPerGroup = new Map<number, number>();
          for (const path of copied) {
            const slot = slotOf.get(path)!;
            if (!recorded[slot]) unrecordedPerGroup.set(Math.floor(slot / GROUP), (unrecordedPerGroup.get(Math.floor(slot / GROUP)) ?? 0) + 1);
          }
          return [...unrecordedPerGroup.values()].some((n) => n >= 3 && n <= GROUP - 5) ? run : undefined;
        },
        30_000,
        'some outcomes recorded while batches are running',
      );
      first.kill('SIGKILL');
      expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
      const runId = before.id;
      const requestsBeforeCrash = proxy.log.length;

      // The crash, as it left things: the run unfinished, batches held by the dead process, and
      // objects rewritten in S3 that no outcome records.
      const atCrash = (await env.store.get(runId))!;
      const recordedAtCrash = await env.store.finishedSlots(runId, all.map((_, i) => i));
      const copiedAtCrash = copiedPaths(proxy);
      const unrecorded = [...copiedAtCrash].filter((path) => !recordedAtCrash[slotOf.get(path)!]);
      expect(atCrash).toMatchObject({ state: 'draining', enqueued: OBJECTS, deadLettered: 0, cancelled: 0 });
      expect(atCrash.completed, 'outcomes are recorded in groups').toBe(recordedAtCrash.filter(Boolean).length);
      expect(atCrash.completed % Math.min(BATCH, FLUSH_EVERY)).toBe(0);
      expect(unrecorded.length, 'objects rewritten by the dead worker without an outcome').toBeGreaterThanOrEqual(1);
      const held = (await env.bullQueue.getJobs(['active'])).map((j) => j.data as MetadataRewriteBatchJob);
      expect(held.length, 'batches held by the dead worker').toBeGreaterThanOrEqual(1);
      const recordedOf = (b: MetadataRewriteBatchJob) => b.objects.filter((o) => recordedAtCrash[o.slot]).length;
      // A held batch had recorded none or all of its objects (all: the worker died between the
      // batch's last flush and BullMQ recording the job complete); with batches larger than
      // FLUSH_EVERY, one at least had recorded only part of them (the crash came after a flush).
      if (BATCH > FLUSH_EVERY) expect(held.some((b) => recordedOf(b) > 0 && recordedOf(b) < b.objects.length)).toBe(true);
      else for (const b of held) expect([0, b.objects.length]).toContain(recordedOf(b));
      console.info(`[migrate] batch size ${BATCH}: worker SIGKILLed holding ${held.length} batches (${held.map(recordedOf).join('/')} of their objects recorded), run at ${atCrash.completed}/${OBJECTS}, ${unrecorded.length} objects rewritten but unrecorded`);

      // A second worker process: it finds the dead worker's batches stalled and runs them again.
      const second = await startChild();
      const { run, interrupted } = await migration;
      expect(interrupted).toBe(false);

      // The run: every object completed once, none dead-lettered; the queue, DLQ and Redis clean.
      expect(run).toMatchObject({ id: runId, state: 'completed', listed: OBJECTS, matched: OBJECTS, enqueued: OBJECTS, completed: OBJECTS, deadLettered: 0, cancelled: 0 });
      // (A batch leaves the queue just after its last outcomes are recorded: let the last one go.)
      await until(async () => ((await env.bullQueue.getJobCounts('active')).active === 0 ? true : undefined), 10_000, 'the last batch to leave the queue');
      await env.expectSettled(run, { enqueued: OBJECTS });

      // Each batch job added once. Those the dead worker held went through the stalled-job check
      // and were completed by the second worker; the others were completed once, by either. (A
      // held batch may also have logged its completion in the dead worker, which logs it just
      // before BullMQ records it.)
      const batchIds = Array.from({ length: OBJECTS / BATCH }, (_, i) => `${runId}-b${i * BATCH}`);
      await env.waitForAdded(batchIds.length);
      expect([...env.added.keys()].sort()).toEqual([...batchIds].sort());
      expect(repeated(env.added)).toEqual([]);
      const heldIds = held.map((b) => `${runId}-b${b.objects[0]!.slot}`);
      // The workers' log lines come through pipes, and may arrive after the run's counters do.
      await until(
        async () => {
          const f = completionsOf([first]);
          const s2 = completionsOf([second]);
          const done = heldIds.every((id) => s2.has(id)) && batchIds.every((id) => f.has(id) || s2.has(id)) && second.entries().filter(isStalledLine).length >= heldIds.length;
          return done ? true : undefined;
        },
        10_000,
        'the log lines of every batch completion and stall',
      );
      const stalled = second.entries().filter(isStalledLine).map((l) => l.jobId);
      expect([...stalled].sort()).toEqual([...heldIds].sort());
      const byFirst = completionsOf([first]);
      const bySecond = completionsOf([second]);
      expect(repeated(byFirst)).toEqual([]);
      expect(repeated(bySecond)).toEqual([]);
      for (const id of heldIds) expect(bySecond.has(id), id).toBe(true);
      for (const id of batchIds) if (!heldIds.includes(id)) expect(Number(byFirst.has(id)) + Number(bySecond.has(id)), id).toBe(1);

      // Nothing recorded before the crash was touched again (HEAD or copy); everything else was.
      const touchedAfter = new Set(proxy.log.slice(requestsBeforeCrash).map((e) => slotOf.get(e.pathname)).filter((slot) => slot !== undefined));
      const redone = all.filter((_, i) => recordedAtCrash[i] && touchedAfter.has(i));
      expect(redone, 'objects recorded before the crash and processed again').toEqual([]);
      for (const path of unrecorded) expect(touchedAfter.has(slotOf.get(path)!), path).toBe(true);

      // Every object rewritten: the new metadata, its Content-Type kept.
      const heads = await mapConcurrent(all, (key) => bucket.head(key));
      for (const [i, key] of all.entries()) {
        expect(heads[i]!.metadata, key).toEqual({ origin: 'upload', stage: 'done' });
        expect(heads[i]!.contentType, key).toBe('text/x-custom');
      }
      // Each one copied through the proxy: answered, or sent by the dead worker (which S3 may have
      // done while the worker died waiting for the answer; its batch's second run then has nothing
      // left to change and copies nothing).
      const sentByDeadWorker = new Set(proxy.log.slice(0, requestsBeforeCrash).filter((e) => isCopyRequest(e) && e.forwarded).map((e) => e.pathname));
      const copied = copiedPaths(proxy);
      expect(all.filter((key) => !copied.has(`/${bucket.name}/${key}`) && !sentByDeadWorker.has(`/${bucket.name}/${key}`)), 'objects never copied').toEqual([]);

      // The report: every object exactly once, completed, with the ETag it has now. An object the
      // dead worker rewrote without recording it is reported unchanged by its batch's second run
      // (nothing was left to change); every other one is reported changed.
      const byKey = expectEveryKeyOnce(readReport(report).rows, all);
      for (const [i, key] of all.entries()) expect(byKey.get(key), key).toMatchObject({ bucket: bucket.name, status: 'completed', errorCode: '', etag: heads[i]!.etag });
      const unchanged = all.filter((key) => byKey.get(key)!.changed !== 'true');
      expect(unchanged.length).toBe(OBJECTS - run.changed);
      for (const key of unchanged) {
        expect(recordedAtCrash[slotOf.get(`/${bucket.name}/${key}`)!], key).toBe(false);
        expect(sentByDeadWorker.has(`/${bucket.name}/${key}`), key).toBe(true);
      }
    } finally {
      // A failure above must not leave the producer waiting for a run no worker will finish.
      stop.abort();
      await migration.catch(() => undefined);
    }
  });
});
