/**
 * Transpiles the TypeScript a benchmark child needs into plain ES modules under
 * `bench/results/.build/`, so children run on bare `node` like production code, and like the peers,
 * which ship JavaScript. Running them through the `tsx` loader instead would charge our side alone
 * for transforming its sources at start-up (esbuild output and the loader thread's caches in its
 * RSS) and leave source-map handling on for every stack trace.
 *
 * `ts.transpileModule` per file: no type check (that is `npm run typecheck`'s job), a few ms per
 * file. Imports already end in `.js` (NodeNext), so the mirrored tree runs as it is, and
 * `node_modules` is found by walking up from inside the repository.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { REPO_DIR, RESULTS_DIR } from './harness.js';

export const BUILD_DIR = join(RESULTS_DIR, '.build');

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'results' && entry.name !== 'node_modules' && !entry.name.startsWith('.')) out.push(...(await tsFiles(path)));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !entry.name.startsWith('.')) out.push(path);
  }
  return out;
}

/** Transpiles `shared/` and `bench/`; returns the path of the build's root (mirrors the repository). */
export async function compileForNode(): Promise<string> {
  const files = [...(await tsFiles(join(REPO_DIR, 'shared'))), ...(await tsFiles(join(REPO_DIR, 'bench')))];
  for (const file of files) {
    const source = await readFile(file, 'utf8');
    const { outputText } = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, esModuleInterop: true, sourceMap: false },
    });
    const target = join(BUILD_DIR, relative(REPO_DIR, file)).replace(/\.ts$/, '.js');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, outputText);
  }
  return BUILD_DIR;
}
