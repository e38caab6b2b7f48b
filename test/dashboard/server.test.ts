// The dashboard's HTTP server against the real broker: its files (uPlot from the package), security headers, loopback host names only, SSE, bounded close, its client cap and buffer budget, its token.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { test, type TestContext } from 'node:test';
import { Registry } from 'prom-client';
import { Collector, createDashboardHandler, isLoopbackBind, pageWeight, startDashboardServer, type DashboardServer, type DashboardServerOptions } from '../../src/dashboard/index.ts';
import { LaglessError } from '../../src/errors/index.ts';
import { startObserveServer } from '../../src/observe/index.ts';
import { runCli, startCli, waitCli } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { closedPort } from '../helpers/http.ts';
import { testBrokers, uniqueName } from '../helpers/kafka.ts';

async function serve(t: TestContext, port = 0, extra: Partial<DashboardServerOptions> = {}, start = true): Promise<{ server: DashboardServer; collector: Collector; group: string }> {
  const group = uniqueName('dash-server-group');
  const collector = new Collector({ kafka: { brokers: testBrokers() }, group, statusTopic: uniqueName('dash-server-status') });
  t.after(() => collector.close());
  const server = await startDashboardServer({ collector, port, ...extra });
  t.after(() => server.close());
  if (start) collector.start();
  return { server, collector, group };
}

