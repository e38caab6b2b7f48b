// The dashboard's bounded history: ring buffers that keep the last N points of every series, and drop series gone for a whole window.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { History } from '../../src/dashboard/index.ts';

test('keeps the last `capacity` points, oldest first, with nulls where a series had no value', () => {
  const h = new History(3);
  h.push(1, { a: 1 });
  h.push(2, { a: 2, b: 20 });
  assert.deepEqual(h.toJSON(), { t: [1, 2], series: { a: [1, 2], b: [null, 20] } });
  h.push(3, { b: 30, c: NaN });
  h.push(4, { a: 4, b: null });
  assert.deepEqual(h.toJSON(), { t: [2, 3, 4], series: { a: [2, null, 4], b: [20, 30, null] } });
  assert.equal(h.first, 2);
  assert.equal(h.last, 4);
});

test('a series without a value for a whole window is dropped (memory stays bounded as partitions come and go)', () => {
  const h = new History(2);
  h.push(1, { gone: 1, kept: 1 });
  h.push(2, { kept: 2 });
  assert.deepEqual(h.seriesNames().sort(), ['gone', 'kept']);
  h.push(3, { kept: 3 });
  assert.deepEqual(h.seriesNames(), ['kept']);
  assert.deepEqual(h.toJSON(), { t: [2, 3], series: { kept: [2, 3] } });
});

test('whatever is pushed, it holds what a plain list trimmed to the capacity holds', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.dictionary(fc.constantFrom('x', 'y', 'z'), fc.option(fc.integer({ min: -5, max: 5 }))), { maxLength: 30 }), (cap, points) => {
      const h = new History(cap);
      points.forEach((p, i) => h.push(i, p));
      const kept = points.slice(-cap);
      const got = h.toJSON();
      assert.deepEqual(got.t, kept.map((_, i) => points.length - kept.length + i));
      for (const [name, list] of Object.entries(got.series)) {
        assert.deepEqual(list, kept.map((p) => p[name] ?? null));
      }
      // Every series with a value in the window is there.
      for (const p of kept) for (const [k, v] of Object.entries(p)) if (v !== null) assert.ok(k in got.series);
    }),
  );
});

test('a capacity that is not a positive integer is refused', () => {
  assert.throws(() => new History(0), RangeError);
  assert.throws(() => new History(1.5), RangeError);
});
