/**
 * A pass-through proxy in front of the S3 test server that adds what s3rver lacks:
 * `x-amz-copy-source-if-match` on CopyObject (S3 answers 412 PreconditionFailed when the source's
 * ETag is no longer the one named). s3rver ignores the header, so without this proxy a metadata
 * rewrite racing an overwrite cannot be refused, and the client's guard cannot be observed working.
 *
 * The emulation is atomic per object: a conditional copy and any PUT of the same key take one
 * lock, held from the ETag check until the upstream answer is complete — exactly the guarantee S3
 * gives. Requests are forwarded byte for byte (Host included), so SigV4 signatures still verify.
 *
 * `beforeCopy` runs inside the lock just before the check: a test uses it to overwrite the object
 * at the worst moment — after the worker's HEAD, before its copy.
 */
import { createServer, request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface CopyConditionProxyOptions {
  /** The S3 server, e.g. `http://127.0.0.1:4568`. */
  upstream: string;
  /** The current ETag of an object on the upstream (undefined when absent). */
  currentEtag: (bucket: string, key: string) => Promise<string | undefined>;
  /** Refuse copies whose if-match does not hold. Off: pass everything (plain s3rver behaviour). */
  enforce: boolean;
  /** Runs under the object's lock, before a conditional copy of it is checked. */
  beforeCopy?: ((bucket: string, key: string) => Promise<void>) | undefined;
}

export interface CopyConditionStats {
  /** Copies that carried x-amz-copy-source-if-match. */
  conditional: number;
  /** Copies without it. */
  unconditional: number;
  /** Conditional copies refused with 412. */
  refused: number;
}

export interface CopyConditionProxy {
  readonly endpoint: string;
  readonly stats: CopyConditionStats;
  setEnforce(enforce: boolean): void;
  setBeforeCopy(hook: CopyConditionProxyOptions['beforeCopy']): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection']);

function splitPath(path: string): { bucket: string; key: string } | undefined {
  const clean = path.split('?')[0]!.replace(/^\/+/, '');
  const slash = clean.indexOf('/');
  if (slash <= 0) return undefined;
  return { bucket: decodeURIComponent(clean.slice(0, slash)), key: decodeURIComponent(clean.slice(slash + 1)) };
}

const unquote = (etag: string): string => etag.replace(/^W\//, '').replace(/^"|"$/g, '');

export async function startCopyConditionProxy(options: CopyConditionProxyOptions): Promise<CopyConditionProxy> {
  const upstream = new URL(options.upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let enforce = options.enforce;
  let beforeCopy = options.beforeCopy;
  const stats: CopyConditionStats = { conditional: 0, unconditional: 0, refused: 0 };
  const locks = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier holder of `name` is done; the lock is released when `fn`'s promise settles. */
  const withLock = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const previous = locks.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const chained = previous.then(() => mine);
    locks.set(name, chained);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (locks.get(name) === chained) locks.delete(name);
    }
  };

  /** Forwards the request and resolves once the answer is fully sent (or the client went away). */
  const forward = (req: IncomingMessage, res: ServerResponse): Promise<void> =>
    new Promise((resolve) => {
      const headers: string[] = [];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) if (!HOP_BY_HOP.has(req.rawHeaders[i]!.toLowerCase())) headers.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
      const up = httpRequest({ host: upstream.hostname, port: Number(upstream.port || 80), method: req.method, path: req.url, headers, agent }, (upRes) => {
        const out: string[] = [];
        for (let i = 0; i + 1 < upRes.rawHeaders.length; i += 2) if (!HOP_BY_HOP.has(upRes.rawHeaders[i]!.toLowerCase())) out.push(upRes.rawHeaders[i]!, upRes.rawHeaders[i + 1]!);
        if (!res.destroyed) res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, out);
        upRes.pipe(res);
        upRes.on('end', () => resolve());
        upRes.on('error', () => {
          res.destroy();
          resolve();
        });
      });
      up.on('error', (err) => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`copy-condition-proxy: ${err.message}`);
        } else res.destroy();
        resolve();
      });
      res.on('close', () => resolve());
      req.pipe(up);
    });

  const refuse = (req: IncomingMessage, res: ServerResponse, etag: string | undefined): void => {
    req.resume();
    const body =
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>' +
      `<Message>At least one of the pre-conditions you specified did not hold</Message><Condition>x-amz-copy-source-If-Match</Condition>` +
      `<RequestId>COPYCOND${stats.refused}</RequestId><HostId>copy-condition-proxy</HostId></Error>`;
    res.writeHead(412, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': `COPYCOND${stats.refused}`, 'x-test-current-etag': etag ?? '' });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const copySource = req.headers['x-amz-copy-source'];
    if (req.method === 'PUT' && typeof copySource === 'string' && !req.url?.includes('partNumber=')) {
      const source = splitPath(copySource);
      const ifMatch = req.headers['x-amz-copy-source-if-match'];
      if (source === undefined) return void (await forward(req, res));
      if (typeof ifMatch !== 'string') {
        stats.unconditional++;
        return void (await forward(req, res));
      }
      stats.conditional++;
      await withLock(`${source.bucket}/${source.key}`, async () => {
        await beforeCopy?.(source.bucket, source.key);
        if (enforce) {
          const current = await options.currentEtag(source.bucket, source.key);
          if (current === undefined || unquote(current) !== unquote(ifMatch)) {
            stats.refused++;
            return refuse(req, res, current);
          }
        }
        await forward(req, res);
      });
      return;
    }
    if (req.method === 'PUT' && req.url !== undefined && !req.url.includes('?')) {
      const target = splitPath(req.url);
      if (target !== undefined) return void (await withLock(`${target.bucket}/${target.key}`, () => forward(req, res)));
    }
    await forward(req, res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(err));
    });
  });
  server.keepAliveTimeout = 5_000;
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    setEnforce(value) {
      enforce = value;
    },
    setBeforeCopy(hook) {
      beforeCopy = hook;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        agent.destroy();
      }),
  };
}

