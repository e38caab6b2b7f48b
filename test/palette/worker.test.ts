// The piscina worker entry, run for real in a pool: transferable bytes in, structured-clone-safe result or error shape out.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Piscina } from 'piscina';
import { LaglessError } from '../../src/errors/index.ts';
import {
  decodeWorkerResult,
  extractPalette,
  paletteWorkerUrl,
  type PaletteTask,
  type PaletteWorkerResult,
} from '../../src/palette/index.ts';

const fixture = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url));

/** A copy in a buffer of its own, so transferring it cannot detach a pooled Buffer shared with other data. */
function ownedBytes(path: string): Uint8Array {
  return new Uint8Array(fixture(path));
}

test('a piscina pool runs the worker entry: same palette as on the main thread, bytes transferred', async (t) => {
  const pool = new Piscina<PaletteTask, PaletteWorkerResult>({ filename: paletteWorkerUrl.href, minThreads: 1, maxThreads: 2 });
  t.after(() => pool.destroy());
  const want = await extractPalette(fixture('assets/images/coffee.jpg'), { colors: 8 });
  const bytes = ownedBytes('assets/images/coffee.jpg');
  const answer = await pool.run({ bytes, options: { colors: 8 } }, { transferList: [bytes.buffer as ArrayBuffer] });
  assert.equal(bytes.byteLength, 0, 'the buffer was transferred (detached here), not copied');
  assert.deepEqual(answer, { ok: true, result: want });
  assert.deepEqual(decodeWorkerResult(answer), want);

  // several at once, both modes
  const paths = ['assets/images/rocket.jpg', 'assets/images/chelsea.webp', 'test/fixtures/palette/cmyk.jpg', 'assets/images/coins.png'];
  const answers = await Promise.all(paths.map((p) => pool.run({ bytes: ownedBytes(p), options: { mode: 'exact' } })));
  for (const [i, p] of paths.entries()) {
    assert.deepEqual(decodeWorkerResult(answers[i]!), await extractPalette(fixture(p), { mode: 'exact' }), p);
  }
});

test('worker errors come back as { code, message } and decodeWorkerResult rethrows them as LaglessError', async (t) => {
  const pool = new Piscina<PaletteTask, PaletteWorkerResult>({ filename: paletteWorkerUrl.href, maxThreads: 1 });
  t.after(() => pool.destroy());
  const cases: [string, string][] = [
    ['test/fixtures/palette/not-an-image.html', 'NOT_AN_IMAGE'],
    ['test/fixtures/palette/truncated.jpg', 'DECODE_FAILED'],
    ['test/fixtures/palette/bomb.png', 'TOO_MANY_PIXELS'],
    ['test/fixtures/palette/white.png', 'NO_PIXELS'],
  ];
  for (const [path, code] of cases) {
    const answer = await pool.run({ bytes: ownedBytes(path) });
    assert.equal(answer.ok, false, path);
    if (answer.ok) continue;
    assert.equal(answer.error.code, code, path);
    assert.equal(typeof answer.error.message, 'string');
    assert.equal(Object.getPrototypeOf(answer.error), Object.prototype, 'a plain object');
    assert.throws(() => decodeWorkerResult(answer), (err: unknown) => err instanceof LaglessError && err.code === code && err.message === answer.error.message);
  }
  // bad options are a caller bug, not a record error: they come back as JOB_FAILED naming the field
  const bad = await pool.run({ bytes: ownedBytes('test/fixtures/palette/one-pixel.png'), options: { colors: 1 } });
  assert.equal(bad.ok, false);
  if (!bad.ok) {
    assert.equal(bad.error.code, 'JOB_FAILED');
    assert.match(bad.error.message, /"colors"/);
  }
});
