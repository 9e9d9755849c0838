/**
 * An s3jobs worker in a child process, for tests that signal or kill it: `node --import tsx
 * workers/main.ts [args]` with an environment built from a config (`workerEnv`), its JSON log lines
 * collected.
 *
 *   const child = startWorkerProcess({ env: workerEnv(config) });
 *   await child.waitForLog((l) => l.msg === 'worker ready');
 *   child.kill('SIGTERM');
 *   expect(await child.exited).toEqual({ code: 0, signal: null });
 *
 * The child gets only the variables given (plus PATH and HOME), never the parent's environment,
 * so what it runs with is exactly what the test says.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3JobsConfig } from '../../shared/config/config.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type LogEntry = Record<string, unknown> & { msg?: string };

export interface WorkerProcess {
  readonly pid: number;
  /** stdout lines (pino JSON), in order. */
  readonly lines: string[];
  readonly stderr: string[];
  /** Parsed stdout lines (non-JSON lines are skipped). */
  entries(): LogEntry[];
  /** Resolves with the first log entry matching, waiting for it if needed. */
  waitForLog(predicate: (entry: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
  kill(signal: NodeJS.Signals): void;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running; resolves once exited. */
  stop(): Promise<void>;
}

/** The environment that makes `loadConfig` in the child produce `config` (profiles included). */
export function workerEnv(config: S3JobsConfig): Record<string, string> {
  const env: Record<string, string> = {
    S3JOBS_REDIS_URL: config.redisUrl,
    S3JOBS_QUEUE: config.queue,
    S3JOBS_PREFIX: config.prefix,
    S3JOBS_LOG_LEVEL: config.logLevel,
    S3JOBS_CONCURRENCY: String(config.worker.concurrency),
    S3JOBS_JOB_TIMEOUT_MS: String(config.worker.jobTimeoutMs),
    S3JOBS_LARGE_TRANSFER_BYTES: String(config.worker.largeTransferBytes),
    S3JOBS_STALL_TIMEOUT_MS: String(config.worker.stallTimeoutMs),
    S3JOBS_SHUTDOWN_GRACE_MS: String(config.worker.shutdownGraceMs),
    S3JOBS_LOCK_DURATION_MS: String(config.worker.lockDurationMs),
    S3JOBS_STALLED_INTERVAL_MS: String(config.worker.stalledIntervalMs),
    S3JOBS_ATTEMPTS: String(config.retry.attempts),
    S3JOBS_BACKOFF_MS: String(config.retry.backoffBaseMs),
    S3JOBS_BACKOFF_MAX_MS: String(config.retry.backoffMaxMs),
  };
  for (const [name, p] of Object.entries(config.profiles)) {
    const v = `S3JOBS_PROFILE_${name.toUpperCase().replace(/-/g, '_')}_`;
    if (p.endpoint !== undefined) env[`${v}ENDPOINT`] = p.endpoint;
    env[`${v}REGION`] = p.region;
    env[`${v}ACCESS_KEY`] = p.accessKey;
    env[`${v}SECRET_KEY`] = p.secretKey;
    if (p.sessionToken !== undefined) env[`${v}SESSION_TOKEN`] = p.sessionToken;
    if (p.forcePathStyle !== undefined) env[`${v}FORCE_PATH_STYLE`] = String(p.forcePathStyle);
    if (p.provider !== undefined) env[`${v}PROVIDER`] = p.provider;
    if (p.requireGuard !== undefined) env[`${v}REQUIRE_GUARD`] = String(p.requireGuard);
  }
  return env;
}

/** `script`: another entry than workers/main.ts (a benchmark's worker), relative to the repo. */
export function startWorkerProcess(options: { env: Record<string, string>; args?: string[]; script?: string }): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, options.script ?? join('workers', 'main.ts')), ...(options.args ?? [])], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const stderr: string[] = [];
  const listeners = new Set<() => void>();
  let stdoutRest = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (stdoutRest + chunk).split('\n');
    stdoutRest = parts.pop() ?? '';
    lines.push(...parts.filter((l) => l !== ''));
    for (const l of [...listeners]) l();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      if (stdoutRest !== '') lines.push(stdoutRest);
      for (const l of [...listeners]) l();
      resolve({ code, signal });
    });
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });

  const entries = (): LogEntry[] =>
    lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as LogEntry];
      } catch {
        return [];
      }
    });

  return {
    pid: child.pid ?? -1,
    lines,
    stderr,
    entries,
    waitForLog(predicate, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = entries().find(predicate);
          if (found !== undefined) {
            finish();
            resolve(found);
          } else if (done) {
            finish();
            reject(new Error(`worker process exited before the awaited log line; stderr: ${stderr.join('')}; last lines: ${lines.slice(-5).join('\n')}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`no matching log line from the worker process within ${timeoutMs} ms; stderr: ${stderr.join('')}; last lines: ${lines.slice(-5).join('\n')}`));
        }, timeoutMs);
        const finish = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    kill(signal) {
      child.kill(signal);
    },
    exited,
    async stop() {
      if (!done) child.kill('SIGKILL');
      await exited;
    },
  };
}
