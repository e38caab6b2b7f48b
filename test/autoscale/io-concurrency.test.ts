// Download concurrency by Little's law: rate × latency × safety, clamped; monotone in rate and latency.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { defaultIoConcurrencyOptions, suggestIoConcurrency, validateIoConcurrencyOptions } from '../../src/autoscale/index.ts';
import { UsageError } from '../../src/errors/index.ts';

test("Little's law table: records/s × seconds × safety factor 2, within 4..512", () => {
  const cases: Array<[number, number, number]> = [
    [150, 100, 30], // the product target: 150 images/s with 100 ms per download
    [31, 100, 7], // the seed's rate
    [150, 1000, 300],
    [1000, 1000, 512], // capped
    [10, 50, 4], // floor
    [0, 100, 4],
    [Number.NaN, 100, 4],
    [-5, 100, 4],
    [100, Number.POSITIVE_INFINITY, 4],
  ];
  for (const [rate, latencyMs, expected] of cases) assert.equal(suggestIoConcurrency(rate, latencyMs), expected, `${rate}/s × ${latencyMs} ms`);
  assert.equal(suggestIoConcurrency(150, 100, { safetyFactor: 1, min: 1, max: 10 }), 10);
  assert.equal(suggestIoConcurrency(150, 100, { safetyFactor: 1, min: 1, max: 100 }), 15);
});

test('more rate or more latency never suggests fewer downloads', () => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 5000, noNaN: true }), fc.double({ min: 0, max: 5000, noNaN: true }), fc.double({ min: 0, max: 1000, noNaN: true }), fc.double({ min: 0, max: 1000, noNaN: true }), (r1, r2, l1, l2) => {
      const lo = suggestIoConcurrency(Math.min(r1, r2), Math.min(l1, l2));
      const hi = suggestIoConcurrency(Math.max(r1, r2), Math.max(l1, l2));
      assert.ok(lo <= hi, `${lo} > ${hi}`);
      assert.ok(lo >= defaultIoConcurrencyOptions.min && hi <= defaultIoConcurrencyOptions.max);
    }),
  );
});

test('bad download options name the field', () => {
  const cases: Array<[object, string]> = [
    [{ safetyFactor: 0.5 }, 'safetyFactor'],
    [{ min: 0 }, 'min'],
    [{ max: 2 }, 'max'],
  ];
  for (const [bad, field] of cases) {
    assert.throws(
      () => validateIoConcurrencyOptions({ ...defaultIoConcurrencyOptions, ...bad }),
      (e: unknown) => e instanceof UsageError && e.message.includes(`option ${field} `),
    );
  }
});
