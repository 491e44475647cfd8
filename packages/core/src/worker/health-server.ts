/**
 * The worker's HTTP health endpoint (`celeriac worker --health-port`): GET or HEAD on `/`, `/health`,
 * `/healthz`, `/livez` or `/readyz` answers 200 with the JSON health report while the worker is
 * running and consuming, 503 otherwise (starting, broker down, consumer lost, stopping). Made for
 * container probes; plain node:http, so nothing else is loaded.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WorkerHealth } from './worker-health';

export interface HealthServerOptions {
  /** TCP port; 0 picks a free one (see `HealthServer.port`). */
  port: number;
  /** Interface to listen on. @defaultValue '0.0.0.0' (probes come from outside a container) */
  host?: string;
}

export interface HealthServer {
  /** The port listened on (the chosen one when `port` was 0). */
  readonly port: number;
  close(): Promise<void>;
}

const HEALTH_PATHS = new Set(['/', '/health', '/healthz', '/livez', '/readyz']);

/** Serves `source.health()` over HTTP until closed. */
export async function startHealthServer(source: { health(): WorkerHealth }, options: HealthServerOptions): Promise<HealthServer> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (!HEALTH_PATHS.has(path)) return reply(res, 404, { error: `no such path: ${path}; try /health` }, req.method === 'HEAD');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return reply(res, 405, { error: `method ${req.method ?? ''} not allowed` }, false);
    }
    let health: WorkerHealth;
    try {
      health = source.health();
    } catch (err) {
      return reply(res, 503, { healthy: false, reason: `health check failed: ${err instanceof Error ? err.message : String(err)}` }, req.method === 'HEAD');
    }
    reply(res, health.healthy ? 200 : 503, health, req.method === 'HEAD');
  });
  // A probe must never keep a stopping worker alive.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function reply(res: ServerResponse, status: number, body: unknown, headOnly: boolean): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(headOnly ? undefined : text);
}
