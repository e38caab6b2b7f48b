// A small HTTP server for orchestrators: /healthz (liveness), /readyz (readiness), /metrics (Prometheus text).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export interface ObserveServerOptions {
  port: number;
  /** Bind address. Default 127.0.0.1; use 0.0.0.0 in a container so kubelet and Prometheus can reach it. */
  host: string;
  registry: Registry;
  /** Readiness: true once the process has joined its group (or, for a supervisor, started its replicas). */
  ready: () => boolean;
  /** Liveness: false only when the process is wedged and should be restarted; never depends on Kafka. */
  live?: () => boolean;
  /** More routes (the dashboard): tried before the 404; returns true when it answered. */
  extra?: { handle(req: IncomingMessage, res: ServerResponse): boolean; close(): void };
}

export interface ObserveServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startObserveServer(o: ObserveServerOptions): Promise<ObserveServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (o.extra?.handle(req, res)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const ok = o.live?.() ?? true;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not live\n');
    } else if (path === '/readyz') {
      const ok = o.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ready\n' : 'not ready\n');
    } else if (path === '/metrics') {
      o.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': o.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: try ${o.extra ? '/ (the dashboard), ' : ''}/healthz, /readyz or /metrics\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // Open event streams of the dashboard would keep the server from closing.
        o.extra?.close();
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
