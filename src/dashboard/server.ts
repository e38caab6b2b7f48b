// Serves the dashboard: one page, its script and style, uPlot from the package itself, and the collector's data over SSE.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { LaglessError } from '../errors/index.ts';
import { loadDashboardAssets, type DashboardAsset } from './assets.ts';
import type { Collector, DashboardState, Point } from './collector.ts';

/** Security headers of every response: nothing but our own files runs, record images may load, no framing. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // The gallery shows each palette's image where the browser can load it.
  'img-src * data:',
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
const HEADERS = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-cache',
};

/** An SSE client is dropped (it reconnects and gets the history again) when this much is waiting to be sent to it. */
const MAX_BUFFERED = 8 * 1024 * 1024;

export interface DashboardHandlerOptions {
  collector: Collector;
  /**
   * Accept only Host headers naming a loopback address (localhost, 127.0.0.1, [::1]): a page bound to loopback cannot
   * be read by another site through DNS rebinding. Default true; false when bound to a routable address on purpose.
   */
  loopbackHostsOnly?: boolean;
}

export interface DashboardHandler {
  /** Handles the dashboard's routes; returns false for any other path (for servers that serve more). */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Ends every open event stream (before the HTTP server closes). */
  close(): void;
  /** Open event streams. */
  readonly clients: number;
}

function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  return name === '::1';
}

/** The routes: `/` (the page), `/assets/*`, `/events` (server-sent events), `/api/state` (the same data as JSON). */
export function createDashboardHandler(o: DashboardHandlerOptions): DashboardHandler {
  const assets = loadDashboardAssets();
  const instance = randomBytes(6).toString('hex');
  const clients = new Set<ServerResponse>();
  const loopbackOnly = o.loopbackHostsOnly ?? true;
  let last: Partial<Record<keyof DashboardState, string>> = {};

  const send = (res: ServerResponse, text: string) => {
    if (res.writableLength > MAX_BUFFERED) {
      clients.delete(res);
      res.destroy();
      return;
    }
    res.write(text);
  };
  const onTick = (point: Point, state: DashboardState) => {
    // Only the parts of the state that changed since the previous tick.
    const changed: Partial<Record<keyof DashboardState, unknown>> = {};
    const next: Partial<Record<keyof DashboardState, string>> = {};
    for (const [k, v] of Object.entries(state) as [keyof DashboardState, unknown][]) {
      const json = JSON.stringify(v);
      next[k] = json;
      if (last[k] !== json) changed[k] = v;
    }
    last = next;
    if (clients.size === 0) return;
    const text = `event: tick\ndata: ${JSON.stringify({ point, state: changed })}\n\n`;
    for (const res of clients) send(res, text);
  };
  o.collector.on('tick', onTick);

  const serveAsset = (res: ServerResponse, a: DashboardAsset, head: boolean) => {
    res.writeHead(200, { ...HEADERS, 'content-type': a.type, 'content-length': a.body.length });
    res.end(head ? undefined : a.body);
  };

  return {
    get clients() {
      return clients.size;
    },
    handle(req, res) {
      const path = (req.url ?? '/').split('?')[0]!;
      const asset = path === '/' || path === '/index.html' ? assets.get('/') : assets.get(path);
      const known = asset !== undefined || path === '/events' || path === '/api/state';
      if (!known) return false;
      if (loopbackOnly && !isLoopbackHost(req.headers.host)) {
        res.writeHead(403, { ...HEADERS, 'content-type': 'text/plain; charset=utf-8' });
        res.end(`this dashboard answers only to a loopback host name (localhost, 127.0.0.1 or [::1]), not "${req.headers.host ?? ''}"\n`);
        return true;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { ...HEADERS, allow: 'GET, HEAD' }).end();
        return true;
      }
      if (asset) {
        serveAsset(res, asset, req.method === 'HEAD');
        return true;
      }
      o.collector.wantRecords();
      const { history, state } = o.collector.snapshot();
      if (path === '/api/state') {
        res.writeHead(200, { ...HEADERS, 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ instance, history, state }));
        return true;
      }
      res.writeHead(200, { ...HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
      res.flushHeaders();
      // Reconnect quickly after a restart of this server; the hello carries the whole history.
      res.write(`retry: 1000\nevent: hello\ndata: ${JSON.stringify({ instance, history, state, sampleMs: o.collector.options.sampleMs })}\n\n`);
      clients.add(res);
      const drop = () => clients.delete(res);
      req.on('close', drop);
      res.on('error', drop);
      return true;
    },
    close() {
      o.collector.off('tick', onTick);
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}

export interface DashboardServerOptions {
  collector: Collector;
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface DashboardServer {
  /** e.g. http://127.0.0.1:8080/ */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** True for a bind address only this machine can reach (then the page answers only to loopback host names). */
export function isLoopbackBind(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** Starts an HTTP server for the dashboard alone. Rejects with LaglessError IO when the port cannot be bound. */
export async function startDashboardServer(o: DashboardServerOptions): Promise<DashboardServer> {
  const host = o.host ?? '127.0.0.1';
  const handler = createDashboardHandler({ collector: o.collector, loopbackHostsOnly: isLoopbackBind(host) });
  const server: Server = createServer((req, res) => {
    if (!handler.handle(req, res)) {
      res.writeHead(404, { ...HEADERS, 'content-type': 'text/plain; charset=utf-8' }).end('not found: the dashboard is at /\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new LaglessError('IO', `cannot serve the dashboard on ${host}:${o.port}: ${err.code === 'EADDRINUSE' ? 'the port is in use (choose another with --port)' : err.message}`, { cause: err })),
    );
    server.listen(o.port, host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        handler.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
