/**
 * s3jobs as a library and as an image: the `exports` map points at what `npm run build` emits,
 * each entry imports by name with its types, and everything the build compiles imports only
 * production dependencies (the image installs nothing else).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readRepoFile, REPO } from './deploy-files.js';

interface PackageJson {
  name: string;
  version: string;
  type: string;
  exports: Record<string, string | { types: string; default: string }>;
  files?: string[];
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const pkg = JSON.parse(readRepoFile('package.json')) as PackageJson;
const buildConfig = JSON.parse(readRepoFile('tsconfig.build.json')) as { include: string[] };
const outDir = (JSON.parse(readRepoFile('tsconfig.json')) as { compilerOptions: { outDir: string } }).compilerOptions.outDir;

/** The library's entries (without ./package.json). */
const entries = Object.entries(pkg.exports).filter(([, target]) => typeof target !== 'string') as [string, { types: string; default: string }][];

/** `./dist/a/b.js` → `a/b.ts` (the source tsc compiles to it). */
function sourceOf(target: string): string {
  const m = new RegExp(`^\\./${outDir}/(.+)\\.(?:d\\.ts|js)$`).exec(target);
  if (m === null) throw new Error(`${target} is not under ./${outDir}/`);
  return `${m[1]}.ts`;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(REPO, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Module specifiers a file imports at run time (type-only imports and exports are erased by tsc). */
function runtimeImports(source: string): string[] {
  const specifiers: string[] = [];
  const statement = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/g;
  for (const m of source.matchAll(statement)) {
    if (m[2] !== undefined) continue;
    const braces = /^\{([^}]*)\}$/.exec(m[3]!.trim());
    const names = braces?.[1]?.split(',').map((n) => n.trim()).filter((n) => n !== '');
    if (names !== undefined && names.length > 0 && names.every((n) => n.startsWith('type '))) continue;
    specifiers.push(m[4]!);
  }
  for (const m of source.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) specifiers.push(m[1]!);
  for (const m of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) specifiers.push(m[1]!);
  return specifiers;
}

function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

describe('runtimeImports (the test helper)', () => {
  it.each([
    ["import { a } from 'x';", ['x']],
    ["import type { A } from 'x';", []],
    ["import { type A, type B } from 'x';", []],
    ["import { type A, b } from 'x';", ['x']],
    ["export { a } from './a.js';", ['./a.js']],
    ["export type { A } from 'x';", []],
    ["import 'side-effect';", ['side-effect']],
    ["const m = await import('lazy');", ['lazy']],
    ["import * as ns from '@scope/pkg/sub';", ['@scope/pkg/sub']],
  ])('%s → %j', (source, expected) => {
    expect(runtimeImports(source)).toEqual(expected);
  });
});

describe('package.json', () => {
  it('exports the core, the producer API, the worker API and the dashboard, each with types', () => {
    expect(Object.keys(pkg.exports)).toEqual(expect.arrayContaining(['.', './producers', './workers', './dashboard']));
    expect(pkg.type).toBe('module');
    for (const [name, target] of entries) {
      expect(Object.keys(target), name).toEqual(['types', 'default']); // "types" must come first
      expect(sourceOf(target.types), name).toBe(sourceOf(target.default));
      expect(target.types, name).toMatch(/\.d\.ts$/);
    }
    expect(pkg.files).toContain(outDir);
  });

  it('points every export at a source file the build compiles', () => {
    for (const [name, target] of entries) {
      const source = sourceOf(target.default);
      expect(existsSync(join(REPO, source)), `${name} → ${source}`).toBe(true);
      expect(buildConfig.include.some((dir) => source.startsWith(`${dir}/`)), `${source} is in tsconfig.build.json's include`).toBe(true);
    }
    const sources = Object.fromEntries(entries.map(([name, target]) => [name, sourceOf(target.default)]));
    expect(sources).toMatchObject({ '.': 'shared/index.ts', './producers': 'producers/index.ts', './workers': 'workers/index.ts', './dashboard': 'producers/dashboard/index.ts' });
  });

  it('needs only production dependencies for everything the build compiles', () => {
    const missing: string[] = [];
    for (const dir of buildConfig.include) {
      if (!existsSync(join(REPO, dir))) continue;
      for (const file of sourceFiles(dir)) {
        for (const specifier of runtimeImports(readFileSync(join(REPO, file), 'utf8'))) {
          const name = packageOf(specifier);
          if (name !== undefined && !Object.hasOwn(pkg.dependencies, name)) missing.push(`${file} imports ${specifier}${Object.hasOwn(pkg.devDependencies, name) ? ' (a devDependency)' : ''}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('npm run build', () => {
  const work = mkdtempSync(join(tmpdir(), 's3jobs-build-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('compiles, and each export imports by its name with types a consumer can use', () => {
    const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
    // The package as installed elsewhere: its package.json, the build in dist/, the dependencies.
    writeFileSync(join(work, 'package.json'), JSON.stringify(pkg));
    symlinkSync(join(REPO, 'node_modules'), join(work, 'node_modules'), 'dir');
    const build = spawnSync(process.execPath, [tsc, '-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(work, outDir), '--sourceMap', 'false'], { encoding: 'utf8' });
    expect(build.stdout + build.stderr, 'tsc -p tsconfig.build.json').toBe('');
    expect(build.status).toBe(0);
    for (const [name, target] of entries) {
      expect(existsSync(join(work, target.types)), `${name} types`).toBe(true);
      expect(existsSync(join(work, target.default)), `${name} code`).toBe(true);
    }

    // Run time: a self-reference import ("s3jobs/…") resolves through the exports map.
    const names = entries.map(([name]) => (name === '.' ? pkg.name : `${pkg.name}/${name.slice(2)}`));
    const script = `const out = {}; for (const n of ${JSON.stringify(names)}) out[n] = Object.keys(await import(n)).length; console.log(JSON.stringify(out));`;
    const loaded = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: work, encoding: 'utf8' })) as Record<string, number>;
    for (const n of names) expect(loaded[n], n).toBeGreaterThan(0);

    // The image's layout (Dockerfile): the bin shim without bin/s3jobs.ts beside it runs the compiled CLI.
    mkdirSync(join(work, 'bin'));
    copyFileSync(join(REPO, 'bin/s3jobs.js'), join(work, 'bin/s3jobs.js'));
    const version = spawnSync(process.execPath, ['bin/s3jobs.js', '--version'], { cwd: work, encoding: 'utf8' });
    expect(version.stdout, version.stderr).toBe(`s3jobs ${pkg.version}\n`);
    for (const command of ['worker', 'dashboard', 'queue']) {
      const help = spawnSync(process.execPath, ['bin/s3jobs.js', command, '--help'], { cwd: work, encoding: 'utf8' });
      expect(help.status, `s3jobs ${command} --help: ${help.stderr}`).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^Usage: s3jobs ${command}`));
    }

    // Types: a consumer compiled with NodeNext resolution sees the exported API.
    writeFileSync(
      join(work, 'consumer.ts'),
      `import { S3Bucket, loadConfig } from '${pkg.name}';
import { S3JobsProducer, DeadLetters } from '${pkg.name}/producers';
import { startWorker } from '${pkg.name}/workers';
import { startDashboard } from '${pkg.name}/dashboard';
export const used = [S3Bucket, loadConfig, S3JobsProducer, DeadLetters, startWorker, startDashboard] as const;
export const url: Promise<string> = startDashboard({ config: loadConfig({}), port: 0 }).then((d) => d.url);
`,
    );
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(REPO, 'node_modules/@types')] }, files: ['consumer.ts'] }),
    );
    const consumer = spawnSync(process.execPath, [tsc, '-p', join(work, 'tsconfig.json')], { cwd: work, encoding: 'utf8' });
    expect(consumer.stdout + consumer.stderr, 'consumer type check').toBe('');
    expect(consumer.status).toBe(0);
  }, 180_000);
});
