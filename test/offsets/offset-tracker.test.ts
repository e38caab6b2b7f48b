// OffsetTracker: several partitions, commits, and rebalances with late completions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { OffsetTracker, type RecordTicket } from '../../src/offsets/index.ts';

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

test('property: the window counts kept as they change (uncommitted, in flight) equal the sums over the partitions', () => {
  // The runtime reads both per record, so the tracker keeps them as totals instead of summing its partitions each time.
  type Op = { kind: 'register' | 'done' | 'commit' | 'revoke' | 'assign' | 'reset'; partition: number; pick: number };
  const op = fc.record({ kind: fc.constantFrom<Op['kind']>('register', 'register', 'register', 'done', 'done', 'commit', 'revoke', 'assign', 'reset'), partition: fc.integer({ min: 0, max: 2 }), pick: fc.nat() });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const tracker = new OffsetTracker();
      const next = [0n, 0n, 0n];
      let tickets: RecordTicket[] = [];
      for (const o of ops) {
        if (o.kind === 'register') tickets.push(tracker.register('t', o.partition, next[o.partition]!++));
        else if (o.kind === 'done' && tickets.length) tracker.done(tickets.splice(o.pick % tickets.length, 1)[0]!);
        else if (o.kind === 'commit') tracker.markCommitted(tracker.committable());
        else if (o.kind === 'revoke') tracker.revoke('t', o.partition);
        else if (o.kind === 'assign') tracker.assign('t', o.partition, next[o.partition]);
        else if (o.kind === 'reset') {
          tracker.reset();
          tickets = [];
        }
        let inFlight = 0;
        let uncommitted = 0;
        for (const p of [0, 1, 2]) inFlight += tracker.inFlight('t', p);
        for (const { partition } of tracker.partitions()) uncommitted += tracker.partition('t', partition)!.uncommitted;
        assert.equal(tracker.inFlight(), inFlight);
        assert.equal(tracker.uncommitted(), uncommitted);
      }
    }),
    { numRuns: 300 },
  );
});
