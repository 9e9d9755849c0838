/**
 * A throwaway Redis Cluster for tests: N masters (default 3, no replicas) as `redis-server`
 * children on spare loopback ports, each in its own temp directory with persistence off, joined
 * with `redis-cli --cluster create`. The shared Redis on 6379 is never touched.
 *
 *   const cluster = await startRedisCluster();   // resolves once cluster_state:ok on every node
 *   cluster.url;                                 // redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3
 *   await cluster.stop();                        // kills the servers, removes the directories
 *
 * The servers never outlive the test process: an `exit` handler kills them, and a small watchdog
 * shell (for a test process that is SIGKILLed, which runs no handler) kills them and removes
 * their files once the test process is gone.
 *
 * When the machine cannot run a cluster (no redis-server, a server that will not start, no free
 * ports), `startRedisCluster` rejects with a `RedisClusterUnavailable` whose message says why, so
 * the test can skip saying so.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);

/** Redis Cluster's bus listens on the client port + 10000. */
const BUS_PORT_OFFSET = 10_000;
const HOST = '127.0.0.1';

export class RedisClusterUnavailable extends Error {
  override name = 'RedisClusterUnavailable';
}

export interface RedisClusterOptions {
  /** Masters (no replicas). Default 3, the fewest `redis-cli --cluster create` accepts. */
  masters?: number;
  /** Whole start-up budget. Default 30 s. */
  timeoutMs?: number;
  /** `redis-server` binary. Default from PATH. */
  redisServer?: string;
  /** `redis-cli` binary. Default from PATH. */
  redisCli?: string;
}

export interface RedisCluster {
  /** `redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,…`: the s3jobs URL of this cluster. */
  readonly url: string;
  readonly ports: readonly number[];
  /** A plain connection to one node (for CLUSTER / INFO commands); the caller quits it. */
  node(port: number): Redis;
  /** Which node serves `key` (CLUSTER KEYSLOT + CLUSTER SLOTS), as its port. */
  portOf(key: string): Promise<number>;
  /** Kills the servers and removes their directories. Idempotent. */
  stop(): Promise<void>;
}

/** Resolves with `port` if nothing listens on it on loopback, false otherwise. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/**
 * `count` ports from 20000-29999 whose cluster-bus ports (+10000) are free too. Random, so test
 * runs in parallel rarely collide; a collision makes a server fail to start, reported as such.
 */
async function sparePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let tries = 0; ports.length < count && tries < 200; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (ports.includes(port)) continue;
    if ((await portIsFree(port)) && (await portIsFree(port + BUS_PORT_OFFSET))) ports.push(port);
  }
  if (ports.length < count) throw new RedisClusterUnavailable(`found only ${ports.length} of ${count} free loopback port pairs (port and port+10000) in 20000-29999`);
  return ports;
}

