// OffsetTracker: several partitions, commits, and rebalances with late completions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OffsetTracker } from '../../src/offsets/index.ts';

test('tracks partitions separately and lists the commits that move them', () => {
  const tracker = new OffsetTracker();
  tracker.assign('urls', 0, 10n);
  const a = tracker.register('urls', 0, 10n);
  const b = tracker.register('urls', 1, 0n); // partition 1 assigned on first use
  const c = tracker.register('urls', 1, 1n);
  assert.equal(tracker.inFlight(), 3);
  tracker.done(c);
  assert.deepEqual(tracker.committable(), []);
  tracker.done(b);
  assert.deepEqual(tracker.committable(), [{ topic: 'urls', partition: 1, offset: 2n }]);
  tracker.markCommitted(tracker.committable());
  assert.deepEqual(tracker.committable(), []);
  tracker.done(a);
  assert.deepEqual(tracker.committable(), [{ topic: 'urls', partition: 0, offset: 11n }]);
  assert.equal(tracker.inFlight(), 0);
});

test('revoke returns the commit to make and the abandoned count; late tickets cannot touch the next assignment', () => {
  const tracker = new OffsetTracker();
  const first = tracker.register('urls', 3, 40n);
  const second = tracker.register('urls', 3, 41n);
  tracker.done(first);
  assert.deepEqual(tracker.revoke('urls', 3), { commit: { topic: 'urls', partition: 3, offset: 41n }, abandoned: 1 });
  assert.deepEqual(tracker.partitions(), []);

  // The partition comes back (another member committed 41 and moved on); 41 is fetched again.
  tracker.assign('urls', 3, 41n);
  const again = tracker.register('urls', 3, 41n);
  assert.equal(tracker.done(second), false, 'the old ticket for offset 41 is stale');
  assert.equal(tracker.inFlight('urls', 3), 1);
  assert.deepEqual(tracker.committable(), []);
  tracker.done(again);
  assert.deepEqual(tracker.committable(), [{ topic: 'urls', partition: 3, offset: 42n }]);
});

test('reset forgets everything and ignores tickets from before', () => {
  const tracker = new OffsetTracker();
  const t = tracker.register('a', 0, 1n);
  tracker.reset();
  assert.equal(tracker.done(t), false);
  assert.equal(tracker.inFlight(), 0);
  assert.deepEqual(tracker.committable(), []);
  assert.deepEqual(tracker.revoke('a', 0), { commit: undefined, abandoned: 0 });
});

test('topics with the same partition number are separate', () => {
  const tracker = new OffsetTracker();
  const x = tracker.register('x', 0, 5n);
  tracker.register('y', 0, 5n);
  tracker.done(x);
  assert.deepEqual(tracker.committable(), [{ topic: 'x', partition: 0, offset: 6n }]);
});
