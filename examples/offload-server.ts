/**
 * A backend that offloads S3 work to s3jobs: a plain `node:http` server (no framework) that turns
 * a request into a job, answers at once with `202 { jobId }`, and lets the client poll or await
 * the job. The S3 work (a server-side copy, a metadata rewrite) runs on s3jobs workers, so a slow
 * or large copy never holds a request open, and a failure is retried there, not by the client.
 *
 *   POST /jobs/copy                 { source: { bucket, key }, destination: { bucket, key }, acl,
 *                                     metadata?, mimetype?, headers?, storageClass? }
 *   POST /jobs/rewrite-metadata     { bucket, key, acl, set?, remove?, replace?, mimetype?, headers? }
 *        → 202 { jobId, kind, status: "/jobs/<jobId>" }   (an Idempotency-Key header becomes the
 *          job id: sending the same request twice enqueues one job)
 *   GET  /jobs/<jobId>              → 200 { jobId, kind, state, attemptsMade, result?, error?, ... }
 *   GET  /jobs/<jobId>?wait=5000    the same, once the job has finished or 5 s have passed
 *
 * Bad input is refused before anything is enqueued: 400 `{ error: { code, field, message } }`
 * naming the field (the job schemas' own validation). The server, not the client, chooses the
 * connection profile (credentials stay in the workers' configuration) and, optionally, which
 * buckets clients may name. Responses carry job states, results and error codes — never
 * configuration, credentials or stack traces.
 *
 * Run it (a worker must run too: `s3jobs worker`):
 *
 *   REDIS_URL=redis://127.0.0.1:6379 OFFLOAD_PORT=8080 OFFLOAD_BUCKETS=photos,photos-backup \
 *     npx tsx examples/offload-server.ts
 *
 * In an application, import from the package instead: `import { S3JobsProducer } from
 * 's3jobs/producers'`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../shared/config/index.js';
import { S3JobsError, ValidationError } from '../shared/errors.js';
import type { JobKind } from '../shared/jobs/index.js';
import { createLogger, type Logger } from '../shared/log/logger.js';
import { JobFailedError, S3JobsProducer, type JobStatus } from '../producers/index.js';

export interface OffloadServerOptions {
  /** Connection profile of every job (defined in the workers' configuration). Default "default". */
  profile?: string | undefined;
  /** Buckets requests may name; default: any. */
  allowedBuckets?: readonly string[] | undefined;
  /** Longest `?wait=` in ms. Default 30,000. */
  maxWaitMs?: number | undefined;
  /** Largest request body in bytes. Default 64 KiB. */
  maxBodyBytes?: number | undefined;
  /** Default: a pino logger on stdout. */
  logger?: Logger | undefined;
}

/** The job kinds a client may ask for, by route. */
const ROUTES: Readonly<Record<string, JobKind>> = { '/jobs/copy': 'copy', '/jobs/rewrite-metadata': 'metadata-rewrite' };

/** Fields the server sets: a client giving one is refused (it is not theirs to choose). */
const SERVER_FIELDS = ['kind', 'profile', 'runId', 'runSlot', 'timeoutMs'];

/** Idempotency keys become job ids: the producer's job id rules. */
const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.@/-]{1,200}$/;

/** An answer other than 2xx, with the field it is about. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** Reads a JSON object body of at most `limit` bytes. */
async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, 'S3JOBS_UNSUPPORTED_MEDIA_TYPE', 'send the job as application/json', 'content-type');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, 'S3JOBS_BODY_TOO_LARGE', `the body is limited to ${limit} bytes`, 'body');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, 'S3JOBS_BODY_TOO_LARGE', `the body is limited to ${limit} bytes`, 'body');
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'S3JOBS_INVALID_INPUT', 'is not valid JSON', 'body');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'S3JOBS_INVALID_INPUT', 'must be a JSON object', 'body');
  return body as Record<string, unknown>;
}

