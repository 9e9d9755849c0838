#!/usr/bin/env node
// The `s3jobs` executable: runs the TypeScript entry (bin/s3jobs.ts) through tsx's loader, so the
// command works straight from `npm ci` without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./s3jobs.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything is closed by now; this only guards against a stray handle keeping a script waiting.
setTimeout(() => process.exit(code), 2_000).unref();
