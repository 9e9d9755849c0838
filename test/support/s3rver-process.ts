/**
 * Runs the local S3 test server `@20minutes/s3rver` in a child process.
 *
 * Why a child process: s3rver crashes its whole process on some inputs (a CompleteMultipartUpload
 * naming an unknown part throws an unhandled stream error). Running it out of process keeps the
 * vitest runner alive and lets us restart it.
 *
 * Quirks handled here:
 * - the published package has no `bin/` directory (its `files` list omits it), so we load
 *   `lib/cli.js` ourselves and call `parseAsync` with the same arguments the CLI takes;
 * - with Node 20 its ListObjects pagination encrypts continuation tokens with DES, which needs
 *   `--openssl-legacy-provider` (without it, any truncated listing answers 500 InternalError);
 * - its storage directory must exist before it starts: we create a fresh temp dir;
 * - `-s` silences its request log but not the "S3rver listening on host:port" line, which we read
 *   to learn the port when asked for port 0 (the OS picks a free one, so there is no port race).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';

export interface StartS3rverOptions {
  /** Port to listen on. Default 0: the OS picks a free port (read back from the child's output). */
  port?: number;
  /** Address to bind. Default `127.0.0.1`. */
  address?: string;
  /**
   * Storage directory. Default: a fresh `mkdtemp` directory, removed again by `stop()`.
   * A directory passed here is created if missing and never removed.
   */
  directory?: string;
  /**
   * Start a new child (same port, same storage) when the child dies without `stop()` being called.
   * Default false. Gives up after `maxRestarts` restarts within a minute (a crash loop).
   */
  restartOnExit?: boolean;
  /** Default 10. */
  maxRestarts?: number;
  /** How long to wait for the child to answer HTTP. Default 15 000 ms. */
  startTimeoutMs?: number;
  /** Called with a one-line description each time the child dies unexpectedly. Default: console.warn. */
  onUnexpectedExit?: (description: string) => void;
}

export interface S3rverProcess {
  /** `http://127.0.0.1:<port>` — stays the same across restarts. */
  readonly endpoint: string;
  readonly accessKey: 'S3RVER';
  readonly secretKey: 'S3RVER';
  readonly region: 'us-east-1';
  readonly port: number;
  readonly directory: string;
  /** Process id of the current child, undefined while none runs. */
  readonly pid: number | undefined;
  /** How many times the child was started again after dying. */
  readonly restarts: number;
  isRunning(): boolean;
  /** Kill the current child (SIGKILL, like a crash) and start a new one on the same port/storage. */
  restart(): Promise<void>;
  /** Stop the child (SIGTERM, then SIGKILL after 3 s) and remove the temp storage it created. */
  stop(): Promise<void>;
}

export const S3RVER_ACCESS_KEY = 'S3RVER';
export const S3RVER_SECRET_KEY = 'S3RVER';
export const S3RVER_REGION = 'us-east-1';

const require = createRequire(import.meta.url);

/** Absolute path of s3rver's CLI module (the package ships `lib/cli.js` but no `bin/`). */
function s3rverCliPath(): string {
  return require.resolve('@20minutes/s3rver/lib/cli.js');
}

/**
 * The child's program. It exits when its stdin closes, so an s3rver is never orphaned when the
 * parent (vitest) is killed without running teardown.
 */
const CHILD_PROGRAM = `
const cli = require(process.argv[1]);
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
cli.parseAsync(['node', 's3rver', ...process.argv.slice(2)]).catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
`;

const LISTENING = /S3rver listening on (\S+):(\d+)/;
const OUTPUT_TAIL_CHARS = 4000;

