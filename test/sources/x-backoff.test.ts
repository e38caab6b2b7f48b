// X's documented reconnect schedules, with X's own numbers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpDelay, networkDelay, rateLimitDelay, reconnectDelay, resolveXBackoffOptions } from '../../src/sources/index.ts';

test('network errors: linear from 250 ms in steps of 250 ms, capped at 16 s', () => {
  assert.deepEqual([1, 2, 3, 4].map((a) => networkDelay(a)), [250, 500, 750, 1000]);
  assert.equal(networkDelay(64), 16_000);
  assert.equal(networkDelay(1000), 16_000);
});

test('HTTP errors: exponential from 5 s, capped at 320 s', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map((a) => httpDelay(a)), [5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 320_000]);
  assert.equal(httpDelay(10_000), 320_000, 'no overflow for huge attempt numbers');
});

test('429: exponential from 1 minute, capped at one 15-minute window', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((a) => rateLimitDelay(a)), [60_000, 120_000, 240_000, 480_000, 900_000, 900_000]);
});

test('429 with the quota spent waits until x-rate-limit-reset; with quota left it backs off exponentially', () => {
  const nowMs = Date.UTC(2026, 0, 1, 12, 0, 0);
  const reset = String(nowMs / 1000 + 42);
  const spent = reconnectDelay('rate-limit', 1, undefined, { remaining: '0', reset, nowMs });
  assert.equal(spent.delayMs, 42_000);
  assert.match(spent.basis, /x-rate-limit-reset 2026-01-01T12:00:42/);
  const left = reconnectDelay('rate-limit', 2, undefined, { remaining: '3', reset, nowMs });
  assert.equal(left.delayMs, 120_000, 'too many connections: the reset time means nothing');
  const past = reconnectDelay('rate-limit', 1, undefined, { remaining: '0', reset: String(nowMs / 1000 - 5), nowMs });
  assert.equal(past.delayMs, 250, 'a reset in the past still waits one network step');
  const garbage = reconnectDelay('rate-limit', 1, undefined, { remaining: '0', reset: 'soon', nowMs });
  assert.equal(garbage.delayMs, 60_000);
});

test('schedules can be shrunk for tests, and bad values are refused by name', () => {
  const o = resolveXBackoffOptions({ networkStepMs: 10, httpBaseMs: 20, rateLimitBaseMs: 40 });
  assert.deepEqual([1, 2, 3].map((a) => reconnectDelay('network', a, o).delayMs), [10, 20, 30]);
  assert.deepEqual([1, 2, 3].map((a) => reconnectDelay('http', a, o).delayMs), [20, 40, 80]);
  assert.deepEqual([1, 2, 3].map((a) => reconnectDelay('rate-limit', a, o).delayMs), [40, 80, 160]);
  assert.throws(() => resolveXBackoffOptions({ httpBaseMs: -1 }), /backoff\.httpBaseMs/);
});
