// The partition table: one state per held partition, dropped in one step; owned vs being released; the exactly-once
// gate and its count. No broker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PartitionTable } from '../../src/runtime/partition-table.ts';

test('assigned, released, dropped: owned and held say which; a dropped partition keeps nothing into its next ownership', () => {
  const t = new PartitionTable<string, { id: string }>();
  for (const p of [3, 1, 2]) t.assign(p);
  assert.deepEqual(t.owned(), [1, 2, 3]);
  t.get(2)!.committed = 40n;
  t.noteDone(2, 45n);
  t.noteDone(2, 41n);
  assert.equal(t.get(2)!.highestDone, 45n, 'the highest, not the last');
  const release = { id: 'r2' };
  t.startRelease(2, release);
  assert.deepEqual(t.owned(), [1, 3]);
  assert.deepEqual(t.held(), [1, 2, 3]);
  assert.ok(t.releasing.has(2) && !t.isOwned(2));
  assert.deepEqual(t.releases(), [release]);
  assert.equal(t.get(2)!.committed, 40n, 'a partition being released still has its commit state');
  t.drop(2);
  t.noteDone(2, 50n);
  assert.equal(t.get(2), undefined, 'a late record of a dropped partition leaves no trace');
  const again = t.assign(2);
  assert.deepEqual({ committed: again.committed, highestDone: again.highestDone, restore: again.restore, leaderEpoch: again.leaderEpoch }, { committed: undefined, highestDone: undefined, restore: false, leaderEpoch: -1 });
});

test('exactly-once gate: records wait while it is closed, count against the window, come out in order, and go with a drop', () => {
  const t = new PartitionTable<string, object>();
  t.assign(0);
  t.assign(1);
  assert.equal(t.hold(0, 'a'), false, 'no gate: the record goes on');
  t.closeGate(0);
  t.closeGate(1);
  assert.ok(t.hold(0, 'a') && t.hold(0, 'b') && t.hold(1, 'c'));
  assert.equal(t.gated, 3);
  assert.deepEqual(t.openGate(0), ['a', 'b']);
  assert.equal(t.gated, 1);
  assert.equal(t.openGate(0), undefined, 'opened once');
  t.startRelease(1, {});
  assert.equal(t.openGate(1), undefined, 'a partition being released is not opened');
  t.drop(1);
  assert.equal(t.gated, 0, 'its held records went with it');
});

test('property: the gated count is always the number of records held in closed gates', () => {
  const op = fc.oneof(
    fc.record({ k: fc.constant('assign' as const), p: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ k: fc.constant('close' as const), p: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ k: fc.constant('hold' as const), p: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ k: fc.constant('open' as const), p: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ k: fc.constant('release' as const), p: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ k: fc.constant('drop' as const), p: fc.integer({ min: 0, max: 2 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 80, size: 'large' }), (ops) => {
      const t = new PartitionTable<number, object>();
      let n = 0;
      for (const { k, p } of ops) {
        if (k === 'assign') t.assign(p);
        else if (k === 'close') t.closeGate(p);
        else if (k === 'hold') t.hold(p, (n += 1));
        else if (k === 'open') t.openGate(p);
        else if (k === 'release') t.startRelease(p, {});
        else t.drop(p);
        const inGates = t.held().reduce((sum, q) => sum + (t.get(q)!.gate?.length ?? 0), 0);
        assert.equal(t.gated, inGates);
        assert.deepEqual([...t.owned(), ...t.held().filter((q) => t.releasing.has(q))].sort(), t.held().sort());
      }
    }),
  );
});
