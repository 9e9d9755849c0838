/**
 * A reverse proxy that flips one byte of a body in transit: of a response (a GET's bytes damaged
 * on the way down) or of a request (an upload damaged on the way up). Everything else, headers
 * included (so SigV4 still verifies: the client signs the proxy's host, s3rver/Ceph check the Host
 * header they get), passes unchanged and streamed.
 *
 *   const proxy = await startCorruptingProxy(upstream);
 *   proxy.corruptNext({ match: (r) => r.method === 'GET' && r.url.includes('/src/'), direction: 'response', offset: 1000 });
 *   // give the client proxy.endpoint; proxy.corrupted tells how many bodies were damaged
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';

export interface CorruptionRule {
  /** Which request to damage (the first one that matches after `corruptNext`). */
  match: (req: { method: string; url: string; headers: IncomingMessage['headers'] }) => boolean;
  /** The response body (download) or the request body (upload). */
  direction: 'response' | 'request';
  /** Offset of the flipped byte in that body. Default 0. */
  offset?: number;
}

export interface CorruptingProxy {
  readonly endpoint: string;
  /** Arms one corruption: the next matching request's body gets one byte flipped. */
  corruptNext(rule: CorruptionRule): void;
  /** Holds every request this long before forwarding it (0: none): a slow link, to act mid-transfer. */
  setDelay(ms: number): void;
  /** Bodies damaged so far. */
  readonly corrupted: number;
  /** Every request seen: method and url. */
  readonly seen: readonly { method: string; url: string }[];
  close(): Promise<void>;
}

/** Flips (XOR 0xff) the byte at `offset` of the stream passing through. */
function flipAt(offset: number, onFlip: () => void): Transform {
  let position = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (offset >= position && offset < position + chunk.length) {
        const copy = Buffer.from(chunk);
        copy[offset - position] = copy[offset - position]! ^ 0xff;
        onFlip();
        chunk = copy;
      }
      position += chunk.length;
      callback(null, chunk);
    },
  });
}

export async function startCorruptingProxy(upstream: string): Promise<CorruptingProxy> {
  const target = new URL(upstream);
  const armed: CorruptionRule[] = [];
  const seen: { method: string; url: string }[] = [];
  let corrupted = 0;
  let delayMs = 0;
  const sockets = new Set<Socket>();

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (delayMs > 0) {
      req.pause();
      setTimeout(() => forward(req, res), delayMs);
    } else forward(req, res);
  };

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const info = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    seen.push({ method: info.method, url: info.url });
    const index = armed.findIndex((r) => r.match(info));
    const rule = index < 0 ? undefined : armed.splice(index, 1)[0];
    const upstreamReq = httpRequest(
      { host: target.hostname, port: Number(target.port || 80), method: req.method, path: req.url, headers: req.headers },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        if (rule?.direction === 'response') upstreamRes.pipe(flipAt(rule.offset ?? 0, () => corrupted++)).pipe(res);
        else upstreamRes.pipe(res);
      },
    );
    upstreamReq.on('error', () => res.destroy());
    req.on('error', () => upstreamReq.destroy());
    if (rule?.direction === 'request') req.pipe(flipAt(rule.offset ?? 0, () => corrupted++)).pipe(upstreamReq);
    else req.pipe(upstreamReq);
  };

  const server = createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    corruptNext: (rule) => void armed.push(rule),
    setDelay: (ms) => void (delayMs = ms),
    get corrupted() {
      return corrupted;
    },
    seen,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
