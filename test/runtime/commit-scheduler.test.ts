// Commit scheduling without a broker: no commit while the member's JoinGroup is on its way, what a commit reports,
// and a window half full asking for many commits gets one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OffsetTracker } from '../../src/offsets/index.ts';
import { CommitScheduler } from '../../src/runtime/commit-scheduler.ts';
import type { DeliveryStrategy } from '../../src/runtime/delivery.ts';
import type { GroupMember } from '../../src/runtime/group-member.ts';
import { Lifecycle } from '../../src/runtime/lifecycle.ts';
import { defaultTransformerOptions, type TransformerOptions } from '../../src/runtime/index.ts';
import { PartitionTable } from '../../src/runtime/partition-table.ts';
import type { Partitions } from '../../src/runtime/record-processor.ts';

function scheduler(joining: () => boolean) {
  const tracker = new OffsetTracker();
  const partitions: Partitions = new PartitionTable();
  const asked: { only: readonly number[] | undefined; final: boolean }[] = [];
  const reported: unknown[] = [];
  const life = new Lifecycle();
  const delivery = {
    policy: { verifyCommits: false },
    commit: async (only: readonly number[] | undefined, o: { final: boolean }) => {
      asked.push({ only, final: o.final });
      return { ok: true, offsets: [{ partition: 0, offset: 3n, leaderEpoch: -1 }] };
    },
  } as unknown as DeliveryStrategy;
  const member = { consumer: {}, get joining() { return joining(); } } as unknown as GroupMember;
  const options = { ...defaultTransformerOptions, from: 'in' } as TransformerOptions;
  const s = new CommitScheduler({ options, member, delivery, tracker, partitions, life, committed: (o) => reported.push(o) });
  return { s, tracker, asked, reported, life };
}

test('a commit while the member joins is refused without asking the broker; later it goes through and is reported', async () => {
  let joining = true;
  const { s, tracker, asked, reported } = scheduler(() => joining);
  tracker.register('in', 0, 2n);
  assert.equal(await s.commit(), false);
  assert.equal(asked.length, 0);
  joining = false;
  assert.equal(await s.commit([0]), true);
  assert.deepEqual(asked, [{ only: [0], final: false }]);
  assert.deepEqual(reported, [[{ partition: 0, offset: 3n }]]);
  assert.equal(tracker.committed('in', 0), 3n, 'the tracker knows the commit');
});

test('soon() asked many times before the next turn commits once; the close marks its commits final', async () => {
  const { s, asked, life } = scheduler(() => false);
  for (let i = 0; i < 10; i += 1) s.soon();
  await new Promise((r) => setImmediate(r));
  await s.tail;
  assert.equal(asked.length, 1);
  for (const step of ['starting', 'running', 'draining', 'committing'] as const) life.to(step);
  await s.commit();
  assert.equal(asked.at(-1)!.final, true);
});
