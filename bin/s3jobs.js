#!/usr/bin/env node
// The `s3jobs` executable. In the repository (bin/s3jobs.ts present) it runs the TypeScript entry
// through tsx's loader, so the command works straight from `npm ci` without a build step and never
// runs a stale build. In an installed package (only dist/ shipped) it runs the compiled entry.
import { existsSync } from 'node:fs';

const source = new URL('./s3jobs.ts', import.meta.url);
let main;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(source.href));
} else {
  ({ main } = await import(new URL('../dist/bin/s3jobs.js', import.meta.url).href));
}
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything is closed by now; this only guards against a stray handle keeping a script waiting.
setTimeout(() => process.exit(code), 2_000).unref();
