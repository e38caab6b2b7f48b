// The downloader against a real local HTTP server: results, status errors, timeouts, size and redirect limits.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { test } from 'node:test';
import { createDownloader, download, type DownloadOptions } from '../../src/download/index.ts';
import { LaglessError, UsageError } from '../../src/errors/index.ts';
import { closedPort, rejection, startServer, type TestServer } from '../helpers/http.ts';
import type { TestContext } from 'node:test';

function downloaderFor(t: TestContext, server: TestServer, options: Partial<DownloadOptions> = {}) {
  const d = createDownloader({ allowHosts: [server.hostPort], ...options });
  t.after(() => d.destroy());
  return d;
}

test('downloads a body with its status, content type and final URL', async (t) => {
  const payload = Buffer.from('\x89PNG fake image bytes');
  const server = await startServer(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' });
    res.end(payload);
  });
  const d = downloaderFor(t, server);
  const result = await d.download(`${server.origin}/cat.png`);
  assert.deepEqual(result.bytes, payload);
  assert.equal(result.status, 200);
  assert.equal(result.contentType, 'image/png');
  assert.equal(result.finalUrl, `${server.origin}/cat.png`);
  assert.equal(result.redirects, 0);
});

test('keeps connections alive: two downloads from one origin open one connection', async (t) => {
  const server = await startServer(t, (_req, res) => res.end('ok'));
  const d = downloaderFor(t, server);
  await d.download(`${server.origin}/a`);
  // undici hands the connection back to the pool just after the body ends; a later download reuses it.
  await new Promise((resolve) => setImmediate(resolve));
  await d.download(`${server.origin}/b`);
  assert.equal(d.stats.connectAttempts, 1);
  assert.equal(server.accepted, 1);
});

test('the one-shot download() works and closes its connections', async (t) => {
  const server = await startServer(t, (_req, res) => res.end('one'));
  const result = await download(`${server.origin}/x`, { allowHosts: [server.hostPort] });
  assert.equal(result.bytes.toString(), 'one');
});

test('loopback is blocked by default, before any connection', async (t) => {
  const server = await startServer(t, (_req, res) => res.end('secret'));
  const d = createDownloader();
  t.after(() => d.destroy());
  for (const url of [`${server.origin}/`, `http://localhost:${server.port}/`, `http://2130706433:${server.port}/`, `http://[::ffff:127.0.0.1]:${server.port}/`]) {
    const err = await rejection(d.download(url));
    assert.ok(err instanceof LaglessError, String(err));
    assert.equal(err.code, 'BLOCKED_ADDRESS', url);
    assert.equal(err.retryable, false);
  }
  assert.equal(d.stats.connectAttempts, 0);
  assert.equal(d.stats.blocked, 4);
  assert.equal(server.accepted, 0);
});

test('allowHosts with a port lets only that port through', async (t) => {
  const allowed = await startServer(t, (_req, res) => res.end('allowed'));
  const other = await startServer(t, (_req, res) => res.end('other'));
  const d = downloaderFor(t, allowed);
  assert.equal((await d.download(`${allowed.origin}/`)).bytes.toString(), 'allowed');
  const err = await rejection(d.download(`${other.origin}/`));
  assert.equal(err.code, 'BLOCKED_ADDRESS');
  assert.equal(other.accepted, 0);
});

test('allowPrivate turns the guard off', async (t) => {
  const server = await startServer(t, (_req, res) => res.end('private ok'));
  const d = createDownloader({ allowPrivate: true });
  t.after(() => d.destroy());
  assert.equal((await d.download(`http://localhost:${server.port}/`)).bytes.toString(), 'private ok');
});

test('a redirect from an allowed host to a blocked one is blocked at connect time', async (t) => {
  const internal = await startServer(t, (_req, res) => res.end('internal secret'));
  const front = await startServer(t, (_req, res) => {
    res.writeHead(302, { location: `http://127.0.0.1:${internal.port}/admin` });
    res.end();
  });
  const d = downloaderFor(t, front);
  const err = await rejection(d.download(`${front.origin}/`));
  assert.equal(err.code, 'BLOCKED_ADDRESS');
  assert.equal(internal.accepted, 0);
});

test('404 is a permanent HTTP_STATUS with the status in details', async (t) => {
  const server = await startServer(t, (_req, res) => {
    res.writeHead(404);
    res.end('not here');
  });
  const err = await rejection(downloaderFor(t, server).download(`${server.origin}/missing`));
  assert.equal(err.code, 'HTTP_STATUS');
  assert.equal(err.details.status, 404);
  assert.equal(err.retryable, false);
});

test('500 and 408 are retryable HTTP_STATUS errors', async (t) => {
  let status = 500;
  const server = await startServer(t, (_req, res) => {
    res.writeHead(status);
    res.end('oops');
  });
  const d = downloaderFor(t, server);
  for (status of [500, 503, 408]) {
    const err = await rejection(d.download(`${server.origin}/`));
    assert.equal(err.code, 'HTTP_STATUS');
    assert.equal(err.details.status, status);
    assert.equal(err.retryable, true, `status ${status}`);
  }
});

