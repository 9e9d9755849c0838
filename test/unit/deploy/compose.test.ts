/**
 * docker-compose.yml, the Dockerfile and .dockerignore cannot be run on these machines (no Docker
 * engine), so they are checked against the code instead: every variable an s3jobs service sets
 * is one s3jobs reads and yields a valid config, every command is a real `s3jobs` sub-command,
 * Redis cannot evict or forget jobs, and the image is built the way the package builds.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildConfig, isKnownEnvVar } from '../../../shared/config/index.js';
import { parseDashboardArgs } from '../../../producers/dashboard/command.js';
import {
  argvOf,
  dockerignorePatterns,
  durationMs,
  environmentOf,
  execForm,
  interpolate,
  isDockerIgnored,
  loadCompose,
  parseDockerfile,
  readRepoFile,
  REPO,
  type ComposeFile,
  type ComposeService,
} from './deploy-files.js';

/** What an operator must export before `docker compose up` (the file refuses to start without them). */
const OPERATOR_ENV = { MINIO_ROOT_PASSWORD: 'minio-secret-1234', S3JOBS_DASHBOARD_PASSWORD: 'dashboard-secret' };

const composeText = readRepoFile('docker-compose.yml');
const compose: ComposeFile = loadCompose(composeText, OPERATOR_ENV);
const services = Object.entries(compose.services);

/** Services that run our image (and so the `s3jobs` command). */
const S3JOBS_IMAGE = 's3jobs:local';
const s3jobsServices = services.filter(([, s]) => s.image === S3JOBS_IMAGE || s.build !== undefined);

function service(name: string): ComposeService {
  const s = compose.services[name];
  if (s === undefined) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
}

type Main = (argv: readonly string[], io: { stdout(t: string): void; stderr(t: string): void; env: Record<string, string | undefined> }) => Promise<number>;

/** The real dispatcher (bin/s3jobs.ts; not bin/s3jobs.js, which runs it at import). */
async function s3jobsMain(): Promise<Main> {
  const mod = (await import(new URL('../../../bin/s3jobs.ts', import.meta.url).href)) as { main: Main };
  return mod.main;
}

describe('compose variable interpolation (the test helper)', () => {
  it.each([
    ['${A}', { A: 'x' }, 'x'],
    ['${A:-d}', {}, 'd'],
    ['${A:-d}', { A: '' }, 'd'],
    ['${A-d}', { A: '' }, ''],
    ['${A:?need A}', { A: 'y' }, 'y'],
    ['$${A}', { A: 'x' }, '${A}'],
    ['http://${U:-u}:${P}@h', { P: 'p' }, 'http://u:p@h'],
    ['${A:+set}', { A: '1' }, 'set'],
  ])('%s with %j → %s', (text, env, expected) => {
    expect(interpolate(text, env)).toBe(expected);
  });

  it('refuses a missing required variable, as docker compose does', () => {
    expect(() => interpolate('${A:?set A}', {})).toThrow(/required variable A is missing a value: set A/);
  });
});

