// Safe HTTP downloads: timeouts, a streamed size limit, redirects followed one checked hop at a time.
import { Agent, request, type Dispatcher } from 'undici';
import { isLaglessError, type LaglessError } from '../errors/index.ts';
import { downloadError } from './errors.ts';
import { createGuardedConnector, type GuardCounters } from './guarded-connector.ts';
import { resolveDownloadOptions, type DownloadOptions, type ResolvedDownloadOptions } from './options.ts';
import { parseRetryAfter } from './retry-after.ts';

/** A completed download. */
export interface DownloadResult {
  /** The whole body. */
  bytes: Buffer;
  /** The final (2xx) status code. */
  status: number;
  /** The Content-Type header of the final response, if any. */
  contentType: string | undefined;
  /** The URL that served the body, after redirects. */
  finalUrl: string;
  /** Redirects followed. */
  redirects: number;
}

/** Per-call settings of {@link Downloader.download}. */
export interface DownloadInit {
  /** Aborts the download; the promise then rejects with the signal's reason (not a LaglessError). */
  signal?: AbortSignal;
}

/** Read-only counters of a downloader since it was created. */
export interface DownloaderStats {
  /** download() calls. */
  readonly downloads: number;
  /** TCP/TLS connections opened or attempted (one per address tried; keep-alive reuse opens none). */
  readonly connectAttempts: number;
  /** Connections refused by the SSRF guard, before any socket existed. */
  readonly blocked: number;
  /** DNS lookups made by the guard. */
  readonly dnsLookups: number;
}

