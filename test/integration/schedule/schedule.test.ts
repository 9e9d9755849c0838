/**
 * Schedules against real Redis and the S3 test server: a scheduled sync fires every second and
 * copies everything, then only what changed, then nothing; a schedule outlives the worker and the
 * producer that made it (worker processes stopped and started); fired jobs carry the normal job
 * options; `s3jobs schedule add|list|remove` and `s3jobs sync` through the real executable.
 * Every test ends with enqueued = completed + dead-lettered, firings and copies included.
 */
import { Job } from 'bullmq';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addSchedule, getSchedule, listSchedules, removeSchedule, ScheduleExistsError } from '../../../producers/schedule/index.js';
import { S3JobsProducer } from '../../../producers/producer.js';
import type { SyncJob, SyncJobResult } from '../../../shared/jobs/index.js';
import type { S3Bucket } from '../../../shared/s3/index.js';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { startWorkerProcess, workerEnv, type WorkerProcess } from '../../support/worker-process.js';
import { runCli } from '../producers/helpers.js';
import { PREFIX, PROFILE, workerTestEnv, type WorkerTestEnv } from '../workers/helpers.js';
import { copyJobList, keysOf, text, trackAll } from './helpers.js';

afterAll(cleanupBuckets);

let env: WorkerTestEnv;
const children: WorkerProcess[] = [];
beforeEach(async () => {
  env = await workerTestEnv();
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop()));
  // Schedules are keys of the queue: cleanup removes them with it.
  await env.cleanup();
});

function syncJob(src: S3Bucket, dst: S3Bucket): SyncJob {
  return { kind: 'sync', profile: PROFILE, source: { bucket: src.name, prefix: 'in/' }, destination: { bucket: dst.name, prefix: 'out/' }, acl: 'private' };
}

interface Firing {
  id: string;
  processedOn: number;
  result: SyncJobResult;
}

/** Completed firings of a schedule, oldest first. */
async function firings(name: string): Promise<Firing[]> {
  const jobs = await env.producer.queue.getJobs(['completed']);
  return jobs
    .filter((j) => j.id!.startsWith(`repeat:${name}:`))
    .map((j) => ({ id: j.id!, processedOn: j.processedOn ?? 0, result: j.returnvalue as SyncJobResult }))
    .sort((a, b) => a.processedOn - b.processedOn);
}