test('429 carries retryAfterMs from Retry-After seconds or an HTTP date', async (t) => {
  let retryAfter = '7';
  const server = await startServer(t, (_req, res) => {
    res.writeHead(429, { 'retry-after': retryAfter });
    res.end();
  });
  const d = downloaderFor(t, server);
  let err = await rejection(d.download(`${server.origin}/`));
  assert.equal(err.code, 'HTTP_STATUS');
  assert.equal(err.details.status, 429);
  assert.equal(err.retryable, true);
  assert.equal(err.retryAfterMs, 7000);

  retryAfter = new Date(Date.now() + 3_600_000).toUTCString();
  err = await rejection(d.download(`${server.origin}/`));
  // An hour ahead, give or take the second the HTTP date is rounded to and the test's own running time.
  assert.ok(err.retryAfterMs > 3_500_000 && err.retryAfterMs <= 3_600_000, String(err.retryAfterMs));
});

test('slow response headers are a retryable TIMEOUT', async (t) => {
  const server = await startServer(t, () => {
    /* never answers */
  });
  const err = await rejection(downloaderFor(t, server, { headersTimeoutMs: 200 }).download(`${server.origin}/`));
  assert.equal(err.code, 'TIMEOUT');
  assert.equal(err.details.phase, 'headers');
  assert.equal(err.retryable, true);
});

test('a body that stalls is a TIMEOUT', async (t) => {
  const server = await startServer(t, (_req, res) => {
    res.writeHead(200, { 'content-length': '1000' });
    res.write('only the beginning');
  });
  const err = await rejection(downloaderFor(t, server, { bodyTimeoutMs: 200 }).download(`${server.origin}/`));
  assert.equal(err.code, 'TIMEOUT');
  assert.equal(err.details.phase, 'body');
});

test('a body that trickles past totalTimeoutMs is a TIMEOUT even though no pause exceeds bodyTimeoutMs', async (t) => {
  const server = await startServer(t, (_req, res) => {
    res.writeHead(200);
    const timer = setInterval(() => res.write('.'), 20);
    res.on('close', () => clearInterval(timer));
  });
  const err = await rejection(downloaderFor(t, server, { bodyTimeoutMs: 5000, totalTimeoutMs: 300 }).download(`${server.origin}/`));
  assert.equal(err.code, 'TIMEOUT');
  assert.equal(err.details.phase, 'total');
});

test('a Content-Length over maxBytes is TOO_LARGE without waiting for the body', async (t) => {
  // The server announces 10 MB but sends one chunk and then stalls: only a check of the header can end this
  // with TOO_LARGE; reading the body would end in TIMEOUT instead.
  const server = await startServer(t, (_req, res) => {
    res.writeHead(200, { 'content-length': String(10_000_000) });
    res.write(Buffer.alloc(100));
  });
  const err = await rejection(downloaderFor(t, server, { maxBytes: 1000, bodyTimeoutMs: 30_000 }).download(`${server.origin}/`));
  assert.equal(err.code, 'TOO_LARGE');
  assert.equal(err.details.bytes, 10_000_000);
  assert.equal(err.retryable, false);
});

test('a chunked body over maxBytes is TOO_LARGE as soon as the limit is passed', async (t) => {
  // Two chunks, then a stall: the limit must be enforced while streaming, not after the end.
  const server = await startServer(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/jpeg' });
    res.write(Buffer.alloc(1000));
    setTimeout(() => res.write(Buffer.alloc(1000)), 20);
  });
  const err = await rejection(downloaderFor(t, server, { maxBytes: 1500, bodyTimeoutMs: 30_000 }).download(`${server.origin}/`));
  assert.equal(err.code, 'TOO_LARGE');
  assert.ok(err.details.bytes > 1500);
});

test('a body of exactly maxBytes is accepted', async (t) => {
  const server = await startServer(t, (_req, res) => {
    res.write(Buffer.alloc(700, 1));
    res.end(Buffer.alloc(800, 2));
  });
  const result = await downloaderFor(t, server, { maxBytes: 1500 }).download(`${server.origin}/`);
  assert.equal(result.bytes.length, 1500);
});

test('redirects are followed up to maxRedirects, with relative locations', async (t) => {
  // /hop/N redirects to /hop/N-1; /hop/0 serves the body.
  const server = await startServer(t, (req, res) => {
    const n = Number(req.url!.split('/')[2]);
    if (n > 0) {
      res.writeHead(n % 2 === 0 ? 301 : 307, { location: `/hop/${n - 1}` });
      res.end();
    } else {
      res.end('arrived');
    }
  });
  const d = downloaderFor(t, server, { maxRedirects: 3 });
  const ok = await d.download(`${server.origin}/hop/3`);
  assert.equal(ok.bytes.toString(), 'arrived');
  assert.equal(ok.redirects, 3);
  assert.equal(ok.finalUrl, `${server.origin}/hop/0`);

  const err = await rejection(d.download(`${server.origin}/hop/4`));
  assert.equal(err.code, 'HTTP_STATUS');
  assert.equal(err.details.redirects, 3);
  assert.equal(err.retryable, false);

  const none = await rejection(downloaderFor(t, server, { maxRedirects: 0 }).download(`${server.origin}/hop/1`));
  assert.equal(none.code, 'HTTP_STATUS');
});

