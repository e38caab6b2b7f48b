// Retry decisions: which errors are retried, how many times, and with which delay.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { downloadError } from '../../src/download/index.ts';
import { LaglessError, UnrecoverableError, UsageError } from '../../src/errors/index.ts';
import { exponentialBackoff, resolveRetryOptions, retryDelay, shouldRetry } from '../../src/retry/index.ts';

// The downloader's codes carry their default retryability (TIMEOUT is retried, HTTP_STATUS only when marked).
const timeout = downloadError('TIMEOUT', 'slow');
const notFound = downloadError('HTTP_STATUS', '404', { status: 404 });
const unavailable = new LaglessError('HTTP_STATUS', '503', { status: 503, retryable: true, retryAfterMs: 4000 });

test('retryable errors are retried until the attempt budget (default 3 tries) is spent', () => {
  assert.equal(shouldRetry(timeout, 1), true);
  assert.equal(shouldRetry(timeout, 2), true);
  assert.equal(shouldRetry(timeout, 3), false);
  assert.equal(shouldRetry(unavailable, 1), true);
});

test('permanent errors, UnrecoverableError and foreign errors are never retried', () => {
  for (const err of [notFound, downloadError('BLOCKED_ADDRESS', 'x'), new UnrecoverableError('stop'), new Error('plain'), 'a string', undefined]) {
    assert.equal(shouldRetry(err, 1), false, String(err));
  }
});

test('attempts: 1 never retries', () => {
  assert.equal(shouldRetry(timeout, 1, resolveRetryOptions({ attempts: 1 })), false);
});

test('retryDelay gives the backoff, honours retryAfterMs, and is undefined when giving up', () => {
  const options = resolveRetryOptions({ backoff: exponentialBackoff({ baseMs: 100, jitter: 'none' }) });
  assert.equal(retryDelay(timeout, 1, options), 100);
  assert.equal(retryDelay(timeout, 2, options), 200);
  assert.equal(retryDelay(timeout, 3, options), undefined);
  assert.equal(retryDelay(unavailable, 1, options), 4000);
  assert.equal(retryDelay(notFound, 1, options), undefined);
});

test('bad retry options name the field', () => {
  for (const attempts of [0, 1.5, -1, 5000, Number.NaN]) {
    assert.throws(() => resolveRetryOptions({ attempts }), (e: unknown) => e instanceof UsageError && /attempts/.test(e.message));
  }
  assert.throws(() => resolveRetryOptions({ backoff: 5 as never }), /backoff/);
});

test('property: a record is tried at most `attempts` times, and only retryable errors get a second try', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }), (attempts, retryables) => {
      const options = resolveRetryOptions({ attempts });
      // Simulate: try k fails with an error whose retryability is retryables[k] (cycled).
      let tries = 1;
      while (shouldRetry(new LaglessError('CONNECT_FAILED', 'x', { retryable: retryables[(tries - 1) % retryables.length]! }), tries, options)) tries++;
      assert.ok(tries <= attempts);
      if (tries > 1) assert.equal(retryables[0], true);
      if (tries < attempts) assert.equal(retryables[(tries - 1) % retryables.length], false);
    }),
  );
});
