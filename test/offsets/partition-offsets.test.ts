// PartitionOffsets: examples and fast-check properties against a simple model.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PartitionOffsets, type OffsetTicket } from '../../src/offsets/index.ts';

test('commits up to the oldest unfinished record; gaps between offsets do not block', () => {
  const p = new PartitionOffsets(100n);
  assert.equal(p.committable(), undefined, 'nothing registered');
  const [a, b, c] = [p.register(100n), p.register(103n), p.register(107n)]; // 101-102, 104-106: compacted away
  assert.equal(p.committable(), undefined, 'the oldest record (100) is not done: nothing new');
  p.done(b);
  assert.equal(p.committable(), undefined, '103 done but 100 is not');
  p.done(a);
  assert.equal(p.committable(), 107n, 'all before 107 done');
  p.markCommitted(107n);
  assert.equal(p.committable(), undefined);
  p.done(c);
  assert.equal(p.committable(), 108n, 'all done: the last offset + 1');
  assert.equal(p.inFlight, 0);
  assert.equal(p.held, 0);
});

test('a gap right after the committed offset can be committed past', () => {
  const p = new PartitionOffsets(5n);
  const t = p.register(9n); // 5..8 were transaction markers
  assert.equal(p.committable(), 9n);
  p.done(t);
  assert.equal(p.committable(), 10n);
});

test('done twice or with a foreign ticket changes nothing', () => {
  const p = new PartitionOffsets();
  const other = new PartitionOffsets();
  const t = p.register(1n);
  const foreign = other.register(1n);
  assert.equal(p.done(foreign), false);
  assert.equal(p.inFlight, 1);
  assert.equal(p.done(t), true);
  assert.equal(p.done(t), false);
  assert.equal(p.inFlight, 0);
});

test('offsets must increase, and not start below the committed offset', () => {
  const p = new PartitionOffsets(10n);
  assert.throws(() => p.register(9n), RangeError);
  p.register(10n);
  assert.throws(() => p.register(10n), RangeError);
  assert.throws(() => p.register(3n), RangeError);
});

test('without a known committed offset, reading started at the first registered offset: nothing to commit until it is done', () => {
  const p = new PartitionOffsets();
  const t = p.register(5n);
  assert.equal(p.committable(), undefined);
  p.done(t);
  assert.equal(p.committable(), 6n);
});

test('markCommitted never moves backwards', () => {
  const p = new PartitionOffsets();
  p.markCommitted(50n);
  p.markCommitted(20n);
  assert.equal(p.committed, 50n);
});

/** A script: each step registers the next offset (after a gap of `gap`) or completes a random in-flight record. */
const script = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('register' as const), gap: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ kind: fc.constant('done' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('commit' as const) }),
  ),
  { maxLength: 300 },
);

test('property: the committable offset never passes an unfinished record, only moves forward, and reaches last + 1', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 1n << 62n }), fc.boolean(), script, (start, knownStart, steps) => {
      const p = new PartitionOffsets(knownStart ? start : undefined);
      const open: OffsetTicket[] = [];
      const finished = new Set<bigint>();
      const registered: bigint[] = [];
      let next = start;
      let lastCommit = start;
      for (const step of steps) {
        if (step.kind === 'register') {
          const t = p.register(next);
          registered.push(next);
          open.push(t);
          next += BigInt(step.gap);
        } else if (step.kind === 'done' && open.length > 0) {
          const [t] = open.splice(step.pick % open.length, 1);
          assert.equal(p.done(t!), true);
          finished.add(t!.offset);
        } else if (step.kind === 'commit') {
          const c = p.committable();
          if (c !== undefined) {
            p.markCommitted(c);
            lastCommit = c;
          }
        }
        const c = p.committable();
        if (c !== undefined) {
          // Never past a record that is not done.
          for (const t of open) assert.ok(c <= t.offset, `committable ${c} passes unfinished ${t.offset}`);
          // Monotonic: strictly ahead of what was committed.
          assert.ok(c > lastCommit);
          if (!knownStart) assert.ok(c > registered[0]!, 'with an unknown start, the first offset itself is not news');
          // Exactly the model: the oldest unfinished offset, or last + 1 when everything is done.
          const oldestOpen = open.reduce<bigint | undefined>((m, t) => (m === undefined || t.offset < m ? t.offset : m), undefined);
          assert.equal(c, oldestOpen ?? registered.at(-1)! + 1n);
        }
        assert.equal(p.inFlight, open.length);
      }
      for (const t of open) p.done(t);
      if (registered.length > 0) {
        const final = p.committable();
        const expected = registered.at(-1)! + 1n;
        assert.equal(final ?? lastCommit, expected);
        assert.ok(final === undefined || final > lastCommit);
      } else {
        assert.equal(p.committable(), undefined);
      }
      assert.equal(p.held, 0);
    }),
    { numRuns: 500 },
  );
});

test('uncommitted counts every registered record until a commit covers it, done or not', () => {
  const p = new PartitionOffsets(100n);
  const tickets = [100n, 101n, 103n, 104n].map((o) => p.register(o));
  assert.equal(p.uncommitted, 4);
  p.done(tickets[0]!);
  p.done(tickets[1]!);
  assert.equal(p.uncommitted, 4, 'done but not committed: a crash would redo them');
  assert.equal(p.committable(), 103n);
  p.markCommitted(103n);
  assert.equal(p.uncommitted, 2);
  p.done(tickets[3]!);
  p.markCommitted(103n);
  assert.equal(p.uncommitted, 2, 'a record behind an unfinished one stays uncommitted');
  p.done(tickets[2]!);
  p.markCommitted(p.committable()!);
  assert.equal(p.uncommitted, 0);
});

test('property: uncommitted equals the registered offsets at or above the committed offset', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.boolean(), fc.boolean()), { maxLength: 200 }), (steps) => {
      const p = new PartitionOffsets();
      const registered: bigint[] = [];
      const open: ReturnType<PartitionOffsets['register']>[] = [];
      let next = 0n;
      for (const [gap, finish, commit] of steps) {
        next += BigInt(gap);
        open.push(p.register(next));
        registered.push(next);
        if (finish && open.length) p.done(open.splice(Math.floor(open.length / 2), 1)[0]!);
        if (commit) {
          const c = p.committable();
          if (c !== undefined) p.markCommitted(c);
        }
        const committed = p.committed;
        assert.equal(p.uncommitted, registered.filter((o) => committed === undefined || o >= committed).length);
      }
    }),
  );
});
