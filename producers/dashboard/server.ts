/**
 * The dashboard server: bull-board over the work queue and its dead-letter queue, a page of
 * migration runs, and a health check — one HTTP server behind one auth check.
 *
 * Routes:
 *   GET /healthz      "ok" (no auth: for container health checks; says nothing about the queues)
 *   GET /             redirect to /queues
 *   /queues…          bull-board (its UI, static files and JSON API)
 *   GET /runs         migration runs as an HTML table
 *   GET /runs.json    the same as JSON: { queue, runs: [...] }
 *
 * The server never reads the environment: `runDashboardCommand` (the edge) does, and hands a
 * validated config and auth here.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { createAdaptorServer } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Queue } from 'bullmq';
import { Hono } from 'hono';
import { redactUrl, type S3JobsConfig } from '../../shared/config/config.js';
import { S3JobsError } from '../../shared/errors.js';
import { createLogger, type Logger } from '../../shared/log/logger.js';
import { createRedisConnection, type RedisConnection } from '../../shared/queue/connection.js';
import { deadLetterQueueName } from '../../shared/queue/names.js';
import { formatBreakerRecord, readBreakerRecords } from '../../shared/queue/breakers.js';
import { RunStore } from '../../shared/runs/run-store.js';
import { assertSafeBinding, challenges, isAuthorized, validateAuth, type DashboardAuth } from './auth.js';
import { renderRunsPage } from './runs-page.js';
import { runStoreSource, type MigrationRunSource } from './runs.js';

export const DASHBOARD_PATHS = {
  health: '/healthz',
  queues: '/queues',
  runs: '/runs',
  runsJson: '/runs.json',
} as const;

/** Raised when Redis does not accept the dashboard's connection at start. */
export const REDIS_UNAVAILABLE = 'S3JOBS_REDIS_UNAVAILABLE';
/** Raised when the port cannot be bound (in use, not permitted, unknown host). */
export const LISTEN_FAILED = 'S3JOBS_LISTEN_FAILED';

export interface DashboardOptions {
  /** Effective configuration: `redisUrl`, `queue`, `prefix` and `logLevel` are used. */
  config: S3JobsConfig;
  /** Address to listen on. Default 127.0.0.1. Anything but loopback requires `auth`. */
  host?: string | undefined;
  /** Port to listen on. Default 3000; 0 picks a free port (see `Dashboard.url`). */
  port?: number | undefined;
  /** Credentials required for every route but /healthz. Default: none (localhost only). */
  auth?: DashboardAuth | undefined;
  /** Show the work queue read-only (no retry / promote / clean / add). Default false. The dead-letter queue is always read-only: retry dead letters with `s3jobs dlq retry`. */
  readOnly?: boolean | undefined;
  /** Where migration runs come from. Default: the run store of `config.queue` in the same Redis. */
  runs?: MigrationRunSource | undefined;
  /** Default: a pino logger at `config.logLevel`. */
  logger?: Logger | undefined;
}

