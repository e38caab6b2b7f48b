// A local HTTP image server: serves real photos with optional CDN-like latency, plus fault routes for tests and benchmarks.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LaglessError } from '../errors/index.ts';
import { hugeDimensionsPng, parseHexColor, solidPng } from './png.ts';

/** The sample photos shipped with Lagless. */
export const DEFAULT_IMAGES_DIR = fileURLToPath(new URL('../../assets/images/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.avif': 'image/avif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
};

/** Images are held in memory; a directory above this total is refused rather than filling RAM. */
export const MAX_TOTAL_IMAGE_BYTES = 512 * 1024 * 1024;

export interface ImageServerOptions {
  /** Directory of images (.jpg .jpeg .png .webp .gif .avif .tif .tiff). Default: the shipped `assets/images/`. */
  images?: string;
  /** Delay added before every response's headers, in ms (imitates a remote CDN). Default 0. */
  latencyMs?: number;
  /** Extra random delay, uniform in [0, jitterMs), added to `latencyMs`. Default 0. */
  jitterMs?: number;
  /** Port; 0 (default) picks a free one. */
  port?: number;
  /** Address to bind. Default 127.0.0.1 (loopback only). */
  host?: string;
}

export const defaultImageServerOptions = { latencyMs: 0, jitterMs: 0, port: 0, host: '127.0.0.1' } as const;

/** Counters since start. Read them from `server.stats` (a live object). */
export interface ImageServerStats {
  requests: number;
  /** Responses of a whole image from /images/ (including the "ok" answers of /status/...-then-ok/). */
  imagesServed: number;
  bytesSent: number;
  inFlight: number;
  maxInFlight: number;
  /** Requests per path (query excluded), for assertions such as "the client retried 3 times". */
  byPath: Map<string, number>;
}

export interface ImageServer {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** Image file names, sorted; served at /images/<name>. */
  readonly images: readonly string[];
  /** URL of image `name` (or index, modulo the count), with an optional query to make each URL unique. */
  imageUrl(image: string | number, query?: Record<string, string | number>): string;
  readonly stats: ImageServerStats;
  /** Stops listening and drops open connections (including stalled ones). Safe to call twice. */
  close(): Promise<void>;
}

interface LoadedImage {
  name: string;
  bytes: Buffer;
  type: string;
}

const MAX_TRACKED_PATHS = 10_000;
const ZEROS = Buffer.alloc(65_536);

/**
 * Bounds of the routes whose size is a parameter, so that one request cannot stream for hours or allocate gigabytes.
 * Each is well above what a client of Lagless accepts by default or at most: /bytes past the 20 MiB body limit,
 * /redirect past the downloader's ceiling of 100 redirects; /solid is encoded in memory (width x height x 4 bytes).
 */
export const IMAGE_SERVER_LIMITS = {
  /** Largest n of /bytes/<n>. */
  maxBytes: 256 * 1024 * 1024,
  /** Longest chain of /redirect/<n>/<name>. */
  maxRedirects: 128,
  /** Largest width and height of /solid. */
  maxSolidSide: 2048,
} as const;

/** Loads image files from `dir` into memory. Rejects with LaglessError IO naming the directory. */
export async function loadImages(dir: string): Promise<LoadedImage[]> {
  const abs = resolve(dir);
  let names: string[];
  try {
    if (!(await stat(abs)).isDirectory()) throw new LaglessError('IO', `images directory ${abs} is not a directory`);
    names = await readdir(abs);
  } catch (err) {
    if (err instanceof LaglessError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : (err as Error).message;
    throw new LaglessError('IO', `images directory ${abs} ${why}; pass a directory of photos with --images DIR`, { cause: err });
  }
  const images: LoadedImage[] = [];
  let total = 0;
  for (const name of names.sort()) {
    const type = CONTENT_TYPES[extname(name).toLowerCase()];
    if (!type) continue;
    const path = join(abs, name);
    if (!(await stat(path)).isFile()) continue;
    const bytes = await readFile(path);
    total += bytes.length;
    if (total > MAX_TOTAL_IMAGE_BYTES) {
      throw new LaglessError('IO', `images in ${abs} add up to more than ${MAX_TOTAL_IMAGE_BYTES / 1024 / 1024} MiB; use a smaller set (they are held in memory)`);
    }
    images.push({ name, bytes, type });
  }
  if (images.length === 0) {
    throw new LaglessError('IO', `no images (${Object.keys(CONTENT_TYPES).join(' ')}) in ${abs}; pass a directory of photos with --images DIR`);
  }
  return images;
}

function checkOptions(options: ImageServerOptions): void {
  const { latencyMs = 0, jitterMs = 0, port = 0 } = options;
  if (!(latencyMs >= 0) || !Number.isFinite(latencyMs)) throw new RangeError(`latencyMs: expected a number ≥ 0, got ${latencyMs}`);
  if (!(jitterMs >= 0) || !Number.isFinite(jitterMs)) throw new RangeError(`jitterMs: expected a number ≥ 0, got ${jitterMs}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port: expected an integer from 0 to 65535, got ${port}`);
}

/** Starts the server. Rejects with LaglessError IO if the images cannot be loaded or the port is taken. */
export async function startImageServer(options: ImageServerOptions = {}): Promise<ImageServer> {
  checkOptions(options);
  const latencyMs = options.latencyMs ?? defaultImageServerOptions.latencyMs;
  const jitterMs = options.jitterMs ?? defaultImageServerOptions.jitterMs;
  const host = options.host ?? defaultImageServerOptions.host;
  const images = await loadImages(options.images ?? DEFAULT_IMAGES_DIR);
  const byName = new Map(images.map((img) => [img.name, img]));

  const stats: ImageServerStats = { requests: 0, imagesServed: 0, bytesSent: 0, inFlight: 0, maxInFlight: 0, byPath: new Map() };
  // Per-key request counts for /status/<code>-then-ok/<key>.
  const flakyCounts = new Map<string, number>();

  const server: Server = createServer((req, res) => {
    stats.requests += 1;
    stats.inFlight += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    res.once('close', () => {
      stats.inFlight -= 1;
    });
    const url = new URL(req.url ?? '/', 'http://local');
    if (stats.byPath.size < MAX_TRACKED_PATHS || stats.byPath.has(url.pathname)) {
      stats.byPath.set(url.pathname, (stats.byPath.get(url.pathname) ?? 0) + 1);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'only GET and HEAD', { allow: 'GET, HEAD' });
      return;
    }
    // Index and health answer at once; everything else waits like a remote CDN would.
    if (url.pathname === '/' || url.pathname === '/health') {
      route(req, res, url);
      return;
    }
    const delay = latencyMs + (jitterMs > 0 ? Math.random() * jitterMs : 0);
    if (delay <= 0) {
      route(req, res, url);
      return;
    }
    const timer = setTimeout(() => route(req, res, url), delay);
    res.once('close', () => clearTimeout(timer));
  });

  const countBytes = (n: number) => {
    stats.bytesSent += n;
  };

  function sendImage(req: IncomingMessage, res: ServerResponse, img: LoadedImage, status = 200): void {
    res.writeHead(status, { 'content-type': img.type, 'content-length': img.bytes.length, 'cache-control': 'no-store' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.end(img.bytes);
    countBytes(img.bytes.length);
    stats.imagesServed += 1;
  }

  function pick(name: string | undefined): LoadedImage | undefined {
    if (name === undefined || name === '') return images[0];
    return byName.get(decodeURIComponent(name));
  }

  function route(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (res.destroyed) return;
    const parts = url.pathname.split('/').slice(1);
    const q = url.searchParams;
    try {
      switch (parts[0]) {
        case '':
          return sendJson(res, 200, { images: images.map((i) => `/images/${encodeURIComponent(i.name)}`), routes: ROUTES });
        case 'health':
          return sendText(res, 200, 'ok');
        case 'images': {
          const name = parts.slice(1).join('/');
          const img = name === '' ? undefined : pick(name);
          if (!img) return sendText(res, 404, `no image "${name}" (GET / lists them)`);
          return sendImage(req, res, img);
        }
        case 'status': {
          const m = /^(\d{3})(?:-then-ok)?$/.exec(parts[1] ?? '');
          const code = m ? Number(m[1]) : NaN;
          if (!(code >= 200 && code <= 599)) return sendText(res, 400, 'use /status/<200-599> or /status/<code>-then-ok/<key>');
          const headers: Record<string, string> = {};
          if (q.has('retry-after')) headers['retry-after'] = q.get('retry-after')!;
          if (parts[1]!.endsWith('-then-ok')) {
            const key = parts.slice(2).join('/');
            if (key === '') return sendText(res, 400, 'use /status/<code>-then-ok/<key> with a key unique to the test');
            const times = Number(q.get('times') ?? '1');
            const seen = flakyCounts.get(key) ?? 0;
            flakyCounts.set(key, seen + 1);
            if (seen >= times) {
              const img = pick(q.get('image') ?? undefined);
              if (!img) return sendText(res, 404, `no image ${q.get('image')}`);
              return sendImage(req, res, img);
            }
          }
          return sendText(res, code, `status ${code}`, headers);
        }
        case 'slow': {
          const ms = Number(parts[1]);
          const img = pick(parts.slice(2).join('/'));
          if (!(ms >= 0) || !img) return sendText(res, 400, 'use /slow/<ms>/<image>');
          const timer = setTimeout(() => sendImage(req, res, img), ms);
          res.once('close', () => clearTimeout(timer));
          return;
        }
        case 'stall':
        case 'cut': {
          const img = pick(parts.slice(1).join('/'));
          if (!img) return sendText(res, 404, `no image ${parts.slice(1).join('/')}`);
          res.writeHead(200, { 'content-type': img.type, 'content-length': img.bytes.length });
          const half = img.bytes.subarray(0, Math.floor(img.bytes.length / 2));
          countBytes(half.length);
          // stall: the rest never comes (until the client gives up or the server closes); cut: once the half is
          // on the wire, the connection drops.
          res.write(half, () => {
            if (parts[0] === 'cut') res.destroy();
          });
          return;
        }
        case 'truncated': {
          const img = pick(parts.slice(1).join('/'));
          if (!img) return sendText(res, 404, `no image ${parts.slice(1).join('/')}`);
          const half = img.bytes.subarray(0, Math.floor(img.bytes.length / 2));
          res.writeHead(200, { 'content-type': img.type, 'content-length': half.length });
          res.end(half);
          countBytes(half.length);
          return;
        }
        case 'bytes': {
          const n = Number(parts[1]);
          if (!Number.isSafeInteger(n) || n < 0) return sendText(res, 400, 'use /bytes/<n>');
          if (n > IMAGE_SERVER_LIMITS.maxBytes) return sendText(res, 400, `/bytes/<n>: n is at most ${IMAGE_SERVER_LIMITS.maxBytes} (256 MiB), got ${n}`);
          return sendBytes(req, res, n, q.get('type') ?? 'image/jpeg', q.get('chunked') === '1');
        }
        case 'not-image': {
          const body = '<!doctype html><title>Not an image</title><p>This page is HTML, not an image.</p>\n';
          return sendText(res, 200, body, { 'content-type': q.get('type') ?? 'text/html; charset=utf-8' });
        }
        case 'huge-dimensions': {
          const w = Number(q.get('w') ?? '30000');
          const h = Number(q.get('h') ?? '30000');
          const png = hugeDimensionsPng(w, h);
          res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length });
          res.end(png);
          countBytes(png.length);
          return;
        }
        case 'solid': {
          const rgba = parseHexColor(parts[1] ?? '');
          if (!rgba) return sendText(res, 400, 'use /solid/<rrggbb> or /solid/<rrggbbaa>');
          const [w, h] = [Number(q.get('w') ?? '64'), Number(q.get('h') ?? '64')];
          const side = IMAGE_SERVER_LIMITS.maxSolidSide;
          if (!(w >= 1 && w <= side && h >= 1 && h <= side)) return sendText(res, 400, `/solid: w and h are 1 to ${side}, got ${q.get('w') ?? 64}x${q.get('h') ?? 64}`);
          const png = solidPng(w, h, rgba);
          res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length });
          res.end(png);
          countBytes(png.length);
          return;
        }
        case 'redirect': {
          const status = Number(q.get('status') ?? '302');
          if (![301, 302, 303, 307, 308].includes(status)) return sendText(res, 400, 'status must be 301, 302, 303, 307 or 308');
          if (parts.length === 1) {
            const to = q.get('to');
            if (!to) return sendText(res, 400, 'use /redirect?to=<url> or /redirect/<n>/<image>');
            return sendText(res, status, `redirect to ${to}`, { location: to });
          }
          const n = Number(parts[1]);
          const name = parts.slice(2).join('/');
          if (!Number.isInteger(n) || n < 0 || !pick(name)) return sendText(res, 400, 'use /redirect/<n>/<image>');
          if (n > IMAGE_SERVER_LIMITS.maxRedirects) return sendText(res, 400, `/redirect/<n>/<image>: n is at most ${IMAGE_SERVER_LIMITS.maxRedirects}, got ${n}`);
          const next = n <= 1 ? `/images/${name}` : `/redirect/${n - 1}/${name}${url.search}`;
          return sendText(res, status, `redirect to ${next}`, { location: next });
        }
        default:
          return sendText(res, 404, `no route ${url.pathname} (GET / lists the routes)`);
      }
    } catch (err) {
      sendText(res, 400, (err as Error).message);
    }
  }

  function sendBytes(req: IncomingMessage, res: ServerResponse, n: number, type: string, chunked: boolean): void {
    res.writeHead(200, chunked ? { 'content-type': type } : { 'content-type': type, 'content-length': n });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    // Streamed in 64 KiB pieces with backpressure, so an oversized body never sits in the server's memory.
    // The first piece starts with a JPEG start-of-image marker, so sniffing clients see an image and must
    // enforce the size limit themselves.
    const head = Buffer.alloc(ZEROS.length);
    head.set([0xff, 0xd8, 0xff], 0);
    let left = n;
    let first = true;
    const pump = () => {
      while (left > 0 && !res.destroyed) {
        const piece = (first ? head : ZEROS).subarray(0, Math.min(left, ZEROS.length));
        first = false;
        left -= piece.length;
        countBytes(piece.length);
        if (!res.write(piece)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!res.destroyed) res.end();
    };
    pump();
  }

  function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
    const body = Buffer.from(text.endsWith('\n') ? text : text + '\n');
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length, ...headers });
    res.end(body);
    countBytes(body.length);
  }

  function sendJson(res: ServerResponse, status: number, value: unknown): void {
    const body = Buffer.from(JSON.stringify(value, null, 2) + '\n');
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
    countBytes(body.length);
  }

  await new Promise<void>((ok, fail) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the port is already in use; choose another with --port, or 0 for any free port' : err.message;
      fail(new LaglessError('IO', `image server cannot listen on ${host}:${options.port ?? 0}: ${why}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', onError);
      ok();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url: base,
    port,
    images: images.map((i) => i.name),
    stats,
    imageUrl(image, query) {
      const name = typeof image === 'number' ? images[((image % images.length) + images.length) % images.length]!.name : image;
      const qs = query ? '?' + new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString() : '';
      return `${base}/images/${encodeURIComponent(name)}${qs}`;
    },
    close() {
      closing ??= new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** The routes, as listed by GET / and documented in the README. */
export const ROUTES = {
  '/images/<name>': 'a photo from the images directory (any query string is ignored, so ?i=N makes URLs unique)',
  '/health': 'always 200 "ok", without latency',
  '/status/<code>': 'answers with that status (200-599); ?retry-after=S adds a Retry-After header',
  '/status/<code>-then-ok/<key>': 'the first request (or ?times=N requests) for <key> get <code>, later ones the image (?image=NAME)',
  '/slow/<ms>/<name>': 'the image, after an extra delay of <ms> before the headers',
  '/stall/<name>': 'headers and half of the body, then nothing until the client gives up',
  '/cut/<name>': 'headers with the full Content-Length, half of the body, then the connection drops',
  '/truncated/<name>': 'the first half of the image with an honest Content-Length (a corrupt image)',
  '/bytes/<n>': 'n bytes (at most 256 MiB) starting with a JPEG marker, Content-Length n (?chunked=1: no length; ?type=MIME)',
  '/not-image': 'an HTML page (?type=image/jpeg to lie about the content type)',
  '/huge-dimensions': 'a tiny PNG whose header claims 30000x30000 pixels (?w=&h= to choose)',
  '/solid/<rrggbb[aa]>': 'a PNG of one colour, 64x64 (?w=&h=, at most 2048 each); ffffff is all white, ffffff00 all transparent',
  '/redirect?to=<url>': 'a 302 to <url> (?status=301|303|307|308)',
  '/redirect/<n>/<name>': 'a chain of n redirects (at most 128) ending at /images/<name>',
} as const;
