/**
 * Shared by the sync and schedule tests: filling a source prefix, tracking the jobs a worker added
 * by itself (a sync's copies, a schedule's firings) so `settle()` checks them too, and reading a
 * sync job's copies.
 */
import { Job } from 'bullmq';
import type { JobResult, SyncJobResult } from '../../../shared/jobs/index.js';
import type { S3Bucket } from '../../../shared/s3/index.js';
import type { WorkerTestEnv } from '../workers/helpers.js';

/** Puts `count` objects `<prefix><00000>` (content = key), 50 at a time. */
export async function fill(bucket: S3Bucket, prefix: string, count: number): Promise<string[]> {
  const keys = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);
  for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => bucket.put(k, k)));
  return keys;
}

/** Every job now in the queue (any state) or its dead-letter queue, tracked for `settle()`. */
export async function trackAll(env: WorkerTestEnv): Promise<Job[]> {
  const jobs = await env.producer.queue.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed', 'waiting-children']);
  for (const job of jobs) env.track(job.id!);
  const dead = await env.producer.deadLetters.getJobs(['waiting', 'prioritized', 'delayed']);
  for (const record of dead) env.track(String((record.data as { jobId?: unknown }).jobId ?? record.id));
  return jobs;
}

/** The copy jobs in the queue (any state but dead-lettered). */
export async function copyJobList(env: WorkerTestEnv): Promise<Job[]> {
  const jobs = await env.producer.queue.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed']);
  return jobs.filter((job) => job.name === 'copy');
}

/** The copy jobs in the queue by destination key; throws if a key has two. */
export async function copyJobs(env: WorkerTestEnv): Promise<Map<string, Job>> {
  const byKey = new Map<string, Job>();
  for (const job of await copyJobList(env)) {
    const key = (job.data as { destination: { key: string } }).destination.key;
    if (byKey.has(key)) throw new Error(`two copy jobs for ${key}: ${byKey.get(key)!.id} and ${job.id}`);
    byKey.set(key, job);
  }
  return byKey;
}

/** Waits for a sync job's result (it only lists and enqueues: quick). */
export async function syncResult(env: WorkerTestEnv, jobId: string, timeoutMs = 20_000): Promise<SyncJobResult> {
  const result: JobResult = await env.producer.waitFor(jobId, { timeoutMs });
  if (result.kind !== 'sync') throw new Error(`job ${jobId} is a ${result.kind} job`);
  return result;
}

/** Reads an object's body as text. */
export async function text(bucket: S3Bucket, key: string): Promise<string> {
  return (await bucket.getBuffer(key)).toString();
}

/** All keys under a prefix. */
export async function keysOf(bucket: S3Bucket, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of bucket.list({ prefix })) keys.push(o.key);
  return keys;
}

export { Job };