/** The buckets a payload names, with their fields. */
function bucketsOf(payload: Record<string, unknown>): [string, unknown][] {
  const out: [string, unknown][] = [];
  if ('bucket' in payload) out.push(['bucket', payload.bucket]);
  for (const side of ['source', 'destination'] as const) {
    const ref = payload[side];
    if (ref !== null && typeof ref === 'object' && 'bucket' in ref) out.push([`${side}.bucket`, (ref as { bucket: unknown }).bucket]);
  }
  return out;
}

/** What a client sees of a job: no payload (it may name other tenants' keys), no dead-letter internals. */
function view(status: JobStatus): Record<string, unknown> {
  return {
    jobId: status.jobId,
    kind: status.kind,
    state: status.state,
    attemptsMade: status.attemptsMade,
    ...(status.result === undefined ? {} : { result: status.result }),
    ...(status.error === undefined ? {} : { error: { code: status.error.code, message: status.error.message } }),
    enqueuedAt: status.timestamps.enqueuedAt,
    finishedAt: status.timestamps.finishedAt,
  };
}

const FINAL = new Set(['completed', 'dead-lettered']);

/** `?wait=` in ms: absent → 0; a whole number up to `max`. */
export function parseWait(raw: string | null, max: number): number {
  if (raw === null) return 0;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) > max) throw new HttpError(400, 'S3JOBS_INVALID_INPUT', `must be a whole number of milliseconds from 0 to ${max}`, 'wait');
  return Number(raw);
}

/**
 * The request handler over a producer. The server is not listening yet: call `listen`. Closing it
 * leaves the producer open (it is the caller's).
 */
export function createOffloadServer(producer: S3JobsProducer, options: OffloadServerOptions = {}): Server {
  const profile = options.profile ?? 'default';
  const allowed = options.allowedBuckets === undefined ? undefined : new Set(options.allowedBuckets);
  const maxWaitMs = options.maxWaitMs ?? 30_000;
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const logger = options.logger ?? createLogger({ name: 'offload-server' });

  const enqueue = async (req: IncomingMessage, res: ServerResponse, kind: JobKind): Promise<void> => {
    const body = await readJson(req, maxBodyBytes);
    for (const field of SERVER_FIELDS) if (field in body) throw new HttpError(400, 'S3JOBS_INVALID_INPUT', 'is set by the server, not by the request', field);
    if (allowed !== undefined) {
      for (const [field, bucket] of bucketsOf(body)) {
        if (typeof bucket === 'string' && !allowed.has(bucket)) throw new HttpError(403, 'S3JOBS_BUCKET_NOT_ALLOWED', `"${bucket}" is not a bucket this service may use`, field);
      }
    }
    const key = req.headers['idempotency-key'];
    if (key !== undefined && (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key) || /^\d+$/.test(key)))
      throw new HttpError(400, 'S3JOBS_INVALID_INPUT', 'must be 1-200 of A-Z a-z 0-9 _ . @ / - and not only digits', 'Idempotency-Key');
    // Validated by the producer with the job registry's schemas: a ValidationError names the field.
    const { jobId } = await producer.add({ ...body, kind, profile }, key === undefined ? {} : { jobId: key });
    const location = `/jobs/${encodeURIComponent(jobId)}`;
    logger.info({ jobId, kind }, 'job enqueued');
    send(res, 202, { jobId, kind, status: location }, { location });
  };

  const poll = async (res: ServerResponse, jobId: string, wait: number): Promise<void> => {
    let status = await producer.status(jobId);
    if (status.state === 'unknown') throw new HttpError(404, 'S3JOBS_JOB_NOT_FOUND', `no job ${jobId}`, 'jobId');
    if (wait > 0 && !FINAL.has(status.state)) {
      try {
        // Ends by itself when the job finishes or `wait` has passed (bounded by maxWaitMs).
        await producer.waitFor(jobId, { timeoutMs: wait });
      } catch (err) {
        // Failed for good, still going, or gone (removed meanwhile): the status below says which.
        if (!(err instanceof JobFailedError) && !(err instanceof S3JobsError && (err.code === 'S3JOBS_TIMEOUT' || err.code === 'S3JOBS_JOB_NOT_FOUND'))) throw err;
      }
      status = await producer.status(jobId);
      if (status.state === 'unknown') throw new HttpError(404, 'S3JOBS_JOB_NOT_FOUND', `no job ${jobId}`, 'jobId');
    }
    send(res, 200, view(status));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://offload.invalid');
    const kind = ROUTES[url.pathname];
    if (kind !== undefined) {
      if (req.method !== 'POST') throw new HttpError(405, 'S3JOBS_METHOD_NOT_ALLOWED', 'use POST', 'method', { allow: 'POST' });
      return enqueue(req, res, kind);
    }
    const match = /^\/jobs\/([^/]+(?:\/[^/]+)*)$/.exec(url.pathname);
    if (match !== null) {
      if (req.method !== 'GET') throw new HttpError(405, 'S3JOBS_METHOD_NOT_ALLOWED', 'use GET', 'method', { allow: 'GET' });
      let jobId: string;
      try {
        jobId = decodeURIComponent(match[1]!);
      } catch {
        throw new HttpError(400, 'S3JOBS_INVALID_INPUT', 'is not a valid job id', 'jobId');
      }
      return poll(res, jobId, parseWait(url.searchParams.get('wait'), maxWaitMs));
    }
    throw new HttpError(404, 'S3JOBS_NOT_FOUND', 'no such route; POST /jobs/copy, POST /jobs/rewrite-metadata, GET /jobs/<jobId>', 'path');
  };

  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        send(res, err.status, { error: { code: err.code, field: err.field, message: err.message } }, err.headers);
        // A refused body may be unread: do not keep a connection whose stream is mid-body.
        if (!req.complete) res.once('finish', () => req.destroy());
        return;
      }
      if (err instanceof ValidationError) {
        send(res, 400, { error: { code: err.code, field: err.field, message: err.message.slice(err.field.length + 2) } });
        return;
      }
      // Anything else is ours: log it, and tell the client nothing about it.
      const unavailable = err instanceof Error && /ECONNREFUSED|ECONNRESET|ETIMEDOUT|Connection is closed|MaxRetriesPerRequest/.test(`${err.name} ${err.message}`);
      logger.error({ err, method: req.method, path: req.url?.split('?')[0] }, 'request failed');
      if (unavailable) send(res, 503, { error: { code: 'S3JOBS_QUEUE_UNAVAILABLE', message: 'the job queue is unavailable; try again later' } }, { 'retry-after': '5' });
      else send(res, 500, { error: { code: 'S3JOBS_INTERNAL', message: 'internal error' } });
    });
  });
}

