/**
 * `npm run demo` — s3jobs end to end on one machine, with nothing but Node and a Redis:
 *
 *   1. starts an embedded S3-compatible server (s3rver, in a child process) and uses the local Redis
 *      (REDIS_URL, default redis://127.0.0.1:6379; if none answers and `redis-server` is installed,
 *      a throwaway one is started on a spare port — otherwise it says how to start one);
 *   2. runs a worker and the dashboard in this process (the dashboard URL is printed);
 *   3. enqueues a bucket job, uploads sample objects, enqueues a copy that replaces metadata (system
 *      headers kept), a metadata migration over a prefix, a copy of a missing key (dead-lettered, not
 *      retried) and a bucket delete, and prints what happened to each.
 *
 * Everything it creates lives under a unique queue name and is removed at the end.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { buildConfig, type S3JobsConfig } from '../shared/config/index.js';
import { RunStore } from '../shared/runs/index.js';
import { S3Bucket } from '../shared/s3/index.js';
import { createLogger } from '../shared/log/logger.js';
import { S3JobsProducer, JobFailedError } from '../producers/index.js';
import { runMigration } from '../producers/migrate/migration.js';
import { startDashboard } from '../producers/dashboard/index.js';
import { startWorker } from '../workers/index.js';
import { startS3rver } from '../test/support/s3rver-process.js';

const say = (line = '') => process.stdout.write(`${line}\n`);
const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const step = (n: number, text: string) => say(`\n${bold(`${n}. ${text}`)}`);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function answers(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1500 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/** The Redis to use, and how to stop it if we started it. */
async function redis(): Promise<{ url: string; stop(): void }> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (await answers(url)) return { url, stop: () => undefined };
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error(
      `no Redis answers at ${url}. Start one, e.g.:\n  redis-server --daemonize yes --save "" --appendonly no\nor point REDIS_URL at yours, then run npm run demo again.`,
    );
  }
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const local = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !(await answers(local)); i++) await new Promise((r) => setTimeout(r, 100));
  say(`   (no Redis at ${url}: started a throwaway redis-server on port ${port})`);
  return { url: local, stop: () => child.kill() };
}

