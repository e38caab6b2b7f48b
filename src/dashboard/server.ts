// Serves the dashboard: one page, its script and style, uPlot from the package itself, and the collector's data over SSE.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { LaglessError, UsageError } from '../errors/index.ts';
import { loadDashboardAssets, type DashboardAsset } from './assets.ts';
import type { Collector, DashboardState, Point } from './collector.ts';
import type { HistoryJson } from './history.ts';

/** Security headers of every response: nothing but our own files runs, record images may load, no framing. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // The latest outputs show the image of a job's preview where the browser can load it.
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

/** Who may open the dashboard, and how much it gives each page. */
export interface DashboardAccessOptions {
  /**
   * A secret the browser must present (at least 16 characters): `Authorization: Bearer <token>`, or `?token=<token>`
   * once, which sets a cookie. Required when the dashboard is reachable beyond loopback; when given, always required.
   * /healthz, /readyz and /metrics of `lagless run --http-port` never need it (probes and Prometheus scrape them).
   */
  token?: string;
  /** Event streams (open pages) at once; one more gets 503 with Retry-After. Default 32. */
  maxClients?: number;
  /**
   * Bytes that may wait to be sent to one page; a page that lets more wait (a slow or stalled reader) is dropped, and
   * its browser reconnects. The history sent at connect is cut to its newest points to take at most half of it.
   * Default 8 MiB.
   */
  maxBufferedBytes?: number;
}

export const defaultDashboardAccessOptions = { maxClients: 32, maxBufferedBytes: 8 * 1024 * 1024 } as const satisfies DashboardAccessOptions;

/** The shortest token accepted: guessing one must be hopeless. */
export const MIN_DASHBOARD_TOKEN_LENGTH = 16;

/** Seconds a page turned away for the client cap is told to wait. */
const RETRY_AFTER_S = 5;

