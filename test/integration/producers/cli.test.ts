/**
 * The real `s3jobs` executable (`node bin/s3jobs.js`, through tsx) against real Redis: what each
 * command enqueues (read back with BullMQ), its output, and its exit code. Every test has its own
 * queue; the tests run concurrently because each CLI start costs most of a second.
 */
import { Job, Queue, Worker } from 'bullmq';
import { afterAll, describe, it } from 'vitest';
import type { DeadLetterRecord } from '../../../shared/queue/dead-letter.js';
import { createRedis } from '../../support/redis.js';
import { copyPayload, deadLetterRecord, PREFIX, producerQueues, putDeadLetters, runCli, type CliRun } from './helpers.js';

const queues = producerQueues();
const redis = createRedis();
const opened: { close(): Promise<unknown> }[] = [];

function mainQueue(name: string): Queue {
  const queue = new Queue(name, { connection: redis, prefix: PREFIX });
  opened.push(queue);
  return queue;
}

afterAll(async () => {
  for (const q of opened) await q.close();
  await queues.cleanup();
  await redis.quit();
});

/** One line on stderr (plus its newline), as every error is reported. */
function oneLine(run: CliRun): string {
  const lines = run.stderr.split('\n').filter((l) => l !== '');
  if (lines.length !== 1) throw new Error(`expected one stderr line, got:\n${run.stderr}`);
  return lines[0]!;
}

