// Backoff policies: tables for the schedules, properties for jitter, caps and Retry-After hints.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { exponentialBackoff, linearBackoff, xStreamBackoff, type Jitter } from '../../src/retry/index.ts';
import { UsageError } from '../../src/errors/index.ts';

const schedule = (policy: (attempt: number) => number, n: number) => Array.from({ length: n }, (_, i) => policy(i + 1));

test('exponential without jitter: base, doubling, capped', () => {
  const policy = exponentialBackoff({ baseMs: 100, factor: 2, maxMs: 5000, jitter: 'none' });
  assert.deepEqual(schedule(policy, 9), [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  assert.equal(policy(10_000), 5000, 'huge attempts stay at the cap (no Infinity/NaN)');
  assert.equal(exponentialBackoff({ baseMs: 0, jitter: 'none' })(10_000), 0);
});

test('jitter: full spans [0, d), equal spans [d/2, d)', () => {
  const full = exponentialBackoff({ baseMs: 1000, jitter: 'full' });
  const equal = exponentialBackoff({ baseMs: 1000, jitter: 'equal' });
  assert.equal(full(1, { random: () => 0 }), 0);
  assert.equal(full(1, { random: () => 0.5 }), 500);
  assert.equal(full(2, { random: () => 0.999 }), 1998);
  assert.equal(equal(1, { random: () => 0 }), 500);
  assert.equal(equal(1, { random: () => 0.5 }), 750);
});

test('a Retry-After hint is a floor, capped by maxRetryAfterMs', () => {
  const policy = exponentialBackoff({ baseMs: 100, jitter: 'none', maxRetryAfterMs: 60_000 });
  assert.equal(policy(1, { retryAfterMs: 7000 }), 7000);
  assert.equal(policy(1, { retryAfterMs: 50 }), 100, 'a shorter hint does not shorten the backoff');
  assert.equal(policy(1, { retryAfterMs: 3_600_000 }), 60_000);
  assert.equal(policy(1, { retryAfterMs: Number.NaN }), 100);
  assert.equal(policy(1, { retryAfterMs: -5 }), 100);
});

test('linear: initial, plus a step per attempt, capped', () => {
  assert.deepEqual(schedule(linearBackoff({ initialMs: 100, stepMs: 50, maxMs: 300 }), 6), [100, 150, 200, 250, 300, 300]);
});

test('X stream: network errors linear 250 ms +250 ms up to 16 s', () => {
  const s = schedule(xStreamBackoff.network, 70);
  assert.deepEqual(s.slice(0, 4), [250, 500, 750, 1000]);
  assert.equal(s[63], 16_000); // attempt 64
  assert.equal(s[69], 16_000);
});

test('X stream: HTTP errors exponential 5 s doubling up to 320 s', () => {
  assert.deepEqual(schedule(xStreamBackoff.http, 9), [5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 320_000, 320_000]);
});

test('X stream: 429 exponential from 1 min doubling, capped at 15 min', () => {
  assert.deepEqual(schedule(xStreamBackoff.rateLimit, 7), [60_000, 120_000, 240_000, 480_000, 900_000, 900_000, 900_000]);
  assert.equal(xStreamBackoff.rateLimit(1, { retryAfterMs: 600_000 }), 600_000, 'a rate-limit reset hint wins');
});

test('bad options name the field; bad attempts are a RangeError', () => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => exponentialBackoff({ baseMs: -1 }), /baseMs/],
    [() => exponentialBackoff({ maxMs: Number.POSITIVE_INFINITY }), /maxMs/],
    [() => exponentialBackoff({ factor: 0.5 }), /factor/],
    [() => exponentialBackoff({ jitter: 'some' as Jitter }), /jitter/],
    [() => linearBackoff({ stepMs: Number.NaN }), /stepMs/],
    [() => linearBackoff({ maxRetryAfterMs: -1 }), /maxRetryAfterMs/],
  ];
  for (const [make, field] of cases) {
    assert.throws(make, (err: unknown) => err instanceof UsageError && field.test(err.message), field.source);
  }
  assert.throws(() => exponentialBackoff()(0), RangeError);
  assert.throws(() => exponentialBackoff()(1.5), RangeError);
});

const options = fc.record({
  baseMs: fc.integer({ min: 0, max: 10_000 }),
  maxMs: fc.integer({ min: 0, max: 1_000_000 }),
  factor: fc.double({ min: 1, max: 10, noNaN: true }),
  maxRetryAfterMs: fc.integer({ min: 0, max: 1_000_000 }),
});
const random01 = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const hint = fc.option(fc.integer({ min: 0, max: 2_000_000 }), { nil: undefined });

test('property: delays are whole, within [0, max(cap, hint)], and jitter stays under the un-jittered delay', () => {
  fc.assert(
    fc.property(options, fc.integer({ min: 1, max: 200 }), random01, hint, (o, attempt, r, retryAfterMs) => {
      const none = exponentialBackoff({ ...o, jitter: 'none' })(attempt);
      const full = exponentialBackoff({ ...o, jitter: 'full' })(attempt, { random: () => r });
      const equal = exponentialBackoff({ ...o, jitter: 'equal' })(attempt, { random: () => r });
      const hinted = exponentialBackoff({ ...o, jitter: 'full' })(attempt, { random: () => r, retryAfterMs });
      for (const d of [none, full, equal, hinted]) assert.ok(Number.isInteger(d) && d >= 0);
      assert.ok(none <= o.maxMs);
      assert.ok(full <= none);
      assert.ok(equal <= none && equal >= Math.floor(none / 2));
      const floor = Math.min(retryAfterMs ?? 0, o.maxRetryAfterMs);
      assert.ok(hinted >= floor, 'the hint is honoured');
      assert.ok(hinted <= Math.max(o.maxMs, floor), 'the hint cannot push past its cap');
    }),
  );
});

test('property: without jitter, delays never shrink as attempts grow', () => {
  fc.assert(
    fc.property(options, fc.integer({ min: 1, max: 200 }), (o, attempt) => {
      const policy = exponentialBackoff({ ...o, jitter: 'none' });
      assert.ok(policy(attempt + 1) >= policy(attempt));
      const linear = linearBackoff({ initialMs: o.baseMs, stepMs: o.baseMs, maxMs: o.maxMs });
      assert.ok(linear(attempt + 1) >= linear(attempt));
    }),
  );
});
