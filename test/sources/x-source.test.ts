// The X source against a local server speaking the filtered-stream protocol: records per photo, keep-alives, reconnects with the documented delays.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { LaglessError } from '../../src/errors/index.ts';
import { exponentialBackoff, linearBackoff } from '../../src/retry/index.ts';
import { createProducer } from '../../src/kafka/index.ts';
import { addRules, deleteRules, listRules, parseStreamLine, reconnectDelay, RecordPipe, xSource, type SourceEvent, type UrlRecord, type XSourceOptions } from '../../src/sources/index.ts';
import { consumeAll, createTopic, testBrokers, uniqueName } from '../helpers/kafka.ts';
import { photo, post, postJson, startXApiServer, type FakeXApiOptions } from '../helpers/x-api-server.ts';

/** Small schedules so that reconnects take milliseconds; the logic is the same as with X's numbers. */
const FAST = {
  network: linearBackoff({ initialMs: 20, stepMs: 20, maxMs: 100, jitter: 'none' }),
  http: exponentialBackoff({ baseMs: 30, factor: 2, maxMs: 200, jitter: 'none' }),
  rateLimit: exponentialBackoff({ baseMs: 50, factor: 2, maxMs: 400, jitter: 'none', maxRetryAfterMs: 5000 }),
};

async function fakeX(t: TestContext, options: FakeXApiOptions) {
  const server = await startXApiServer(options);
  t.after(() => server.close());
  return server;
}

/** Reads records until `count` arrived, then aborts; fails after 20 s without them. */
async function readUntil(options: Omit<XSourceOptions, 'signal' | 'onEvent'>, count: number) {
  const ac = new AbortController();
  const events: SourceEvent[] = [];
  const source = xSource({ ...options, signal: ac.signal, onEvent: (e) => events.push(e) });
  const records: UrlRecord[] = [];
  const guard = setTimeout(() => ac.abort(), 20_000);
  for await (const r of source) {
    records.push(r);
    if (records.length === count) ac.abort();
  }
  clearTimeout(guard);
  assert.equal(records.length, count, `expected ${count} records; events: ${JSON.stringify(events)}`);
  return { records, events, stats: source.stats() };
}

test('reconnect delays: X\'s schedules by default; a spent quota waits at least until x-rate-limit-reset', () => {
  assert.deepEqual([1, 2, 3].map((a) => reconnectDelay('network', a).delayMs), [250, 500, 750]);
  assert.deepEqual([1, 2, 3].map((a) => reconnectDelay('http', a).delayMs), [5_000, 10_000, 20_000]);
  assert.deepEqual([1, 2, 3].map((a) => reconnectDelay('rate-limit', a).delayMs), [60_000, 120_000, 240_000]);
  const nowMs = Date.UTC(2026, 0, 1, 12, 0, 0);
  const at = (s: number) => String(nowMs / 1000 + s);
  assert.equal(reconnectDelay('rate-limit', 1, undefined, { remaining: '0', reset: at(42), nowMs }).delayMs, 60_000, 'a reset sooner than the schedule: the schedule');
  const later = reconnectDelay('rate-limit', 1, undefined, { remaining: '0', reset: at(600), nowMs });
  assert.equal(later.delayMs, 600_000, 'a later reset wins');
  assert.match(later.basis, /until x-rate-limit-reset 2026-01-01T12:10:00/);
  assert.equal(reconnectDelay('rate-limit', 1, undefined, { remaining: '7', reset: at(600), nowMs }).delayMs, 60_000, 'quota left: too many connections, not the window');
  assert.equal(reconnectDelay('rate-limit', 1, undefined, { remaining: '0', reset: 'soon', nowMs }).delayMs, 60_000);
  assert.equal(reconnectDelay('rate-limit', 1, undefined, { remaining: '0', reset: at(3600), nowMs }).delayMs, 900_000, 'hints are capped at 15 min');
});