describe('docker-compose.yml', () => {
  it('refuses to start without the operator secrets (no default passwords)', () => {
    for (const name of Object.keys(OPERATOR_ENV)) {
      const env: Record<string, string> = { ...OPERATOR_ENV };
      delete env[name];
      expect(() => loadCompose(composeText, env), name).toThrow(new RegExp(`required variable ${name}`));
    }
  });

  it('runs redis, minio, workers and the dashboard, the last two from our image', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['redis', 'minio', 'worker', 'dashboard']));
    expect(s3jobsServices.map(([name]) => name)).toEqual(expect.arrayContaining(['worker', 'dashboard']));
    for (const [name, s] of s3jobsServices) {
      expect(s.image, name).toBe(S3JOBS_IMAGE);
      const build = typeof s.build === 'string' ? { context: s.build } : s.build;
      expect(build?.context, name).toBe('.');
      expect(build?.dockerfile ?? 'Dockerfile', name).toBe('Dockerfile');
    }
    expect(service('worker').deploy?.replicas).toBeGreaterThanOrEqual(2);
  });

  it('sets only variables s3jobs reads, for every s3jobs service', () => {
    for (const [name, s] of s3jobsServices) {
      const unknown = Object.keys(environmentOf(s)).filter((v) => !isKnownEnvVar(v));
      expect(unknown, `service ${name} sets variables s3jobs never reads`).toEqual([]);
    }
  });

  it('has no S3JOBS_* variable s3jobs does not know, in any service (typos)', () => {
    for (const [name, s] of services) {
      const typos = Object.keys(environmentOf(s)).filter((v) => v.startsWith('S3JOBS_') && !isKnownEnvVar(v));
      expect(typos, `service ${name}`).toEqual([]);
    }
  });

  it("gives every s3jobs service an environment that is a valid config, pointing at compose's own redis", () => {
    for (const [name, s] of s3jobsServices) {
      const config = buildConfig({ env: environmentOf(s) });
      const redis = new URL(config.redisUrl);
      expect(redis.hostname, name).toBe('redis');
      expect(compose.services[redis.hostname], `${name}: REDIS_URL names a service`).toBeDefined();
      expect(config.prefix, name).toMatch(/^\{.+\}$/);
      expect(config.queue, name).toBe('s3jobs');
    }
  });

  it('puts workers and dashboard on the same queue and prefix', () => {
    const configs = s3jobsServices.map(([, s]) => buildConfig({ env: environmentOf(s) }));
    expect(new Set(configs.map((c) => `${c.redisUrl} ${c.prefix} ${c.queue}`)).size).toBe(1);
  });

  it('gives the workers a "minio" profile that reaches the minio service with its root credentials', () => {
    const worker = buildConfig({ env: environmentOf(service('worker')) });
    const profile = worker.profiles.minio;
    expect(profile).toBeDefined();
    const endpoint = new URL(profile!.endpoint!);
    expect(endpoint.hostname).toBe('minio');
    expect(endpoint.port).toBe('9000');
    expect(argvOf(service('minio').command)).toEqual(expect.arrayContaining(['server']));
    expect(profile!.forcePathStyle).toBe(true);
    const minioEnv = environmentOf(service('minio'));
    expect(profile!.accessKey).toBe(minioEnv.MINIO_ROOT_USER);
    expect(profile!.secretKey).toBe(minioEnv.MINIO_ROOT_PASSWORD);
  });

  it('creates the demo bucket with a one-shot init the workers wait for', () => {
    const init = service('minio-init');
    expect(argvOf(init.entrypoint)).toEqual(['mc', 'mb', '--ignore-existing', 'local/s3jobs-demo']);
    expect(new URL(environmentOf(init).MC_HOST_local!).host).toBe('minio:9000');
    expect(service('worker').depends_on).toMatchObject({ 'minio-init': { condition: 'service_completed_successfully' } });
  });

  it('runs only real s3jobs sub-commands (each answers --help with exit 0)', async () => {
    const main = await s3jobsMain();
    for (const [name, s] of s3jobsServices) {
      const argv = argvOf(s.command);
      expect(argv.length, `${name} has a command`).toBeGreaterThan(0);
      let out = '';
      let err = '';
      const code = await main([argv[0]!, '--help'], { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env: {} });
      expect(code, `service ${name}: s3jobs ${argv[0]} --help → ${err.trim()}`).toBe(0);
      expect(out + err, name).toMatch(/Usage: s3jobs/);
    }
  });

  it("starts the dashboard with flags and environment its parser accepts (auth, so it may bind 0.0.0.0)", () => {
    const dashboard = service('dashboard');
    const [command, ...args] = argvOf(dashboard.command);
    expect(command).toBe('dashboard');
    const parsed = parseDashboardArgs(args, environmentOf(dashboard));
    if (parsed.help) throw new Error('the dashboard service asks for help');
    expect(parsed.host).toBe('0.0.0.0');
    expect(parsed.auth?.basic?.user).toBe('admin');
    expect(parsed.auth?.basic?.password).toBe(OPERATOR_ENV.S3JOBS_DASHBOARD_PASSWORD);
    // Published on the host's loopback only, to the port the dashboard listens on.
    expect(dashboard.ports).toEqual([`127.0.0.1:${parsed.port}:${parsed.port}`]);
    // Without the password the dashboard would refuse to start (exit 2), not serve the queues openly.
    const { S3JOBS_DASHBOARD_PASSWORD: _p, S3JOBS_DASHBOARD_USER: _u, ...noAuth } = environmentOf(dashboard);
    expect(() => parseDashboardArgs(args, noAuth)).toThrow(/reachable beyond this machine/);
    expect(JSON.stringify(dashboard.healthcheck?.test)).toContain(`127.0.0.1:${parsed.port}/healthz`);
  });

  it('gives workers more time to stop than their shutdown grace (no SIGKILL mid-requeue)', () => {
    const worker = service('worker');
    const config = buildConfig({ env: environmentOf(worker) });
    expect(durationMs(worker.stop_grace_period ?? '10s')).toBeGreaterThan(config.worker.shutdownGraceMs);
  });

  it('configures Redis to never evict keys, to persist with AOF, and to keep job hashes compact', () => {
    const redis = service('redis');
    expect(redis.image).toMatch(/^redis:7(\.|-|$)/);
    const argv = argvOf(redis.command);
    const flag = (name: string) => {
      const i = argv.indexOf(`--${name}`);
      return i < 0 ? undefined : argv[i + 1];
    };
    expect(argv[0]).toBe('redis-server');
    expect(flag('maxmemory-policy')).toBe('noeviction');
    expect(flag('appendonly')).toBe('yes');
    expect(flag('hash-max-listpack-value')).toBe('1024');
    // …and that data lives on a named volume, so it survives the container.
    expect(redis.volumes).toContain('redis-data:/data');
    expect(compose.volumes).toHaveProperty('redis-data');
    // The comment explaining the listpack setting stays next to it.
    expect(composeText).toMatch(/#[^\n]*listpack[^\n]*\n(\s*#[^\n]*\n)*\s*- --hash-max-listpack-value/);
  });

  it('publishes ports on the host loopback only', () => {
    for (const [name, s] of services) {
      for (const port of s.ports ?? []) expect(typeof port === 'string' ? port : JSON.stringify(port), name).toMatch(/^127\.0\.0\.1:/);
    }
  });
});

