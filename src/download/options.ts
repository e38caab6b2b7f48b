// Download options, their defaults, and their one-time validation (messages name the field).
import { UsageError } from '../errors/index.ts';

/** A DNS resolver: every address of `hostname` (A and AAAA), like `dns.promises.lookup(host, { all: true })`. */
export type LookupFunction = (hostname: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

export interface DownloadOptions {
  /** Time to resolve the name and open the TCP/TLS connection, per address tried. Default 10 000 ms. */
  connectTimeoutMs: number;
  /** Time from sending the request to receiving the complete response headers. Default 15 000 ms. */
  headersTimeoutMs: number;
  /** Longest pause between two chunks of the body (undici's bodyTimeout, an idle timeout). Default 15 000 ms. */
  bodyTimeoutMs: number;
  /**
   * Deadline for the whole download, redirects and waiting for a free connection included: it stops servers that
   * trickle a byte just often enough to beat `bodyTimeoutMs`. Default 60 000 ms.
   */
  totalTimeoutMs: number;
  /** Largest body accepted, in bytes; announced (Content-Length) or streamed, larger is TOO_LARGE. Default 20 MiB. */
  maxBytes: number;
  /** Redirects followed before giving up (HTTP_STATUS with the 3xx status). 0 follows none. Default 5. */
  maxRedirects: number;
  /** Turns the SSRF guard off entirely: any address may be reached. Default false. */
  allowPrivate: boolean;
  /**
   * Hosts that bypass the SSRF guard, as `host` (any port) or `host:port` (`[v6]:port` for IPv6), e.g. the local
   * demo image server `127.0.0.1:8080`. Names are compared as written in the URL, after URL normalisation
   * (so `127.1` and `127.0.0.1` are the same entry). Default [].
   */
  allowHosts: readonly string[];
  /** Connections kept per origin (keep-alive); further requests to that origin queue. Default 64. */
  connectionsPerOrigin: number;
  /** Request headers sent with every request. Default `{ 'user-agent': 'lagless', accept: 'image/*,*\/*;q=0.5' }`. */
  headers: Readonly<Record<string, string>>;
  /** DNS resolver used by the guard. Default: the system resolver (`dns.promises.lookup`, all addresses). */
  lookup: LookupFunction | undefined;
}

export const defaultDownloadOptions: Readonly<DownloadOptions> = Object.freeze({
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 15_000,
  bodyTimeoutMs: 15_000,
  totalTimeoutMs: 60_000,
  maxBytes: 20 * 1024 * 1024,
  maxRedirects: 5,
  allowPrivate: false,
  allowHosts: [],
  connectionsPerOrigin: 64,
  headers: Object.freeze({ 'user-agent': 'lagless', accept: 'image/*,*/*;q=0.5' }),
  lookup: undefined,
});

/** One parsed `allowHosts` entry: a normalised host name or IP, and a port or undefined for any port. */
export interface AllowedHost {
  readonly host: string;
  readonly port: number | undefined;
}

/** Options after validation, with `allowHosts` parsed. */
export interface ResolvedDownloadOptions extends DownloadOptions {
  readonly allowedHosts: readonly AllowedHost[];
}

function bad(field: string, expected: string, value: unknown): UsageError {
  return new UsageError(`download option ${field} must be ${expected}, got ${JSON.stringify(value) ?? String(value)}`);
}

function checkInt(field: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw bad(field, `an integer from ${min} to ${max}`, value);
  }
}

/**
 * Parses one `allowHosts` entry. The host is normalised by the WHATWG URL parser, exactly like the URLs it will be
 * compared with; the port is read by hand because the URL parser drops default ports (":80" would mean "any").
 */
export function parseAllowedHost(entry: string, field = 'allowHosts'): AllowedHost {
  const text = entry.trim();
  let hostPart = text;
  let portPart: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (v6) {
    hostPart = `[${v6[1]}]`;
    portPart = v6[2];
  } else if (text.split(':').length === 2) {
    [hostPart, portPart] = text.split(':') as [string, string];
  } else if (text.includes(':')) {
    hostPart = `[${text}]`; // a bare IPv6 address without a port
  }
  if (hostPart === '' || /[/?#@\s]/.test(hostPart)) {
    throw bad(field, 'a host or host:port (e.g. "127.0.0.1:8080" or "[::1]:8080")', entry);
  }
  let host: string;
  try {
    host = new URL(`http://${hostPart}/`).hostname;
  } catch {
    throw bad(field, 'a host or host:port (e.g. "127.0.0.1:8080" or "[::1]:8080")', entry);
  }
  if (host.startsWith('[')) host = host.slice(1, -1);
  let port: number | undefined;
  if (portPart !== undefined) {
    if (!/^\d{1,5}$/.test(portPart) || Number(portPart) < 1 || Number(portPart) > 65535) {
      throw bad(field, 'a host or host:port with a port from 1 to 65535', entry);
    }
    port = Number(portPart);
  }
  return { host, port };
}

/** Merges `options` over the defaults and validates every field once; throws UsageError naming the field. */
export function resolveDownloadOptions(options: Partial<DownloadOptions> = {}): ResolvedDownloadOptions {
  const merged: DownloadOptions = { ...defaultDownloadOptions, ...stripUndefined(options) };
  checkInt('connectTimeoutMs', merged.connectTimeoutMs, 1);
  checkInt('headersTimeoutMs', merged.headersTimeoutMs, 1);
  checkInt('bodyTimeoutMs', merged.bodyTimeoutMs, 1);
  checkInt('totalTimeoutMs', merged.totalTimeoutMs, 1);
  checkInt('maxBytes', merged.maxBytes, 1);
  checkInt('maxRedirects', merged.maxRedirects, 0, 100);
  checkInt('connectionsPerOrigin', merged.connectionsPerOrigin, 1, 100_000);
  if (typeof merged.allowPrivate !== 'boolean') throw bad('allowPrivate', 'true or false', merged.allowPrivate);
  if (!Array.isArray(merged.allowHosts)) throw bad('allowHosts', 'an array of "host" or "host:port" strings', merged.allowHosts);
  const allowedHosts = merged.allowHosts.map((entry, i) => {
    if (typeof entry !== 'string') throw bad(`allowHosts[${i}]`, 'a string', entry);
    return parseAllowedHost(entry, `allowHosts[${i}]`);
  });
  if (merged.headers === null || typeof merged.headers !== 'object') throw bad('headers', 'an object of strings', merged.headers);
  for (const [name, value] of Object.entries(merged.headers)) {
    if (typeof value !== 'string') throw bad(`headers.${name}`, 'a string', value);
  }
  if (merged.lookup !== undefined && typeof merged.lookup !== 'function') throw bad('lookup', 'a function', merged.lookup);
  return { ...merged, allowedHosts };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
