/** The `s3jobs` entry run in-process with captured output: help, dispatch and commands that need no Redis. */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PRODUCER_COMMANDS, type CliIo } from '../../../producers/cli/index.js';

// `bin/s3jobs.js` is the executable shim (it runs the CLI on import), so the TypeScript entry is
// imported by its real name; the type comes from the same file.
const entry = '../../../bin/s3jobs.ts';
const { main, splitCommand } = (await import(entry)) as typeof import('../../../bin/s3jobs.js');

function capture(env: Record<string, string | undefined> = {}): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    env,
    stdout(text: string) {
      io.out += text;
    },
    stderr(text: string) {
      io.err += text;
    },
  };
  return io;
}

describe('splitCommand', () => {
  it.each([
    [['copy', 'a/b', 'c/d'], 'copy', ['a/b', 'c/d']],
    [['--queue', 'q', 'status', 'id'], 'status', ['--queue', 'q', 'id']],
    [['--json', '--redis-url', 'redis://h', 'queue'], 'queue', ['--json', '--redis-url', 'redis://h']],
    [['--queue=q', 'dlq', 'list'], 'dlq', ['--queue=q', 'list']],
    [['--help'], undefined, ['--help']],
    [[], undefined, []],
  ])('%j → %s', (argv, command, rest) => {
    expect(splitCommand(argv)).toEqual({ command, rest });
  });
});

describe('s3jobs (in-process)', () => {
  it('--help lists every command, the env vars and the exit codes', async () => {
    const io = capture();
    expect(await main(['--help'], io)).toBe(0);
    for (const name of [...Object.keys(PRODUCER_COMMANDS), 'worker', 'dashboard']) expect(io.out).toContain(name);
    expect(io.out).toContain('REDIS_URL');
    expect(io.out).toMatch(/124\s+--wait timed out/);
    expect(io.out).toMatch(/3\s+Redis unreachable/);
  });

  it.each(Object.keys(PRODUCER_COMMANDS))('%s --help has usage, an example, flags and exit codes', async (name) => {
    const io = capture();
    expect(await main([name, '--help'], io)).toBe(0);
    expect(io.out).toMatch(new RegExp(`^Usage: s3jobs ${name}`));
    expect(io.out).toMatch(/Examples:\n  s3jobs /);
    expect(io.out).toContain('--redis-url');
    expect(io.out).toContain('Exit codes:');
    expect(io.err).toBe('');
  });

  it('help <command> prints that command\'s help', async () => {
    const io = capture();
    expect(await main(['help', 'dlq'], io)).toBe(0);
    expect(io.out).toMatch(/^Usage: s3jobs dlq list/);
  });

  it('no command, or an unknown one, is a usage error listing the commands', async () => {
    let io = capture();
    expect(await main([], io)).toBe(2);
    expect(io.err).toMatch(/a command is missing; commands: copy, .*worker/);
    io = capture();
    expect(await main(['cp', 'a/b', 'c/d'], io)).toBe(2);
    expect(io.err).toMatch(/^s3jobs: unknown command "cp"; commands: copy/);
  });

  it('a validation error is one line on stderr naming the flag, exit 2, no stack', async () => {
    const io = capture();
    expect(await main(['copy', 'src-b/k', 'dst-b/k', '--acl', 'private', '--priority', 'urgent'], io)).toBe(2);
    expect(io.err).toBe('s3jobs copy: --priority: "urgent" is not allowed; give an integer from 1 to 2097152\n');
    expect(io.out).toBe('');
  });

  it('S3JOBS_DEBUG=1 adds the stack', async () => {
    const io = capture({ S3JOBS_DEBUG: '1' });
    expect(await main(['copy', 'src-b/k', 'dst-b/k', '--acl', 'private', '--priority', 'urgent'], io)).toBe(2);
    expect(io.err.split('\n').length).toBeGreaterThan(3);
    expect(io.err).toMatch(/\n\s*UsageError: |at /);
  });

  it('config check prints the effective config with secrets masked', async () => {
    const io = capture({ S3JOBS_PROFILE_PROD_ACCESS_KEY: 'AKIDPROD', S3JOBS_PROFILE_PROD_SECRET_KEY: 'very-secret-value', REDIS_URL: 'redis://user:hunter2@127.0.0.1:6379' });
    expect(await main(['config', 'check', '--json'], io)).toBe(0);
    expect(io.out).not.toContain('very-secret-value');
    expect(io.out).not.toContain('hunter2');
    const doc = JSON.parse(io.out) as { valid: boolean; config: { profiles: Record<string, { accessKey: string; secretKey: string }>; redisUrl: string } };
    expect(doc.valid).toBe(true);
    expect(doc.config.profiles.prod).toMatchObject({ accessKey: 'AKIDPROD', secretKey: '****' });
    expect(doc.config.redisUrl).toBe('redis://user:****@127.0.0.1:6379');
  });

  it('config check names an invalid setting, exit 2', async () => {
    let io = capture({ S3JOBS_CONCURRENCY: '0' });
    expect(await main(['config', 'check'], io)).toBe(2);
    expect(io.err).toMatch(/^s3jobs config: invalid configuration: worker\.concurrency: /);
    io = capture();
    expect(await main(['config', 'check', '--queue', 'no:colons'], io)).toBe(2);
    expect(io.err).toMatch(/^s3jobs config: --queue: must be 1-64 letters/);
  });

  it('dashboard is handed to the dashboard command', async () => {
    const io = capture();
    expect(await main(['dashboard', '--help'], io)).toBe(0);
    expect(io.out).toMatch(/^Usage: s3jobs dashboard/);
  });

  it('worker is handed to the worker side with the same streams (or says it is missing)', async () => {
    const io = capture();
    const code = await main(['worker', '--help'], io);
    if (existsSync(new URL('../../../workers/cli.ts', import.meta.url))) {
      expect(code).toBe(0);
      expect(io.out).toMatch(/worker/);
    } else {
      expect(code).toBe(1);
      expect(io.err).toMatch(/^s3jobs worker: the worker side \(workers\/cli.ts\) is not part of this installation/);
    }
  });
});