async function main(): Promise<void> {
  say('s3jobs demo: an S3 job queue, end to end');
  step(1, 'Starting an embedded S3 server and connecting to Redis');
  const s3 = await startS3rver();
  const r = await redis();
  say(`   S3:    ${s3.endpoint} (s3rver, SigV4-checked)`);
  say(`   Redis: ${r.url}`);

  const queue = `demo-${randomBytes(3).toString('hex')}`;
  const config: S3JobsConfig = buildConfig({
    env: {},
    overrides: {
      redisUrl: r.url,
      queue,
      profiles: { demo: { endpoint: s3.endpoint, region: s3.region, accessKey: s3.accessKey, secretKey: s3.secretKey } },
      worker: { concurrency: 8, jobTimeoutMs: 10_000, shutdownGraceMs: 2_000 },
      retry: { attempts: 3, backoffBaseMs: 200, backoffMaxMs: 1_000 },
      logLevel: 'warn',
    },
  });
  // Errors only: the dead-lettered job below is expected, and its story is printed by the demo.
  const logger = createLogger({ level: 'error' });
  const worker = startWorker({ config, logger });
  await worker.ready;
  const dashboard = await startDashboard({ config, port: 0, logger });
  const producer = new S3JobsProducer({ config });
  const media = `media-${queue}`;
  const archive = `archive-${queue}`;
  const scratch = `scratch-${queue}`;
  const client = (name: string) => new S3Bucket({ name, endpoint: s3.endpoint, region: s3.region, accessKey: s3.accessKey, secretKey: s3.secretKey });
  say(`   worker running (queue "${queue}"); dashboard: ${dashboard.url}`);

  const reportPath = join(tmpdir(), `${queue}.report.csv`);
  try {
    step(2, 'Bucket jobs: create the buckets through the queue');
    for (const bucket of [media, archive, scratch]) {
      const { jobId } = await producer.bucket({ profile: 'demo', action: 'create', bucket });
      const result = await producer.waitFor(jobId, { timeoutMs: 30_000 });
      say(`   bucket create ${bucket}: ${JSON.stringify(result)}`);
    }

    step(3, 'Uploading sample objects (some with the wrong Content-Type, all with Cache-Control)');
    const mediaBucket = client(media);
    const names = ['index.html', 'app.js', 'style.css', 'logo.svg', 'photo.jpg', 'data.json', 'notes.txt', 'report.pdf'];
    for (const name of names) {
      await mediaBucket.put(`site/${name}`, `demo content of ${name}\n`, { mimetype: 'application/octet-stream', headers: { 'cache-control': 'max-age=60' }, metadata: { origin: 'upload' } });
    }
    say(`   ${names.length} objects under ${media}/site/, all uploaded as application/octet-stream`);

    step(4, 'A copy job that replaces metadata: system headers are kept');
    const copy = await producer.copy({
      profile: 'demo',
      source: { bucket: media, key: 'site/index.html' },
      destination: { bucket: archive, key: 'backup/index.html' },
      acl: 'private',
      metadata: { archived: new Date().toISOString().slice(0, 10) },
    });
    say(`   result: ${JSON.stringify(await producer.waitFor(copy.jobId, { timeoutMs: 30_000 }))}`);
    const copied = await client(archive).head('backup/index.html');
    say(`   copy has metadata ${JSON.stringify(copied.metadata)}, Cache-Control "${copied.headers['cache-control']}" (kept from the source)`);

    step(5, 'A metadata migration over site/: Content-Type from the extension, one metadata key set');
    const store = new RunStore(new Redis(r.url), config.prefix, queue);
    const migration = await runMigration(
      { bucket: mediaBucket, queue: producer.queue, store },
      { profile: 'demo', bucket: media, prefix: 'site/', set: { migrated: 'yes' }, mimetypeFromExtension: true, acl: 'private' },
      {
        reportPath,
        pollMs: 100,
        // Redrawn in place on a terminal; elsewhere only the final line below is printed.
        onProgress: (run) => {
          if (process.stdout.isTTY) process.stdout.write(`\r   listed ${run.listed}, enqueued ${run.enqueued}, completed ${run.completed}, changed ${run.changed}, dead-lettered ${run.deadLettered}   `);
        },
      },
    );
    if (process.stdout.isTTY) say('');
    const done = migration.run;
    say(`   listed ${done.listed}, enqueued ${done.enqueued}, completed ${done.completed}, changed ${done.changed}, dead-lettered ${done.deadLettered}`);
    say(`   run ${migration.run.id}: ${migration.run.state}; report: ${reportPath}`);
    for (const name of ['index.html', 'photo.jpg', 'data.json']) {
      const info = await mediaBucket.head(`site/${name}`);
      say(`   site/${name}: ${info.contentType}, Cache-Control "${info.headers['cache-control']}", metadata ${JSON.stringify(info.metadata)}`);
    }

    step(6, 'A job that cannot succeed is dead-lettered at once, not retried');
    const missing = await producer.copy({ profile: 'demo', source: { bucket: media, key: 'no/such/key' }, destination: { bucket: archive, key: 'x' }, acl: 'private' });
    try {
      await producer.waitFor(missing.jobId, { timeoutMs: 30_000 });
    } catch (err) {
      if (!(err instanceof JobFailedError)) throw err;
      const status = await producer.status(missing.jobId);
      say(`   ${err.message}`);
      say(`   state: ${status.state}, attempts made: ${status.attemptsMade} (try: s3jobs --queue ${queue} dlq list)`);
    }

    step(7, 'A bucket job that deletes a bucket with its contents');
    await client(scratch).put('leftover.txt', 'x');
    const del = await producer.bucket({ profile: 'demo', action: 'delete', bucket: scratch, empty: true });
    say(`   result: ${JSON.stringify(await producer.waitFor(del.jobId, { timeoutMs: 30_000 }))}`);

    step(8, 'Queue counts');
    say(`   ${JSON.stringify(await producer.counts())}`);
    await store.delete(migration.run.id);
    await (store as unknown as { close?: () => Promise<void> }).close?.();
  } finally {
    await worker.close(1_000);
    await dashboard.close();
    // Remove everything the demo put in Redis (its own queue only).
    const redisClient = new Redis(r.url);
    const keys = await redisClient.keys(`${config.prefix}:${queue}*`);
    if (keys.length > 0) await redisClient.del(...keys);
    await redisClient.quit();
    await producer.close();
    await s3.stop();
    r.stop();
    rmSync(reportPath, { force: true });
  }
  say('\nDone. Everything the demo created has been removed.');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
