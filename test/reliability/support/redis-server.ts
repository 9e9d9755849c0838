/**
 * A private redis-server for the tests that crash or wipe Redis. The shared Redis on 6379 serves
 * every other test and engineer on the machine: it is never restarted. This one listens on a free
 * loopback port, keeps its files in a fresh temp directory, and is killed by `stop()`.
 *
 *   const redis = await startRedisServer({ persistence: 'aof' });
 *   await redis.crash();      // SIGKILL, like a machine losing the process
 *   await redis.start();      // same port, same directory: the AOF is replayed
 *   await redis.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface RedisServerOptions {
  /**
   * `aof`: appendonly yes, appendfsync everysec (what docker-compose.yml deploys) — every write
   * acknowledged to a client is in the AOF file before the reply, so a killed process loses nothing.
   * `none`: no AOF, no RDB snapshots — a restart starts empty.
   */
  persistence: 'aof' | 'none';
  /** Extra `--name value` arguments. */
  args?: string[];
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly directory: string;
  /** Starts the server (again) on the same port and directory; resolves once it answers PING. */
  start(): Promise<void>;
  /** SIGKILL, then waits for the exit. */
  crash(): Promise<void>;
  /** Keys in db 0 (DBSIZE). */
  dbsize(): Promise<number>;
  /** Kills the server and removes its directory. */
  stop(): Promise<void>;
}

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startRedisServer(options: RedisServerOptions): Promise<RedisServer> {
  const directory = await mkdtemp(join(tmpdir(), 's3jobs-rel-redis-'));
  const port = await freePort();
  const persistence =
    options.persistence === 'aof' ? ['--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''] : ['--appendonly', 'no', '--save', ''];
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', directory, '--maxmemory-policy', 'noeviction', '--protected-mode', 'yes', ...persistence, ...(options.args ?? [])];
  let child: ChildProcess | undefined;
  let output = '';

  const ping = async (): Promise<boolean> => {
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    client.on('error', () => undefined);
    try {
      await client.connect();
      // LOADING while the AOF replays: not ready yet.
      return (await client.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  };

  const start = async (): Promise<void> => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) throw new Error('redis-server already running');
    output = '';
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    proc.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    child = proc;
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited at start (code ${proc.exitCode}):\n${output}`);
      if (await ping()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    proc.kill('SIGKILL');
    throw new Error(`redis-server on port ${port} did not answer within 15 s:\n${output}`);
  };

  const crash = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGKILL');
    await exited;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    directory,
    start,
    crash,
    async dbsize() {
      const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
      try {
        return await client.dbsize();
      } finally {
        client.disconnect();
      }
    },
    async stop() {
      await crash();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
