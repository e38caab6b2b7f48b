// A local server that speaks the X API v2 filtered-stream protocol (rules endpoints, chunked NDJSON stream with keep-alives) with scripted faults.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeMedia {
  media_key: string;
  type?: 'photo' | 'video' | 'animated_gif';
  url?: string;
}

/** One line of the stream. */
export type StreamItem =
  | { post: { id: string; text?: string; media?: FakeMedia[] } }
  | { keepAlive: true }
  /** Bytes written as they are (to split lines across chunks, or send garbage). */
  | { raw: string }
  | { waitMs: number }
  | { streamError: { title: string; detail: string } };

/** What the server does with one stream connection, in order; after the last, connections get `after`. */
export type ConnectionScript =
  /** A non-200 answer; `headers` may be a function, called at answer time (for x-rate-limit-reset). */
  | { status: number; headers?: Record<string, string> | (() => Record<string, string>); body?: unknown }
  | { items: StreamItem[]; end: 'close' | 'destroy' | 'hold' };

export interface FakeXApiOptions {
  token?: string;
  connections?: ConnectionScript[];
  /** What connections get once the script is used up. Default: a stream that holds with keep-alives. */
  after?: ConnectionScript;
  /** Keep-alive period of a held stream, ms (X: ~20 s). Default 200. */
  keepAliveMs?: number;
}

export interface FakeXApi {
  url: string;
  /** Current rules. */
  rules: { id: string; value: string; tag?: string }[];
  /** Every request: method, path with query, Authorization header, arrival time (performance.now). */
  requests: { method: string; path: string; auth: string | undefined; at: number }[];
  /** Arrival times of stream connections (performance.now). */
  streamConnections: number[];
  close(): Promise<void>;
}

export function post(id: string, media: FakeMedia[] = [], text = `post ${id}`): StreamItem {
  return { post: { id, text, media } };
}

export function photo(key: string, url = `https://pbs.twimg.com/media/${key}.jpg`): FakeMedia {
  return { media_key: key, type: 'photo', url };
}

/** The JSON line X sends for a post, with `includes.media` when it has media. */
export function postJson(p: { id: string; text?: string; media?: FakeMedia[] }): string {
  const media = p.media ?? [];
  const data: Record<string, unknown> = { edit_history_tweet_ids: [p.id], id: p.id, text: p.text ?? '' };
  if (media.length) data.attachments = { media_keys: media.map((m) => m.media_key) };
  const body: Record<string, unknown> = { data, matching_rules: [{ id: '1', tag: 'test' }] };
  if (media.length) body.includes = { media: media.map((m) => ({ media_key: m.media_key, type: m.type ?? 'photo', ...(m.url ? { url: m.url } : {}) })) };
  return JSON.stringify(body);
}