async function until<T>(fn: () => Promise<T | undefined>, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Generous timeout: on a busy machine each CLI start can take a few seconds.
describe.concurrent('s3jobs CLI', { timeout: 60_000 }, () => {
  it('copy --json enqueues the payload and options built from the flags', async ({ expect }) => {
    const q = queues.name('cli-copy');
    const run = await runCli([
      'copy',
      'src-bucket/photos/2024/a.jpg',
      'dst-bucket/backup/a.jpg',
      '--acl',
      'private',
      '--metadata',
      'owner=alice',
      '--metadata',
      'note=x=y',
      '--mimetype',
      'image/jpeg',
      '--header',
      'cache-control=max-age=60',
      '--if-match',
      'etag-1',
      '--profile',
      'prod',
      '--job-id',
      'copy-cli-1',
      '--priority',
      '5',
      '--attempts',
      '2',
      '--timeout-ms',
      '45000',
      '--queue',
      q,
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ jobId: 'copy-cli-1', kind: 'copy', queue: q });
    const job = await Job.fromId(mainQueue(q), 'copy-cli-1');
    expect(job?.name).toBe('copy');
    expect(job?.data).toEqual({
      kind: 'copy',
      profile: 'prod',
      source: { bucket: 'src-bucket', key: 'photos/2024/a.jpg' },
      destination: { bucket: 'dst-bucket', key: 'backup/a.jpg' },
      acl: 'private',
      metadata: { owner: 'alice', note: 'x=y' },
      mimetype: 'image/jpeg',
      headers: { 'cache-control': 'max-age=60' },
      expectedSourceEtag: 'etag-1',
      timeoutMs: 45000,
    });
    expect(job?.opts).toMatchObject({ priority: 5, attempts: 2 });
  });

  it('rewrite-metadata and bucket enqueue their jobs; queue counts them; status of an unknown id exits 4', async ({ expect }) => {
    const q = queues.name('cli-rw');
    const [rewrite, bucket] = await Promise.all([
      runCli(['rewrite-metadata', 'photos/a.jpg', '--acl', 'replicate-source', '--set', 'owner=bob', '--remove', 'draft', '--job-id', 'rw-1', '--queue', q]),
      runCli(['bucket', 'create', 'logs-2024', '--location', 'EU', '--acl', 'private', '--queue', q, '--json']),
    ]);
    expect(rewrite.code).toBe(0);
    expect(rewrite.stdout).toBe(`Enqueued metadata-rewrite job rw-1 on queue ${q}.\n`);
    expect(bucket.code).toBe(0);
    const { jobId: bucketJobId } = JSON.parse(bucket.stdout) as { jobId: string };
    const queue = mainQueue(q);
    expect((await Job.fromId(queue, 'rw-1'))?.data).toEqual({
      kind: 'metadata-rewrite',
      profile: 'default',
      bucket: 'photos',
      key: 'a.jpg',
      set: { owner: 'bob' },
      remove: ['draft'],
      acl: 'replicate-source',
    });
    expect((await Job.fromId(queue, bucketJobId))?.data).toEqual({ kind: 'bucket', action: 'create', profile: 'default', bucket: 'logs-2024', location: 'EU', acl: 'private' });

    const [unknown, counts] = await Promise.all([runCli(['status', 'no-such-job', '--queue', q]), runCli(['queue', '--queue', q, '--json'])]);
    expect(unknown.code).toBe(4);
    expect(oneLine(unknown)).toBe(`s3jobs status: no job no-such-job in queue ${q} or its dead-letter queue ${q}-dead`);
    expect(counts.code).toBe(0);
    expect(JSON.parse(counts.stdout)).toEqual({ waiting: 2, prioritized: 0, delayed: 0, active: 0, completed: 0, failed: 0, 'dead-lettered': 0, s3Breakers: [] });
  });

  it('a validation error exits 2 with one line naming the flag and what is allowed; nothing is enqueued', async ({ expect }) => {
    const q = queues.name('cli-bad');
    const run = await runCli(['copy', 'src-bucket/k', 'dst-bucket/k', '--acl', 'world-writable', '--queue', q]);
    expect(run.code).toBe(2);
    expect(oneLine(run)).toMatch(/^s3jobs copy: --acl: must be a canned ACL \(private, public-read, .*\) or "replicate-source"$/);
    expect(run.stdout).toBe('');
    expect(await mainQueue(q).count()).toBe(0);
  });

  it('config check prints the effective config with the secret masked', async ({ expect }) => {
    const secret = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY';
    const run = await runCli(['config', 'check', '--json'], {
      S3JOBS_PROFILE_PROD_ACCESS_KEY: 'AKIDEXAMPLE',
      S3JOBS_PROFILE_PROD_SECRET_KEY: secret,
      S3JOBS_PROFILE_PROD_SESSION_TOKEN: `${secret}-token`,
    });
    expect(run.code).toBe(0);
    expect(run.stdout + run.stderr).not.toContain(secret);
    const doc = JSON.parse(run.stdout) as { config: { profiles: Record<string, unknown> } };
    expect(doc.config.profiles.prod).toEqual({ region: 'us-east-1', accessKey: 'AKIDEXAMPLE', secretKey: '****', sessionToken: '****' });
  });

  it('Redis unreachable exits 3 with one line naming the URL, password masked', async ({ expect }) => {
    const run = await runCli(['queue', '--redis-url', 'redis://:hunter2@127.0.0.1:1']);
    expect(run.code).toBe(3);
    expect(oneLine(run)).toMatch(/^s3jobs queue: Redis is unreachable at redis:\/\/:\*\*\*\*@127\.0\.0\.1:1 \(.*ECONNREFUSED.*\); check --redis-url \/ REDIS_URL$/);
    expect(run.stderr).not.toContain('hunter2');
  });

  it('dlq list, show, retry (back in the queue, attempts 0, out of the DLQ), invalid retry and purge', async ({ expect }) => {
    const q = queues.name('cli-dlq');
    const t = Date.now();
    const good = deadLetterRecord(q, 'copy-dead-1', { attemptsMade: 5, reason: 'retries-exhausted', deadLetteredAt: t - 2 });
    const bad = deadLetterRecord(q, 'copy-dead-2', {
      payload: { ...copyPayload, acl: 'everyone' },
      reason: 'invalid',
      error: { code: 'S3JOBS_INVALID_JOB', message: 'acl: must be a canned ACL', retryable: false },
      deadLetteredAt: t - 1,
    });
    const third = deadLetterRecord(q, 'copy-dead-3', { deadLetteredAt: t });
    await putDeadLetters(redis, q, [good, bad, third]);

    const [list, show] = await Promise.all([runCli(['dlq', 'list', '--queue', q, '--json']), runCli(['dlq', 'show', 'copy-dead-2', '--queue', q])]);
    expect(list.code).toBe(0);
    const page = JSON.parse(list.stdout) as { total: number; items: { jobId: string; errorCode: string; attemptsMade: number }[] };
    expect(page.total).toBe(3);
    expect(page.items.map((i) => i.jobId)).toEqual(['copy-dead-3', 'copy-dead-2', 'copy-dead-1']);
    expect(page.items[2]).toMatchObject({ errorCode: 'NoSuchKey', attemptsMade: 5 });
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^Job copy-dead-2 \(copy\) dead-lettered at .*, reason: invalid\n {2}error: {5}S3JOBS_INVALID_JOB: acl: must be a canned ACL/);
    expect(show.stdout).toContain('"acl": "everyone"');

    const [retried, refused] = await Promise.all([runCli(['dlq', 'retry', 'copy-dead-1', '--queue', q]), runCli(['dlq', 'retry', 'copy-dead-2', '--queue', q])]);
    expect(retried.code).toBe(0);
    expect(retried.stdout).toBe('Retried copy job copy-dead-1: queued again with a fresh attempt count.\n');
    const job = await Job.fromId(mainQueue(q), 'copy-dead-1');
    expect(job?.data).toEqual(copyPayload);
    expect(job?.attemptsMade).toBe(0);
    const dlq = mainQueue(`${q}-dead`);
    expect(await Job.fromId(dlq, 'copy-dead-1')).toBeUndefined();

    expect(refused.code).toBe(2);
    expect(oneLine(refused)).toMatch(/^s3jobs dlq: payload\.acl: must be a canned ACL .*; job copy-dead-2 stays dead-lettered: fix its payload with --patch '\{"acl":…\}'$/);
    expect(((await Job.fromId<DeadLetterRecord>(dlq, 'copy-dead-2'))?.data.payload as { acl: string }).acl).toBe('everyone');

    const purge = await runCli(['dlq', 'purge', '--all', '--queue', q, '--json']);
    expect(purge.code).toBe(0);
    expect(JSON.parse(purge.stdout)).toEqual({ purged: 2 });
    expect(await dlq.count()).toBe(0);
  });

  it('--wait prints the result of a job that completes', async ({ expect }) => {
    const q = queues.name('cli-wait');
    const result = { kind: 'copy', etag: '"0cc175b9c0f1b6a831c399e269772661"', bytes: 1, multipart: false, largeTransfer: false, changed: true, durationMs: 3 };
    // Stands in for an s3jobs worker: completes every job with a fixed result.
    const connection = createRedis();
    const worker = new Worker(q, async () => result, { connection, prefix: PREFIX });
    opened.push({ close: async () => (await worker.close(), await connection.quit()) });
    const run = await runCli(['copy', 'src-bucket/k', 'dst-bucket/k', '--acl', 'private', '--job-id', 'wait-ok', '--wait', '--wait-timeout-ms', '15000', '--queue', q, '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ jobId: 'wait-ok', kind: 'copy', queue: q, state: 'completed', result });
  });

  it('--wait exits 1 when the job is dead-lettered, printing where it ended', async ({ expect }) => {
    const q = queues.name('cli-wait-dead');
    const running = runCli(['copy', 'src-bucket/k', 'dst-bucket/k', '--acl', 'private', '--job-id', 'wait-dead', '--wait', '--queue', q, '--json']);
    // Stands in for a worker giving up: record the dead letter, then remove the original.
    const queue = mainQueue(q);
    const job = await until(() => Job.fromId(queue, 'wait-dead'));
    await putDeadLetters(redis, q, [deadLetterRecord(q, 'wait-dead')]);
    await job.remove();
    const run = await running;
    expect(run.code).toBe(1);
    expect(oneLine(run)).toMatch(/^s3jobs copy: job wait-dead failed: NoSuchKey: The specified key does not exist/);
    expect(JSON.parse(run.stdout)).toMatchObject({ jobId: 'wait-dead', state: 'dead-lettered', error: { code: 'NoSuchKey' } });
  });

  it('--wait exits 124 when the job does not finish in time (it stays queued)', async ({ expect }) => {
    const q = queues.name('cli-wait-slow');
    const run = await runCli(['copy', 'src-bucket/k', 'dst-bucket/k', '--acl', 'private', '--job-id', 'wait-slow', '--wait', '--wait-timeout-ms', '300', '--queue', q]);
    expect(run.code).toBe(124);
    expect(run.stdout).toMatch(/^Enqueued copy job wait-slow on queue .*; waiting up to 300 ms/);
    expect(oneLine(run)).toBe('s3jobs copy: job wait-slow did not finish within 300 ms (state: waiting)');
    expect(await (await Job.fromId(mainQueue(q), 'wait-slow'))?.getState()).toBe('waiting');
  });
});