test('parseStreamLine: one record per photo with a URL; keep-alives; stream errors; garbage', () => {
  assert.deepEqual(parseStreamLine('\r'), { kind: 'keep-alive' });
  assert.deepEqual(parseStreamLine(''), { kind: 'keep-alive' });
  const line = postJson({
    id: '1',
    media: [photo('3_1', 'https://pbs.twimg.com/media/a.jpg'), { media_key: '7_2', type: 'video' }, photo('3_3', 'https://pbs.twimg.com/media/c.jpg')],
  });
  assert.deepEqual(parseStreamLine(line), {
    kind: 'post',
    records: [
      { id: '3_1', url: 'https://pbs.twimg.com/media/a.jpg' },
      { id: '3_3', url: 'https://pbs.twimg.com/media/c.jpg' },
    ],
    skipped: [],
  });
  assert.deepEqual(parseStreamLine(postJson({ id: '2', text: 'no media' })), { kind: 'post', records: [], skipped: [] });
  assert.deepEqual(parseStreamLine(postJson({ id: '3', media: [{ media_key: '3_9', type: 'photo' }] })), { kind: 'post', records: [], skipped: ['photo 3_9 without a url'] });
  const err = parseStreamLine('{"errors":[{"title":"operational-disconnect","detail":"This stream has been disconnected upstream for operational reasons."}]}');
  assert.equal(err.kind, 'stream-error');
  assert.equal(parseStreamLine('{"data": {').kind, 'invalid');
});

test('reads posts split across chunks, ignores keep-alives and posts without photos', async (t) => {
  const line = postJson({ id: '10', media: [photo('3_a')] }) + '\r\n';
  const server = await fakeX(t, {
    connections: [
      {
        items: [
          { keepAlive: true },
          post('1', [photo('3_1'), photo('3_2')]),
          post('2'),
          post('3', [{ media_key: '7_1', type: 'video' }]),
          { raw: line.slice(0, 17) },
          { waitMs: 30 },
          { raw: line.slice(17) },
          { keepAlive: true },
        ],
        end: 'hold',
      },
    ],
  });
  const { records, events, stats } = await readUntil({ baseUrl: server.url, token: 'test-token', backoff: FAST }, 3);
  assert.deepEqual(records, [
    { id: '3_1', url: 'https://pbs.twimg.com/media/3_1.jpg' },
    { id: '3_2', url: 'https://pbs.twimg.com/media/3_2.jpg' },
    { id: '3_a', url: 'https://pbs.twimg.com/media/3_a.jpg' },
  ]);
  assert.equal(stats.posts, 4);
  assert.equal(stats.postsWithoutPhotos, 2);
  assert.ok(stats.keepAlives >= 1);
  assert.deepEqual(events.filter((e) => e.type !== 'connected'), []);
  const streamReq = server.requests.find((r) => r.path.startsWith('/2/tweets/search/stream?'))!;
  assert.equal(streamReq.path, '/2/tweets/search/stream?expansions=attachments.media_keys&media.fields=url');
  assert.equal(streamReq.auth, 'Bearer test-token');
});

test('a disconnect mid-stream, a 503 and a 429 are each retried with their own schedule, in order', async (t) => {
  const server = await fakeX(t, {
    connections: [
      // 1: two photos, then the connection drops in the middle of a line (the partial line is discarded).
      { items: [post('1', [photo('3_1')]), post('2', [photo('3_2')]), { raw: '{"data":{"id":"3"' }], end: 'destroy' },
      // 2, 3: network failures again (the stream ends at once): linear 20, then 40 ms.
      { items: [], end: 'close' },
      { items: [], end: 'close' },
      // 4, 5: HTTP 503 twice: exponential 30, 60 ms.
      { status: 503, body: { title: 'Service Unavailable', detail: 'try later' } },
      { status: 503 },
      // 6: 429 with quota left (too many connections): exponential from 50 ms.
      { status: 429, headers: { 'x-rate-limit-limit': '50', 'x-rate-limit-remaining': '4', 'x-rate-limit-reset': String(Math.floor(Date.now() / 1000) + 900) } },
      // 7: works again.
      { items: [post('4', [photo('3_4')])], end: 'hold' },
    ],
  });
  const { records, events, stats } = await readUntil({ baseUrl: server.url, token: 'test-token', backoff: FAST }, 3);
  assert.deepEqual(records.map((r) => r.id), ['3_1', '3_2', '3_4']);
  const reconnects = events.filter((e) => e.type === 'reconnecting');
  assert.deepEqual(
    reconnects.map((e) => [e.kind, e.attempt, e.delayMs]),
    [
      ['network', 1, 20],
      ['network', 2, 40],
      ['network', 3, 60],
      ['http', 1, 30],
      ['http', 2, 60],
      ['rate-limit', 1, 50],
    ],
  );
  assert.match(reconnects[3]!.reason, /HTTP 503: Service Unavailable: try later/);
  assert.equal(stats.connections, 4, 'four 200 answers: the first stream, two empty ones, the last');
  assert.equal(server.streamConnections.length, 7);
  // Each reconnect came no sooner than the delay chosen (a lower bound, not a timing assertion).
  const delays = reconnects.map((e) => e.delayMs);
  for (let i = 1; i < server.streamConnections.length; i++) {
    const gap = server.streamConnections[i]! - server.streamConnections[i - 1]!;
    assert.ok(gap >= delays[i - 1]! - 2, `connection ${i + 1} came ${gap.toFixed(1)} ms after the previous one, delay ${delays[i - 1]} ms`);
  }
  assert.deepEqual(events.filter((e) => e.type === 'skipped'), [], 'a line cut by a disconnect is not "bad input"');
});

