/**
 * The contestants of the migration benchmarks (`migration.bench.ts` on s3rver and the fake S3,
 * `migration-ceph.bench.ts` on Ceph RGW), each pointed at a `Target` — endpoint, credentials,
 * bucket — and each measured the same way: wall time of the whole run, and the CPU time it used.
 *
 * - s3jobs: `runMigration` here (the producer) and one worker child process; their CPU is read
 *   apart (this process's `process.cpuUsage()`, the worker's utime + stime from /proc).
 * - AWS CLI, rclone: one child each, run under `bash -c '…; times'`, whose second line is the CPU
 *   its children used (user, system): the peer's whole CPU, threads included, with nothing sampled.
 *
 * Peers get explicit keys, no configuration file of the machine's, and
 * `AWS_EC2_METADATA_DISABLED=true`: nothing they do leaves 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { runMigration, type MigrationSpec, type RunOperation } from '../producers/migrate/migration.js';
import { RunStore } from '../shared/runs/index.js';
import { S3Bucket } from '../shared/s3/index.js';
import type { Metadata } from '../shared/s3/metadata.js';
import { startWorkerProcess, workerEnv } from '../test/support/worker-process.js';
import { processCpuMs } from './harness.js';
import { benchConfig, PROFILE } from './servers.js';

export const CONCURRENCY = 32;
/** Objects per s3jobs job (`--batch-size`; S3JOBS_BENCH_MIGRATION_BATCH, 1 = one job per object). */
export const BATCH = Number(process.env.S3JOBS_BENCH_MIGRATION_BATCH ?? 100);
export const key = (prefix: string, i: number): string => `${prefix}${String(i).padStart(8, '0')}.jpg`;

/** Where a tool works: one bucket on one endpoint, with its keys. */
export interface Target {
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

/** What a tool's run took: wall time, and CPU split by process (ms). */
export interface Timing {
  seconds: number;
  /** s3jobs: the producer (this process); a peer: the whole tool. */
  clientCpuMs: number;
  /** s3jobs only: the worker child. */
  workerCpuMs?: number | undefined;
}

export function bucketAt(t: Target): S3Bucket {
  return new S3Bucket({ name: t.bucket, accessKey: t.accessKey, secretKey: t.secretKey, endpoint: t.endpoint, region: t.region, forcePathStyle: true });
}

/** `0m1.250s` → 1250 */
function bashTimeMs(text: string): number {
  const m = /^(\d+)m([\d.]+)s$/.exec(text.trim());
  return m === null ? Number.NaN : (Number(m[1]) * 60 + Number(m[2])) * 1000;
}

/**
 * Runs a peer under bash, which reports with `times` what CPU its children used; resolves with the
 * wall time and that CPU. The environment is the machine's minus anything that would send the peer
 * elsewhere (AWS profile, CA bundle), plus `env`.
 */
export function runPeer(cmd: string, args: string[], env: Record<string, string>): Promise<Timing> {
  const base = { ...process.env };
  // Plain-HTTP loopback endpoints: a custom CA bundle from the machine's environment only makes
  // rclone refuse its transport ("LoadCustomCABundleError"); a profile or shared config could
  // point the AWS CLI at other credentials or endpoints.
  for (const name of ['AWS_CA_BUNDLE', 'AWS_PROFILE', 'AWS_DEFAULT_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_SHARED_CREDENTIALS_FILE']) delete base[name];
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/bash', ['-c', '"$@"; rc=$?; times >&2; exit $rc', 'bash', cmd, ...args], {
      env: { ...base, AWS_EC2_METADATA_DISABLED: 'true', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
    child.on('error', reject);
    child.on('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) return reject(new Error(`${cmd} exited ${code}: ${err}`));
      // `times`: the shell's own user/system, then its children's.
      const lines = err.trim().split('\n');
      const [user, system] = (lines[lines.length - 1] ?? '').split(' ');
      resolve({ seconds, clientCpuMs: bashTimeMs(user ?? '') + bashTimeMs(system ?? '') });
    });
  });
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

