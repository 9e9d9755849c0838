/**
 * A real `http.createServer` scripted per test to misbehave in time: answer late, send headers then
 * stall the body, trickle the body, never answer, or reset. It records every socket and request,
 * so a test can prove the client *really* gave up — the socket was closed from the client side
 * while the response was still pending — rather than merely rejecting a promise while the request
 * kept running.
 *
 * Use:
 *   const server = await startStallServer({ type: 'stall' });
 *   afterEach(() => server.close());
 *   await expect(client.get(server.url, { timeoutMs: 200 })).rejects.toThrow(...);
 *   const aborted = await server.waitForClientAbort();      // resolves when the client hung up
 *   expect(server.openSockets()).toBe(0);
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type StallBehavior =
  /** Answer normally, optionally after `delayMs`. */
  | {
      type: 'respond';
      status?: number;
      headers?: Record<string, string | number>;
      body?: string | Buffer;
      delayMs?: number;
    }
  /**
   * Send status and headers at once (after `delayMs`), then `body` (default nothing), then stall:
   * the response never ends. `contentLength` defaults to `body` length + 1000 so the client knows
   * more is due; pass `null` for chunked encoding.
   */
  | {
      type: 'headers-then-stall';
      status?: number;
      headers?: Record<string, string | number>;
      body?: string | Buffer;
      contentLength?: number | null;
      delayMs?: number;
    }
  /** Send headers, then `chunk` every `intervalMs`, `count` times, then end. */
  | {
      type: 'trickle';
      status?: number;
      headers?: Record<string, string | number>;
      chunk?: string | Buffer;
      intervalMs: number;
      count: number;
    }
  /** Never answer (the request body is still read, so the client is waiting for headers). */
  | { type: 'stall' }
  /** Reset the connection (TCP RST) once the request has been read, after `delayMs`. */
  | { type: 'reset'; delayMs?: number }
  /** Anything else: full control. */
  | { type: 'custom'; handle: (req: IncomingMessage, res: ServerResponse) => void };

export type StallScript = StallBehavior | ((request: StallRequestRecord) => StallBehavior);

export interface StallSocketRecord {
  id: number;
  openedAt: number;
  closedAt: number | undefined;
  /**
   * Who closed it: 'client' when it closed without this server closing it (the client destroyed
   * or ended it), 'server' when a `reset` behavior or `close()` did.
   */
  closedBy: 'client' | 'server' | undefined;
}

export interface StallRequestRecord {
  seq: number;
  socketId: number;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  receivedAt: number;
  /** Request body bytes read so far. */
  bodyBytes: number;
  behavior: StallBehavior['type'] | undefined;
  /**
   * 'pending' while the response is being produced; 'finished' when fully sent; 'client-aborted'
   * when the client closed the connection before the response was complete; 'server-reset' when a
   * `reset` behavior (or `close()`) cut it.
   */
  outcome: 'pending' | 'finished' | 'client-aborted' | 'server-reset';
  endedAt: number | undefined;
}