test('a redirect to a non-http scheme is INVALID_URL', async (t) => {
  const server = await startServer(t, (_req, res) => {
    res.writeHead(302, { location: 'file:///etc/passwd' });
    res.end();
  });
  const err = await rejection(downloaderFor(t, server).download(`${server.origin}/`));
  assert.equal(err.code, 'INVALID_URL');
});

test('malformed URLs and other schemes are INVALID_URL, with no connection', async () => {
  const d = createDownloader();
  try {
    for (const url of ['not a url', 'http://', 'ftp://example.com/a.png', 'file:///etc/passwd', 'gopher://127.0.0.1:70/', 'data:image/png;base64,AAAA', 'javascript:alert(1)', '']) {
      const err = await rejection(d.download(url));
      assert.equal(err.code, 'INVALID_URL', url);
      assert.equal(err.retryable, false);
    }
    assert.equal(d.stats.connectAttempts, 0);
  } finally {
    await d.destroy();
  }
});

test('a refused connection is a retryable CONNECT_FAILED', async (t) => {
  const port = await closedPort();
  const d = createDownloader({ allowHosts: [`127.0.0.1:${port}`] });
  t.after(() => d.destroy());
  const err = await rejection(d.download(`http://127.0.0.1:${port}/`));
  assert.equal(err.code, 'CONNECT_FAILED');
  assert.equal(err.retryable, true);
  assert.equal(d.stats.connectAttempts, 1);
});

test('a name the resolver cannot find is DNS_FAILED; a resolver answer is checked like a literal', async (t) => {
  const server = await startServer(t, (_req, res) => res.end('secret'));
  const d = createDownloader({
    lookup: async (hostname) => {
      if (hostname === 'rebind.test') return [{ address: '127.0.0.1', family: 4 }];
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    },
  });
  t.after(() => d.destroy());
  const missing = await rejection(d.download('http://nowhere.test/'));
  assert.equal(missing.code, 'DNS_FAILED');
  const rebound = await rejection(d.download(`http://rebind.test:${server.port}/`));
  assert.equal(rebound.code, 'BLOCKED_ADDRESS');
  assert.equal(rebound.details.address, '127.0.0.1');
  assert.equal(d.stats.dnsLookups, 2);
  assert.equal(d.stats.connectAttempts, 0);
  assert.equal(server.accepted, 0);
});

test('a block is published on the lagless:download:blocked channel', async () => {
  const seen: unknown[] = [];
  const listener = (message: unknown) => seen.push(message);
  subscribe('lagless:download:blocked', listener);
  const d = createDownloader();
  try {
    await rejection(d.download('http://169.254.169.254/latest/meta-data/'));
  } finally {
    unsubscribe('lagless:download:blocked', listener);
    await d.destroy();
  }
  assert.equal(seen.length, 1);
  assert.deepEqual({ ...(seen[0] as object), range: undefined }, { host: '169.254.169.254', port: 80, address: '169.254.169.254', range: undefined });
  assert.match((seen[0] as { range: string }).range, /link-local/);
});

test('an aborted download rejects with the abort reason', async (t) => {
  const server = await startServer(t, () => {
    /* never answers */
  });
  const controller = new AbortController();
  const pending = downloaderFor(t, server).download(`${server.origin}/`, { signal: controller.signal });
  const reason = new Error('shutting down');
  setTimeout(() => controller.abort(reason), 20);
  assert.equal(await rejection(pending), reason);
});

test('close() is graceful and safe to call twice; a closed downloader refuses new downloads', async (t) => {
  const server = await startServer(t, (_req, res) => res.end('ok'));
  const d = createDownloader({ allowHosts: [server.hostPort] });
  await d.download(`${server.origin}/`);
  const first = d.close();
  const second = d.close();
  assert.equal(first, second);
  await first;
  await assert.rejects(d.download(`${server.origin}/`), /closed/);
});

test('bad options are rejected with a message naming the field', () => {
  const cases: Array<[Partial<DownloadOptions>, RegExp]> = [
    [{ maxBytes: -1 }, /maxBytes/],
    [{ connectTimeoutMs: 1.5 }, /connectTimeoutMs/],
    [{ maxRedirects: 1000 }, /maxRedirects/],
    [{ allowPrivate: 'yes' as unknown as boolean }, /allowPrivate/],
    [{ allowHosts: ['ok.test', 'bad.test:99999'] }, /allowHosts\[1\]/],
    [{ allowHosts: ['http://x.test/'] }, /allowHosts\[0\]/],
    [{ allowHosts: 'x.test' as unknown as string[] }, /allowHosts/],
    [{ headers: { 'user-agent': 1 as unknown as string } }, /headers\.user-agent/],
  ];
  for (const [options, field] of cases) {
    assert.throws(() => createDownloader(options), (err: unknown) => err instanceof UsageError && field.test(err.message), JSON.stringify(options));
  }
});
