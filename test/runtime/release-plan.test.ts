// The release plan and the assignment diff: which records a release waits for and which it leaves to the next owner,
// and what an assignment change revokes, adds and cannot resume. No broker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { diffAssignment, mustFinish, planRelease } from '../../src/runtime/release-plan.ts';

const r = (offset: number, sending = false) => ({ offset: BigInt(offset), sending });

test('a release waits for what is at or below the highest finished record and for what is sending; the rest is handed over', () => {
  const plan = planRelease([r(3), r(5), r(7, true), r(9), r(4)], 5n);
  assert.equal(plan.mustFinishThrough, 7n, 'a record whose output is on its way raises the bound');
  assert.deepEqual(plan.waitFor.map((x) => x.offset), [3n, 5n, 7n, 4n]);
  assert.deepEqual(plan.handOver.map((x) => x.offset), [9n]);
});

test('nothing finished and nothing sending: every running record is handed over', () => {
  const plan = planRelease([r(1), r(2)], undefined);
  assert.equal(plan.mustFinishThrough, undefined);
  assert.deepEqual(plan.waitFor, []);
  assert.equal(plan.handOver.length, 2);
  assert.equal(mustFinish(undefined, 0n), false, 'a record waiting in its lane is handed over too');
});

test('property: each record is waited for or handed over, never both; nothing sending is handed over; handed over records are above every record that must finish', () => {
  const running = fc.array(fc.record({ offset: fc.bigInt({ min: 0n, max: 200n }), sending: fc.boolean() }), { maxLength: 60 });
  fc.assert(
    fc.property(running, fc.option(fc.bigInt({ min: 0n, max: 200n }), { nil: undefined }), (records, highestDone) => {
      const plan = planRelease(records, highestDone);
      assert.equal(plan.waitFor.length + plan.handOver.length, records.length);
      for (const x of records) assert.ok(plan.waitFor.includes(x) !== plan.handOver.includes(x));
      assert.ok(plan.handOver.every((x) => !x.sending));
      const bound = plan.mustFinishThrough;
      for (const x of plan.handOver) assert.ok(bound === undefined || x.offset > bound);
      for (const x of plan.waitFor) assert.ok(x.sending || mustFinish(bound, x.offset));
      // The bound is the highest finished record or the highest sending one, never lower than either.
      const sending = records.filter((x) => x.sending).map((x) => x.offset);
      const expected = [...(highestDone === undefined ? [] : [highestDone]), ...sending].reduce<bigint | undefined>((a, b) => (a === undefined || b > a ? b : a), undefined);
      assert.equal(bound, expected);
    }),
  );
});

test('an assignment change: revoked, added (ascending), and the partitions added back while their release runs', () => {
  const change = diffAssignment(new Set([4, 0, 2]), new Set([2, 3, 1, 0]), new Map([[1, {}]]));
  assert.deepEqual(change, { revoked: [4], added: [1, 3], returnedDuringRelease: [1] });
  assert.deepEqual(diffAssignment(new Set([1]), new Set([1]), new Set()), { revoked: [], added: [], returnedDuringRelease: [] });
});

test('property: held minus revoked plus added is the new assignment', () => {
  const set = fc.uniqueArray(fc.integer({ min: 0, max: 31 }), { maxLength: 32 }).map((a) => new Set(a));
  fc.assert(
    fc.property(set, set, set, (held, next, releasing) => {
      const c = diffAssignment(held, next, releasing);
      const after = new Set([...held].filter((p) => !c.revoked.includes(p)).concat(c.added));
      assert.deepEqual([...after].sort((a, b) => a - b), [...next].sort((a, b) => a - b));
      assert.ok(c.returnedDuringRelease.every((p) => c.added.includes(p) && releasing.has(p)));
    }),
  );
});