/** Children still alive, killed synchronously if the parent exits without stopping them. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
}

interface RunningChild {
  child: ChildProcess;
  port: number;
  /** Last few KB of stdout+stderr, for error messages. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function spawnChild(
  address: string,
  port: number,
  directory: string,
  timeoutMs: number,
): Promise<RunningChild> {
  const args = [
    '-e',
    CHILD_PROGRAM,
    s3rverCliPath(),
    '-d',
    directory,
    '-a',
    address,
    '-p',
    String(port),
    '-s',
    '--no-vhost-buckets',
  ];
  const child = spawn(process.execPath, args, {
    // Exactly this, not the parent's NODE_OPTIONS (which may carry vitest/tsx loaders).
    env: { ...process.env, NODE_OPTIONS: '--openssl-legacy-provider' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  trackChild(child);

  let output = '';
  const append = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  const failure = (what: string): Error =>
    new Error(`s3rver ${what}. Output:\n${output.trim() || '(none)'}`);

  const boundPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(failure(`did not report listening within ${timeoutMs} ms`));
    }, timeoutMs);
    const onData = (): void => {
      const match = LISTENING.exec(output);
      if (match?.[2] !== undefined) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(Number(match[2]));
      }
    };
    child.stdout?.on('data', onData);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(failure(`exited during start (code ${code}, signal ${signal})`));
    });
  });

  await waitUntilAnswering(`http://${address}:${boundPort}`, timeoutMs).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw failure(`did not answer HTTP: ${String(err)}`);
  });

  return { child, port: boundPort, output: () => output, exited };
}

/** Poll `GET /` (ListBuckets, allowed anonymously by s3rver) until it answers 200. */
async function waitUntilAnswering(endpoint: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const res = await request(`${endpoint}/`, {
        method: 'GET',
        signal: AbortSignal.timeout(1000),
      });
      const body = await res.body.text();
      if (res.statusCode === 200 && body.includes('ListAllMyBucketsResult')) return;
      lastError = new Error(`GET / answered ${res.statusCode}: ${body.slice(0, 200)}`);
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

/** SIGTERM, then SIGKILL after `graceMs`; `graceMs: 0` sends SIGKILL straight away. */
async function killAndWait(running: RunningChild, graceMs: number): Promise<void> {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return;
  running.child.kill(graceMs === 0 ? 'SIGKILL' : 'SIGTERM');
  const timer = setTimeout(() => running.child.kill('SIGKILL'), graceMs);
  await running.exited;
  clearTimeout(timer);
}

/** Start s3rver in a child process and wait until it answers HTTP. */
export async function startS3rver(options: StartS3rverOptions = {}): Promise<S3rverProcess> {
  const address = options.address ?? '127.0.0.1';
  const timeoutMs = options.startTimeoutMs ?? 15_000;
  const maxRestarts = options.maxRestarts ?? 10;
  const warn = options.onUnexpectedExit ?? ((line: string) => console.warn(line));
  const ownsDirectory = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 's3jobs-s3rver-')));
  // A caller-given directory may not exist yet: s3rver's CLI creates it (mkdir -p) before starting.

  let current: RunningChild | undefined;
  try {
    current = await spawnChild(address, options.port ?? 0, directory, timeoutMs);
  } catch (err) {
    if (ownsDirectory) await rm(directory, { recursive: true, force: true });
    throw err;
  }
  const port = current.port;
  let stopping = false;
  let restarts = 0;
  const restartTimes: number[] = [];
  let pendingRestart: Promise<void> | undefined;

  const startAgain = async (): Promise<void> => {
    current = await spawnChild(address, port, directory, timeoutMs);
    restarts += 1;
    watch(current);
  };

  const watch = (running: RunningChild): void => {
    void running.exited.then(({ code, signal }) => {
      if (stopping || running !== current) return;
      current = undefined;
      const tail = running.output().trim().split('\n').slice(-6).join('\n');
      warn(`[s3rver] child ${running.child.pid} died (code ${code}, signal ${signal}):\n${tail}`);
      if (!options.restartOnExit) return;
      const now = Date.now();
      restartTimes.push(now);
      while (restartTimes.length > 0 && (restartTimes[0] ?? now) < now - 60_000) restartTimes.shift();
      if (restartTimes.length > maxRestarts) {
        warn(`[s3rver] ${restartTimes.length} crashes within a minute; not restarting again`);
        return;
      }
      pendingRestart = startAgain()
        .catch((err: unknown) => warn(`[s3rver] restart failed: ${String(err)}`))
        .finally(() => {
          pendingRestart = undefined;
        });
    });
  };
  watch(current);

  return {
    endpoint: `http://${address}:${port}`,
    accessKey: S3RVER_ACCESS_KEY,
    secretKey: S3RVER_SECRET_KEY,
    region: S3RVER_REGION,
    port,
    directory,
    get pid() {
      return current?.child.pid;
    },
    get restarts() {
      return restarts;
    },
    isRunning: () => current !== undefined && current.child.exitCode === null,
    async restart() {
      if (stopping) throw new Error('s3rver was stopped');
      if (pendingRestart) await pendingRestart;
      const old = current;
      current = undefined; // so its watcher does not restart it a second time
      if (old) await killAndWait(old, 0);
      await startAgain();
    },
    async stop() {
      stopping = true;
      if (pendingRestart) await pendingRestart;
      if (current) await killAndWait(current, 3000);
      current = undefined;
      if (ownsDirectory) await rm(directory, { recursive: true, force: true });
    },
  };
}