describe('Dockerfile', () => {
  const stages = parseDockerfile(readRepoFile('Dockerfile'));
  const build = stages.find((s) => s.name === 'build');
  const final = stages[stages.length - 1]!;
  const runs = (stage: typeof final) => stage.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);

  it('is multi-stage on Node 24 (LTS), a line package.json engines accepts, compiling in a build stage with dev dependencies', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.from).toMatch(/^node:\$\{NODE_VERSION\}-bookworm-slim\b/);
    const major = /^ARG NODE_VERSION=(\d+)(?:\.\d+)*$/m.exec(readRepoFile('Dockerfile'))?.[1];
    expect(major).toBe('24');
    const engines = (JSON.parse(readRepoFile('package.json')) as { engines: { node: string } }).engines.node;
    expect(Number(/^>=(\d+)/.exec(engines)?.[1])).toBeLessThanOrEqual(Number(major));
    expect(build).toBeDefined();
    expect(runs(build!)).toEqual(expect.arrayContaining([expect.stringMatching(/^npm ci\b(?!.*--omit=dev)/), 'npm run build']));
    const pkg = JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json');
  });

  it('copies into the build stage everything tsconfig.build.json compiles', () => {
    const tsconfig = JSON.parse(readRepoFile('tsconfig.build.json')) as { include: string[] };
    const copied = build!.instructions.filter((i) => i.op === 'COPY').flatMap((i) => execForm(i.args).slice(0, -1));
    for (const dir of tsconfig.include) expect(copied, dir).toContain(dir);
    for (const file of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) expect(copied).toContain(file);
    for (const path of copied) expect(existsSync(`${REPO}${path}`), `${path} exists`).toBe(true);
  });

  it('installs production dependencies only in the final stage, and runs as a non-root user', () => {
    expect(runs(final)).toEqual(expect.arrayContaining([expect.stringMatching(/^npm ci\b.*--omit=dev/)]));
    const users = final.instructions.filter((i) => i.op === 'USER').map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    const user = users[users.length - 1]!;
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    // Nothing after USER switches back or installs as root.
    const afterUser = final.instructions.slice(final.instructions.findIndex((i) => i.op === 'USER' && i.args === user) + 1);
    expect(afterUser.filter((i) => i.op === 'RUN' || i.op === 'USER')).toEqual([]);
  });

  it('runs `node bin/s3jobs.js`: the shim alone, which then loads the compiled dispatcher, not tsx', () => {
    const entry = final.instructions.filter((i) => i.op === 'ENTRYPOINT').pop();
    expect(execForm(entry!.args)).toEqual(['node', 'bin/s3jobs.js']);
    const copies = final.instructions.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies).toContain('--from=build /app/dist ./dist');
    expect(copies).toContain('--from=build /app/bin/s3jobs.js ./bin/s3jobs.js');
    // bin/s3jobs.ts must not reach the image: beside it, the shim would load tsx (a dev dependency).
    expect(copies.filter((c) => /\bbin\b/.test(c) && !c.endsWith('./bin/s3jobs.js'))).toEqual([]);
    const shim = readRepoFile('bin/s3jobs.js');
    expect(shim).toContain("new URL('./s3jobs.ts', import.meta.url)");
    expect(shim).toContain("new URL('../dist/bin/s3jobs.js', import.meta.url)");
    // dist/bin/s3jobs.js is what tsc makes of bin/s3jobs.ts (package.test.ts runs the shim on a real build).
    const tsconfig = JSON.parse(readRepoFile('tsconfig.build.json')) as { include: string[]; compilerOptions: { rootDir: string } };
    const base = JSON.parse(readRepoFile('tsconfig.json')) as { compilerOptions: { outDir: string } };
    expect(tsconfig.include).toContain('bin');
    expect(tsconfig.compilerOptions.rootDir).toBe('.');
    expect(base.compilerOptions.outDir).toBe('dist');
  });

  it('exposes the port the compose dashboard listens on', () => {
    const exposed = final.instructions.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
    const args = argvOf(service('dashboard').command);
    expect(exposed).toContain(args[args.indexOf('--port') + 1]);
  });
});

describe('.dockerignore', () => {
  const patterns = dockerignorePatterns(readRepoFile('.dockerignore'));

  it('keeps out dependencies, build output, VCS data, tests and secrets', () => {
    for (const path of ['node_modules', 'node_modules/x/index.js', 'dist', '.git', 'test/unit/a.test.ts', '.env', '.env.local', 'test-results.json']) {
      expect(isDockerIgnored(patterns, path), path).toBe(true);
    }
  });

  it('keeps in everything the Dockerfile copies from the context', () => {
    const copied = parseDockerfile(readRepoFile('Dockerfile'))
      .flatMap((s) => s.instructions)
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => execForm(i.args).slice(0, -1));
    expect(copied.length).toBeGreaterThan(0);
    for (const path of copied) expect(isDockerIgnored(patterns, path), path).toBe(false);
  });
});
