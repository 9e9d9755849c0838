#!/usr/bin/env node
// The `s3jobs` executable. In an installed package (only dist/ shipped) it runs the compiled entry.
// In the repository (bin/s3jobs.ts present) it runs the compiled entry too when dist/ is fresh
// (built after every source file was last changed: `npm run build`), else the TypeScript entry
// through tsx's loader, so the command works straight from `npm ci` and never runs a stale build.
// tsx costs about 1 s of CPU per call (BENCHMARKS.md "CLI start-up").
import { existsSync, readdirSync, statSync } from 'node:fs';
import module from 'node:module';

// Node >= 22.1 caches compiled code on disk (in the OS temp folder): about a quarter less start-up.
module.enableCompileCache?.();

const source = new URL('./s3jobs.ts', import.meta.url);
const compiled = new URL('../dist/bin/s3jobs.js', import.meta.url);

/** Newest modification time (ms) of the .ts files and the build settings the compiled entry comes from. */
function newestSource(root) {
  let newest = 0;
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = new URL(entry.name + (entry.isDirectory() ? '/' : ''), dir);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of ['shared/', 'producers/', 'workers/', 'bin/']) visit(new URL(dir, root));
  for (const file of ['tsconfig.json', 'tsconfig.build.json', 'package.json']) newest = Math.max(newest, statSync(new URL(file, root)).mtimeMs);
  return newest;
}

function distIsFresh() {
  try {
    return statSync(compiled).mtimeMs > newestSource(new URL('../', import.meta.url));
  } catch {
    return false; // no build, or a folder missing: run the sources
  }
}

let main;
if (existsSync(source) && !distIsFresh()) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(source.href));
} else {
  ({ main } = await import(compiled.href));
}
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything is closed by now; this only guards against a stray handle keeping a script waiting.
setTimeout(() => process.exit(code), 2_000).unref();
