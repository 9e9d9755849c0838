/**
 * The CLI loads only what a sub-command needs: the dispatcher and `--help` no package at all,
 * enqueue commands the queue (bullmq, ioredis) and validation (zod) but no S3 client, logger or
 * web server. Start-up times are measured in BENCHMARKS.md ("CLI start-up"), not asserted here.
 */
import { describe, expect, it } from 'vitest';
import { PRODUCER_COMMANDS } from '../../../producers/cli/index.js';
import { staticGraph, staticImports } from '../support/import-graph.js';

describe('staticImports (the test helper)', () => {
  it.each([
    ["import { a } from 'x';", ['x']],
    ["import type { A } from 'x';", []],
    ["import { type A, type B } from 'x';", []],
    ["export { a } from './a.js';", ['./a.js']],
    ["export type { A } from './a.js';", []],
    ["import 'side-effect';", ['side-effect']],
    ["const m = await import('lazy');", []],
  ])('%s → %j', (source, expected) => {
    expect(staticImports(source)).toEqual(expected);
  });
});

describe('CLI start-up', () => {
  it('the dispatcher (and so --help, --version, help) loads no package and no command', () => {
    const graph = staticGraph('bin/s3jobs.ts');
    expect(graph.packages).toEqual([]);
    expect(graph.files.filter((f) => /producers\/cli\/(copy|context|enqueue|args|runs|migrate|dlq|schedule)\.ts$/.test(f))).toEqual([]);
  });

  it.each(['copy', 'rewrite-metadata', 'bucket', 'status', 'queue', 'config'])('%s loads no S3 client, logger or web server', async (name) => {
    const command = await PRODUCER_COMMANDS[name]!();
    const file = `producers/cli/${{ queue: 'status', 'rewrite-metadata': 'rewrite-metadata' }[name] ?? name}.ts`;
    expect(command.name).toBe(name);
    const graph = staticGraph(file);
    expect(graph.packages.filter((p) => !['bullmq', 'ioredis', 'zod'].includes(p))).toEqual([]);
    // The S3 client: requests, signing, XML (undici and fast-xml-parser behind them).
    expect(graph.files.filter((f) => /^shared\/s3\/(index|bucket|request|xml|signer\/.*)\.ts$/.test(f))).toEqual([]);
  });

  it('every entry of the command table loads the command of that name, with its help', async () => {
    for (const [name, load] of Object.entries(PRODUCER_COMMANDS)) {
      const command = await load();
      expect(command.name, name).toBe(name);
      expect(command.help, name).toMatch(new RegExp(`^Usage: s3jobs ${name}`));
    }
  });
});