/** A reusable downloader: one undici Agent (keep-alive pools per origin) shared by every download. */
export interface Downloader {
  /** Downloads `url`. Rejects with a LaglessError (INVALID_URL, BLOCKED_ADDRESS, DNS_FAILED, CONNECT_FAILED, TIMEOUT, HTTP_STATUS, TOO_LARGE). */
  download(url: string, init?: DownloadInit): Promise<DownloadResult>;
  readonly stats: DownloaderStats;
  /** The validated options in use. */
  readonly options: Readonly<ResolvedDownloadOptions>;
  /** Graceful: lets in-flight downloads finish, then closes the connections. Safe to call twice. */
  close(): Promise<void>;
  /** Immediate: fails in-flight downloads with `err` and closes the connections. */
  destroy(err?: Error): Promise<void>;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Bytes of an error or redirect body read to keep the connection reusable; beyond that the socket is dropped. */
const DISCARD_LIMIT = 64 * 1024;

/** Parses and checks a URL: only http and https, and a host. */
function parseHttpUrl(text: string, base?: URL): URL {
  let url: URL;
  try {
    url = base === undefined ? new URL(text) : new URL(text, base);
  } catch (err) {
    throw downloadError('INVALID_URL', `not a valid URL: ${JSON.stringify(text)}`, { cause: err, url: text });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw downloadError('INVALID_URL', `only http and https URLs can be downloaded, got ${url.protocol} in ${JSON.stringify(url.href)}`, { url: url.href });
  }
  if (url.hostname === '') throw downloadError('INVALID_URL', `the URL has no host: ${JSON.stringify(url.href)}`, { url: url.href });
  return url;
}

function headerValue(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

const TLS_CERT_CODES = /^(ERR_TLS_CERT|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_SSL)/;

/** Maps an undici/Node failure to a stable LaglessError. */
function toDownloadError(err: unknown, url: URL, options: ResolvedDownloadOptions): LaglessError {
  if (isLaglessError(err)) return err;
  const code = (err as { code?: string } | null)?.code ?? '';
  const href = url.href;
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return downloadError('TIMEOUT', `connecting to ${url.host} took longer than connectTimeoutMs (${options.connectTimeoutMs} ms)`, { cause: err, url: href, phase: 'connect' });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return downloadError('TIMEOUT', `no response headers from ${url.host} within headersTimeoutMs (${options.headersTimeoutMs} ms)`, { cause: err, url: href, phase: 'headers' });
    case 'UND_ERR_BODY_TIMEOUT':
      return downloadError('TIMEOUT', `the body from ${url.host} paused longer than bodyTimeoutMs (${options.bodyTimeoutMs} ms)`, { cause: err, url: href, phase: 'body' });
  }
  const message = (err as Error | null)?.message ?? String(err);
  if (TLS_CERT_CODES.test(code)) {
    return downloadError('CONNECT_FAILED', `TLS with ${url.host} failed: ${message}`, { cause: err, url: href, retryable: false });
  }
  return downloadError('CONNECT_FAILED', `the connection to ${url.host} failed: ${code || message}`, { cause: err, url: href });
}

async function discard(body: Dispatcher.ResponseData['body']): Promise<void> {
  await body.dump({ limit: DISCARD_LIMIT }).catch(() => {});
}

/** Creates a downloader that owns one undici Agent. Options are validated here (UsageError naming the field). */
export function createDownloader(options: Partial<DownloadOptions> = {}): Downloader {
  const resolved = resolveDownloadOptions(options);
  const counters: GuardCounters = { connectAttempts: 0, blocked: 0, dnsLookups: 0 };
  let downloads = 0;
  const agent = new Agent({
    connect: createGuardedConnector(resolved, counters),
    connections: resolved.connectionsPerOrigin,
    headersTimeout: resolved.headersTimeoutMs,
    bodyTimeout: resolved.bodyTimeoutMs,
  });
  let closing: Promise<void> | undefined;
  const deadlineError = () =>
    downloadError('TIMEOUT', `the download took longer than totalTimeoutMs (${resolved.totalTimeoutMs} ms)`, { phase: 'total' });

  async function fetchOnce(url: URL, signal: AbortSignal, deadline: AbortSignal, redirects: number): Promise<DownloadResult | URL> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        dispatcher: agent,
        method: 'GET',
        headers: resolved.headers,
        signal,
        headersTimeout: resolved.headersTimeoutMs,
        bodyTimeout: resolved.bodyTimeoutMs,
      });
    } catch (err) {
      throw signal.aborted ? (deadline.aborted ? deadlineError() : signal.reason) : toDownloadError(err, url, resolved);
    }
    const { statusCode: status, headers, body } = res;
    const location = headerValue(headers, 'location');
    if (REDIRECT_STATUSES.has(status) && location !== undefined) {
      await discard(body);
      if (redirects >= resolved.maxRedirects) {
        throw downloadError('HTTP_STATUS', `too many redirects: more than maxRedirects (${resolved.maxRedirects}), last from ${url.href} to ${location}`, { status, url: url.href, location, redirects, retryable: false });
      }
      return parseHttpUrl(location, url); // checked for the scheme here, for the address at connect time
    }
    if (status < 200 || status >= 300) {
      await discard(body);
      const retryable = isRetryableStatus(status);
      const retryAfterMs = retryable ? parseRetryAfter(headerValue(headers, 'retry-after')) : undefined;
      throw downloadError('HTTP_STATUS', `${url.href} answered HTTP ${status}`, { status, url: url.href, retryable, retryAfterMs });
    }
    const announced = Number(headerValue(headers, 'content-length'));
    if (Number.isFinite(announced) && announced > resolved.maxBytes) {
      body.destroy();
      throw downloadError('TOO_LARGE', `${url.href} announces ${announced} bytes, more than maxBytes (${resolved.maxBytes})`, { url: url.href, bytes: announced });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > resolved.maxBytes) {
          body.destroy();
          throw downloadError('TOO_LARGE', `${url.href} sent more than maxBytes (${resolved.maxBytes}) bytes`, { url: url.href, bytes: size });
        }
        chunks.push(chunk);
      }
    } catch (err) {
      throw signal.aborted ? (deadline.aborted ? deadlineError() : signal.reason) : toDownloadError(err, url, resolved);
    }
    return {
      bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size),
      status,
      contentType: headerValue(headers, 'content-type'),
      finalUrl: url.href,
      redirects,
    };
  }

  async function download(text: string, init: DownloadInit = {}): Promise<DownloadResult> {
    if (closing !== undefined) throw new Error('the downloader is closed');
    downloads++;
    let url = parseHttpUrl(text);
    const deadline = AbortSignal.timeout(resolved.totalTimeoutMs);
    const signal = init.signal === undefined ? deadline : AbortSignal.any([init.signal, deadline]);
    for (let redirects = 0; ; redirects++) {
      const outcome = await fetchOnce(url, signal, deadline, redirects);
      if (!(outcome instanceof URL)) return outcome;
      url = outcome;
    }
  }

  return {
    download,
    get stats(): DownloaderStats {
      return { downloads, ...counters };
    },
    options: resolved,
    close() {
      closing ??= agent.close();
      return closing;
    },
    destroy(err?: Error) {
      closing = agent.destroy(err ?? null);
      return closing;
    },
  };
}

/**
 * Downloads one URL with a short-lived downloader. For many downloads use {@link createDownloader}: it keeps
 * connections alive between downloads.
 */
export async function download(url: string, options: Partial<DownloadOptions> & DownloadInit = {}): Promise<DownloadResult> {
  const { signal, ...rest } = options;
  const downloader = createDownloader(rest);
  try {
    return await downloader.download(url, signal === undefined ? {} : { signal });
  } finally {
    await downloader.close();
  }
}