/** Waits for a completed firing that started after `after` and matches `predicate`. */
async function firingAfter(name: string, after: number, predicate: (f: Firing) => boolean = () => true, timeoutMs = 20_000): Promise<Firing> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await firings(name)).find((f) => f.processedOn > after && predicate(f));
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no firing of ${name} after ${new Date(after).toISOString()}; firings: ${JSON.stringify(await firings(name))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until every copy job so far has completed. */
async function copiesDone(timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all((await copyJobList(env)).map((j) => j.getState()));
    if (states.every((s) => s === 'completed')) return;
    if (Date.now() > deadline) throw new Error(`copies not done: ${states.join(',')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Removes the schedule and waits for a firing a worker may be running to finish. */
async function stopSchedule(name: string): Promise<void> {
  await removeSchedule(env.producer, name);
  for (const deadline = Date.now() + 10_000; ; ) {
    const active = (await env.producer.queue.getJobs(['active'])).filter((j) => j.id!.startsWith(`repeat:${name}:`));
    if (active.length === 0) return;
    if (Date.now() > deadline) throw new Error('a firing is still running');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a scheduled sync', () => {
  it('fires every second: copies everything, then only what changed, then nothing', { timeout: 60_000 }, async () => {
    const src = await freshBucket('sched-src');
    const dst = await freshBucket('sched-dst');
    await src.put('in/a.txt', 'alpha');
    await src.put('in/b.txt', 'bravo');
    await src.put('in/sub/c.txt', 'charlie');
    await env.startWorker();

    const started = Date.now();
    const info = await addSchedule(env.producer, 'mirror', { every: 1_000 }, syncJob(src, dst));
    expect(info).toMatchObject({ name: 'mirror', repeat: { every: 1_000 }, kind: 'sync', attempts: 3 });

    const first = await firingAfter('mirror', 0);
    expect(first.processedOn).toBeGreaterThanOrEqual(started);
    expect(first.result).toMatchObject({ kind: 'sync', examined: 3, toCopy: 3, enqueued: 3, unchanged: 0 });
    await copiesDone();
    expect(await keysOf(dst)).toEqual(['out/a.txt', 'out/b.txt', 'out/sub/c.txt']);

    // The copies are done: the next firing finds nothing to do, and adds nothing.
    const idle = await firingAfter('mirror', Date.now());
    expect(idle.result).toMatchObject({ examined: 3, toCopy: 0, enqueued: 0, unchanged: 3, changed: false });

    await src.put('in/b.txt', 'bravo, second edition');
    await src.put('in/d.txt', 'delta');
    const changedAt = Date.now();
    const second = await firingAfter('mirror', changedAt, (f) => f.result.toCopy > 0);
    expect(second.result).toMatchObject({ examined: 4, toCopy: 2, enqueued: 2, unchanged: 2 });
    await copiesDone();
    expect(await text(dst, 'out/b.txt')).toBe('bravo, second edition');
    expect(await text(dst, 'out/d.txt')).toBe('delta');

    const third = await firingAfter('mirror', Date.now());
    expect(third.result).toMatchObject({ examined: 4, toCopy: 0, enqueued: 0 });

    await stopSchedule('mirror');
    // 3 copies, then 2: every other firing found nothing, and overlapping ones added nothing twice.
    const copies = (await copyJobList(env)).map((j) => (j.data as { destination: { key: string } }).destination.key);
    expect(copies.sort()).toEqual(['out/a.txt', 'out/b.txt', 'out/b.txt', 'out/d.txt', 'out/sub/c.txt']);
    // Only firings that had something to copy added jobs.
    const all = await firings('mirror');
    expect(all.filter((f) => f.result.enqueued > 0).length).toBeGreaterThanOrEqual(2);
    expect(all.filter((f) => f.result.enqueued === 0).length).toBeGreaterThanOrEqual(2);

    await trackAll(env);
    await env.settle();
  });

  it('each firing carries the normal job options, from the first to the ones workers schedule', { timeout: 30_000 }, async () => {
    const src = await freshBucket('sched-src');
    const dst = await freshBucket('sched-dst');
    await addSchedule(env.producer, 'opts', { every: 1_000 }, syncJob(src, dst), { priority: 7 });
    await env.startWorker();
    await firingAfter('opts', 0);
    const second = await firingAfter('opts', (await firings('opts'))[0]!.processedOn);
    await stopSchedule('opts');
    for (const id of [(await firings('opts'))[0]!.id, second.id]) {
      const job = (await Job.fromId(env.producer.queue, id))!;
      expect(job.opts).toMatchObject({
        attempts: env.config.retry.attempts,
        backoff: { type: 's3jobs', delay: env.config.retry.backoffBaseMs },
        removeOnComplete: { count: env.config.retention.completedCount, age: env.config.retention.completedAgeSeconds },
        priority: 7,
      });
    }
    await trackAll(env);
    await env.settle();
  });
});

describe('a schedule survives restarts', () => {
  it('of the worker and of the producer: a new worker process keeps firing it', { timeout: 60_000 }, async () => {
    const src = await freshBucket('sched-src');
    const dst = await freshBucket('sched-dst');
    await src.put('in/one.txt', '1');

    // Added by a producer that then goes away.
    const producer = new S3JobsProducer({ config: env.config });
    await addSchedule(producer, 'durable', { every: 1_000 }, syncJob(src, dst));
    await producer.close();

    const first = startWorkerProcess({ env: workerEnv(env.config) });
    children.push(first);
    await first.waitForLog((l) => l.msg === 'worker ready');
    const fired = await firingAfter('durable', 0);
    expect(fired.result).toMatchObject({ toCopy: 1 });
    first.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });

    // Nobody runs for a while; the schedule is still there (a fresh producer reads it).
    await new Promise((r) => setTimeout(r, 1_500));
    const reader = new S3JobsProducer({ config: env.config });
    const listed = await listSchedules(reader);
    await reader.close();
    expect(listed.map((s) => s.name)).toEqual(['durable']);

    await src.put('in/two.txt', '2');
    const restartedAt = Date.now();
    const second = startWorkerProcess({ env: workerEnv(env.config) });
    children.push(second);
    await second.waitForLog((l) => l.msg === 'worker ready');
    const after = await firingAfter('durable', restartedAt, (f) => f.result.toCopy > 0);
    expect(after.result).toMatchObject({ examined: 2, toCopy: 1 });
    await copiesDone();
    expect(await text(dst, 'out/two.txt')).toBe('2');

    await stopSchedule('durable');
    await trackAll(env);
    await env.settle();
  });
});

describe('the schedule API', () => {
  it('refuses a taken name unless replacing, and bad payloads before storing anything', async () => {
    const src = await freshBucket('sched-src');
    const dst = await freshBucket('sched-dst');
    await addSchedule(env.producer, 'n1', { cron: '0 3 * * *', tz: 'Europe/Paris' }, syncJob(src, dst));
    // Validation comes first: an invalid payload is refused even under a taken name.
    await expect(addSchedule(env.producer, 'n1', { every: 60_000 }, { ...syncJob(src, src), destination: { bucket: src.name, prefix: 'in/copy/' } })).rejects.toThrow(/overlap/);
    await expect(addSchedule(env.producer, 'n1', { every: 60_000 }, syncJob(src, dst))).rejects.toBeInstanceOf(ScheduleExistsError);
    const replaced = await addSchedule(env.producer, 'n1', { every: 3_600_000 }, syncJob(src, dst), { replace: true });
    expect(replaced.repeat).toEqual({ every: 3_600_000 });
    await expect(addSchedule(env.producer, 'n2', { every: 60_000 }, { kind: 'copy', profile: PROFILE, source: { bucket: src.name, key: 'k' }, destination: { bucket: dst.name, key: 'k' }, acl: 'private', secretKey: 'x' })).rejects.toMatchObject({ field: 'secretKey' });
    await expect(addSchedule(env.producer, 'bad:name', { every: 60_000 }, syncJob(src, dst))).rejects.toMatchObject({ field: 'name' });
    expect((await listSchedules(env.producer)).map((s) => s.name)).toEqual(['n1']);
    expect(await getSchedule(env.producer, 'n2')).toBeUndefined();

    // Removing drops the schedule and its firing, due or not.
    expect(await removeSchedule(env.producer, 'n1')).toBe(true);
    expect(await removeSchedule(env.producer, 'n1')).toBe(false);
    expect(await listSchedules(env.producer)).toEqual([]);
    expect(await env.producer.queue.count()).toBe(0);
    await env.settle();
  });
});

describe('the s3jobs command', { timeout: 60_000 }, () => {
  const cli = (args: string[]) => runCli(args, { S3JOBS_QUEUE: env.queue, S3JOBS_PREFIX: PREFIX });

  it('schedule add, list (--json), remove; a second remove exits 4', async () => {
    const add = await cli(['schedule', 'add', 'nightly', '--cron', '0 3 * * *', '--tz', 'Europe/Paris', 'sync', 'photos-src/2024/', 'photos-dst/2024/', '--acl', 'private', '--profile', PROFILE]);
    expect(add).toMatchObject({ code: 0, stderr: '' });
    expect(add.stdout).toMatch(/^Schedule nightly on queue .*: sync photos-src\/2024\/ -> photos-dst\/2024\/, cron "0 3 \* \* \*" Europe\/Paris; next firing \d{4}-/);

    const taken = await cli(['schedule', 'add', 'nightly', '--every', '1h', 'copy', 'aa-a/k', 'bb-b/k', '--acl', 'private']);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toMatch(/<name>: a schedule named "nightly" exists .* add --replace/);

    const hourly = await cli(['schedule', 'add', 'hourly', '--every', '1h', 'copy', 'aa-a/k', 'bb-b/k', '--acl', 'private', '--attempts', '2']);
    expect(hourly.code).toBe(0);

    const list = await cli(['schedule', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^NAME\s+WHEN\s+NEXT\s+JOB$/);
    expect(list.stdout).toMatch(/hourly\s+every 1h\s+\S+\s+copy aa-a\/k -> bb-b\/k/);
    expect(list.stdout).toMatch(/nightly\s+cron "0 3 \* \* \*" Europe\/Paris\s+\S+\s+sync photos-src\/2024\/ -> photos-dst\/2024\//);
    const json = JSON.parse((await cli(['schedule', 'list', '--json'])).stdout) as { name: string; attempts: number; payload: { kind: string } }[];
    // Soonest first: hourly fired at once, nightly waits for 03:00.
    expect(json.map((s) => [s.name, s.payload.kind, s.attempts])).toEqual([
      ['hourly', 'copy', 2],
      ['nightly', 'sync', 5], // the CLI's default attempts (S3JOBS_ATTEMPTS unset)
    ]);

    // Each schedule has one pending firing: hourly's is due at once (waiting for a worker),
    // nightly's is delayed until 03:00. Removing a schedule drops its firing, due or not.
    expect(await env.producer.queue.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 1, delayed: 1 });
    expect(await cli(['schedule', 'remove', 'hourly'])).toMatchObject({ code: 0 });
    expect(await env.producer.queue.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 0, delayed: 1 });
    const again = await cli(['schedule', 'remove', 'hourly']);
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(/no schedule named "hourly"/);
    expect(await cli(['schedule', 'remove', 'nightly'])).toMatchObject({ code: 0 });
    expect(await env.producer.queue.count()).toBe(0);
    expect((await cli(['schedule', 'list'])).stdout).toBe(`No schedules on queue ${env.queue}.\n`);
    await env.settle();
  });

  it('sync --wait enqueues one sync job; a bad one exits 2 naming the flag', async () => {
    const src = await freshBucket('sched-src');
    const dst = await freshBucket('sched-dst');
    await src.put('in/x.txt', 'x');
    await env.startWorker();
    const run = await cli(['sync', `${src.name}/in/`, `${dst.name}/out/`, '--acl', 'private', '--profile', PROFILE, '--wait', '--json']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const out = JSON.parse(run.stdout) as { jobId: string; kind: string; state: string; result: SyncJobResult };
    expect(out).toMatchObject({ kind: 'sync', state: 'completed', result: { examined: 1, toCopy: 1, enqueued: 1 } });
    env.track(out.jobId);
    await trackAll(env);
    await env.settle();
    expect(await text(dst, 'out/x.txt')).toBe('x');

    const bad = await cli(['sync', `${src.name}/in/`, `${src.name}/in/copy/`, '--acl', 'private']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^s3jobs sync: <dst> \(prefix\): source and destination overlap/);
  });
});