/** A GET with a chosen Host header (and more headers); status, headers and body. */
function get(url: string, host?: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...(host ? { host } : {}), ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('serves the page, its script and style, and uPlot from the installed package, with a strict content security policy', async (t) => {
  const { server } = await serve(t);
  const page = await get(server.url);
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  const csp = String(page.headers['content-security-policy']);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/, 'no inline script, no other origin');
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.doesNotMatch(page.body, /https?:\/\/(?!127\.0\.0\.1)/, 'the page references no other site');
  const uplot = await get(`${server.url}assets/uplot.js`);
  assert.equal(uplot.body, readFileSync(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'));
  for (const path of ['assets/app.js', 'assets/app.css', 'assets/uplot.css']) assert.equal((await get(`${server.url}${path}`)).status, 200, path);
  const weight = pageWeight();
  assert.equal(weight.files.length, 5);
  assert.equal(weight.total, weight.files.reduce((a, f) => a + f.bytes, 0));
});

test('read-only, loopback host names only (no DNS rebinding), 404 elsewhere', async (t) => {
  const { server } = await serve(t);
  const port = new URL(server.url).port;
  assert.equal((await get(server.url, `localhost:${port}`)).status, 200);
  assert.equal((await get(server.url, `[::1]:${port}`)).status, 200);
  const evil = await get(server.url, `evil.example:${port}`);
  assert.equal(evil.status, 403);
  assert.match(evil.body, /loopback host name/);
  assert.equal((await get(server.url, undefined, 'POST')).status, 405);
  assert.equal((await get(`${server.url}nope`)).status, 404);
  assert.equal(isLoopbackBind('127.0.0.1'), true);
  assert.equal(isLoopbackBind('::1'), true);
  assert.equal(isLoopbackBind('0.0.0.0'), false);
  assert.equal(isLoopbackBind('10.1.2.3'), false);
});

test('the event stream starts with the history and the state, then a tick about every second; close() ends open streams', async (t) => {
  const { server, group } = await serve(t);
  const res = await fetch(`${server.url}events`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!/event: tick\n/.test(text)) {
    const { value, done } = await reader.read();
    assert.ok(!done, `the stream ended early: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  const hello = JSON.parse(/event: hello\ndata: (.*)\n/.exec(text)![1]!) as { instance: string; history: { t: number[] }; state: { summary: { group: string } } };
  assert.equal(hello.state.summary.group, group);
  assert.ok(Array.isArray(hello.history.t));
  const tick = JSON.parse(/event: tick\ndata: (.*)\n/.exec(text)![1]!) as { point: { t: number; values: Record<string, number | null> } };
  assert.ok(tick.point.t > 1_700_000_000);
  // The group does not exist: no lag, no members, and the page says why there is no status.
  const state = (await (await fetch(`${server.url}api/state`)).json()) as { state: { summary: { groupState: string; problems: string[] }; members: unknown[] } };
  assert.deepEqual(state.state.members, []);
  assert.ok(state.state.summary.problems.some((p) => /status topic .* does not exist/.test(p)), state.state.summary.problems.join('; '));
  await server.close();
  const rest = await reader.read().then(async function drain(r): Promise<boolean> {
    return r.done ? true : drain(await reader.read());
  });
  assert.equal(rest, true, 'the stream ended when the server closed');
});

test('a port in use is an IO error naming it; the CLI needs --group and a valid --port (exit 2)', async (t) => {
  const { server } = await serve(t);
  const port = Number(new URL(server.url).port);
  const collector = new Collector({ kafka: { brokers: testBrokers() }, group: 'g', statusTopic: 's' });
  t.after(() => collector.close());
  await assert.rejects(startDashboardServer({ collector, port }), (e: unknown) => e instanceof LaglessError && e.code === 'IO' && e.message.includes(`127.0.0.1:${port}`) && /in use/.test(e.message));
  const noGroup = await runCli(['dashboard']);
  assert.equal(noGroup.code, 2);
  assert.match(noGroup.stderr, /--group/);
  const badPort = await runCli(['dashboard', '--group', 'g', '--port', '70000']);
  assert.equal(badPort.code, 2);
  assert.match(badPort.stderr, /--port/);
  const inUse = await runCli(['dashboard', '--group', 'g', '--port', String(port)]);
  assert.equal(inUse.code, 1);
  assert.match(inUse.stderr, /error \[IO\]: cannot serve the dashboard on 127\.0\.0\.1:\d+: the port is in use/);
});

/** Reads an event stream until its hello has arrived; the hello's data and its size in bytes. */
async function readHello(res: Response): Promise<{ bytes: number; hello: { history: { t: number[]; series: Record<string, unknown[]> } } }> {
  const reader = res.body!.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    assert.ok(!done, 'the stream ended before its hello');
    chunks.push(value);
    size += value.length;
    const text = Buffer.concat(chunks, size).toString('utf8');
    const m = /event: hello\ndata: (.*)\n\n/.exec(text);
    if (m) {
      await reader.cancel();
      return { bytes: Buffer.byteLength(m[1]!), hello: JSON.parse(m[1]!) as { history: { t: number[]; series: Record<string, unknown[]> } } };
    }
  }
}

test('regression: at most maxClients event streams at once; the next gets 503 with Retry-After and a reason (any number were accepted)', async (t) => {
  const { server } = await serve(t, 0, { maxClients: 2 });
  const open: AbortController[] = [];
  t.after(() => open.forEach((c) => c.abort()));
  const events = async () => {
    const ac = new AbortController();
    open.push(ac);
    return { res: await fetch(`${server.url}events`, { signal: ac.signal }), ac };
  };
  const a = await events();
  const b = await events();
  assert.deepEqual([a.res.status, b.res.status], [200, 200]);
  const third = await events();
  assert.equal(third.res.status, 503);
  assert.ok(Number(third.res.headers.get('retry-after')) > 0, 'Retry-After in seconds');
  assert.match(third.res.headers.get('content-type') ?? '', /^text\/plain/);
  assert.ok((await third.res.text()).length > 0, 'a body that says why');
  // The page and its files are not streams: they still load.
  assert.equal((await get(server.url)).status, 200);
  // A page closes: its place is free again.
  a.ac.abort();
  await eventually(
    async () => {
      const next = await events();
      if (next.res.status === 200) return true;
      await next.res.arrayBuffer();
      return false;
    },
    { what: 'an event stream accepted once one of the two closed', timeout: 30_000, every: 50 },
  );
});

test('regression: the history sent at connect fits the per-client buffer budget (it was written whole, whatever its size); a client that lets more wait is dropped', async (t) => {
  const budget = 1024 * 1024;
  const { server, collector } = await serve(t, 0, { maxBufferedBytes: budget }, false);
  // An hour of 300 series (a group of ~300 partitions): about 7 MB of JSON, several times the budget.
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < 3600; i++) {
    const values: Record<string, number> = {};
    for (let s = 0; s < 300; s++) values[`lag:t/${s}`] = 100_000 + i * 7 + s;
    collector.history.push(now - 3600 + i, values);
  }
  const { bytes, hello } = await readHello(await fetch(`${server.url}events`));
  assert.ok(bytes <= budget, `the hello is ${bytes} bytes, over the budget of ${budget}`);
  const t0 = hello.history.t;
  assert.ok(t0.length > 0 && t0.length < 3600, `the newest part of the history: ${t0.length} points`);
  assert.equal(t0.at(-1), now - 1, 'ends with the newest point');
  assert.equal(hello.history.series['lag:t/0']?.length, t0.length);
  const state = (await (await fetch(`${server.url}api/state`)).json()) as { history: { t: number[] } };
  assert.deepEqual(state.history.t, t0, '/api/state sends the same');

  // A client that reads nothing: live events pile up for it until more than the budget waits, then it is dropped.
  const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
  t.after(() => socket.destroy());
  socket.on('error', () => {});
  socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  socket.pause();
  await eventually(() => server.clients === 1, { what: 'the silent client connected', timeout: 30_000, every: 20 });
  const big = 'x'.repeat(256 * 1024);
  let ticks = 0;
  while (server.clients > 0) {
    assert.ok(ticks < 400, `still connected after ${ticks} events of 256 KiB (${ticks / 4} MiB)`);
    collector.emit('tick', { t: now + ticks, values: {} }, { ...collector.state, problems: [`${ticks}${big}`] } as typeof collector.state);
    ticks += 1;
  }
  t.diagnostic(`the silent client was dropped after ${ticks} events of 256 KiB`);
});

test('regression: bound beyond loopback, the dashboard needs a token (it had none): refused without one; Bearer, ?token= once (then an HttpOnly SameSite=Strict cookie) and the cookie let in', async (t) => {
  const collector = new Collector({ kafka: { brokers: testBrokers() }, group: uniqueName('dash-token'), statusTopic: uniqueName('dash-token-status') });
  t.after(() => collector.close());
  const refused = await startDashboardServer({ collector, port: 0, host: '0.0.0.0' }).then(
    async (s) => {
      await s.close();
      return 'started';
    },
    (e: unknown) => e,
  );
  assert.ok(refused instanceof LaglessError && refused.code === 'USAGE', `without a token: ${String(refused)}`);
  const short = await startDashboardServer({ collector, port: 0, host: '0.0.0.0', token: 'short' }).then(
    async (s) => {
      await s.close();
      return 'started';
    },
    (e: unknown) => e,
  );
  assert.ok(short instanceof LaglessError && short.code === 'USAGE', `with a 5-character token: ${String(short)}`);

  const token = 'a-token-of-the-test-0123456789';
  const server = await startDashboardServer({ collector, port: 0, host: '0.0.0.0', token });
  t.after(() => server.close());
  const base = `http://127.0.0.1:${server.port}/`;
  const denied = await get(base);
  assert.equal(denied.status, 401);
  assert.match(String(denied.headers['www-authenticate']), /^Bearer/);
  for (const path of ['', 'index.html', 'assets/app.js', 'assets/uplot.js', 'events', 'api/state']) assert.equal((await get(base + path)).status, 401, path);
  assert.equal((await get(base, undefined, 'GET', { authorization: 'Bearer not-the-token-0123456789' })).status, 401);
  assert.equal((await get(base, undefined, 'GET', { authorization: `Bearer ${token}` })).status, 200);
  assert.equal((await get(`${base}?token=not-the-token-0123456789`)).status, 401);

  const link = await get(`${base}?x=1&token=${encodeURIComponent(token)}`);
  assert.equal(link.status, 303);
  assert.equal(link.headers.location, '/?x=1', 'the same page without the token');
  const setCookie = String(link.headers['set-cookie']);
  assert.match(setCookie, /; HttpOnly/i);
  assert.match(setCookie, /; SameSite=Strict/i);
  assert.match(setCookie, /; Path=\//i);
  assert.ok(!setCookie.includes(token), 'the cookie is not the token itself');
  const cookie = setCookie.split(';')[0]!;
  for (const path of ['', 'assets/app.js', 'api/state']) assert.equal((await get(base + path, undefined, 'GET', { cookie })).status, 200, path);
  const stream = await fetch(`${base}events`, { headers: { cookie } });
  assert.equal(stream.status, 200);
  await stream.body!.cancel();
  assert.equal((await get(base, undefined, 'GET', { cookie: `${cookie}x` })).status, 401, 'a wrong cookie');
});

test('regression: under lagless run --http-port beyond loopback, the dashboard needs the token but /healthz, /readyz and /metrics do not', async (t) => {
  const collector = new Collector({ kafka: { brokers: testBrokers() }, group: uniqueName('dash-observe'), statusTopic: uniqueName('dash-observe-status'), lazyRecords: true });
  t.after(() => collector.close());
  assert.throws(() => createDashboardHandler({ collector, loopbackHostsOnly: false }), (e: unknown) => e instanceof LaglessError && e.code === 'USAGE');
  const token = 'another-token-of-the-test-0123';
  const extra = createDashboardHandler({ collector, loopbackHostsOnly: false, token });
  const server = await startObserveServer({ port: 0, host: '0.0.0.0', registry: new Registry(), ready: () => true, extra });
  t.after(() => server.close());
  const base = `http://127.0.0.1:${new URL(server.url).port}`;
  for (const path of ['/healthz', '/readyz', '/metrics']) assert.equal((await get(base + path)).status, 200, path);
  assert.equal((await get(`${base}/`)).status, 401);
  assert.equal((await get(`${base}/`, undefined, 'GET', { authorization: `Bearer ${token}` })).status, 200);
});

test('regression: the CLI refuses a non-loopback address without LAGLESS_DASHBOARD_TOKEN (exit 2, a usage error naming the flag, before connecting), and uses the token from it', async (t) => {
  const nowhere = `127.0.0.1:${await closedPort()}`;
  const env = { LAGLESS_DASHBOARD_TOKEN: '' };
  const dash = await runCli(['dashboard', '--group', 'g', '--host', '0.0.0.0', '--brokers', nowhere], { env });
  // Exit 2 is the USAGE code; the message names the flag and the variable to set.
  assert.equal(dash.code, 2, dash.stderr);
  assert.match(dash.stderr, /--host 0\.0\.0\.0/);
  assert.match(dash.stderr, /LAGLESS_DASHBOARD_TOKEN/);
  const weak = await runCli(['dashboard', '--group', 'g', '--host', '0.0.0.0', '--brokers', nowhere], { env: { LAGLESS_DASHBOARD_TOKEN: 'short' } });
  assert.equal(weak.code, 2, weak.stderr);
  assert.match(weak.stderr, /LAGLESS_DASHBOARD_TOKEN/);
  const run = await runCli(['run', 'noop', '--http-port', '0', '--http-host', '0.0.0.0', '--brokers', nowhere], { env });
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /--http-host 0\.0\.0\.0/);
  assert.match(run.stderr, /LAGLESS_DASHBOARD_TOKEN/);
  // Probes and metrics alone need no token: this one gets as far as the broker.
  const probesOnly = await runCli(['run', 'noop', '--http-port', '0', '--http-host', '0.0.0.0', '--no-dashboard', '--brokers', nowhere], { env });
  assert.equal(probesOnly.code, 1, probesOnly.stderr);
  assert.match(probesOnly.stderr, /error \[BROKER_UNREACHABLE\]/);

  const token = 'the-token-from-the-environment-42';
  const child = startCli(['dashboard', '--group', uniqueName('dash-cli-token'), '--host', '0.0.0.0', '--port', '0'], { env: { LAGLESS_DASHBOARD_TOKEN: token } });
  t.after(() => child.kill('SIGKILL'));
  const url = await eventually(() => /^http:\/\/\S+\/$/m.exec(child.output.stdout)?.[0], { what: 'the dashboard URL on stdout', timeout: 60_000, every: 100, failIf: () => (child.exitCode !== null ? `exited ${child.exitCode}: ${child.output.stderr}` : undefined) });
  const base = `http://127.0.0.1:${new URL(url).port}/`;
  assert.equal((await get(base)).status, 401);
  assert.equal((await get(base, undefined, 'GET', { authorization: `Bearer ${token}` })).status, 200);
  child.kill('SIGINT');
  assert.equal((await waitCli(child, 60_000)).code, 0);
});
