// The JPEG/PNG header reader agrees with libvips on everything the decode depends on, for every committed image.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import sharp from 'sharp';
import { sniffHeader } from '../../src/palette/header.ts';

const dirs = ['assets/images', 'test/fixtures/palette'].map((d) => new URL(`../../${d}/`, import.meta.url));

test('sniffHeader matches sharp metadata: format, size, CMYK, 16-bit greyscale', async () => {
  let sniffed = 0;
  for (const dir of dirs) {
    for (const name of readdirSync(dir)) {
      if (!/\.(jpe?g|png)$/.test(name)) continue;
      const bytes = readFileSync(new URL(name, dir));
      const h = sniffHeader(bytes);
      const meta = await sharp(bytes, { limitInputPixels: false }).metadata().catch(() => undefined);
      if (!meta) continue; // unreadable for libvips too: the decoder reports it
      assert.ok(h, `${name}: a plain ${meta.format} header should be read`);
      assert.equal(h.format, meta.format, name);
      assert.deepEqual([h.width, h.height], [meta.width, meta.height], name);
      assert.equal(h.space === 'cmyk', meta.space === 'cmyk', `${name} CMYK`);
      assert.equal(h.space === 'grey16' && h.channels === 1, meta.space === 'grey16' && meta.channels === 1, `${name} 16-bit grey`);
      sniffed++;
    }
  }
  assert.ok(sniffed >= 25, `sniffed ${sniffed}`);
});

test('sniffHeader leaves anything unusual to libvips: other formats, garbage, truncated headers', () => {
  const jpeg = readFileSync(new URL('../../assets/images/coffee.jpg', import.meta.url));
  assert.equal(sniffHeader(readFileSync(new URL('../../assets/images/chelsea.webp', import.meta.url))), undefined);
  assert.equal(sniffHeader(Buffer.from('<html></html>')), undefined);
  assert.equal(sniffHeader(jpeg.subarray(0, 20)), undefined);
  assert.equal(sniffHeader(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0, 2])), undefined, 'scan before frame header');
  assert.deepEqual(sniffHeader(jpeg), { format: 'jpeg', width: 600, height: 400, space: 'srgb', channels: 3 });
});