export interface OursOptions {
  redisUrl: string;
  prefix: string;
  objects: number;
  set: Metadata;
  /** Folder for the CSV report. */
  dir: string;
  /** How often the producer looks at the run while it drains; 50 ms by default (runMigration's own default, what the CLI uses, is 250). */
  pollMs?: number | undefined;
  /** Objects per job; BATCH by default. */
  batchSize?: number | undefined;
  /** Write V8 CPU profiles of the worker (bench/profiled-worker.ts) and the producer over the timed run into this folder. */
  profileDir?: string | undefined;
  /** Another run than a metadata rewrite (`set` is then unused): a copy run, say. */
  operation?: RunOperation | undefined;
}

/**
 * s3jobs: one worker child (concurrency 32), then `runMigration` here until every outcome is
 * recorded. Worker start-up is not timed; the worker is stopped with SIGTERM (so a CPU profile, if
 * asked for, is written) once its CPU is read.
 */
export async function ours(t: Target, o: OursOptions): Promise<Timing> {
  const queueName = `bench-mig-${o.prefix.replace(/\W/g, '')}-${o.objects}-${process.pid}`;
  const config = benchConfig(o.redisUrl, t.endpoint, queueName, { concurrency: CONCURRENCY }, { accessKey: t.accessKey, secretKey: t.secretKey, region: t.region });
  const env = workerEnv({ ...config, logLevel: 'warn' });
  const worker =
    o.profileDir === undefined ? startWorkerProcess({ env }) : startWorkerProcess({ env: { ...env, S3JOBS_BENCH_CPU_PROF: o.profileDir }, script: join('bench', 'profiled-worker.ts') });
  const redis = (await import('ioredis')).Redis;
  const connection = new redis(o.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection, prefix: config.prefix });
  let exited = false;
  void worker.exited.then(() => (exited = true));
  while ((await queue.getWorkers()).length === 0) {
    if (exited) {
      await queue.close();
      connection.disconnect();
      throw new Error(`s3jobs worker exited before it was ready: ${[...worker.stderr, ...worker.lines].join('\n').slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const bucket = bucketAt(t);
  const spec: MigrationSpec = o.operation === undefined ? { profile: PROFILE, bucket: t.bucket, prefix: o.prefix, set: o.set, acl: 'private' } : { profile: PROFILE, bucket: t.bucket, prefix: o.prefix, operation: o.operation };
  let enqueued = 0;
  let completed = 0;
  if (o.profileDir !== undefined) worker.kill('SIGUSR2'); // the profile starts now
  const workerBefore = processCpuMs(worker.pid);
  const profile = o.profileDir === undefined ? undefined : await startProfile();
  const cpuBefore = process.cpuUsage();
  const seconds = await timed(async () => {
    const migration = runMigration({ bucket, queue, store: new RunStore(connection, config.prefix, queueName) }, spec, {
      window: 20_000,
      batchSize: o.batchSize ?? BATCH,
      pollMs: o.pollMs ?? 50,
      reportPath: join(o.dir, `${queueName}.csv`),
    });
    // A worker that dies mid-run would leave the run waiting for outcomes forever.
    const died = worker.exited.then(({ code, signal }) => {
      throw new Error(`s3jobs worker exited (${code ?? signal}) during the run: ${[...worker.stderr, ...worker.lines].join('\n').slice(-3000)}`);
    });
    died.catch(() => undefined); // the race below still sees it; nothing is left unhandled after
    const result = await Promise.race([migration, died]);
    enqueued = result.run.enqueued;
    completed = result.run.completed;
  });
  const cpu = process.cpuUsage(cpuBefore);
  if (profile !== undefined) writeFileSync(join(o.profileDir!, `producer-${process.pid}-${o.objects}.cpuprofile`), JSON.stringify(await profile.stop()));
  const workerAfter = processCpuMs(worker.pid);
  worker.kill('SIGTERM');
  await Promise.race([worker.exited, new Promise((r) => setTimeout(r, 15_000))]);
  await worker.stop();
  await queue.close();
  connection.disconnect();
  await bucket.close();
  if (enqueued !== o.objects || completed !== o.objects) throw new Error(`s3jobs: ${completed} of ${enqueued} completed, ${o.objects} expected`);
  return {
    seconds,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
    workerCpuMs: workerBefore === undefined || workerAfter === undefined ? undefined : workerAfter - workerBefore,
  };
}

/** A V8 CPU profile of this process (the producer), from now until `stop()`. */
async function startProfile(): Promise<{ stop(): Promise<unknown> }> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      return profile;
    },
  };
}

function awsEnv(dir: string, t: Target): Record<string, string> {
  const config = join(dir, 'aws-config');
  writeFileSync(config, `[default]\nregion = ${t.region}\ns3 =\n  max_concurrent_requests = ${CONCURRENCY}\n  max_queue_size = 10000\n  addressing_style = path\n`);
  return {
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_ACCESS_KEY_ID: t.accessKey,
    AWS_SECRET_ACCESS_KEY: t.secretKey,
    AWS_ENDPOINT_URL: t.endpoint,
    AWS_PAGER: '',
  };
}

const metadataArg = (set: Metadata): string =>
  Object.entries(set)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/** AWS CLI: `aws s3 cp --recursive` of a prefix onto itself with REPLACE (one CopyObject per object; headers not carried). */
export function aws(dir: string, t: Target, prefix: string, set: Metadata): Promise<Timing> {
  const uri = `s3://${t.bucket}/${prefix}`;
  return runPeer('/usr/bin/aws', ['s3', 'cp', '--recursive', '--only-show-errors', '--endpoint-url', t.endpoint, uri, uri, '--metadata-directive', 'REPLACE', '--metadata', metadataArg(set)], awsEnv(dir, t));
}

/** AWS CLI: `aws s3 cp --recursive` of a prefix to another (one server-side CopyObject per object, metadata and headers copied). */
export function awsCopy(dir: string, t: Target, prefix: string, to: string): Promise<Timing> {
  return runPeer('/usr/bin/aws', ['s3', 'cp', '--recursive', '--only-show-errors', '--endpoint-url', t.endpoint, `s3://${t.bucket}/${prefix}`, `s3://${t.bucket}/${to}`], awsEnv(dir, t));
}

/**
 * rclone's configuration as environment variables: remote `b`, and with `alias` a second remote
 * `c` on the same store (see `rcloneInPlace`).
 */
function rcloneEnv(t: Target, provider: string, alias = false): Record<string, string> {
  const env: Record<string, string> = { RCLONE_CONFIG: '/dev/null' };
  for (const remote of alias ? ['B', 'C'] : ['B']) {
    Object.assign(env, {
      [`RCLONE_CONFIG_${remote}_TYPE`]: 's3',
      [`RCLONE_CONFIG_${remote}_PROVIDER`]: provider,
      [`RCLONE_CONFIG_${remote}_ACCESS_KEY_ID`]: t.accessKey,
      [`RCLONE_CONFIG_${remote}_SECRET_ACCESS_KEY`]: t.secretKey,
      [`RCLONE_CONFIG_${remote}_ENDPOINT`]: t.endpoint,
      [`RCLONE_CONFIG_${remote}_REGION`]: t.region,
      [`RCLONE_CONFIG_${remote}_FORCE_PATH_STYLE`]: 'true',
      [`RCLONE_CONFIG_${remote}_LIST_VERSION`]: '2',
      [`RCLONE_CONFIG_${remote}_NO_CHECK_BUCKET`]: 'true',
    });
  }
  return env;
}

const metadataSetArgs = (set: Metadata): string[] => Object.entries(set).flatMap(([k, v]) => ['--metadata-set', `${k}=${v}`]);

/** rclone: server-side `rclone copy` to another prefix with `--metadata --metadata-set` (rclone will not copy a remote path onto itself). */
export function rclone(t: Target, prefix: string, to: string, set: Metadata): Promise<Timing> {
  return runPeer(
    'rclone',
    ['copy', `b:${t.bucket}/${prefix}`, `b:${t.bucket}/${to}`, '--metadata', ...metadataSetArgs(set), '--transfers', String(CONCURRENCY), '--checkers', String(CONCURRENCY), '-q'],
    rcloneEnv(t, 'Other'),
  );
}

/** rclone: server-side `rclone copy` of a prefix to another (it lists the destination too, to skip what is there). */
export function rcloneCopy(t: Target, prefix: string, to: string): Promise<Timing> {
  return runPeer('rclone', ['copy', `b:${t.bucket}/${prefix}`, `b:${t.bucket}/${to}`, '--transfers', String(CONCURRENCY), '--checkers', String(CONCURRENCY), '-q'], rcloneEnv(t, 'Other'));
}

/**
 * rclone rewriting a prefix in place with every header kept: `rclone copy b:bucket/p c:bucket/p
 * --no-check-dest --metadata --metadata-set …`. `c` is a second remote on the same store, which
 * gets past rclone's refusal to copy a path onto itself; between two remotes rclone does no
 * server-side copy, so each object is downloaded (GET, whose answer carries the headers and
 * metadata `--metadata` reads) and uploaded again (PUT with them plus the new entries).
 * `--no-check-dest` skips listing the destination (everything is rewritten), `--s3-no-head` the HEAD
 * rclone sends after each upload to check it: the fewest requests rclone needs, list + GET + PUT.
 */
export function rcloneInPlace(t: Target, prefix: string, set: Metadata, provider: string): Promise<Timing> {
  return runPeer(
    'rclone',
    [
      'copy',
      `b:${t.bucket}/${prefix}`,
      `c:${t.bucket}/${prefix}`,
      '--no-check-dest',
      '--s3-no-head',
      '--metadata',
      ...metadataSetArgs(set),
      '--transfers',
      String(CONCURRENCY),
      '--checkers',
      String(CONCURRENCY),
      '-q',
    ],
    rcloneEnv(t, provider, true),
  );
}

/**
 * Seeds the s3rver benchmarks' objects: 512 bytes each, Content-Type image/jpeg, Cache-Control
 * max-age=86400, metadata author: Jane Doe — 32 PUTs at a time.
 */
export async function seedObjects(bucket: S3Bucket, keys: readonly string[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      for (let i = next++; i < keys.length; i = next++)
        await bucket.put(keys[i]!, Buffer.alloc(512, 0x5a), { mimetype: 'image/jpeg', headers: { 'cache-control': 'max-age=86400' }, metadata: { author: 'Jane Doe' } });
    }),
  );
}

