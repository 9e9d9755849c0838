/**
 * s3jobs installed the way a user installs it: `npm pack` (its `prepack` builds dist/), the tarball
 * installed with `npm install ./s3jobs-<version>.tgz --omit=dev` into an empty project, and then, from
 * that project only: `npx s3jobs --help`, a worker started and stopped with SIGTERM, a copy enqueued
 * with the installed CLI and done by the installed worker on the test S3 store, the four library
 * entries imported from plain JavaScript, and a TypeScript consumer type-checked with tsc.
 *
 * The package is packed from a copy of the files it is built from (so a build never rewrites the
 * repository's dist/ under other processes); the copy links the repository's node_modules for tsc.
 * PACKAGE_TEST_REF=<git ref> packs that commit instead of the working tree (`git archive`), to test
 * what is committed while the tree is mid-edit.
 */
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupBuckets, freshBucket } from '../support/buckets.js';
import { queueJanitor, redisUrl } from '../support/redis.js';
import { s3Target } from '../support/s3-env.js';
import { REPO } from '../unit/support/import-graph.js';

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  exports: Record<string, string | { types: string; default: string }>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** What the build reads: package.json's `files` come out of these. */
const BUILD_INPUTS = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'LICENSE', 'shared', 'producers', 'workers', 'bin'];

const work = mkdtempSync(join(tmpdir(), 's3jobs-package-'));
const app = join(work, 'app');
const execFileAsync = promisify(execFile);
const queues = queueJanitor({ bullPrefix: '{s3jobs}' });
let packed: PackResult;

/**
 * Runs npm without blocking this process (vitest's worker must keep answering); a failure throws
 * with npm's output (a build's compile errors are on stdout).
 */
async function npm(args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' }, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    throw new Error(`npm ${args.join(' ')} failed (exit ${String(e.code)}):\n${(e.stdout ?? '').slice(-4000)}\n${(e.stderr ?? '').slice(-4000)}`);
  }
}

/** The environment a user of the installed command would have: no s3jobs settings inherited. */
function userEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !/^(S3JOBS_|REDIS_URL$|NODE_OPTIONS$|VITEST)/.test(name)) env[name] = value;
  return { ...env, REDIS_URL: redisUrl(), ...extra };
}

beforeAll(async () => {
  const src = join(work, 'src');
  mkdirSync(src);
  const ref = process.env.PACKAGE_TEST_REF;
  if (ref === undefined || ref === '') for (const input of BUILD_INPUTS) cpSync(join(REPO, input), join(src, input), { recursive: true });
  else {
    // An older commit may lack some inputs (LICENSE came later): archive those it has.
    const present = new Set((await execFileAsync('git', ['-C', REPO, 'ls-tree', '--name-only', ref])).stdout.split('\n'));
    const inputs = BUILD_INPUTS.filter((input) => present.has(input));
    await execFileAsync('sh', ['-c', `git -C "$0" archive "$1" -- ${inputs.join(' ')} | tar -x -C "$2"`, REPO, ref, src]);
  }
  rmSync(join(src, 'dist'), { recursive: true, force: true });
  symlinkSync(join(REPO, 'node_modules'), join(src, 'node_modules'), 'dir');
  const out = await npm(['pack', '--json', '--pack-destination', work], src);
  packed = (JSON.parse(out.slice(out.indexOf('['))) as PackResult[])[0]!;
  console.log(`package: ${packed.filename}: ${packed.files.length} files, ${(packed.size / 1024).toFixed(0)} KiB packed, ${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked`);

  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await npm(['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', `../${packed.filename}`], app);
});

afterAll(async () => {
  await queues.cleanup();
  await cleanupBuckets();
  rmSync(work, { recursive: true, force: true });
});