function pingOnce(port: number): Promise<boolean> {
  const redis = new Redis({ host: HOST, port, lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  return redis
    .connect()
    .then(() => redis.ping())
    .then((answer) => answer === 'PONG')
    .catch(() => false)
    .finally(() => redis.disconnect());
}

async function until(what: string, deadline: number, check: () => Promise<boolean>, describe: () => string): Promise<void> {
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new RedisClusterUnavailable(`${what} did not happen in time; ${describe()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface ServerProcess {
  port: number;
  child: ChildProcess;
  output: string[];
  exited: Promise<void>;
  done: boolean;
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const redisServer = options.redisServer ?? 'redis-server';
  const redisCli = options.redisCli ?? 'redis-cli';
  if (masters < 3) throw new Error('redis-cli --cluster create needs at least 3 masters');

  const ports = await sparePorts(masters);
  const directory = mkdtempSync(join(tmpdir(), 's3jobs-redis-cluster-'));
  const servers: ServerProcess[] = [];
  let watchdog: ChildProcess | undefined;
  let stopped: Promise<void> | undefined;

  // Synchronous: runs from process 'exit', where nothing asynchronous happens any more.
  const killNow = (): void => {
    for (const s of servers) if (!s.done) s.child.kill('SIGKILL');
    watchdog?.kill('SIGKILL');
    rmSync(directory, { recursive: true, force: true });
  };
  process.once('exit', killNow);

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      process.off('exit', killNow);
      for (const s of servers) if (!s.done) s.child.kill('SIGTERM');
      const timer = setTimeout(() => {
        for (const s of servers) if (!s.done) s.child.kill('SIGKILL');
      }, 5_000);
      await Promise.all(servers.map((s) => s.exited));
      clearTimeout(timer);
      watchdog?.kill('SIGKILL');
      rmSync(directory, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    for (const port of ports) {
      const args = [
        '--port', String(port),
        '--bind', HOST,
        '--cluster-enabled', 'yes',
        '--cluster-config-file', `nodes-${port}.conf`,
        '--cluster-node-timeout', '5000',
        '--dir', directory,
        '--save', '',
        '--appendonly', 'no',
        '--daemonize', 'no',
        '--protected-mode', 'yes',
        '--maxmemory-policy', 'noeviction',
        '--logfile', '',
      ];
      const child = spawn(redisServer, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const server: ServerProcess = { port, child, output: [], done: false, exited: Promise.resolve() };
      server.exited = new Promise((resolve) => {
        child.once('exit', () => {
          server.done = true;
          resolve();
        });
        child.once('error', (err: NodeJS.ErrnoException) => {
          server.output.push(err.code === 'ENOENT' ? `${redisServer} is not installed (not on PATH)` : err.message);
          server.done = true;
          resolve();
        });
      });
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => server.output.push(chunk));
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => server.output.push(chunk));
      servers.push(server);
    }
    // A detached shell that outlives a SIGKILLed test process: it waits for us to be gone, then
    // kills the servers and removes their files. `stop()` kills it first.
    const pids = servers.map((s) => s.child.pid).filter((pid): pid is number => pid !== undefined);
    watchdog = spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 ${pids.join(' ')} 2>/dev/null; rm -rf '${directory}'`], {
      detached: true,
      stdio: 'ignore',
    });
    watchdog.unref();

    const tail = (s: ServerProcess) => `redis-server on ${s.port}: ${s.output.join('').trim().split('\n').slice(-3).join(' | ') || '(no output)'}`;
    for (const s of servers) {
      await until(`redis-server on port ${s.port} answering PING`, deadline, async () => {
        if (s.done) throw new RedisClusterUnavailable(`redis-server on port ${s.port} exited at start: ${tail(s)}`);
        return pingOnce(s.port);
      }, () => tail(s));
    }

    const createArgs = ['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-replicas', '0', '--cluster-yes'];
    try {
      await run(redisCli, createArgs, { timeout: Math.max(1_000, deadline - Date.now()) });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
      const why = e.code === 'ENOENT' ? `${redisCli} is not installed (not on PATH)` : `${(e.stderr ?? '').trim() || (e.stdout ?? '').trim().split('\n').slice(-3).join(' | ') || e.message}`;
      throw new RedisClusterUnavailable(`redis-cli --cluster create failed: ${why}`);
    }

    // Every node must agree the cluster is whole before a client may rely on its slot map.
    for (const port of ports) {
      const redis = new Redis({ host: HOST, port, maxRetriesPerRequest: 1, retryStrategy: () => null });
      redis.on('error', () => undefined);
      let last = '';
      try {
        await until(`cluster_state:ok on port ${port}`, deadline, async () => {
          last = await redis.cluster('INFO');
          return /cluster_state:ok/.test(last) && new RegExp(`cluster_known_nodes:${masters}\\b`).test(last) && /cluster_slots_ok:16384\b/.test(last);
        }, () => last.split('\r\n').filter((l) => /state|slots_ok|known_nodes/.test(l)).join(' '));
      } finally {
        redis.disconnect();
      }
    }
  } catch (err) {
    await stop();
    if (err instanceof RedisClusterUnavailable) {
      const missing = servers.find((s) => s.output.some((o) => o.includes('not installed')));
      throw missing !== undefined ? new RedisClusterUnavailable(missing.output.join(' ')) : err;
    }
    throw err;
  }

  const node = (port: number): Redis => new Redis({ host: HOST, port, maxRetriesPerRequest: 1 });
  return {
    url: `redis+cluster://${ports.map((p) => `${HOST}:${p}`).join(',')}`,
    ports,
    node,
    async portOf(key) {
      const redis = node(ports[0]!);
      try {
        const slot = (await redis.cluster('KEYSLOT', key)) as number;
        const range = (await redis.cluster('SLOTS')).find(([from, to]) => slot >= from && slot <= to);
        const master = range?.[2];
        if (master === undefined) throw new Error(`slot ${slot} of ${key} is not served`);
        return master[1];
      } finally {
        redis.disconnect();
      }
    },
    stop,
  };
}