test('a working connection resets the schedules', async (t) => {
  const server = await fakeX(t, {
    connections: [
      { status: 503 },
      { status: 503 },
      { items: [post('1', [photo('3_1')])], end: 'close' },
      { status: 503 },
      { items: [post('2', [photo('3_2')])], end: 'hold' },
    ],
  });
  const { events } = await readUntil({ baseUrl: server.url, token: 'test-token', backoff: FAST }, 2);
  assert.deepEqual(
    events.filter((e) => e.type === 'reconnecting').map((e) => [e.kind, e.attempt, e.delayMs]),
    [
      ['http', 1, 30],
      ['http', 2, 60],
      ['network', 1, 20],
      ['http', 1, 30],
    ],
  );
});

test('a 429 with the quota spent waits for x-rate-limit-reset', async (t) => {
  let resetAt = 0;
  const server = await fakeX(t, {
    connections: [
      {
        status: 429,
        headers: () => {
          // Over a second ahead, so that the reset (not the 50 ms schedule) decides.
          resetAt = Math.floor(Date.now() / 1000) + 2;
          return { 'x-rate-limit-limit': '50', 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': String(resetAt) };
        },
        body: { title: 'Too Many Requests', detail: 'Too Many Requests', type: 'about:blank', status: 429 },
      },
      { items: [post('1', [photo('3_1')])], end: 'hold' },
    ],
  });
  const { records, events } = await readUntil({ baseUrl: server.url, token: 'test-token', backoff: FAST }, 1);
  assert.equal(records.length, 1);
  const [r] = events.filter((e) => e.type === 'reconnecting');
  assert.ok(r && r.kind === 'rate-limit');
  assert.match(r.basis, /until x-rate-limit-reset /);
  assert.ok(r.delayMs > 1000 && r.delayMs <= 3000, `${r.delayMs}`);
  assert.ok(server.streamConnections[1]! >= server.streamConnections[0]! + r.delayMs - 2);
  assert.ok(Date.now() >= resetAt * 1000 - 5, 'the reconnect waited for the reset time');
});

test('a stalled stream (no keep-alive) is dropped and reconnected', async (t) => {
  const server = await fakeX(t, {
    connections: [
      { items: [post('1', [photo('3_1')]), { waitMs: 2000 }], end: 'hold' },
      { items: [post('2', [photo('3_2')])], end: 'hold' },
    ],
    keepAliveMs: 60_000,
  });
  const { records, events } = await readUntil({ baseUrl: server.url, token: 'test-token', backoff: FAST, stallTimeoutMs: 300 }, 2);
  assert.deepEqual(records.map((r) => r.id), ['3_1', '3_2']);
  const [r] = events.filter((e) => e.type === 'reconnecting');
  assert.ok(r && r.kind === 'network');
  assert.match(r.reason, /no data for 0s \(stalled stream\)|stalled/);
});

test('a refused connection is a network error, retried linearly', async (t) => {
  const server = await fakeX(t, {});
  const url = server.url;
  await server.close();
  const ac = new AbortController();
  const events: SourceEvent[] = [];
  const source = xSource({ baseUrl: url, token: 't', backoff: FAST, signal: ac.signal, onEvent: (e) => {
    events.push(e);
    if (events.filter((x) => x.type === 'reconnecting').length === 3) ac.abort();
  } });
  for await (const _ of source) assert.fail('no records expected');
  const reconnects = events.filter((e) => e.type === 'reconnecting');
  assert.deepEqual(reconnects.map((e) => e.delayMs), [20, 40, 60]);
  assert.match(reconnects[0]!.reason, /ECONNREFUSED/);
});

test('401 is fatal: SOURCE_FAILED naming X_BEARER_TOKEN, no retry loop', async (t) => {
  const server = await fakeX(t, { token: 'right' });
  const source = xSource({ baseUrl: server.url, token: 'wrong', backoff: FAST });
  await assert.rejects(
    (async () => {
      for await (const _ of source) {
        // nothing
      }
    })(),
    (err: unknown) => {
      assert.ok(err instanceof LaglessError);
      assert.equal(err.code, 'SOURCE_FAILED');
      assert.match(err.message, /answered HTTP 401: Unauthorized.*X_BEARER_TOKEN/);
      return true;
    },
  );
  assert.equal(server.requests.length, 1, 'one attempt only');
});

test('stream error messages are reported as events', async (t) => {
  const server = await fakeX(t, {
    connections: [{ items: [post('1', [photo('3_1')]), { streamError: { title: 'operational-disconnect', detail: 'upstream maintenance' } }], end: 'close' }, { items: [post('2', [photo('3_2')])], end: 'hold' }],
  });
  const { events } = await readUntil({ baseUrl: server.url, token: 'test-token', backoff: FAST }, 2);
  const se = events.find((e) => e.type === 'stream-error');
  assert.ok(se && se.type === 'stream-error' && /operational-disconnect: upstream maintenance/.test(se.message));
});

test('rules: add (with tag), duplicates reported, invalid refused, list, delete by id and all', async (t) => {
  const server = await fakeX(t, {});
  const api = { baseUrl: server.url, token: 'test-token' };
  assert.deepEqual(await listRules(api), []);
  const added = await addRules(api, [{ value: 'cat has:images', tag: 'cats' }, { value: 'dog has:images' }]);
  assert.deepEqual(added.created.map((r) => [r.value, r.tag]), [['cat has:images', 'cats'], ['dog has:images', undefined]]);
  const again = await addRules(api, [{ value: 'cat has:images' }]);
  assert.deepEqual(again, { created: [], duplicates: ['cat has:images'] });
  await assert.rejects(addRules(api, [{ value: '((' }]), /X API rejected the rule\(s\): UnprocessableEntity.*\(rule "\(\("\)/);
  const rules = await listRules(api);
  assert.deepEqual(rules.map((r) => r.value), ['cat has:images', 'dog has:images']);
  assert.deepEqual(await deleteRules(api, [rules[0]!.id]), [rules[0]!.id]);
  await assert.rejects(deleteRules(api, ['nope']), /could not delete rule\(s\): Not Found Error: Rule nope not found/);
  assert.deepEqual(await deleteRules(api, 'all'), [rules[1]!.id]);
  assert.deepEqual(await listRules(api), []);
  await assert.rejects(listRules({ ...api, token: 'bad' }), /answered 401: Unauthorized.*X_BEARER_TOKEN/);
});

test('end to end into a real topic: a disconnect, a 503 and a 429 on the way, every photo delivered once', async (t) => {
  const topic = await createTopic(t, uniqueName('urls-x-e2e'), 3);
  const server = await fakeX(t, {
    connections: [
      { items: [post('1', [photo('3_1'), photo('3_2')]), post('2'), { raw: '{"data"' }], end: 'destroy' },
      { status: 503 },
      { status: 429, headers: { 'x-rate-limit-remaining': '0' } },
      { items: [post('3', [photo('3_3')]), { keepAlive: true }, post('4', [{ media_key: '16_1', type: 'animated_gif' }, photo('3_4')])], end: 'hold' },
    ],
  });
  const producer = createProducer({ brokers: testBrokers() });
  t.after(() => producer.close());
  const ac = new AbortController();
  const events: SourceEvent[] = [];
  const source = xSource({ baseUrl: server.url, token: 'test-token', backoff: FAST, signal: ac.signal, onEvent: (e) => events.push(e) });
  const pipe = new RecordPipe(producer, { topic });
  const running = pipe.run(source);
  const back = await consumeAll(topic, { count: 4 });
  ac.abort();
  const result = await running;
  assert.deepEqual([result.read, result.delivered, result.failed], [4, 4, 0]);
  assert.deepEqual(back.map((r) => [r.key, JSON.parse(r.value)]).sort(), [
    ['3_1', { id: '3_1', url: 'https://pbs.twimg.com/media/3_1.jpg' }],
    ['3_2', { id: '3_2', url: 'https://pbs.twimg.com/media/3_2.jpg' }],
    ['3_3', { id: '3_3', url: 'https://pbs.twimg.com/media/3_3.jpg' }],
    ['3_4', { id: '3_4', url: 'https://pbs.twimg.com/media/3_4.jpg' }],
  ]);
  assert.deepEqual(
    events.filter((e) => e.type === 'reconnecting').map((e) => [e.kind, e.delayMs]),
    [
      ['network', 20],
      ['http', 30],
      ['rate-limit', 50],
    ],
  );
});