describe('the tarball', () => {
  it('holds the compiled code with its types, the command, package.json, README and LICENSE: no sources, tests, benchmarks or maps', () => {
    const paths = packed.files.map((f) => f.path).sort();
    expect(paths).toContain('LICENSE');
    const stray = paths.filter((p) => !['package.json', 'README.md', 'LICENSE', 'bin/s3jobs.js'].includes(p) && !/^dist\/(shared|producers|workers|bin)\/.+(?<!\.d)\.js$|^dist\/.+\.d\.ts$/.test(p));
    expect(stray).toEqual([]);
    expect(paths.filter((p) => /^(test|bench|examples)\//.test(p) || /\.map$/.test(p) || (/\.ts$/.test(p) && !p.endsWith('.d.ts')))).toEqual([]);
    for (const target of Object.values(pkg.exports)) {
      if (typeof target === 'string') continue;
      expect(paths, target.default).toContain(target.default.slice(2));
      expect(paths, target.types).toContain(target.types.slice(2));
    }
    expect(paths).toContain('dist/bin/s3jobs.js');
  });

  it('installs only the production dependencies', () => {
    const installed = join(app, 'node_modules');
    expect(existsSync(join(installed, 's3jobs/package.json'))).toBe(true);
    for (const dep of Object.keys(pkg.dependencies)) expect(existsSync(join(installed, dep, 'package.json')), dep).toBe(true);
    const devOnly = Object.keys(pkg.devDependencies).filter((dep) => !Object.hasOwn(pkg.dependencies, dep));
    expect(devOnly.filter((dep) => existsSync(join(installed, dep)))).toEqual([]);
    expect(existsSync(join(installed, 'tsx'))).toBe(false);
  });
});

describe('the installed `s3jobs` command', () => {
  it('npx s3jobs --help and --version answer from the compiled entry', () => {
    const help = spawnSync('npx', ['--no-install', 's3jobs', '--help'], { cwd: app, env: userEnv(), encoding: 'utf8' });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^s3jobs: offload S3 work/);
    expect(help.stdout).toContain('Usage: s3jobs <command>');
    const version = spawnSync('npx', ['--no-install', 's3jobs', '--version'], { cwd: app, env: userEnv(), encoding: 'utf8' });
    expect(version.stdout, version.stderr).toBe(`s3jobs ${pkg.version}\n`);
  });

  it('a worker starts, runs a copy the installed CLI enqueued, and stops cleanly on SIGTERM', async () => {
    const target = s3Target();
    const source = await freshBucket('pkg-src');
    const destination = await freshBucket('pkg-dst');
    await source.put('hello.txt', 'hello from the package test');
    const queue = queues.name('pkg');
    const env = userEnv({
      S3JOBS_QUEUE: queue,
      S3JOBS_LOG_LEVEL: 'info',
      S3JOBS_SHUTDOWN_GRACE_MS: '10000',
      S3JOBS_PROFILE_DEFAULT_ENDPOINT: target.endpoint,
      S3JOBS_PROFILE_DEFAULT_REGION: target.region,
      S3JOBS_PROFILE_DEFAULT_ACCESS_KEY: target.accessKey,
      S3JOBS_PROFILE_DEFAULT_SECRET_KEY: target.secretKey,
      S3JOBS_PROFILE_DEFAULT_FORCE_PATH_STYLE: 'true',
      ...(target.provider === undefined ? {} : { S3JOBS_PROFILE_DEFAULT_PROVIDER: target.provider }),
    });
    const bin = join(app, 'node_modules/s3jobs/bin/s3jobs.js');
    const worker: ChildProcess = spawn(process.execPath, [bin, 'worker'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    worker.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => worker.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      await expect.poll(() => output, { timeout: 30_000, interval: 100 }).toContain('worker ready');

      const copy = spawnSync(process.execPath, [bin, 'copy', `${source.name}/hello.txt`, `${destination.name}/copied.txt`, '--acl', 'private', '--wait', '--wait-timeout-ms', '30000', '--json'], { cwd: app, env, encoding: 'utf8' });
      expect(copy.status, copy.stderr + copy.stdout).toBe(0);
      expect(JSON.parse(copy.stdout)).toMatchObject({ kind: 'copy', queue, state: 'completed' });
      expect((await destination.head('copied.txt')).size).toBe('hello from the package test'.length);
    } finally {
      worker.kill('SIGTERM');
    }
    const end = await Promise.race([exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000))]);
    if (end === 'hung') worker.kill('SIGKILL');
    expect(end, output).toEqual({ code: 0, signal: null });
    expect(output).toContain('worker closed');
  });
});

describe('the installed library', () => {
  it('each entry imports from plain JavaScript (ESM) and works: a job enqueued and read back', () => {
    const queue = queues.name('pkg-lib');
    writeFileSync(
      join(app, 'use.mjs'),
      `import { S3Bucket, loadConfig, validateJob } from 's3jobs';
import { S3JobsProducer } from 's3jobs/producers';
import { startWorker } from 's3jobs/workers';
import { startDashboard } from 's3jobs/dashboard';
const config = loadConfig(process.env);
const bucket = new S3Bucket({ name: 'some-bucket', accessKey: 'AKID', secretKey: 'secret', endpoint: 'http://127.0.0.1:9', region: 'us-east-1' });
const producer = new S3JobsProducer({ config });
const payload = validateJob({ kind: 'copy', profile: 'default', source: { bucket: 'src-bucket', key: 'a' }, destination: { bucket: 'dst-bucket', key: 'b' }, acl: 'private' });
const { jobId } = await producer.add(payload);
const status = await producer.status(jobId);
await producer.close();
await bucket.close();
console.log(JSON.stringify({ bucket: bucket.name, queue: config.queue, state: status.state, kinds: [typeof startWorker, typeof startDashboard] }));
`,
    );
    const out = execFileSync(process.execPath, ['use.mjs'], { cwd: app, env: userEnv({ S3JOBS_QUEUE: queue }), encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ bucket: 'some-bucket', queue, state: 'waiting', kinds: ['function', 'function'] });
  });

  it('type-checks from TypeScript (NodeNext), with the types the package ships', async () => {
    writeFileSync(
      join(app, 'consumer.ts'),
      `import { S3Bucket, loadConfig, type CopyJob, type S3JobsConfig } from 's3jobs';
import { S3JobsProducer, DeadLetters } from 's3jobs/producers';
import { startWorker } from 's3jobs/workers';
import { startDashboard } from 's3jobs/dashboard';
const config: S3JobsConfig = loadConfig({});
export const used = [S3Bucket, S3JobsProducer, DeadLetters, startWorker] as const;
export const url: Promise<string> = startDashboard({ config, port: 0 }).then((d) => d.url);
export const job: CopyJob = { kind: 'copy', profile: 'default', source: { bucket: 'a-bucket', key: 'k' }, destination: { bucket: 'b-bucket', key: 'k' }, acl: 'private' };
// @ts-expect-error the job kind is checked: a typo does not compile
export const wrong: CopyJob = { ...job, kind: 'cpy' };
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, types: ['node'], typeRoots: [join(REPO, 'node_modules/@types')] }, files: ['consumer.ts'] }),
    );
    // Not spawnSync: tsc takes 15-120 s on a loaded machine, and vitest's worker must keep answering.
    const tsc = await execFileAsync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8' }).then(
      ({ stdout, stderr }) => ({ status: 0, output: stdout + stderr }),
      (err: { code?: unknown; stdout?: string; stderr?: string }) => ({ status: err.code, output: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
    );
    expect(tsc.output).toBe('');
    expect(tsc.status).toBe(0);
  }, 300_000);
});
