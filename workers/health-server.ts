/**
 * The worker's HTTP endpoints for orchestrators and Prometheus:
 *   GET /metrics  Prometheus text format
 *   GET /healthz  200 while the process runs its event loop (liveness)
 *   GET /readyz   200 when Redis answers and the worker is not shutting down, else 503 (readiness)
 * Nothing here can change state, and nothing secret is ever served: metrics carry no bucket,
 * key or credential labels.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WorkerMetrics } from './metrics.js';

export interface HealthServerOptions {
  port: number;
  /** Default 0.0.0.0: a scraper or a kubelet reaches it from outside the container. */
  host?: string;
  metrics: WorkerMetrics;
  /** Resolves true when the worker can take jobs (Redis answers, not shutting down). */
  ready(): Promise<{ ready: boolean; reason?: string }>;
}

export interface HealthServer {
  url: string;
  close(): Promise<void>;
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/readyz') {
      options.ready().then(
        ({ ready, reason }) => res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : `not ready: ${reason ?? 'unknown'}\n`),
        () => res.writeHead(503, { 'content-type': 'text/plain' }).end('not ready\n'),
      );
      return;
    }
    if (path === '/metrics') {
      options.metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '0.0.0.0';
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
