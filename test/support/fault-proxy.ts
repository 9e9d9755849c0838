/**
 * A fault-injecting HTTP reverse proxy to put between a client and the S3 test server.
 *
 * Requests are forwarded unchanged — method, path and query byte for byte, every header including
 * `Host` — so SigV4 signatures still verify: the client signs the proxy's `host:port`, and s3rver
 * checks the signature against the Host header it receives, which is that same value. Bodies are
 * streamed both ways for pass-through requests.
 *
 * Faults are chosen per request, in this order, among requests accepted by `match` (default all):
 *   1. the queue of scripted faults (`enqueue`), one per request;
 *   2. the decision function (`decide`), if it returns a fault;
 *   3. random mode (`random: { rate, seed, faults }`), deterministic for a given request order;
 *   otherwise the request passes through. Every request is logged with the fault applied.
 *
 * Use:
 *   const proxy = await startFaultProxy({ upstream: s3Target().endpoint, match: isCopyRequest });
 *   afterEach(() => proxy.close());
 *   proxy.enqueue({ type: 'slowdown', retryAfter: 1 }, { type: 'reset-before' });
 *   // point the client at proxy.endpoint ...
 *   expect(proxy.log.map((e) => e.fault)).toEqual(['slowdown', 'reset-before', 'none']);
 */
