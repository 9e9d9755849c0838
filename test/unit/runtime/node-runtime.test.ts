/**
 * What s3jobs relies on from the Node runtime, checked on whichever Node runs the suite (CI runs it
 * on the machine's Node and on Node 24 and 22: .ci/stages/node24.sh). Where Node versions differ —
 * AbortSignal.timeout/any, the undici inside Node (global fetch) vs the `undici` dependency — the
 * behaviour the code depends on is pinned here. How the S3 client's requests end on a timeout or a
 * caller's abort through undici (a stalling loopback server) is test/integration/s3/timeout.test.ts,
 * which the Node 24 stage runs too.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Agent, errors as undiciErrors } from 'undici';
import { describe, expect, it } from 'vitest';
import { REPO } from '../support/import-graph.js';

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string }; dependencies: Record<string, string> };
const major = Number(process.versions.node.split('.')[0]);

describe(`the Node runtime (${process.version}, bundled undici ${process.versions.undici ?? 'unknown'})`, () => {
  it('is the Node the CI stage asked for (CI_EXPECT_NODE_MAJOR), so a stage cannot silently run the machine Node', () => {
    const expected = process.env.CI_EXPECT_NODE_MAJOR;
    if (expected === undefined) {
      expect(major).toBeGreaterThanOrEqual(20);
      return;
    }
    expect(`${major}`).toBe(expected);
    expect(process.execPath).not.toBe('/usr/bin/node');
  });

  it('AbortSignal.timeout aborts later with a TimeoutError, which request.ts tells from a caller abort', async () => {
    const signal = AbortSignal.timeout(20);
    expect(signal.aborted).toBe(false);
    const reason = await new Promise<unknown>((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));
    expect(reason).toBeInstanceOf(DOMException);
    expect((reason as DOMException).name).toBe('TimeoutError');
  });

  it('AbortSignal.any follows its first source to abort, with that reason, and is aborted at once if a source already is', async () => {
    const caller = new AbortController();
    const timeout = AbortSignal.timeout(60_000);
    const both = AbortSignal.any([timeout, caller.signal]);
    expect(both.aborted).toBe(false);
    const cause = new Error('shutdown');
    caller.abort(cause);
    expect(both.aborted).toBe(true);
    expect(both.reason).toBe(cause);
    expect(timeout.aborted).toBe(false);

    const early = AbortSignal.any([AbortSignal.abort(new Error('already')), timeout]);
    expect(early.aborted).toBe(true);
    expect((early.reason as Error).message).toBe('already');

    const composedTimeout = AbortSignal.any([AbortSignal.timeout(10), new AbortController().signal]);
    await new Promise((resolve) => composedTimeout.addEventListener('abort', resolve, { once: true }));
    expect((composedTimeout.reason as DOMException).name).toBe('TimeoutError');
  });

  it('the `undici` the S3 client imports is the pinned dependency, not the copy inside Node', () => {
    const require = createRequire(join(REPO, 'package.json'));
    const installed = JSON.parse(readFileSync(require.resolve('undici/package.json'), 'utf8')) as { version: string };
    expect(installed.version).toBe(pkg.dependencies.undici);
    // Node's own undici (behind global fetch) is another copy whose version follows Node's.
    expect(typeof Agent).toBe('function');
    expect(typeof undiciErrors.RequestAbortedError).toBe('function');
  });

  it('the product never calls the global fetch (its undici is Node\'s, a different version per Node line)', () => {
    const offenders: string[] = [];
    const visit = (dir: string): void => {
      for (const entry of readdirSync(join(REPO, dir), { withFileTypes: true })) {
        const path = `${dir}/${entry.name}`;
        if (entry.isDirectory()) visit(path);
        else if (entry.name.endsWith('.ts') && /(?<![.\w])fetch\(/.test(readFileSync(join(REPO, path), 'utf8'))) offenders.push(path);
      }
    };
    for (const dir of ['shared', 'producers', 'workers', 'bin']) visit(dir);
    expect(offenders).toEqual([]);
  });
});
