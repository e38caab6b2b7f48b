// The X source: reads the API v2 filtered stream (newline-delimited JSON with keep-alives) and yields one record per photo, reconnecting with X's backoff.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { LaglessError } from '../errors/index.ts';
import { urlProblem } from './file-source.ts';
import { defaultXReconnectPolicies, reconnectDelay, type XReconnectPolicies } from './x-reconnect.ts';
import { adviceForStatus, checkToken, describeXProblem, xBase, type XApiOptions } from './x-rules.ts';
import type { ReconnectKind, RecordSource, SourceBaseOptions, UrlRecord } from './types.ts';

export const X_STREAM_PATH = '/2/tweets/search/stream';
/** The query of the seed: expand the media of each post and include each photo's URL. */
export const X_STREAM_QUERY = 'expansions=attachments.media_keys&media.fields=url';

export interface XSourceOptions extends SourceBaseOptions, Omit<XApiOptions, 'signal' | 'timeoutMs'> {
  /**
   * Reconnect when no byte (data or keep-alive) arrives for this long. X sends a keep-alive every ~20 s;
   * default 90 s, i.e. several missed keep-alives.
   */
  stallTimeoutMs?: number;
  /** Reconnect schedules; the defaults are X's documented ones (tests pass shorter ones). */
  backoff?: Partial<XReconnectPolicies>;
  /** A single line longer than this (bytes, without newline) is a broken stream: reconnect. Default 16 MiB. */
  maxLineBytes?: number;
}

export const defaultXSourceOptions = { stallTimeoutMs: 90_000, maxLineBytes: 16 * 1024 * 1024 } as const;

export interface XSourceStats {
  connections: number;
  reconnects: number;
  keepAlives: number;
  posts: number;
  /** Posts that carried no photo with a URL (videos, GIFs, text only): normal, not errors. */
  postsWithoutPhotos: number;
  photos: number;
  skipped: number;
  /** ms since the last byte from the stream (0 while not connected). */
  idleMs: number;
}

/** Statuses that no amount of waiting fixes: stop and say why. */
const FATAL_STATUSES = new Set([400, 401, 403, 404]);

interface Media {
  media_key?: unknown;
  type?: unknown;
  url?: unknown;
}

export type XLineResult =
  | { kind: 'keep-alive' }
  | { kind: 'post'; records: UrlRecord[]; skipped: string[] }
  | { kind: 'stream-error'; message: string }
  | { kind: 'invalid'; reason: string };

/**
 * Interprets one line of the stream (without its newline). Blank lines are keep-alives. A post yields
 * one record per `includes.media` entry of type "photo" with a URL: `{id: media_key, url}`.
 */