export interface Dashboard {
  /** Base URL, e.g. `http://127.0.0.1:3000/` (never carries credentials). */
  url: string;
  host: string;
  port: number;
  /** Stops listening, drops open connections and closes the Redis connection. Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_DASHBOARD_HOST = '127.0.0.1';
export const DEFAULT_DASHBOARD_PORT = 3000;
const CONNECT_TIMEOUT_MS = 5_000;
const RUNS_LIMIT_DEFAULT = 100;
const RUNS_LIMIT_MAX = 1_000;

/** `http://host:port/`, with IPv6 hosts in brackets. */
export function dashboardUrl(host: string, port: number): string {
  const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${shown}:${port}/`;
}

/** Starts the dashboard; resolves once it listens. Throws before opening anything if the binding is unsafe. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const { config } = options;
  const host = options.host ?? DEFAULT_DASHBOARD_HOST;
  const port = options.port ?? DEFAULT_DASHBOARD_PORT;
  validateAuth(options.auth);
  assertSafeBinding(host, options.auth);
  const logger = options.logger ?? createLogger({ level: config.logLevel, name: 's3jobs-dashboard' });

  const redis = await connect(config.redisUrl);
  const queue = new Queue(config.queue, { connection: redis, prefix: config.prefix });
  const deadLetters = new Queue(deadLetterQueueName(config.queue), { connection: redis, prefix: config.prefix });
  const runs = options.runs ?? runStoreSource(new RunStore(redis, config.prefix, config.queue));
  const release = async () => {
    await queue.close().catch(() => undefined);
    await deadLetters.close().catch(() => undefined);
    await redis.quit().catch(() => redis.disconnect());
  };

  let server: Server;
  try {
    const app = buildApp({ config, auth: options.auth, readOnly: options.readOnly ?? false, queue, deadLetters, redis, runs, logger });
    server = createAdaptorServer({ fetch: app.fetch }) as Server;
    await listen(server, host, port);
  } catch (err) {
    await release();
    throw err;
  }
  const bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: dashboardUrl(host, bound),
    host,
    port: bound,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Browsers keep connections alive; without this, close() would wait for them to time out.
        server.closeAllConnections();
        await closed;
        await release();
      })();
      return closing;
    },
  };
}

async function connect(url: string): Promise<RedisConnection> {
  const redis = createRedisConnection(url, { lazyConnect: true, connectTimeout: CONNECT_TIMEOUT_MS });
  let socketError: Error | undefined;
  // Kept for the connection's life: ioredis reconnects by itself, and an unhandled 'error' event would crash the process.
  redis.on('error', (err: Error) => {
    socketError ??= err;
  });
  try {
    await redis.connect();
    return redis;
  } catch (err) {
    redis.disconnect();
    const reason = socketError?.message ?? (err instanceof Error ? err.message : String(err));
    throw new S3JobsError(REDIS_UNAVAILABLE, `Redis is unreachable at ${redactUrl(url)} (${reason}); check --redis-url / REDIS_URL`, { retryable: true, cause: err });
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(new S3JobsError(LISTEN_FAILED, `cannot listen on ${dashboardUrl(host, port)}: ${err.code ?? err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

interface AppParts {
  config: S3JobsConfig;
  auth: DashboardAuth | undefined;
  readOnly: boolean;
  queue: Queue;
  deadLetters: Queue;
  /** The dashboard's connection (the workers' circuit-breaker records are read with it). */
  redis: RedisConnection;
  runs: MigrationRunSource;
  logger: Logger;
}

function buildApp(parts: AppParts): Hono {
  const { auth, config, runs, logger } = parts;
  // Not strict: /queues/ and /queues are the same page (bull-board links use both).
  const app = new Hono({ strict: false });

  app.use('*', async (c, next) => {
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
    c.header('Referrer-Policy', 'no-referrer');
  });

  app.get(DASHBOARD_PATHS.health, (c) => c.text('ok\n'));

  app.use('*', async (c, next) => {
    if (isAuthorized(auth, c.req.header('authorization'))) return next();
    for (const challenge of challenges(auth!)) c.header('WWW-Authenticate', challenge, { append: true });
    c.header('Cache-Control', 'no-store');
    return c.text('401 Unauthorized: this dashboard needs credentials\n', 401);
  });

  app.get('/', (c) => c.redirect(DASHBOARD_PATHS.queues));

  app.get(DASHBOARD_PATHS.runs, async (c) => {
    const list = await runs.listRuns(limitFrom(c.req.query('limit')));
    // The workers' open circuit breakers (their Redis records), one line each.
    const now = Date.now();
    const breakers = (await readBreakerRecords(parts.redis, config.prefix, config.queue, now)).map((b) => formatBreakerRecord(b, now));
    c.header('Cache-Control', 'no-store');
    c.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
    return c.html(renderRunsPage(list, { queue: config.queue, queuesPath: DASHBOARD_PATHS.queues, jsonPath: DASHBOARD_PATHS.runsJson, s3Breakers: breakers }));
  });

  app.get(DASHBOARD_PATHS.runsJson, async (c) => {
    const list = await runs.listRuns(limitFrom(c.req.query('limit')));
    c.header('Cache-Control', 'no-store');
    return c.json({ queue: config.queue, runs: list });
  });

  const board = new HonoAdapter(serveStatic);
  board.setBasePath(DASHBOARD_PATHS.queues);
  createBullBoard({
    queues: [
      new BullMQAdapter(parts.queue, { readOnlyMode: parts.readOnly, description: 'Work queue: waiting, active, completed, failed and delayed jobs' }),
      new BullMQAdapter(parts.deadLetters, {
        readOnlyMode: true,
        description: 'Dead letters: jobs that failed for good. Retry or purge them with `s3jobs dlq`.',
      }),
    ],
    serverAdapter: board,
    options: {
      uiConfig: {
        boardTitle: 's3jobs',
        hideDocsLink: true,
        miscLinks: [{ text: 'Migration runs', url: DASHBOARD_PATHS.runs }],
      },
    },
  });
  app.route(DASHBOARD_PATHS.queues, board.registerPlugin());

  app.onError((err, c) => {
    logger.error({ err, path: c.req.path }, 'dashboard request failed');
    return c.text('500 Internal Server Error (see the dashboard log)\n', 500);
  });
  return app;
}

function limitFrom(raw: string | undefined): number {
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, RUNS_LIMIT_MAX) : RUNS_LIMIT_DEFAULT;
}
