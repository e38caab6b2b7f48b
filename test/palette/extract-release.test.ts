// Freeing rasters at once (releaseBuffer) must free only what nobody else can see, and never the caller's bytes.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { DEFAULT_IMAGES_DIR } from '../../src/image-server/index.ts';
import { extractPalette } from '../../src/palette/index.ts';
import { releaseBuffer } from '../../src/palette/extract.ts';

test('releaseBuffer detaches a view over a whole buffer, and leaves slices and pooled buffers alone', () => {
  const whole = new Uint8Array(1024);
  releaseBuffer(whole);
  assert.equal(whole.buffer.detached, true);
  assert.equal(whole.byteLength, 0);

  const backing = new ArrayBuffer(1024);
  const slice = new Uint8Array(backing, 16, 100);
  releaseBuffer(slice);
  assert.equal(backing.detached, false, 'a slice shares its buffer with others: not detached');

  const pooled = Buffer.from('a small string lives in the shared Buffer pool');
  releaseBuffer(pooled);
  assert.equal(pooled.toString(), 'a small string lives in the shared Buffer pool');

  releaseBuffer(whole); // already detached: no throw
});

test('extractPalette frees its own rasters but never the caller\'s bytes: the same bytes give the same palette twice', async () => {
  for (const name of ['coffee.jpg', 'camera.png', 'chelsea.webp']) {
    const bytes = new Uint8Array(await readFile(`${DEFAULT_IMAGES_DIR}/${name}`));
    const before = bytes.byteLength;
    const fast1 = await extractPalette(bytes);
    const exact1 = await extractPalette(bytes, { mode: 'exact' });
    assert.equal(bytes.byteLength, before, `${name}: the input is intact`);
    assert.deepEqual(await extractPalette(bytes), fast1, `${name}: fast`);
    assert.deepEqual(await extractPalette(bytes, { mode: 'exact' }), exact1, `${name}: exact`);
  }
});