export function parseStreamLine(line: string): XLineResult {
  const text = line.trim();
  if (text === '') return { kind: 'keep-alive' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { kind: 'invalid', reason: `invalid JSON from the stream (${(err as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'invalid', reason: 'a stream line that is not a JSON object' };
  const obj = value as { data?: unknown; includes?: { media?: unknown }; errors?: unknown };
  if (obj.data === undefined && Array.isArray(obj.errors)) return { kind: 'stream-error', message: describeXProblem(text) };
  const records: UrlRecord[] = [];
  const skipped: string[] = [];
  const media = Array.isArray(obj.includes?.media) ? (obj.includes.media as Media[]) : [];
  for (const m of media) {
    if (typeof m !== 'object' || m === null || m.type !== 'photo') continue;
    if (typeof m.media_key !== 'string' || m.media_key === '') {
      skipped.push('a photo without a media_key');
      continue;
    }
    if (typeof m.url !== 'string') {
      skipped.push(`photo ${m.media_key} without a url`);
      continue;
    }
    const problem = urlProblem(m.url);
    if (problem) {
      skipped.push(`photo ${m.media_key}: url is ${problem}`);
      continue;
    }
    records.push({ id: m.media_key, url: m.url });
  }
  return { kind: 'post', records, skipped };
}

class Disconnect extends Error {
  readonly kind: ReconnectKind;
  readonly rateLimit: { remaining?: string; reset?: string } | undefined;
  constructor(kind: ReconnectKind, message: string, rateLimit?: { remaining?: string; reset?: string }) {
    super(message);
    this.kind = kind;
    this.rateLimit = rateLimit;
  }
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function describeNetworkError(err: unknown, stallMs: number): string {
  const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
  if (e?.code === 'UND_ERR_BODY_TIMEOUT' || e?.code === 'UND_ERR_HEADERS_TIMEOUT') return `no data for ${Math.round(stallMs / 1000)}s (stalled stream)`;
  const code = e?.code ?? e?.cause?.code;
  return code ? `${code}: ${e.message}` : String(e?.message ?? err);
}

/**
 * The filtered stream as a record source. Iteration ends only on abort (or a fatal HTTP status such as
 * 401, which rejects with SOURCE_FAILED); every disconnect is followed by a reconnect after X's backoff,
 * reported as a `reconnecting` event with the chosen delay.
 */
export function xSource(options: XSourceOptions): RecordSource<XSourceStats> {
  checkToken(options.token);
  const base = xBase(options);
  const backoff: XReconnectPolicies = { ...defaultXReconnectPolicies, ...options.backoff };
  const stallMs = options.stallTimeoutMs ?? defaultXSourceOptions.stallTimeoutMs;
  const maxLine = options.maxLineBytes ?? defaultXSourceOptions.maxLineBytes;
  if (!(stallMs > 0)) throw new RangeError(`stallTimeoutMs: expected a duration above 0, got ${stallMs}`);
  const { signal, onEvent } = options;
  const url = `${base}${X_STREAM_PATH}?${X_STREAM_QUERY}`;
  const stats: Omit<XSourceStats, 'idleMs'> = { connections: 0, reconnects: 0, keepAlives: 0, posts: 0, postsWithoutPhotos: 0, photos: 0, skipped: 0 };
  let lastByteAt: number | undefined;
  let iterated = false;

  const skip = (reason: string, text?: string) => {
    stats.skipped += 1;
    onEvent?.({ type: 'skipped', reason, ...(text === undefined ? {} : { text: text.length > 120 ? text.slice(0, 120) + '…' : text }) });
  };

  return {
    kind: 'x',
    stats: () => ({ ...stats, idleMs: lastByteAt === undefined ? 0 : performance.now() - lastByteAt }),
    async *[Symbol.asyncIterator]() {
      if (iterated) throw new Error('an X source can be iterated once');
      iterated = true;
      const attempts: Record<ReconnectKind, number> = { network: 0, http: 0, 'rate-limit': 0 };
      while (!signal?.aborted) {
        let failure: Disconnect;
        let res: Awaited<ReturnType<typeof request>> | undefined;
        try {
          res = await request(url, {
            method: 'GET',
            headers: { authorization: `Bearer ${options.token}`, 'user-agent': 'lagless' },
            ...(signal ? { signal } : {}),
            headersTimeout: stallMs,
            // undici's body timeout is the longest gap between two chunks: exactly the stall detector.
            bodyTimeout: stallMs,
          });
          if (res.statusCode !== 200) {
            const text = await res.body.text().catch(() => '');
            const problem = `HTTP ${res.statusCode}: ${describeXProblem(text)}`;
            if (FATAL_STATUSES.has(res.statusCode)) {
              throw new LaglessError('SOURCE_FAILED', `X stream ${url} answered ${problem}.${adviceForStatus(res.statusCode)}`, { status: res.statusCode });
            }
            if (res.statusCode === 429 || res.statusCode === 420) {
              const remaining = header(res.headers, 'x-rate-limit-remaining');
              const reset = header(res.headers, 'x-rate-limit-reset');
              throw new Disconnect('rate-limit', problem, { ...(remaining === undefined ? {} : { remaining }), ...(reset === undefined ? {} : { reset }) });
            }
            throw new Disconnect('http', problem);
          }
          stats.connections += 1;
          lastByteAt = performance.now();
          onEvent?.({ type: 'connected', url });
          const decoder = new TextDecoder('utf-8');
          let pending = '';
          let healthy = false;
          for await (const chunk of res.body) {
            lastByteAt = performance.now();
            pending += decoder.decode(chunk as Buffer, { stream: true });
            let nl: number;
            while ((nl = pending.indexOf('\n')) !== -1) {
              const line = pending.slice(0, nl);
              pending = pending.slice(nl + 1);
              if (!healthy) {
                // The first complete line (data or keep-alive) proves the connection works: X's schedules start over.
                healthy = true;
                attempts.network = 0;
                attempts.http = 0;
                attempts['rate-limit'] = 0;
              }
              const parsed = parseStreamLine(line);
              switch (parsed.kind) {
                case 'keep-alive':
                  stats.keepAlives += 1;
                  break;
                case 'invalid':
                  skip(parsed.reason, line);
                  break;
                case 'stream-error':
                  onEvent?.({ type: 'stream-error', message: parsed.message });
                  break;
                case 'post':
                  stats.posts += 1;
                  if (parsed.records.length === 0) stats.postsWithoutPhotos += 1;
                  for (const reason of parsed.skipped) skip(reason);
                  for (const record of parsed.records) {
                    stats.photos += 1;
                    yield record;
                    if (signal?.aborted) return;
                  }
                  break;
              }
            }
            if (pending.length > maxLine) throw new Disconnect('network', `a stream line longer than ${maxLine} bytes`);
          }
          throw new Disconnect('network', 'the server ended the stream');
        } catch (err) {
          if (signal?.aborted) return;
          if (err instanceof LaglessError) throw err;
          failure = err instanceof Disconnect ? err : new Disconnect('network', describeNetworkError(err, stallMs));
        } finally {
          lastByteAt = undefined;
          if (res && !res.body.destroyed) res.body.destroy();
        }
        onEvent?.({ type: 'disconnected', reason: failure.message });
        attempts[failure.kind] += 1;
        const decision = reconnectDelay(failure.kind, attempts[failure.kind], backoff, failure.rateLimit ? { ...failure.rateLimit, nowMs: Date.now() } : undefined);
        stats.reconnects += 1;
        onEvent?.({ type: 'reconnecting', kind: failure.kind, attempt: attempts[failure.kind], delayMs: decision.delayMs, reason: failure.message, basis: decision.basis });
        try {
          await sleep(decision.delayMs, undefined, signal ? { signal } : undefined);
        } catch {
          return; // aborted while waiting
        }
      }
    },
  };
}
