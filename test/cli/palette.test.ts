// `lagless palette FILE|URL`: one JSON object on stdout, exit codes 0/1/2, URLs served by a real local HTTP server.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { runCli } from '../../src/cli/program.ts';
import { extractPalette } from '../../src/palette/index.ts';

const ROOT = new URL('../../', import.meta.url);
const COFFEE = new URL('assets/images/coffee.jpg', ROOT).pathname;

class Capture extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

async function run(argv: string[], tty = false) {
  const stdout = new Capture();
  const stderr = new Capture();
  stdout.isTTY = tty;
  const code = await runCli(['palette', ...argv], {
    env: {},
    stdout,
    stderr,
    stdin: process.stdin,
    signal: new AbortController().signal,
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** A local server on 127.0.0.1:0 with a few routes; closed after the test. */
async function serve(t: TestContext): Promise<string> {
  const coffee = readFileSync(COFFEE);
  const server: Server = createServer((req, res) => {
    switch (req.url) {
      case '/coffee.jpg':
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': coffee.length });
        res.end(coffee);
        return;
      case '/redirect':
        res.writeHead(302, { location: '/coffee.jpg' });
        res.end();
        return;
      case '/page.html':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>not an image</body></html>');
        return;
      case '/chunked-big':
        // no content-length: the cap must hold while streaming
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        for (let i = 0; i < 64; i++) res.write(Buffer.alloc(16 * 1024, 1));
        res.end();
        return;
      case '/slow':
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        res.write(coffee.subarray(0, 100)); // then nothing: the timeout must fire
        return;
      case '/busy':
        res.writeHead(503);
        res.end();
        return;
      default:
        res.writeHead(404);
        res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('a file: one JSON object with palette, hex, width, height, mode; exit 0', async () => {
  const { code, stdout, stderr } = await run([COFFEE]);
  assert.equal(code, 0, stderr);
  assert.equal(stdout.trim().split('\n').length, 1, 'compact JSON on one line when stdout is not a terminal');
  const out = JSON.parse(stdout);
  const want = await extractPalette(readFileSync(COFFEE));
  assert.deepEqual({ ...out, durationMs: 0 }, { ...want, durationMs: 0 });
  assert.equal(typeof out.durationMs, 'number');
});

test('--exact --colors --quality reach the engine; on a terminal the JSON is indented, --json keeps it compact', async () => {
  const { code, stdout } = await run([COFFEE, '--exact', '--colors', '8', '--quality', '3'], true);
  assert.equal(code, 0);
  assert.ok(stdout.trim().split('\n').length > 1, 'indented on a TTY');
  const out = JSON.parse(stdout);
  assert.deepEqual(out.palette, (await extractPalette(readFileSync(COFFEE), { mode: 'exact', colors: 8, quality: 3 })).palette);
  assert.equal(out.mode, 'exact');
  const compact = await run([COFFEE, '--json'], true);
  assert.equal(compact.stdout.trim().split('\n').length, 1);
  assert.equal(JSON.parse(compact.stdout).mode, 'fast');
});

test('usage errors exit 2 and name the option: --colors outside 2..256, --quality < 1, no source', async () => {
  for (const [argv, option] of [
    [['--colors', '1', COFFEE], '--colors'],
    [['--colors', '257', COFFEE], '--colors'],
    [['--colors', 'six', COFFEE], '--colors'],
    [['--quality', '0', COFFEE], '--quality'],
    [['--max-pixels', '-5', COFFEE], '--max-pixels'],
  ] as const) {
    const { code, stderr, stdout } = await run([...argv]);
    assert.equal(code, 2, `${argv.join(' ')}: ${stderr}`);
    assert.ok(stderr.includes(option), stderr);
    assert.equal(stdout, '');
  }
  assert.equal((await run([])).code, 2);
});

test('runtime failures exit 1 with the stable code: missing file, not an image, bomb, all white', async () => {
  const cases: [string, string][] = [
    ['/nonexistent/image.jpg', 'IO'],
    [new URL('test/fixtures/palette/not-an-image.html', ROOT).pathname, 'NOT_AN_IMAGE'],
    [new URL('test/fixtures/palette/bomb.png', ROOT).pathname, 'TOO_MANY_PIXELS'],
    [new URL('test/fixtures/palette/white.png', ROOT).pathname, 'NO_PIXELS'],
  ];
  for (const [path, code] of cases) {
    const r = await run([path]);
    assert.equal(r.code, 1, path);
    assert.match(r.stderr, new RegExp(`\\[${code}\\]`), r.stderr);
  }
  const ceiling = await run([COFFEE, '--max-pixels', '1000']);
  assert.equal(ceiling.code, 1);
  assert.match(ceiling.stderr, /TOO_MANY_PIXELS/);
});

test('an http URL from a local server gives the same palette as the file; redirects are followed', async (t) => {
  const base = await serve(t);
  const want = await extractPalette(readFileSync(COFFEE));
  for (const path of ['/coffee.jpg', '/redirect']) {
    const { code, stdout, stderr } = await run([`${base}${path}`]);
    assert.equal(code, 0, stderr);
    assert.deepEqual(JSON.parse(stdout).palette, want.palette);
  }
});

test('URL failures exit 1 with HTTP_STATUS, NOT_AN_IMAGE, CONNECT_FAILED', async (t) => {
  const base = await serve(t);
  const notFound = await run([`${base}/missing.jpg`]);
  assert.equal(notFound.code, 1);
  assert.match(notFound.stderr, /\[HTTP_STATUS\].*404/);
  const html = await run([`${base}/page.html`]);
  assert.match(html.stderr, /\[NOT_AN_IMAGE\]/);
  // a port nobody listens on: bind, note the port, close
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const refused = await run([`http://127.0.0.1:${port}/x.jpg`]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /\[CONNECT_FAILED\]/);
});

test('the lagless binary, as a user runs it: palette of a shipped photo', async () => {
  const bin = new URL('bin/lagless.js', ROOT).pathname;
  const { stdout } = await promisify(execFile)(process.execPath, [bin, 'palette', COFFEE, '--colors', '4'], { cwd: ROOT.pathname });
  const out = JSON.parse(stdout);
  assert.equal(out.palette.length, 4);
  assert.deepEqual([out.width, out.height], [600, 400]);
});