export async function startXApiServer(options: FakeXApiOptions = {}): Promise<FakeXApi> {
  const token = options.token ?? 'test-token';
  const script = [...(options.connections ?? [])];
  const after: ConnectionScript = options.after ?? { items: [], end: 'hold' };
  const keepAliveMs = options.keepAliveMs ?? 200;
  const rules: FakeXApi['rules'] = [];
  const requests: FakeXApi['requests'] = [];
  const streamConnections: number[] = [];
  let nextRuleId = 1000;
  const open = new Set<ServerResponse>();

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((ok) => {
      let s = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (s += d));
      req.on('end', () => ok(s));
    });

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({ method: req.method ?? '', path: url.pathname + url.search, auth: req.headers.authorization, at: performance.now() });
    if (req.headers.authorization !== `Bearer ${token}`) {
      return json(res, 401, { title: 'Unauthorized', type: 'about:blank', status: 401, detail: 'Unauthorized' });
    }
    if (url.pathname === '/2/tweets/search/stream/rules') {
      if (req.method === 'GET') {
        return json(res, 200, rules.length ? { data: rules, meta: { sent: new Date().toISOString(), result_count: rules.length } } : { meta: { sent: new Date().toISOString(), result_count: 0 } });
      }
      if (req.method === 'POST') {
        const body = JSON.parse(await readBody(req)) as { add?: { value: string; tag?: string }[]; delete?: { ids: string[] } };
        if (body.add) {
          const data: FakeXApi['rules'] = [];
          const errors: unknown[] = [];
          for (const r of body.add) {
            if (r.value.includes('((')) {
              errors.push({ value: r.value, details: ['Rules must contain a non-negation term'], title: 'UnprocessableEntity', type: 'https://api.twitter.com/2/problems/invalid-rules' });
            } else if (rules.some((x) => x.value === r.value)) {
              errors.push({ value: r.value, id: rules.find((x) => x.value === r.value)!.id, title: 'DuplicateRule', type: 'https://api.twitter.com/2/problems/duplicate-rules' });
            } else {
              const rule = { id: String(nextRuleId++), value: r.value, ...(r.tag ? { tag: r.tag } : {}) };
              rules.push(rule);
              data.push(rule);
            }
          }
          const summary = { created: data.length, not_created: body.add.length - data.length, valid: data.length, invalid: errors.length };
          return json(res, 201, { ...(data.length ? { data } : {}), meta: { sent: new Date().toISOString(), summary }, ...(errors.length ? { errors } : {}) });
        }
        if (body.delete) {
          let deleted = 0;
          const errors: unknown[] = [];
          for (const id of body.delete.ids) {
            const i = rules.findIndex((r) => r.id === id);
            if (i === -1) errors.push({ id, title: 'Not Found Error', detail: `Rule ${id} not found`, type: 'https://api.twitter.com/2/problems/resource-not-found' });
            else {
              rules.splice(i, 1);
              deleted += 1;
            }
          }
          return json(res, 200, { meta: { sent: new Date().toISOString(), summary: { deleted, not_deleted: errors.length } }, ...(errors.length ? { errors } : {}) });
        }
      }
      return json(res, 400, { title: 'Invalid Request', detail: 'unsupported' });
    }
    if (url.pathname === '/2/tweets/search/stream' && req.method === 'GET') {
      streamConnections.push(performance.now());
      if (url.searchParams.get('expansions') !== 'attachments.media_keys' || url.searchParams.get('media.fields') !== 'url') {
        return json(res, 400, { title: 'Invalid Request', detail: 'the test server expects expansions=attachments.media_keys&media.fields=url' });
      }
      const step = script.shift() ?? after;
      if ('status' in step) {
        const headers = typeof step.headers === 'function' ? step.headers() : (step.headers ?? {});
        return json(res, step.status, step.body ?? { title: `status ${step.status}`, detail: 'scripted answer' }, headers);
      }
      // A chunked 200 stream, like X's: no Content-Length, lines end with \r\n.
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      open.add(res);
      res.on('close', () => open.delete(res));
      res.flushHeaders();
      for (const item of step.items) {
        if (res.destroyed) return;
        if ('waitMs' in item) await new Promise((r) => setTimeout(r, item.waitMs));
        else if ('keepAlive' in item) res.write('\r\n');
        else if ('raw' in item) res.write(item.raw);
        else if ('streamError' in item) res.write(JSON.stringify({ errors: [{ ...item.streamError, type: 'https://api.twitter.com/2/problems/operational-disconnect' }] }) + '\r\n');
        else res.write(postJson(item.post) + '\r\n');
      }
      if (res.destroyed) return;
      if (step.end === 'close') res.end();
      else if (step.end === 'destroy') {
        // Let what was written reach the client first: a disconnect after data, as when a proxy drops the line.
        res.write('', () => setTimeout(() => res.destroy(), 20));
      }
      else {
        const timer = setInterval(() => res.write('\r\n'), keepAliveMs);
        res.on('close', () => clearInterval(timer));
      }
      return;
    }
    return json(res, 404, { title: 'Not Found' });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    rules,
    requests,
    streamConnections,
    close() {
      closing ??= new Promise<void>((ok) => {
        for (const r of open) r.destroy();
        server.close(() => ok());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
