// The image server: real bytes from the directory, latency, and each fault route behaving as documented.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { request } from 'undici';
import { LaglessError } from '../../src/errors/index.ts';
import { ROUTES, solidPng, startImageServer, type ImageServer } from '../../src/image-server/index.ts';
import { eventually } from '../helpers/eventually.ts';

/** A directory with two small PNGs and a file that is not an image. */
async function imagesDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lagless-images-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'red.png'), solidPng(32, 16, [255, 0, 0]));
  await writeFile(join(dir, 'blue photo.png'), solidPng(8, 8, [0, 0, 255, 200]));
  await writeFile(join(dir, 'notes.txt'), 'not an image');
  return dir;
}

async function server(t: TestContext, options: Parameters<typeof startImageServer>[0] = {}): Promise<ImageServer> {
  const s = await startImageServer({ images: await imagesDir(t), ...options });
  t.after(() => s.close());
  return s;
}

async function get(url: string, init: Parameters<typeof request>[1] = {}) {
  const res = await request(url, { maxRedirections: 0, ...init } as Parameters<typeof request>[1]);
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body };
}

test('serves the directory\'s images byte for byte, with their content type; the query is ignored', async (t) => {
  const s = await server(t);
  assert.deepEqual(s.images, ['blue photo.png', 'red.png'], 'sorted, images only');
  assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const res = await get(s.imageUrl('red.png', { id: 'x-1' }));
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'image/png');
  assert.deepEqual(res.body, solidPng(32, 16, [255, 0, 0]));
  assert.equal((await get(s.imageUrl(0))).status, 200, 'names with spaces are URL-encoded');
  assert.equal(s.imageUrl(3), s.imageUrl(1), 'indexes wrap around');
  assert.equal((await get(`${s.url}/images/missing.png`)).status, 404);
  assert.equal(s.stats.imagesServed, 2);
  assert.equal(s.stats.byPath.get('/images/red.png'), 1);
});

test('latency delays every image response by at least the configured time', async (t) => {
  const s = await server(t, { latencyMs: 150 });
  const t0 = performance.now();
  await get(s.imageUrl(0));
  assert.ok(performance.now() - t0 >= 145, 'the delay is a lower bound');
  // Health checks answer without latency (not asserted by time: just that they answer).
  assert.equal((await get(`${s.url}/health`)).body.toString(), 'ok\n');
});

test('GET / lists the images and the documented routes', async (t) => {
  const s = await server(t);
  const index = JSON.parse((await get(`${s.url}/`)).body.toString()) as { images: string[]; routes: Record<string, string> };
  assert.deepEqual(index.images, ['/images/blue%20photo.png', '/images/red.png']);
  assert.deepEqual(Object.keys(index.routes), Object.keys(ROUTES));
});

test('/status/<code> and /status/<code>-then-ok/<key>', async (t) => {
  const s = await server(t);
  const r503 = await get(`${s.url}/status/503?retry-after=2`);
  assert.equal(r503.status, 503);
  assert.equal(r503.headers['retry-after'], '2');
  assert.equal((await get(`${s.url}/status/404`)).status, 404);
  assert.equal((await get(`${s.url}/status/700`)).status, 400);
  const flaky = `${s.url}/status/500-then-ok/k1?times=2&image=red.png`;
  assert.deepEqual([(await get(flaky)).status, (await get(flaky)).status], [500, 500]);
  const ok = await get(flaky);
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, solidPng(32, 16, [255, 0, 0]));
  assert.equal((await get(`${s.url}/status/500-then-ok/k2`)).status, 500, 'keys are independent');
  assert.equal(s.stats.byPath.get('/status/500-then-ok/k1'), 3);
});

test('/bytes/<n> streams exactly n bytes, with or without Content-Length', async (t) => {
  const s = await server(t);
  const big = await get(`${s.url}/bytes/300000`);
  assert.equal(big.headers['content-length'], '300000');
  assert.equal(big.body.length, 300_000);
  assert.deepEqual([...big.body.subarray(0, 3)], [0xff, 0xd8, 0xff]);
  const chunked = await get(`${s.url}/bytes/70000?chunked=1&type=image/png`);
  assert.equal(chunked.headers['content-length'], undefined);
  assert.equal(chunked.headers['content-type'], 'image/png');
  assert.equal(chunked.body.length, 70_000);
});

test('/truncated, /cut and /stall break the body in three different ways', async (t) => {
  const s = await server(t);
  const full = solidPng(32, 16, [255, 0, 0]);
  const truncated = await get(`${s.url}/truncated/red.png`);
  assert.equal(truncated.status, 200);
  assert.deepEqual(truncated.body, full.subarray(0, Math.floor(full.length / 2)));
  await assert.rejects(get(`${s.url}/cut/red.png`), (err: Error & { code?: string }) => {
    assert.match(String(err.code ?? err.message), /UND_ERR_SOCKET|other side closed|terminated/i);
    return true;
  });
  await assert.rejects(get(`${s.url}/stall/red.png`, { bodyTimeout: 200 }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'UND_ERR_BODY_TIMEOUT');
    return true;
  });
});

