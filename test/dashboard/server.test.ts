// The dashboard's HTTP server against the real broker: its files (uPlot from the package), security headers, loopback host names only, SSE, bounded close.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { test, type TestContext } from 'node:test';
import { Collector, isLoopbackBind, pageWeight, startDashboardServer, type DashboardServer } from '../../src/dashboard/index.ts';
import { LaglessError } from '../../src/errors/index.ts';
import { runCli } from '../helpers/cli.ts';
import { testBrokers, uniqueName } from '../helpers/kafka.ts';

async function serve(t: TestContext, port = 0): Promise<{ server: DashboardServer; collector: Collector; group: string }> {
  const group = uniqueName('dash-server-group');
  const collector = new Collector({ kafka: { brokers: testBrokers() }, group, statusTopic: uniqueName('dash-server-status') });
  t.after(() => collector.close());
  const server = await startDashboardServer({ collector, port });
  t.after(() => server.close());
  collector.start();
  return { server, collector, group };
}

/** A GET with a chosen Host header; status, headers and body. */
function get(url: string, host?: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: host ? { host } : {} }, (res) => {
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
