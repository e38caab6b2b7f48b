// Seconds behind from log-end samples alone: the age of the oldest unfinished record, a lower bound when it is older than what was seen.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArrivalClock } from '../../src/dashboard/index.ts';

test('the consumer is as far behind as the record at its committed offset is old', () => {
  const c = new ArrivalClock(3_600_000);
  c.observe('t/0', 0, 10); // offsets 0..9 were there at 0 s
  c.observe('t/0', 1000, 10);
  c.observe('t/0', 2000, 15); // 10..14 arrived by 2 s
  c.observe('t/0', 3000, 30); // 15..29 by 3 s
  assert.deepEqual(c.behind('t/0', 30, 30, 5000), { seconds: 0, atLeast: false }, 'all done');
  assert.deepEqual(c.behind('t/0', 20, 30, 5000), { seconds: 2, atLeast: false }, 'offset 20 arrived by 3 s');
  assert.deepEqual(c.behind('t/0', 12, 30, 5000), { seconds: 3, atLeast: false }, 'offset 12 arrived by 2 s');
  assert.deepEqual(c.behind('t/0', 5, 30, 5000), { seconds: 5, atLeast: true }, 'offset 5 was there before the first sample');
});

test('samples older than the window are forgotten, keeping one that bounds older records', () => {
  const c = new ArrivalClock(10_000);
  for (let s = 0; s <= 60; s++) c.observe('t/0', s * 1000, s * 10);
  // Offset 500 arrived at 50 s, inside the window.
  assert.deepEqual(c.behind('t/0', 495, 600, 60_000), { seconds: 10, atLeast: false });
  // Offset 5 arrived at 1 s, long before the window: reported as at least the age of the oldest sample kept.
  const old = c.behind('t/0', 5, 600, 60_000);
  assert.equal(old.atLeast, true);
  assert.ok(old.seconds >= 10 && old.seconds <= 11, String(old.seconds));
});

test('a recreated topic (offsets going back) starts over; unknown partitions are "at least 0"', () => {
  const c = new ArrivalClock(60_000);
  c.observe('t/0', 0, 100);
  c.observe('t/0', 1000, 3);
  assert.deepEqual(c.behind('t/0', 0, 3, 2000), { seconds: 1, atLeast: true }, 'seen since the reset at 1 s');
  assert.deepEqual(c.behind('other/0', 0, 3, 2000), { seconds: 0, atLeast: true });
  c.retain(new Set());
  assert.deepEqual(c.behind('t/0', 0, 3, 2000), { seconds: 0, atLeast: true });
});
