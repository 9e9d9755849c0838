/**
 * A private `redis-server` on a spare loopback port, for benchmarks whose figures read
 * `INFO memory` / `INFO commandstats`: on the shared 6379 instance other people's keys would be
 * counted too. Started with the settings a large run should use (see BENCHMARKS.md, scale):
 * `maxmemory-policy noeviction`; persistence as asked (default off, so a benchmark measures the
 * queue and not the disk); `hash-max-listpack-value` as asked (Redis' default is 64).
 *
 * Temp directory, killed on `stop()` and when this process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface PrivateRedisOptions {
  /** `hash-max-listpack-value`; Redis' default is 64. */
  hashMaxListpackValue?: number;
  /** `appendonly yes` with `appendfsync everysec` (and no RDB snapshots). Default false: no persistence. */
  appendOnly?: boolean;
}

export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** A new connection (BullMQ-ready: `maxRetriesPerRequest: null`); the caller quits it. */
  connect(): Redis;
  /** `INFO <section>` as numbers where they parse. */
  info(section: string): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 's3jobs-bench-redis-'));
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', options.appendOnly === true ? 'yes' : 'no', '--appendfsync', 'everysec',
    '--maxmemory-policy', 'noeviction',
    '--hash-max-listpack-value', String(options.hashMaxListpackValue ?? 64),
    '--daemonize', 'no', '--logfile', '',
  ];
  const child: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const kill = (): void => void child.kill('SIGKILL');
  process.once('exit', kill);
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined); // connection refused until the server listens; retried below
  for (let i = 0; ; i++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const info = async (section: string): Promise<Record<string, string>> => {
    const text = await probe.info(section);
    const out: Record<string, string> = {};
    for (const line of text.split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
    }
    return out;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    connect: () => new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null }),
    info,
    async stop() {
      probe.disconnect();
      process.removeListener('exit', kill);
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
