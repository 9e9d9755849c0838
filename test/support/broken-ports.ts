/**
 * Three ways for a server to be away, all on 127.0.0.1, for tests of how s3jobs names the side
 * (S3 or Redis) that failed:
 *   - refused: a port nothing listens on (bound once by the OS, then closed: free, and refused);
 *   - reset: accepts, then destroys the socket at once (RST or EOF, as a crashing server would);
 *   - silent: accepts and never answers (a frozen process, a black-holed network).
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface BrokenPort {
  readonly kind: 'refused' | 'reset' | 'silent';
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly http: string;
  /** `redis://127.0.0.1:<port>` */
  readonly redis: string;
  close(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

function described(kind: BrokenPort['kind'], port: number, close: () => Promise<void>): BrokenPort {
  return { kind, port, http: `http://127.0.0.1:${port}`, redis: `redis://127.0.0.1:${port}`, close };
}

export async function brokenPort(kind: BrokenPort['kind']): Promise<BrokenPort> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (kind === 'reset') socket.resetAndDestroy();
    // silent: keep the socket open, read nothing back.
  });
  const port = await listen(server);
  if (kind === 'refused') {
    await closeServer(server, sockets);
    return described(kind, port, async () => undefined);
  }
  return described(kind, port, () => closeServer(server, sockets));
}

export const BROKEN_KINDS = ['refused', 'reset', 'silent'] as const;
