// The sampling loop: every layout gives the histogram of colorthief 0.2.1's loop over Pillow's RGBA pixels.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PixelLayout, addSamples, layoutChannels, type Pixels } from '../../src/palette/histogram.ts';
import { HISTOGRAM_SIZE } from '../../src/palette/mmcq.ts';

/** Pillow's MULDIV255 and cmyk2rgb, written the plain way. */
function muldiv255(a: number, b: number): number {
  const t = a * b + 128;
  return Math.floor((Math.floor(t / 256) + t) / 256);
}

/** Pillow's convert('RGBA') for each layout, one pixel at a time. */
function toRgba(pixels: Pixels, i: number): [number, number, number, number] {
  const d = pixels.data;
  const c = layoutChannels[pixels.layout];
  const o = i * c;
  switch (pixels.layout) {
    case PixelLayout.GREY:
      return [d[o]!, d[o]!, d[o]!, 255];
    case PixelLayout.GREY_ALPHA:
      return [d[o]!, d[o]!, d[o]!, d[o + 1]!];
    case PixelLayout.RGB:
      return [d[o]!, d[o + 1]!, d[o + 2]!, 255];
    case PixelLayout.RGBA:
      return [d[o]!, d[o + 1]!, d[o + 2]!, d[o + 3]!];
    case PixelLayout.GREY16_CLIP: {
      const v = Math.min(255, d[o]!);
      return [v, v, v, 255];
    }
    case PixelLayout.CMYK: {
      const nk = 255 - d[o + 3]!;
      return [nk - muldiv255(d[o]!, nk), nk - muldiv255(d[o + 1]!, nk), nk - muldiv255(d[o + 2]!, nk), 255];
    }
  }
}

/** colorthief 0.2.1's get_palette loop, then get_histo. */
function reference(pixels: Pixels, step: number): Uint32Array {
  const h = new Uint32Array(HISTOGRAM_SIZE);
  for (let i = 0; i < pixels.pixelCount; i += step) {
    const [r, g, b, a] = toRgba(pixels, i);
    if (a >= 125 && !(r > 250 && g > 250 && b > 250)) h[(r >> 3) * 1024 + (g >> 3) * 32 + (b >> 3)]!++;
  }
  return h;
}

const layouts = Object.values(PixelLayout);

test('property: addSamples equals the reference loop for every layout and step', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...layouts),
      fc.integer({ min: 0, max: 300 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer(),
      (layout, pixelCount, step, seed) => {
        const n = pixelCount * layoutChannels[layout];
        let s = seed >>> 0;
        const next = (max: number) => {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          // bias towards the interesting edges: alpha around 125, channels around 250
          const edge = [0, 124, 125, 126, 250, 251, 255];
          return s % 4 === 0 ? edge[(s >>> 8) % edge.length]! : (s >>> 8) % (max + 1);
        };
        const data = layout === PixelLayout.GREY16_CLIP ? new Uint16Array(n) : new Uint8Array(n);
        for (let i = 0; i < n; i++) data[i] = layout === PixelLayout.GREY16_CLIP && s % 2 ? next(65535) : next(255);
        const pixels: Pixels = { data, layout, pixelCount };
        const h = new Uint32Array(HISTOGRAM_SIZE);
        const added = addSamples(h, pixels, step);
        const want = reference(pixels, step);
        assert.deepEqual(h, want);
        assert.equal(added, want.reduce((a, b) => a + b, 0));
      },
    ),
    { numRuns: 400 },
  );
});

test('CMYK follows Pillow: no ink is white (dropped), full black ink is black, and cyan removes red', () => {
  const h = new Uint32Array(HISTOGRAM_SIZE);
  const data = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 255, 255, 0, 0, 0]);
  assert.equal(addSamples(h, { data, layout: PixelLayout.CMYK, pixelCount: 3 }, 1), 2);
  assert.equal(h[0], 1); // (0, 0, 0)
  assert.equal(h[(0 << 10) | (31 << 5) | 31], 1); // (0, 255, 255)
});

test('pixel 0 is always sampled, then every step-th pixel in raster order', () => {
  const data = Uint8Array.from([10, 20, 30, 40, 50, 60, 70]);
  const h = new Uint32Array(HISTOGRAM_SIZE);
  assert.equal(addSamples(h, { data, layout: PixelLayout.GREY, pixelCount: 7 }, 3), 3); // pixels 0, 3, 6
  const cell = (v: number) => ((v >> 3) << 10) | ((v >> 3) << 5) | (v >> 3);
  assert.deepEqual([h[cell(10)], h[cell(40)], h[cell(70)], h[cell(20)]], [1, 1, 1, 0]);
});

test('a step below 1 is refused', () => {
  assert.throws(() => addSamples(new Uint32Array(HISTOGRAM_SIZE), { data: new Uint8Array(3), layout: PixelLayout.RGB, pixelCount: 1 }, 0), RangeError);
});