/** The example's settings, from the environment, checked once. */
export function offloadSettings(env: Record<string, string | undefined>): { port: number; host: string; profile: string; allowedBuckets: string[] | undefined; maxWaitMs: number } {
  const int = (name: string, fallback: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) > max) throw new ValidationError(name, `${JSON.stringify(raw)} is not a whole number from 0 to ${max}`);
    return Number(raw);
  };
  const buckets = env.OFFLOAD_BUCKETS?.split(',').map((b) => b.trim()).filter((b) => b !== '');
  return {
    port: int('OFFLOAD_PORT', 8080, 65_535),
    host: env.OFFLOAD_HOST || '127.0.0.1',
    profile: env.OFFLOAD_PROFILE || 'default',
    allowedBuckets: buckets === undefined || buckets.length === 0 ? undefined : buckets,
    maxWaitMs: int('OFFLOAD_MAX_WAIT_MS', 30_000, 600_000),
  };
}

async function main(): Promise<void> {
  const settings = offloadSettings(process.env);
  const config = loadConfig(process.env);
  const logger = createLogger({ name: 'offload-server', level: config.logLevel });
  const producer = new S3JobsProducer({ config });
  const server = createOffloadServer(producer, { ...settings, logger });
  server.listen(settings.port, settings.host, () => {
    const { port } = server.address() as AddressInfo;
    logger.info({ url: `http://${settings.host}:${port}`, queue: producer.queueName, profile: settings.profile, buckets: settings.allowedBuckets ?? 'any' }, 'offload server listening');
  });
  const stop = (): void => {
    server.close(() => void producer.close().then(() => process.exit(0)));
    server.closeIdleConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`offload-server: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
}