export interface DashboardHandlerOptions extends DashboardAccessOptions {
  collector: Collector;
  /**
   * Accept only Host headers naming a loopback address (localhost, 127.0.0.1, [::1]): a page bound to loopback cannot
   * be read by another site through DNS rebinding. Default true; false when bound to a routable address on purpose
   * (then `token` is required).
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

/** Validates access options once; a UsageError names the field. */
function checkAccess(o: DashboardHandlerOptions): { maxClients: number; maxBufferedBytes: number } {
  const maxClients = o.maxClients ?? defaultDashboardAccessOptions.maxClients;
  const maxBufferedBytes = o.maxBufferedBytes ?? defaultDashboardAccessOptions.maxBufferedBytes;
  if (!Number.isInteger(maxClients) || maxClients < 1) throw new UsageError(`dashboard maxClients: expected an integer of at least 1, got ${maxClients}`);
  if (!Number.isInteger(maxBufferedBytes) || maxBufferedBytes < 65_536) throw new UsageError(`dashboard maxBufferedBytes: expected an integer of at least 65536, got ${maxBufferedBytes}`);
  if (o.token !== undefined && o.token !== '' && o.token.length < MIN_DASHBOARD_TOKEN_LENGTH) {
    throw new UsageError(`dashboard token: at least ${MIN_DASHBOARD_TOKEN_LENGTH} characters, got ${o.token.length}`);
  }
  if (!(o.loopbackHostsOnly ?? true) && !o.token) {
    throw new UsageError('dashboard token: required when the dashboard is reachable beyond loopback (anyone who reaches the port would see record ids and URLs)');
  }
  return { maxClients, maxBufferedBytes };
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Checks a request's token: `Authorization: Bearer <token>` or the cookie that `?token=` sets (a hash of the token, so
 * the cookie never holds the token itself). Hashes are compared in constant time: neither length nor content leaks.
 */
function tokenGate(token: string) {
  const tokenHash = sha256(token);
  const cookieValue = createHash('sha256').update('lagless-dashboard-cookie\0').update(token).digest('base64url');
  const cookieHash = sha256(cookieValue);
  const matches = (presented: string | undefined, expected: Buffer) => presented !== undefined && timingSafeEqual(sha256(presented), expected);
  // One cookie per port: two dashboards on one host (cookies ignore ports) do not overwrite each other's.
  const cookieName = (req: IncomingMessage) => `lagless_dashboard_${req.socket.localPort ?? 0}`;
  return {
    cookie: (req: IncomingMessage) => `${cookieName(req)}=${cookieValue}; Path=/; HttpOnly; SameSite=Strict`,
    token: (presented: string) => matches(presented, tokenHash),
    allows(req: IncomingMessage): boolean {
      const auth = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      if (auth && matches(auth[1], tokenHash)) return true;
      const name = cookieName(req);
      for (const part of (req.headers.cookie ?? '').split(';')) {
        const eq = part.indexOf('=');
        if (eq > 0 && part.slice(0, eq).trim() === name && matches(part.slice(eq + 1).trim(), cookieHash)) return true;
      }
      return false;
    },
  };
}

/**
 * The history and state sent at connect, as JSON, cut to its newest points when the whole would take more than
 * `maxBytes`: the page starts from there and grows its chart as ticks come (a group of hundreds of partitions).
 */
function fittedHello(collector: Collector, instance: string, maxBytes: number): string {
  const { history, state } = collector.snapshot();
  const make = (h: HistoryJson) => JSON.stringify({ instance, history: h, state, sampleMs: collector.options.sampleMs });
  let text = make(history);
  let size = Buffer.byteLength(text);
  if (size <= maxBytes) return text;
  const n = history.t.length;
  const fixed = Buffer.byteLength(make({ t: [], series: {} }));
  let keep = n;
  while (size > maxBytes && keep > 0) {
    // Points cost about the same each: aim a little under, then shrink again if still over.
    keep = Math.min(keep - 1, Math.floor((keep * Math.max(0, maxBytes - fixed)) / Math.max(1, size - fixed) * 0.95));
    keep = Math.max(0, keep);
    const series = Object.fromEntries(Object.entries(history.series).map(([k, v]) => [k, v.slice(n - keep)]));
    text = make({ t: history.t.slice(n - keep), series });
    size = Buffer.byteLength(text);
  }
  return text;
}

/** The routes: `/` (the page), `/assets/*`, `/events` (server-sent events), `/api/state` (the same data as JSON). */
export function createDashboardHandler(o: DashboardHandlerOptions): DashboardHandler {
  const { maxClients, maxBufferedBytes } = checkAccess(o);
  const gate = o.token ? tokenGate(o.token) : undefined;
  const assets = loadDashboardAssets();
  const instance = randomBytes(6).toString('hex');
  const clients = new Set<ServerResponse>();
  const loopbackOnly = o.loopbackHostsOnly ?? true;
  let last: Partial<Record<keyof DashboardState, string>> = {};
  // The hello of this tick, made once for every page that connects before the next one.
  let hello: string | undefined;

  // Every message to a page, the history at connect included, goes through here: more than maxBufferedBytes waiting
  // for it drops the page at once (its browser reconnects), so a stalled reader costs a bounded amount of memory.
  const send = (res: ServerResponse, text: string) => {
    res.write(text);
    if (res.writableLength > maxBufferedBytes) {
      clients.delete(res);
      res.destroy();
    }
  };
  const onTick = (point: Point, state: DashboardState) => {
    hello = undefined;
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
      if (gate) {
        const url = new URL(req.url ?? '/', 'http://dashboard');
        const given = url.searchParams.get('token');
        if (given !== null && gate.token(given)) {
          // A link with the token, opened once: a cookie from now on, and the address bar (history, screenshots,
          // Referer) without the token.
          url.searchParams.delete('token');
          res.writeHead(303, { ...HEADERS, 'cache-control': 'no-store', 'set-cookie': gate.cookie(req), location: url.pathname + url.search, 'content-type': 'text/plain; charset=utf-8' });
          res.end(req.method === 'HEAD' ? undefined : 'token accepted\n');
          return true;
        }
        if (given !== null || !gate.allows(req)) {
          res.writeHead(401, { ...HEADERS, 'www-authenticate': 'Bearer realm="lagless dashboard"', 'content-type': 'text/plain; charset=utf-8' });
          res.end(
            req.method === 'HEAD'
              ? undefined
              : 'this dashboard needs its token (LAGLESS_DASHBOARD_TOKEN where it runs): open /?token=<token> once (a cookie keeps it), or send Authorization: Bearer <token>\n',
          );
          return true;
        }
      }
      if (asset) {
        serveAsset(res, asset, req.method === 'HEAD');
        return true;
      }
      if (path === '/events' && clients.size >= maxClients) {
        res.writeHead(503, { ...HEADERS, 'retry-after': String(RETRY_AFTER_S), 'content-type': 'text/plain; charset=utf-8' });
        res.end(`this dashboard serves at most ${maxClients} live pages at once and all are open; close one or try again in ${RETRY_AFTER_S} s\n`);
        return true;
      }
      o.collector.wantRecords();
      hello ??= fittedHello(o.collector, instance, Math.floor(maxBufferedBytes / 2));
      if (path === '/api/state') {
        res.writeHead(200, { ...HEADERS, 'content-type': 'application/json; charset=utf-8' });
        res.end(hello);
        return true;
      }
      res.writeHead(200, { ...HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
      res.flushHeaders();
      clients.add(res);
      const drop = () => clients.delete(res);
      req.on('close', drop);
      res.on('error', drop);
      // Reconnect quickly after a restart of this server; the hello carries the history.
      send(res, `retry: 1000\nevent: hello\ndata: ${hello}\n\n`);
      return true;
    },
    close() {
      o.collector.off('tick', onTick);
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}

export interface DashboardServerOptions extends DashboardAccessOptions {
  collector: Collector;
  port: number;
  /** Default 127.0.0.1. Any other address needs `token`. */
  host?: string;
}

export interface DashboardServer {
  /** e.g. http://127.0.0.1:8080/ */
  readonly url: string;
  readonly port: number;
  /** Open event streams (live pages). */
  readonly clients: number;
  close(): Promise<void>;
}

/** True for a bind address only this machine can reach (then the page answers only to loopback host names). */
export function isLoopbackBind(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/**
 * Starts an HTTP server for the dashboard alone. Rejects with a UsageError for bad access options (no token beyond
 * loopback), with LaglessError IO when the port cannot be bound.
 */
export async function startDashboardServer(o: DashboardServerOptions): Promise<DashboardServer> {
  const host = o.host ?? '127.0.0.1';
  const { collector, port: _port, host: _host, ...access } = o;
  const handler = createDashboardHandler({ collector, loopbackHostsOnly: isLoopbackBind(host), ...access });
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
    get clients() {
      return handler.clients;
    },
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
