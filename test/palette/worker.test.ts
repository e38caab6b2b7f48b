// The palette worker module on the runtime's worker threads, for real: transferable bytes in, the palette or the error with its code out.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { LaglessError } from '../../src/errors/index.ts';
import { extractPalette, paletteWorkerUrl, type PaletteTask } from '../../src/palette/index.ts';
import { toRecordError, WorkerPool } from '../../src/runtime/index.ts';

const fixture = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url));

/** A copy in a buffer of its own, so transferring it cannot detach a pooled Buffer shared with other data. */
function ownedBytes(path: string): Uint8Array {
  return new Uint8Array(fixture(path));
}

function pool(t: { after(fn: () => Promise<void>): void }, workers: number): WorkerPool {
  const p = new WorkerPool(paletteWorkerUrl, { workers, maxWorkers: workers, minWorkers: 1, idleTimeoutMs: 60_000 });
  t.after(() => p.close());
  return p;
}

test("the runtime's worker pool runs the palette worker: same palette as on the main thread, bytes transferred", async (t) => {
  const p = pool(t, 2);
  const want = await extractPalette(fixture('assets/images/coffee.jpg'), { colors: 8 });
  const bytes = ownedBytes('assets/images/coffee.jpg');
  const task: PaletteTask = { bytes, options: { colors: 8 } };
  assert.deepEqual(await p.run(task, { transfer: [bytes.buffer as ArrayBuffer] }), want);
  assert.equal(bytes.byteLength, 0, 'the buffer was transferred (detached here), not copied');

  // several at once, both modes
  const paths = ['assets/images/rocket.jpg', 'assets/images/chelsea.webp', 'test/fixtures/palette/cmyk.jpg', 'assets/images/coins.png'];
  const answers = await Promise.all(paths.map((path) => p.run({ bytes: ownedBytes(path), options: { mode: 'exact' } })));
  for (const [i, path] of paths.entries()) assert.deepEqual(answers[i], await extractPalette(fixture(path), { mode: 'exact' }), path);
});

test("the palette worker's errors come back through the runtime's worker protocol with their codes; bad options become JOB_FAILED in a dead letter", async (t) => {
  const p = pool(t, 1);
  const cases: [string, string][] = [
    ['test/fixtures/palette/not-an-image.html', 'NOT_AN_IMAGE'],
    ['test/fixtures/palette/truncated.jpg', 'DECODE_FAILED'],
    ['test/fixtures/palette/bomb.png', 'TOO_MANY_PIXELS'],
    ['test/fixtures/palette/white.png', 'NO_PIXELS'],
  ];
  for (const [path, code] of cases) {
    const err = await p.run({ bytes: ownedBytes(path) }).then(() => assert.fail(`${path} has no palette`), (e: unknown) => e);
    assert.ok(err instanceof LaglessError, path);
    assert.equal(err.code, code, path);
    assert.equal(err.retryable, false, path);
    assert.equal(toRecordError(err).code, code, `${path}: the dead letter keeps the code`);
  }
  // Bad options are a caller bug, not a record error: the worker's UsageError is a dead letter JOB_FAILED naming the field.
  const bad = await p.run({ bytes: ownedBytes('test/fixtures/palette/one-pixel.png'), options: { colors: 1 } }).then(() => assert.fail('colors: 1 was taken'), (e: unknown) => e);
  const record = toRecordError(bad);
  assert.equal(record.code, 'JOB_FAILED');
  assert.match(record.message, /"colors"/);
});
