// Retry-After parsing: delay-seconds and HTTP dates, relative to a fixed "now".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRetryAfter } from '../../src/download/index.ts';

const now = Date.parse('2026-03-01T12:00:00Z');

test('Retry-After values', () => {
  const cases: Array<[string | undefined, number | undefined]> = [
    [undefined, undefined],
    ['0', 0],
    ['7', 7000],
    [' 120 ', 120_000],
    ['Sun, 01 Mar 2026 12:00:30 GMT', 30_000],
    ['Sunday, 01-Mar-26 12:01:00 GMT', 60_000],
    ['Sun, 01 Mar 2026 11:00:00 GMT', 0], // in the past: retry now
    ['-5', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['2026-03-01T12:00:30Z', undefined], // not an HTTP date
    ['Sun Mar  1 12:00:30 2026', undefined], // asctime has no zone; refusing beats guessing local time
    ['99999999999999999999', undefined],
  ];
  for (const [header, expected] of cases) {
    assert.equal(parseRetryAfter(header, now), expected, String(header));
  }
});