import {
  Agent,
  createServer,
  request as httpRequest,
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * What to do to one request. `forward: true` on a synthetic fault (slowdown, internal, error,
 * reset-before, error-200) sends the request upstream first and discards the real answer: the
 * operation happened but the client saw a failure. Default false: upstream never sees the request.
 */
export type Fault =
  /** Pass through. */
  | { type: 'none' }
  /** Never answer; with `afterMs`, forward normally after that delay (unless the client gave up). */
  | { type: 'stall'; afterMs?: number }
  /** 503 SlowDown with `Retry-After` (default 1; `null` omits the header). */
  | { type: 'slowdown'; retryAfter?: number | string | null; forward?: boolean }
  /** 500 InternalError. */
  | { type: 'internal'; forward?: boolean }
  /** Any S3-style error response, e.g. 503 ServiceUnavailable or 400 RequestTimeout. */
  | {
      type: 'error';
      status: number;
      code: string;
      message?: string;
      headers?: Record<string, string>;
      forward?: boolean;
    }
  /** Reset the client's connection (TCP RST) once its request has been read; no response. */
  | { type: 'reset-before'; forward?: boolean }
  /**
   * Forward, then send the upstream status, headers (with the full Content-Length) and the first
   * `bytes` of the body (default half), then reset the connection after `delayMs` (default 50).
   * With an empty upstream body only headers are sent, which is a complete response.
   */
  | { type: 'reset-during'; bytes?: number; delayMs?: number }
  /** 200 OK whose body is an `<Error>` document, like a CopyObject that failed after its headers. */
  | { type: 'error-200'; code?: string; message?: string; forward?: boolean }
  /** Forward, then answer with the upstream body cut to `keepBytes` (default half), Content-Length matching the cut body. */
  | { type: 'truncated-xml'; keepBytes?: number }
  /** Forward, then announce Content-Length `extraBytes` (default 16) larger than the body, send the body and close. */
  | { type: 'wrong-length'; extraBytes?: number };

export type FaultType = Fault['type'];

export interface ProxyRequest {
  /** 1-based arrival order. */
  seq: number;
  method: string;
  /** Path and query exactly as received, e.g. `/bucket/key?uploadId=1`. */
  url: string;
  /** Path without the query, not decoded. */
  pathname: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
}

export interface ProxyLogEntry extends ProxyRequest {
  fault: FaultType;
  /** The full fault description that was applied. */
  applied: Fault;
  /** Whether the request reached the upstream server. */
  forwarded: boolean;
  upstreamStatus: number | undefined;
  /** Status sent to the client (undefined when none was: stall, reset-before). */
  status: number | undefined;
  /** The client closed its connection before the response was complete. */
  clientAborted: boolean;
  /** Upstream or proxy error, if any. */
  error: string | undefined;
  startedAt: number;
  endedAt: number | undefined;
}

export interface RandomFaults {
  /** Probability in [0, 1] that a matching request is faulted. */
  rate: number;
  /** Seed of the PRNG (mulberry32): same seed and request order, same faults. */
  seed: number;
  /** Faults to choose from uniformly. Default: slowdown, internal, reset-before, reset-during. */
  faults?: Fault[];
}

export interface FaultProxyOptions {
  /** Upstream base URL, e.g. `http://127.0.0.1:4568`. http only. */
  upstream: string;
  /** Only matching requests can be faulted; others always pass through. Default: all. */
  match?: (request: ProxyRequest) => boolean;
  /** Per-request decision; return undefined for "no opinion". */
  decide?: (request: ProxyRequest) => Fault | undefined;
  random?: RandomFaults;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>` — give this to the client as its S3 endpoint. */
  readonly endpoint: string;
  readonly port: number;
  readonly log: readonly ProxyLogEntry[];
  /** Faults for the next matching requests, in order. */
  enqueue(...faults: Fault[]): void;
  /** Scripted faults not used yet. */
  pending(): number;
  setMatch(match: ((request: ProxyRequest) => boolean) | undefined): void;
  setDecide(decide: ((request: ProxyRequest) => Fault | undefined) | undefined): void;
  setRandom(random: RandomFaults | undefined): void;
  /** Drop queued faults, decision function and random mode (match is kept). */
  clearFaults(): void;
  clearLog(): void;
  /** Log entries that had a fault applied. */
  faulted(): ProxyLogEntry[];
  /** Resolves once `n` requests have arrived (counting since the last `clearLog`). */
  waitForRequests(n: number, timeoutMs?: number): Promise<ProxyLogEntry[]>;
  /** Client connections currently open. */
  openSockets(): number;
  /** Destroy all connections and stop listening. Idempotent. */
  close(): Promise<void>;
}

/** `PUT` with `x-amz-copy-source`: CopyObject or UploadPartCopy. */
export const isCopyRequest = (r: ProxyRequest): boolean =>
  r.method === 'PUT' && r.headers['x-amz-copy-source'] !== undefined;

/** Predicate for one HTTP method. */
export const isMethod =
  (method: string) =>
  (r: ProxyRequest): boolean =>
    r.method === method.toUpperCase();

/** Small deterministic PRNG, returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEFAULT_RANDOM_FAULTS: Fault[] = [
  { type: 'slowdown' },
  { type: 'internal' },
  { type: 'reset-before' },
  { type: 'reset-during' },
];

/** Hop-by-hop headers the proxy never copies; everything else (Host included) is forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection']);

function filterRaw(raw: string[], drop: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? '';
    if (!drop.has(name.toLowerCase())) out.push(name, raw[i + 1] ?? '');
  }
  return out;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function s3ErrorXml(code: string, message: string, requestId: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message>` +
    `<RequestId>${escapeXml(requestId)}</RequestId><HostId>fault-proxy</HostId></Error>`
  );
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Start the proxy on 127.0.0.1 and a free port. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.upstream);
  if (upstream.protocol !== 'http:') throw new Error(`fault-proxy: upstream must be http: ${options.upstream}`);
  const upstreamHost = upstream.hostname.replace(/^\[|\]$/g, '');
  const upstreamPort = Number(upstream.port || 80);

  let match = options.match;
  let decide = options.decide;
  let random: { rate: number; faults: Fault[]; next: () => number } | undefined;
  const setRandom = (r: RandomFaults | undefined): void => {
    random = r && { rate: r.rate, faults: r.faults ?? DEFAULT_RANDOM_FAULTS, next: mulberry32(r.seed) };
  };
  setRandom(options.random);
  const queue: Fault[] = [];
  let log: ProxyLogEntry[] = [];
  let seq = 0;
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const l of [...listeners]) l();
  };
  const timers = new Set<NodeJS.Timeout>();
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });
  // No keep-alive upstream: a pooled socket the upstream is closing at that moment would turn into
  // a spurious error that no fault asked for.
  const agent = new Agent({ keepAlive: false });

  const choose = (info: ProxyRequest): Fault => {
    if (match && !match(info)) return { type: 'none' };
    const scripted = queue.shift();
    if (scripted) return scripted;
    const decided = decide?.(info);
    if (decided) return decided;
    if (random && random.faults.length > 0 && random.next() < random.rate) {
      const pick = random.faults[Math.floor(random.next() * random.faults.length)];
      if (pick) return pick;
    }
    return { type: 'none' };
  };

  /** Send the request upstream, streaming the client's body; resolves with the upstream response. */
  const forward = (req: IncomingMessage, entry: ProxyLogEntry, onRequest: (r: ClientRequest) => void) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      entry.forwarded = true;
      const upstreamReq = httpRequest(
        {
          host: upstreamHost,
          port: upstreamPort,
          method: req.method,
          path: req.url,
          headers: filterRaw(req.rawHeaders, HOP_BY_HOP),
          agent,
        },
        (upstreamRes) => {
          entry.upstreamStatus = upstreamRes.statusCode;
          resolve(upstreamRes);
        },
      );
      onRequest(upstreamReq);
      upstreamReq.on('error', reject);
      req.pipe(upstreamReq);
    });

  const drain = async (req: IncomingMessage): Promise<void> => {
    if (req.readableEnded) return;
    req.resume();
    await new Promise<void>((resolve) => {
      req.once('end', resolve);
      req.once('close', resolve);
    });
  };

  const resetClient = (res: ServerResponse): void => {
    const socket = res.socket;
    if (socket && !socket.destroyed) socket.resetAndDestroy();
  };

  const sendXmlError = (
    res: ServerResponse,
    entry: ProxyLogEntry,
    status: number,
    code: string,
    message: string,
    headers: Record<string, string> = {},
  ): void => {
    if (res.destroyed) return;
    const body = s3ErrorXml(code, message, `FAULTPROXY${entry.seq}`);
    entry.status = status;
    res.writeHead(status, {
      'content-type': 'application/xml',
      'content-length': Buffer.byteLength(body),
      'x-amz-request-id': `FAULTPROXY${entry.seq}`,
      ...headers,
    });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://proxy.invalid');
    seq += 1;
    const info: ProxyRequest = {
      seq,
      method: req.method ?? '',
      url: req.url ?? '',
      pathname: url.pathname,
      query: url.searchParams,
      headers: req.headers,
    };
    const fault = choose(info);
    const entry: ProxyLogEntry = {
      ...info,
      fault: fault.type,
      applied: fault,
      forwarded: false,
      upstreamStatus: undefined,
      status: undefined,
      clientAborted: false,
      error: undefined,
      startedAt: Date.now(),
      endedAt: undefined,
    };
    log.push(entry);
    notify();

    let upstreamReq: ClientRequest | undefined;
    let upstreamRes: IncomingMessage | undefined;
    res.on('close', () => {
      if (!res.writableFinished && entry.endedAt === undefined) entry.clientAborted = true;
      entry.endedAt ??= Date.now();
      upstreamReq?.destroy();
      upstreamRes?.destroy();
      notify();
    });
    res.on('finish', () => {
      entry.endedAt ??= Date.now();
      notify();
    });
    const track = (r: ClientRequest): void => {
      upstreamReq = r;
    };

    /** Forward and read the whole upstream answer. */
    const forwardBuffered = async (): Promise<{ up: IncomingMessage; body: Buffer }> => {
      const up = await forward(req, entry, track);
      upstreamRes = up;
      return { up, body: await readAll(up) };
    };
    const forwardDiscarded = async (): Promise<void> => {
      await forwardBuffered();
    };

    const passThrough = async (): Promise<void> => {
      const up = await forward(req, entry, track);
      upstreamRes = up;
      if (res.destroyed) return;
      entry.status = up.statusCode ?? 502;
      res.writeHead(entry.status, up.statusMessage, filterRaw(up.rawHeaders, HOP_BY_HOP));
      up.pipe(res);
      up.on('error', () => res.destroy());
    };

    try {
      await applyFault(fault);
    } catch (err) {
      entry.error = err instanceof Error ? err.message : String(err);
      if (res.headersSent) res.destroy();
      else sendXmlError(res, entry, 502, 'BadGateway', `fault-proxy: ${entry.error}`);
      notify();
    }

    async function applyFault(fault: Fault): Promise<void> {
      switch (fault.type) {
        case 'none':
          await passThrough();
          return;
        case 'stall':
          if (fault.afterMs === undefined) {
            await drain(req);
            return; // never answer
          }
          await sleep(fault.afterMs);
          if (res.destroyed) return;
          await passThrough();
          return;
        case 'slowdown': {
          if (fault.forward) await forwardDiscarded();
          else await drain(req);
          const retryAfter = fault.retryAfter === undefined ? 1 : fault.retryAfter;
          sendXmlError(
            res,
            entry,
            503,
            'SlowDown',
            'Please reduce your request rate.',
            retryAfter === null ? {} : { 'retry-after': String(retryAfter) },
          );
          return;
        }
        case 'internal':
          if (fault.forward) await forwardDiscarded();
          else await drain(req);
          sendXmlError(res, entry, 500, 'InternalError', 'We encountered an internal error. Please try again.');
          return;
        case 'error':
          if (fault.forward) await forwardDiscarded();
          else await drain(req);
          sendXmlError(res, entry, fault.status, fault.code, fault.message ?? '', fault.headers);
          return;
        case 'reset-before':
          if (fault.forward) await forwardDiscarded();
          else await drain(req);
          resetClient(res);
          return;
        case 'error-200': {
          if (fault.forward) await forwardDiscarded();
          else await drain(req);
          if (res.destroyed) return;
          const body = s3ErrorXml(
            fault.code ?? 'InternalError',
            fault.message ?? 'We encountered an internal error. Please try again.',
            `FAULTPROXY${entry.seq}`,
          );
          entry.status = 200;
          res.writeHead(200, {
            'content-type': 'application/xml',
            'content-length': Buffer.byteLength(body),
            'x-amz-request-id': `FAULTPROXY${entry.seq}`,
          });
          res.end(body);
          return;
        }
        case 'reset-during': {
          const { up, body } = await forwardBuffered();
          if (res.destroyed) return;
          const keep = Math.min(fault.bytes ?? Math.floor(body.length / 2), body.length);
          entry.status = up.statusCode ?? 502;
          const headers = filterRaw(up.rawHeaders, new Set([...HOP_BY_HOP, 'content-length', 'transfer-encoding']));
          res.writeHead(entry.status, up.statusMessage, [...headers, 'Content-Length', String(body.length)]);
          res.flushHeaders();
          const resetLater = (): void => {
            void sleep(fault.delayMs ?? 50).then(() => resetClient(res));
          };
          if (keep > 0) res.write(body.subarray(0, keep), resetLater);
          else resetLater();
          return;
        }
        case 'truncated-xml': {
          const { up, body } = await forwardBuffered();
          if (res.destroyed) return;
          const cut = body.subarray(0, Math.min(fault.keepBytes ?? Math.floor(body.length / 2), body.length));
          entry.status = up.statusCode ?? 502;
          const headers = filterRaw(up.rawHeaders, new Set([...HOP_BY_HOP, 'content-length', 'transfer-encoding']));
          res.writeHead(entry.status, up.statusMessage, [...headers, 'Content-Length', String(cut.length)]);
          res.end(cut);
          return;
        }
        case 'wrong-length': {
          const { up, body } = await forwardBuffered();
          if (res.destroyed) return;
          entry.status = up.statusCode ?? 502;
          const headers = filterRaw(up.rawHeaders, new Set([...HOP_BY_HOP, 'content-length', 'transfer-encoding']));
          const announced = body.length + (fault.extraBytes ?? 16);
          res.writeHead(entry.status, up.statusMessage, [...headers, 'Content-Length', String(announced)]);
          res.flushHeaders();
          // Close (FIN, not RST) once the short body is out: the client sees a premature end.
          const closeLater = (): void => {
            void sleep(20).then(() => res.socket?.destroy());
          };
          if (body.length > 0) res.write(body, closeLater);
          else closeLater();
          return;
        }
      }
    }
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  // Stalls must last as long as the test wants: no server-side request timeouts.
  server.requestTimeout = 0;
  server.headersTimeout = 0;

  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    get log() {
      return log;
    },
    enqueue(...faults) {
      queue.push(...faults);
    },
    pending: () => queue.length,
    setMatch(m) {
      match = m;
    },
    setDecide(d) {
      decide = d;
    },
    setRandom,
    clearFaults() {
      queue.length = 0;
      decide = undefined;
      random = undefined;
    },
    clearLog() {
      log = [];
    },
    faulted: () => log.filter((e) => e.fault !== 'none'),
    waitForRequests(n, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          if (log.length < n) return false;
          clearTimeout(timer);
          listeners.delete(check);
          resolve(log.slice(0, n));
          return true;
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`fault-proxy: ${log.length} of ${n} requests after ${timeoutMs} ms`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    openSockets: () => sockets.size,
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      });
      return closed;
    },
  };
}