test('/slow delays the headers; /not-image is HTML, or lies about its type', async (t) => {
  const s = await server(t);
  await assert.rejects(get(`${s.url}/slow/2000/red.png`, { headersTimeout: 100 }), (err: Error & { code?: string }) => err.code === 'UND_ERR_HEADERS_TIMEOUT');
  const html = await get(`${s.url}/not-image`);
  assert.match(String(html.headers['content-type']), /text\/html/);
  const liar = await get(`${s.url}/not-image?type=image/jpeg`);
  assert.equal(liar.headers['content-type'], 'image/jpeg');
  assert.match(liar.body.toString(), /<title>Not an image/);
});

test('/huge-dimensions is a tiny PNG whose header claims a huge size; /solid makes one colour', async (t) => {
  const s = await server(t);
  const huge = await get(`${s.url}/huge-dimensions?w=50000&h=40000`);
  assert.ok(huge.body.length < 1000, `only ${huge.body.length} bytes`);
  assert.equal(huge.body.readUInt32BE(16), 50_000);
  assert.equal(huge.body.readUInt32BE(20), 40_000);
  const white = await get(`${s.url}/solid/ffffff?w=4&h=3`);
  assert.deepEqual(white.body, solidPng(4, 3, [255, 255, 255]));
  assert.equal((await get(`${s.url}/solid/nothex`)).status, 400);
});

test('/redirect?to= and /redirect/<n>/<name> chains', async (t) => {
  const s = await server(t);
  const one = await get(`${s.url}/redirect?to=http://10.0.0.1/x.jpg&status=307`);
  assert.equal(one.status, 307);
  assert.equal(one.headers.location, 'http://10.0.0.1/x.jpg');
  let path = '/redirect/3/red.png';
  const hops: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await get(s.url + path);
    if (r.status !== 302) {
      assert.equal(r.status, 200);
      break;
    }
    path = String(r.headers.location);
    hops.push(path);
  }
  assert.deepEqual(hops, ['/redirect/2/red.png', '/redirect/1/red.png', '/images/red.png']);
});

test('regression: /bytes/<n> stops at 256 MiB, /redirect/<n> at 128 hops and /solid at 2048 pixels a side, each with a 400 (they were unbounded)', async (t) => {
  const s = await server(t);
  // HEAD: the length is in the headers, and an unbounded server would not start streaming a terabyte.
  const head = (path: string) => get(`${s.url}${path}`, { method: 'HEAD' });
  const max = 256 * 1024 * 1024;
  const atMax = await head(`/bytes/${max}`);
  assert.equal(atMax.status, 200);
  assert.equal(atMax.headers['content-length'], String(max));
  assert.equal((await head(`/bytes/${max + 1}`)).status, 400);
  assert.equal((await head(`/bytes/${2 ** 53 - 1}?chunked=1`)).status, 400);
  assert.equal((await get(`${s.url}/redirect/128/red.png`)).status, 302);
  assert.equal((await get(`${s.url}/redirect/129/red.png`)).status, 400);
  assert.equal((await get(`${s.url}/redirect/1000000000000/red.png`)).status, 400);
  // One row of 2049 pixels is cheap even where it is not refused; a square would allocate width x height x 4 bytes.
  assert.equal((await get(`${s.url}/solid/ff0000?w=2049&h=1`)).status, 400);
  assert.equal((await get(`${s.url}/solid/ff0000?w=1&h=2049`)).status, 400);
  assert.equal((await get(`${s.url}/solid/ff0000?w=2048&h=1`)).status, 200);
});

test('a missing or empty images directory and a taken port are clear IO errors', async (t) => {
  await assert.rejects(startImageServer({ images: '/nonexistent/photos' }), (err: unknown) => {
    assert.ok(err instanceof LaglessError && err.code === 'IO');
    assert.match(err.message, /images directory \/nonexistent\/photos does not exist; pass a directory of photos with --images DIR/);
    return true;
  });
  const empty = await mkdtemp(join(tmpdir(), 'lagless-empty-'));
  t.after(() => rm(empty, { recursive: true, force: true }));
  await assert.rejects(startImageServer({ images: empty }), /no images \(.*\) in/);
  const s = await server(t);
  await assert.rejects(startImageServer({ images: await imagesDir(t), port: s.port }), /port is already in use/);
});

test('close() ends stalled connections and can be called twice', async (t) => {
  const s = await startImageServer({ images: await imagesDir(t) });
  const pending = get(`${s.url}/stall/red.png`).catch((e: Error) => e);
  // The request is on the server (stalled) before it closes: an error then comes from close(), not from a refused connection.
  await eventually(() => s.stats.inFlight === 1, { what: 'the stalled request in flight on the server', timeout: 10_000, every: 5 });
  await Promise.all([s.close(), s.close()]);
  assert.ok((await pending) instanceof Error, 'the stalled request ends with an error instead of hanging');
});

test('the shipped sample images are real photos the server can serve', async (t) => {
  const s = await startImageServer();
  t.after(() => s.close());
  assert.ok(s.images.length >= 1);
  const res = await get(s.imageUrl(0));
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, await readFile(join(new URL('../../assets/images/', import.meta.url).pathname, s.images[0]!)));
});
