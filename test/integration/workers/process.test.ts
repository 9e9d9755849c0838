/**
 * Workers in child processes: SIGTERM mid-job (the job finishes within the grace, or is requeued
 * without using an attempt), a second signal, and SIGKILL mid-job (another worker finishes the job
 * once its lock expires). Nothing is lost: every test ends with enqueued = completed + dead-lettered.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Job } from 'bullmq';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { isCopyRequest, startFaultProxy, type FaultProxy } from '../../support/fault-proxy.js';
import { s3Target } from '../../support/s3-env.js';
import { startWorkerProcess, workerEnv, type WorkerProcess } from '../../support/worker-process.js';
import { expectNoSecretIn, PROFILE, workerTestEnv, type WorkerTestEnv } from './helpers.js';

const httpTarget = s3Target().endpoint.startsWith('http:');

let proxy: FaultProxy;
let env: WorkerTestEnv;
const children: WorkerProcess[] = [];
beforeEach(async () => {
  proxy = await startFaultProxy({ upstream: s3Target().endpoint, match: isCopyRequest });
  env = await workerTestEnv({ endpoint: proxy.endpoint, overrides: { worker: { lockDurationMs: 2_000, stalledIntervalMs: 1_000 } } });
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop()));
  await env.cleanup();
  await proxy.close();
});
afterAll(cleanupBuckets);

async function child(worker: { shutdownGraceMs?: number } = {}): Promise<WorkerProcess> {
  const proc = startWorkerProcess({ env: workerEnv(env.configWith({ worker })) });
  children.push(proc);
  await proc.waitForLog((l) => l.msg === 'worker ready');
  return proc;
}

async function copySeen(): Promise<void> {
  const until = Date.now() + 10_000;
  while (!proxy.log.some(isCopyRequest)) {
    if (Date.now() > until) throw new Error('the worker never sent the copy');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function sourceAndJob(): Promise<{ id: string; dst: Awaited<ReturnType<typeof freshBucket>> }> {
  const src = await freshBucket('proc-src');
  const dst = await freshBucket('proc-dst');
  await src.put('k.txt', 'payload');
  const id = await env.add({ kind: 'copy', profile: PROFILE, source: { bucket: src.name, key: 'k.txt' }, destination: { bucket: dst.name, key: 'k.txt' }, acl: 'private' });
  return { id, dst };
}

const logs = (proc: WorkerProcess) => proc.entries().map((e) => e.msg);

describe.skipIf(!httpTarget)('worker processes', () => {
  it('SIGTERM mid-job: the running job finishes within the grace, then the process exits 0', async () => {
    proxy.enqueue({ type: 'stall', afterMs: 1_500 });
    const proc = await child({ shutdownGraceMs: 10_000 });
    const { id, dst } = await sourceAndJob();
    await copySeen();
    proc.kill('SIGTERM');

    expect(await proc.exited).toEqual({ code: 0, signal: null });
    const { completed } = await env.settle();
    expect(completed.get(id)?.attemptsMade).toBe(1);
    expect(proxy.log.find(isCopyRequest)).toMatchObject({ clientAborted: false, status: 200 });
    expect((await dst.getBuffer('k.txt')).toString()).toBe('payload');
    expect(logs(proc)).toEqual(expect.arrayContaining(['job completed', 'worker closed']));
    expect(logs(proc).indexOf('job completed')).toBeLessThan(logs(proc).indexOf('worker closed'));
    expectNoSecretIn(proc.lines);
  });

  it('SIGTERM mid-job past the grace: the job is aborted and requeued without using an attempt, another worker finishes it', async () => {
    proxy.enqueue({ type: 'stall' });
    const proc = await child({ shutdownGraceMs: 300 });
    const { id } = await sourceAndJob();
    await copySeen();
    const signalled = Date.now();
    proc.kill('SIGTERM');

    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeLessThan(5_000);
    expect(proxy.log.find(isCopyRequest)).toMatchObject({ clientAborted: true });
    const job = (await Job.fromId(env.producer.queue, id))!;
    expect(await job.getState()).toBe('waiting');
    expect(job.attemptsMade).toBe(0);
    expect(logs(proc)).toEqual(expect.arrayContaining(['grace period over: aborting running jobs and requeuing them', 'job requeued without using an attempt', 'worker closed']));

    await env.startWorker();
    const { completed } = await env.settle();
    expect(completed.get(id)?.attemptsMade).toBe(1);
    expectNoSecretIn([...proc.lines, ...env.logs]);
  });

  it('a second signal aborts running jobs at once (requeued), without waiting out the grace', async () => {
    proxy.enqueue({ type: 'stall' });
    const proc = await child({ shutdownGraceMs: 60_000 });
    const { id } = await sourceAndJob();
    await copySeen();
    proc.kill('SIGTERM');
    await proc.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('SIGTERM: shutting down'));
    const second = Date.now();
    proc.kill('SIGINT');

    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - second).toBeLessThan(3_000);
    expect(await (await Job.fromId(env.producer.queue, id))!.getState()).toBe('waiting');

    await env.startWorker();
    const { completed } = await env.settle();
    expect(completed.get(id)?.attemptsMade).toBe(1);
  });

  it('SIGKILL mid-job: once the lock expires another worker picks the job up and completes it', async () => {
    proxy.enqueue({ type: 'stall' });
    const proc = await child();
    const { id, dst } = await sourceAndJob();
    await copySeen();
    const killed = Date.now();
    proc.kill('SIGKILL');
    expect(await proc.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await (await Job.fromId(env.producer.queue, id))!.getState()).toBe('active'); // held by a dead worker

    await env.startWorker();
    const { completed } = await env.settle(15_000);
    expect(completed.get(id)?.attemptsMade).toBe(1); // a stall does not use an attempt
    expect(Date.now() - killed).toBeLessThan(10_000);
    expect(env.logs.some((l) => l.includes('job stalled'))).toBe(true);
    expect((await dst.getBuffer('k.txt')).toString()).toBe('payload');
  });
});