/** What the objects should carry: seeded headers and metadata, and the entries the run sets. */
export interface HeaderExpectation {
  contentType: string;
  cacheControl: string;
  contentDisposition?: string | undefined;
  /** Metadata seeded before the run, which must survive it. */
  kept: Metadata;
  /** Metadata the run sets. */
  set: Metadata;
}

export interface HeaderCheck {
  contentType: string | undefined;
  cacheControl: string | undefined;
  contentDisposition?: string | undefined;
  metaSet: boolean;
  metaKept: boolean;
  /** Content-Type, Cache-Control (and Content-Disposition when expected) still the originals on every object sampled. */
  kept: boolean;
}

/** HEADs 50 objects spread over a tool's output: are the system headers still the originals, the new metadata there, the old kept? */
export async function checkHeaders(bucket: S3Bucket, prefix: string, objects: number, expect: HeaderExpectation): Promise<HeaderCheck> {
  let kept = true;
  let metaSet = true;
  let metaKept = true;
  let first: HeaderCheck | undefined;
  for (let i = 0; i < objects; i += Math.max(1, Math.floor(objects / 50))) {
    const info = await bucket.head(key(prefix, i));
    const contentType = info.contentType;
    const cacheControl = info.headers['cache-control'];
    const contentDisposition = info.headers['content-disposition'];
    if (contentType !== expect.contentType || cacheControl !== expect.cacheControl) kept = false;
    if (expect.contentDisposition !== undefined && contentDisposition !== expect.contentDisposition) kept = false;
    if (Object.entries(expect.set).some(([k, v]) => info.metadata[k] !== v)) metaSet = false;
    if (Object.entries(expect.kept).some(([k, v]) => info.metadata[k] !== v)) metaKept = false;
    first ??= { contentType, cacheControl, ...(expect.contentDisposition === undefined ? {} : { contentDisposition }), metaSet: true, metaKept: true, kept: true };
  }
  return { ...first!, metaSet, metaKept, kept };
}

export { processCpuMs };
