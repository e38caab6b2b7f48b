// The synthetic source: unique ids, URLs that the image server really serves, counts, duration, abort.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { request } from 'undici';
import { solidPng, startImageServer, type ImageServer } from '../../src/image-server/index.ts';
import { parseProfile, syntheticSource, type UrlRecord } from '../../src/sources/index.ts';

async function imageServer(t: TestContext): Promise<ImageServer> {
  const dir = await mkdtemp(join(tmpdir(), 'lagless-synth-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'a.png'), solidPng(4, 4, [10, 20, 30]));
  await writeFile(join(dir, 'b.png'), solidPng(4, 4, [40, 50, 60]));
  const s = await startImageServer({ images: dir });
  t.after(() => s.close());
  return s;
}

async function collect(source: AsyncIterable<UrlRecord>): Promise<UrlRecord[]> {
  const out: UrlRecord[] = [];
  for await (const r of source) out.push(r);
  return out;
}

test('--count gives exactly that many records with unique ids, cycling through the images', async (t) => {
  const s = await imageServer(t);
  const source = syntheticSource({ baseUrl: s.url, images: s.images, profile: parseProfile('constant:5000'), count: 250, runId: 'run1' });
  const records = await collect(source);
  assert.equal(records.length, 250);
  assert.equal(new Set(records.map((r) => r.id)).size, 250);
  assert.deepEqual(records[0], { id: 'run1-1', url: `${s.url}/images/a.png?id=run1-1` });
  assert.deepEqual(records[1], { id: 'run1-2', url: `${s.url}/images/b.png?id=run1-2` });
  assert.equal(source.stats().emitted, 250);
  // The URLs point at real images.
  for (const r of records.slice(0, 4)) {
    const res = await request(r.url);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/png');
    await res.body.arrayBuffer();
  }
});

test('two runs never share ids', async (t) => {
  const s = await imageServer(t);
  const a = await collect(syntheticSource({ baseUrl: s.url, images: s.images, profile: 'unlimited', count: 5 }));
  const b = await collect(syntheticSource({ baseUrl: s.url, images: s.images, profile: 'unlimited', count: 5 }));
  assert.equal(new Set([...a, ...b].map((r) => r.id)).size, 10);
});

// A catch-up allowance of a minute: however loaded the machine, nothing due is dropped, so counts are exact.
const PATIENT = { burstMs: 60_000 };

test('--duration ends the run with exactly rate × duration records', async (t) => {
  const s = await imageServer(t);
  const source = syntheticSource({ baseUrl: s.url, images: s.images, profile: parseProfile('constant:100'), durationMs: 300, pacer: PATIENT });
  const records = await collect(source);
  // 100/s for 0.3 s: records due at 0, 10, ..., 290 ms.
  assert.equal(records.length, 30);
  assert.equal(source.stats().expected, 30);
  assert.equal(source.stats().behind, 0);
});

test('a steps profile without count or duration runs one pass', async (t) => {
  const s = await imageServer(t);
  const records = await collect(syntheticSource({ baseUrl: s.url, images: s.images, profile: parseProfile('steps:200@100ms,0@100ms,100@100ms'), pacer: PATIENT }));
  // 20 + 0 + 10 records' worth in 300 ms: one at the start, then one each time another record's worth has
  // passed; the one due exactly at the end is not sent.
  assert.equal(records.length, 30);
});

test('unlimited with a count yields exactly the count and lets the event loop run', async (t) => {
  const s = await imageServer(t);
  let ticks = 0;
  const timer = setInterval(() => (ticks += 1), 0);
  const records = await collect(syntheticSource({ baseUrl: s.url, images: s.images, profile: 'unlimited', count: 200_000 }));
  clearInterval(timer);
  assert.equal(records.length, 200_000);
  assert.ok(ticks > 0, 'timers ran while the source was producing');
});

test('abort ends an endless source cleanly, also while it waits', async (t) => {
  const s = await imageServer(t);
  const ac = new AbortController();
  const source = syntheticSource({ baseUrl: s.url, images: s.images, profile: parseProfile('constant:1'), signal: ac.signal });
  setTimeout(() => ac.abort(), 100);
  const records = await collect(source);
  assert.equal(records.length, 1, 'the first record is due at once, the next in 1 s: abort came first');
});

test('options are validated with messages naming the field', () => {
  assert.throws(() => syntheticSource({ baseUrl: 'ftp://x', images: ['a'], profile: 'unlimited' }), /baseUrl/);
  assert.throws(() => syntheticSource({ baseUrl: 'http://x', images: [], profile: 'unlimited' }), /images/);
  assert.throws(() => syntheticSource({ baseUrl: 'http://x', images: ['a'], profile: 'unlimited', count: -1 }), /count/);
});