export interface StallServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly requests: readonly StallRequestRecord[];
  readonly sockets: readonly StallSocketRecord[];
  /** Behavior (or function choosing one per request) for requests with nothing queued. */
  setDefault(script: StallScript): void;
  /** Behaviors for the next requests, in order; afterwards the default applies again. */
  enqueue(...behaviors: StallBehavior[]): void;
  /** Sockets currently open. */
  openSockets(): number;
  /** Resolves with the `n`-th request (1-based) once it has arrived. */
  waitForRequest(n?: number, timeoutMs?: number): Promise<StallRequestRecord>;
  /** Resolves with the first request the client abandoned (closed its socket before the end). */
  waitForClientAbort(timeoutMs?: number): Promise<StallRequestRecord>;
  /** Resolves once no socket is open (the client closed or released them all). */
  waitForNoOpenSockets(timeoutMs?: number): Promise<void>;
  /** Destroy every socket and close the server. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_WAIT_MS = 5000;

/** Start a scripted server on 127.0.0.1 and a free port. Default behavior: `{ type: 'stall' }`. */
export async function startStallServer(script: StallScript = { type: 'stall' }): Promise<StallServer> {
  let defaultScript: StallScript = script;
  const queue: StallBehavior[] = [];
  const requests: StallRequestRecord[] = [];
  const sockets: StallSocketRecord[] = [];
  const liveSockets = new Map<number, Socket>();
  const serverClosed = new WeakSet<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const listener of [...listeners]) listener();
  };
  let closing = false;

  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const resetSocket = (socket: Socket): void => {
    serverClosed.add(socket);
    socket.resetAndDestroy();
  };

  const server = createServer((req, res) => {
    const socket = req.socket;
    const socketId = (socket as Socket & { stallId?: number }).stallId ?? -1;
    const record: StallRequestRecord = {
      seq: requests.length + 1,
      socketId,
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      receivedAt: Date.now(),
      bodyBytes: 0,
      behavior: undefined,
      outcome: 'pending',
      endedAt: undefined,
    };
    requests.push(record);
    req.on('data', (chunk: Buffer) => {
      record.bodyBytes += chunk.length;
    });
    res.on('finish', () => {
      if (record.outcome === 'pending') record.outcome = 'finished';
      record.endedAt ??= Date.now();
      notify();
    });
    res.on('close', () => {
      if (record.outcome === 'pending') {
        record.outcome = serverClosed.has(socket) ? 'server-reset' : 'client-aborted';
      }
      record.endedAt ??= Date.now();
      notify();
    });

    const next = queue.shift();
    const behavior = next ?? (typeof defaultScript === 'function' ? defaultScript(record) : defaultScript);
    record.behavior = behavior.type;
    notify();

    const afterBody = (fn: () => void): void => {
      if (req.readableEnded) fn();
      else req.once('end', fn);
    };

    switch (behavior.type) {
      case 'respond': {
        const body = behavior.body ?? '';
        req.resume();
        afterBody(() =>
          later(behavior.delayMs ?? 0, () => {
            if (res.destroyed) return;
            res.writeHead(behavior.status ?? 200, {
              'content-length': Buffer.byteLength(body),
              ...behavior.headers,
            });
            res.end(body);
          }),
        );
        break;
      }
      case 'headers-then-stall': {
        const body = behavior.body ?? '';
        const length =
          behavior.contentLength === null
            ? undefined
            : (behavior.contentLength ?? Buffer.byteLength(body) + 1000);
        req.resume();
        afterBody(() =>
          later(behavior.delayMs ?? 0, () => {
            if (res.destroyed) return;
            res.writeHead(behavior.status ?? 200, {
              ...(length === undefined ? {} : { 'content-length': length }),
              ...behavior.headers,
            });
            res.flushHeaders();
            if (Buffer.byteLength(body) > 0) res.write(body);
            // ...and never end.
          }),
        );
        break;
      }
      case 'trickle': {
        const chunk = behavior.chunk ?? '.';
        req.resume();
        afterBody(() => {
          if (res.destroyed) return;
          res.writeHead(behavior.status ?? 200, {
            'content-length': Buffer.byteLength(chunk) * behavior.count,
            ...behavior.headers,
          });
          res.flushHeaders();
          let sent = 0;
          const tick = (): void => {
            if (res.destroyed) return;
            res.write(chunk);
            sent += 1;
            if (sent >= behavior.count) res.end();
            else later(behavior.intervalMs, tick);
          };
          later(behavior.intervalMs, tick);
        });
        break;
      }
      case 'stall':
        req.resume();
        break;
      case 'reset':
        req.resume();
        afterBody(() => later(behavior.delayMs ?? 0, () => resetSocket(socket)));
        break;
      case 'custom':
        behavior.handle(req, res);
        break;
    }
  });

  // Never let Node's own timers close a connection: only the client or the script may.
  server.keepAliveTimeout = 0;
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.timeout = 0;

  let nextSocketId = 1;
  server.on('connection', (socket: Socket & { stallId?: number }) => {
    const record: StallSocketRecord = {
      id: nextSocketId++,
      openedAt: Date.now(),
      closedAt: undefined,
      closedBy: undefined,
    };
    socket.stallId = record.id;
    sockets.push(record);
    liveSockets.set(record.id, socket);
    socket.on('close', () => {
      liveSockets.delete(record.id);
      record.closedAt = Date.now();
      record.closedBy = serverClosed.has(socket) || closing ? 'server' : 'client';
      notify();
    });
    notify();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  const waitFor = <T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const first = check();
      if (first !== undefined) {
        resolve(first);
        return;
      }
      const listener = (): void => {
        const value = check();
        if (value === undefined) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`stall-server: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        listeners.delete(listener);
      };
      listeners.add(listener);
    });

  let closed: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    sockets,
    setDefault(s) {
      defaultScript = s;
    },
    enqueue(...behaviors) {
      queue.push(...behaviors);
    },
    openSockets: () => liveSockets.size,
    waitForRequest(n = 1, timeoutMs = DEFAULT_WAIT_MS) {
      return waitFor(`request #${n}`, () => requests[n - 1], timeoutMs);
    },
    waitForClientAbort(timeoutMs = DEFAULT_WAIT_MS) {
      return waitFor(
        'the client to abort a request',
        () => requests.find((r) => r.outcome === 'client-aborted'),
        timeoutMs,
      );
    },
    waitForNoOpenSockets(timeoutMs = DEFAULT_WAIT_MS) {
      return waitFor('all sockets to close', () => (liveSockets.size === 0 ? true : undefined), timeoutMs).then(
        () => undefined,
      );
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        for (const socket of liveSockets.values()) {
          serverClosed.add(socket);
          socket.destroy();
        }
        server.close(() => resolve());
      });
      return closed;
    },
  };
}
