// The MMCQ port: equal to Python colorthief 0.2.1 on recorded cases, and its documented properties under fast-check.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { HISTOGRAM_SIZE, expectedColorCount, quantize, type Rgb } from '../../src/palette/mmcq.ts';

function histogramOf(pixels: readonly Rgb[]): Uint32Array {
  const h = new Uint32Array(HISTOGRAM_SIZE);
  for (const [r, g, b] of pixels) h[((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3)]!++;
  return h;
}

interface QuantizeCase {
  kind: string;
  colors: number;
  pixels: number[];
  palette?: Rgb[];
  error?: string;
}

const golden = JSON.parse(readFileSync(new URL('../fixtures/palette/quantize-golden.json', import.meta.url), 'utf8')) as {
  colorthief: string;
  cases: QuantizeCase[];
};

test('quantize equals MMCQ.quantize of Python colorthief 0.2.1 on every recorded case', () => {
  assert.equal(golden.colorthief, '0.2.1');
  assert.ok(golden.cases.length >= 50);
  for (const [i, c] of golden.cases.entries()) {
    const pixels: Rgb[] = [];
    for (let k = 0; k < c.pixels.length; k += 3) pixels.push([c.pixels[k]!, c.pixels[k + 1]!, c.pixels[k + 2]!]);
    assert.ok(c.palette, `case ${i} has a palette (inputs are never empty)`);
    assert.deepEqual(quantize(histogramOf(pixels), c.colors), c.palette, `case ${i} (${c.kind}, ${pixels.length} pixels, ${c.colors} colours)`);
  }
});

test('the recorded cases cover the quirks: one more colour for 2 and 3, one fewer from 8, fewer for sparse input', () => {
  const seen = { more: false, fewer: false, sparse: false };
  for (const c of golden.cases) {
    const n = c.palette!.length;
    if (c.colors <= 3 && n === c.colors + 1) seen.more = true;
    if (c.colors >= 8 && n === c.colors - 1) seen.fewer = true;
    if (n < expectedColorCount(c.colors)) seen.sparse = true;
  }
  assert.deepEqual(seen, { more: true, fewer: true, sparse: true });
});

test('expectedColorCount documents 0.2.1: 2 -> 3, 3 -> 4, 4..7 unchanged, 8 and more -> one fewer', () => {
  assert.deepEqual(
    [2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 256].map(expectedColorCount),
    [3, 4, 4, 5, 6, 7, 7, 8, 9, 15, 255],
  );
});

test('a single pixel gives a single colour: the centre of its 5-bit cell', () => {
  assert.deepEqual(quantize(histogramOf([[200, 100, 50]]), 6), [[204, 100, 52]]);
});

test('an empty histogram gives no colour, and a colour count outside 2..256 is refused', () => {
  assert.deepEqual(quantize(new Uint32Array(HISTOGRAM_SIZE), 6), []);
  assert.throws(() => quantize(histogramOf([[1, 2, 3]]), 1), RangeError);
  assert.throws(() => quantize(histogramOf([[1, 2, 3]]), 257), RangeError);
});

const pixel = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })) as fc.Arbitrary<Rgb>;
const colors = fc.integer({ min: 2, max: 256 });

test('a box past the last cell yields a channel of 256, as in 0.2.1 (its centre is 8 * (31 + 32 + 1) / 2)', () => {
  // Python: MMCQ.quantize([(0,0,248),(0,0,0),(0,0,248)], 2).palette == [(4, 4, 252), (4, 4, 4), (4, 4, 256)]
  assert.deepEqual(quantize(histogramOf([[0, 0, 248], [0, 0, 0], [0, 0, 248]]), 2), [[4, 4, 252], [4, 4, 4], [4, 4, 256]]);
});

test('property: never throws on valid pixels; returns 1..expectedColorCount colours with integer channels 0..256', () => {
  fc.assert(
    fc.property(fc.array(pixel, { minLength: 1, maxLength: 300 }), colors, (pixels, n) => {
      const palette = quantize(histogramOf(pixels), n);
      assert.ok(palette.length >= 1 && palette.length <= expectedColorCount(n), `${palette.length} colours for ${n}`);
      for (const c of palette) for (const v of c) assert.ok(Number.isInteger(v) && v >= 0 && v <= 256, `channel ${v}`);
    }),
    { numRuns: 300 },
  );
});

test('property: exactly expectedColorCount colours when every occupied 5-bit cell holds at least two pixels', () => {
  // Then every box with pixels has count >= 2, so every pop splits and each phase stops at its target.
  fc.assert(
    fc.property(fc.array(pixel, { minLength: 1, maxLength: 200 }), fc.integer({ min: 2, max: 40 }), (pixels, n) => {
      const doubled = [...pixels, ...pixels];
      assert.equal(quantize(histogramOf(doubled), n).length, expectedColorCount(n));
    }),
    { numRuns: 200 },
  );
});

test('property: deterministic, and independent of pixel order (it only sees the histogram)', () => {
  fc.assert(
    fc.property(fc.array(pixel, { minLength: 1, maxLength: 200 }), colors, fc.integer(), (pixels, n, seed) => {
      const shuffled = [...pixels];
      let s = seed >>> 0;
      for (let i = shuffled.length - 1; i > 0; i--) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        const j = s % (i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      const a = quantize(histogramOf(pixels), n);
      assert.deepEqual(quantize(histogramOf(pixels), n), a);
      assert.deepEqual(quantize(histogramOf(shuffled), n), a);
    }),
    { numRuns: 100 },
  );
});

test('property: each colour lies inside the 5-bit bounds of the input pixels (or at an empty box centre next to them)', () => {
  fc.assert(
    fc.property(fc.array(pixel, { minLength: 2, maxLength: 200 }), colors, (pixels, n) => {
      const lo = [0, 1, 2].map((c) => Math.min(...pixels.map((p) => p[c]!)) >> 3);
      const hi = [0, 1, 2].map((c) => Math.max(...pixels.map((p) => p[c]!)) >> 3);
      for (const colour of quantize(histogramOf(pixels), n)) {
        for (let c = 0; c < 3; c++) {
          // an empty twin box can start one cell past the bound; its centre is then (hi + 1.5) * 8 at most
          assert.ok(colour[c]! >= lo[c]! * 8 && colour[c]! <= (hi[c]! + 2) * 8, `channel ${c} = ${colour[c]} outside [${lo[c]! * 8}, ${(hi[c]! + 2) * 8}]`);
        }
      }
    }),
    { numRuns: 200 },
  );
});
