// The delivery strategies without a broker: each guarantee's policy, and the at-least-once commit (the done prefix,
// a restored offset, what a failed commit does) against a consumer whose commit the test answers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LaglessError } from '../../src/errors/index.ts';
import type { RecordConsumer } from '../../src/kafka/index.ts';
import { OffsetTracker } from '../../src/offsets/index.ts';
import { createDeliveryStrategy, type DeliveryPorts } from '../../src/runtime/delivery.ts';
import { defaultTransformerOptions, type TransformerOptions } from '../../src/runtime/index.ts';
import { PartitionTable } from '../../src/runtime/partition-table.ts';

const options = (o: Partial<TransformerOptions> = {}): TransformerOptions =>
  ({ ...defaultTransformerOptions, kafka: { brokers: ['127.0.0.1:9'] }, from: 'in', to: 'out', dlq: 'in.dlq', group: 'g', releaseTimeoutMs: 1000, ...o }) as TransformerOptions;

function ports(o: Partial<TransformerOptions>, commit: (offsets: unknown) => Promise<void>) {
  const tracker = new OffsetTracker();
  const partitions = new PartitionTable<unknown, unknown>();
  const warnings: string[] = [];
  const consumer = { commit: ({ offsets }: { offsets: unknown }) => commit(offsets) } as unknown as RecordConsumer;
  const p: DeliveryPorts = {
    options: options(o),
    outputTopics: ['out', 'in.dlq'],
    tracker,
    partitions,
    member: () => ({ consumer, generation: { generationId: 1, memberId: 'm', membership: 'm' } }),
    warn: (w: LaglessError) => warnings.push(w.code),
    warnEvery: (w: LaglessError) => warnings.push(w.code),
  };
  return { p, tracker, partitions, warnings };
}

test('each guarantee says what the member does differently, never which guarantee it is', () => {
  const none = async () => {};
  assert.deepEqual(createDeliveryStrategy('at-least-once', ports({}, none).p).policy, {
    restartOnNewMembership: false,
    revocation: 'release',
    gateNewPartitions: false,
    retryFinalCommit: false,
    verifyCommits: true,
    commitWhenSettled: true,
  });
  const eos = (groupProtocol: 'classic' | 'consumer') => createDeliveryStrategy('exactly-once', ports({ guarantee: 'exactly-once', groupProtocol }, none).p).policy;
  assert.equal(eos('classic').revocation, 'release');
  assert.equal(eos('consumer').revocation, 'drop', 'KIP-848: the client acknowledges a revocation without waiting for the release');
  assert.ok(eos('classic').restartOnNewMembership && eos('classic').gateNewPartitions && eos('classic').retryFinalCommit && !eos('classic').verifyCommits);
  assert.equal(eos('classic').commitWhenSettled, false, 'a transaction per commit interval, not one per burst');
});

test('at-least-once commit: the done prefix of each partition, a restored offset again, and what committed is recorded', async () => {
  const sent: unknown[] = [];
  const { p, tracker, partitions } = ports({}, async (offsets) => {
    sent.push(offsets);
  });
  const d = createDeliveryStrategy('at-least-once', p);
  for (const q of [0, 1]) partitions.assign(q);
  const t0 = [0n, 1n, 2n].map((o) => tracker.register('in', 0, o));
  tracker.done(t0[0]!);
  tracker.done(t0[2]!); // 1 still running: partition 0 commits 1
  tracker.done(tracker.register('in', 1, 5n));
  partitions.get(0)!.leaderEpoch = 7;
  const r = await d.commit(undefined, { final: false });
  assert.equal(r.ok, true);
  assert.deepEqual(r.offsets, [{ partition: 0, offset: 1n, leaderEpoch: 7 }, { partition: 1, offset: 6n, leaderEpoch: -1 }]);
  assert.equal(partitions.get(1)!.committed, 6n);
  assert.ok(partitions.get(1)!.committedAt !== undefined);
  tracker.markCommitted(r.offsets.map((o) => ({ topic: 'in', ...o })));
  // The broker reported partition 1 below our commit: it is committed again, though nothing new is done.
  partitions.get(1)!.restore = true;
  const again = await d.commit([1], { final: false });
  assert.deepEqual(again.offsets, [{ partition: 1, offset: 6n, leaderEpoch: -1 }]);
  assert.equal(partitions.get(1)!.restore, false);
  assert.equal(sent.length, 2);
  await d.destroy();
});

test('at-least-once commit that fails: not ok, nothing recorded, COMMIT_FAILED', async () => {
  const { p, tracker, partitions, warnings } = ports({}, async () => {
    throw new Error('NOT_COORDINATOR');
  });
  const d = createDeliveryStrategy('at-least-once', p);
  partitions.assign(0);
  tracker.done(tracker.register('in', 0, 0n));
  const r = await d.commit(undefined, { final: false });
  assert.deepEqual(r, { ok: false, offsets: [] });
  assert.equal(partitions.get(0)!.committed, undefined);
  assert.deepEqual(warnings, ['COMMIT_FAILED']);
  await d.destroy();
});

test('at-least-once release of a partition never committed commits its log start; one committed is left alone', async () => {
  const sent: unknown[] = [];
  const { p, partitions } = ports({}, async (offsets) => {
    sent.push(offsets);
  });
  const broker = p.member().consumer as unknown as Record<string, unknown>;
  broker.listCommittedOffsets = async () => new Map([['in', [-1n, 9n]]]);
  broker.listOffsets = async ({ timestamp }: { timestamp: bigint }) => new Map([['in', timestamp === -2n ? [4n, 4n] : [10n, 10n]]]);
  const d = createDeliveryStrategy('at-least-once', p);
  partitions.assign(0);
  await d.released(0);
  assert.deepEqual(sent, [[{ topic: 'in', partition: 0, offset: 4n, leaderEpoch: -1 }]]);
  // Committed by us before: nothing asked, nothing committed.
  partitions.assign(1).committed = 9n;
  await d.released(1);
  assert.equal(sent.length, 1);
  // exactly-once commits nothing outside a transaction.
  let eosCommits = 0;
  await createDeliveryStrategy('exactly-once', ports({ guarantee: 'exactly-once' }, async () => void (eosCommits += 1)).p).released(0);
  assert.equal(eosCommits, 0);
  await d.destroy();
});

test('at-least-once commit verification: an offset gone back below a commit made before the question is restored', () => {
  const { p, partitions, warnings } = ports({}, async () => {});
  const d = createDeliveryStrategy('at-least-once', p);
  const s0 = partitions.assign(0);
  s0.committed = 10n;
  s0.committedAt = 100;
  const s1 = partitions.assign(1);
  s1.committed = 10n;
  s1.committedAt = 300; // committed after the question was asked (at 200): not expected in the answer
  assert.equal(d.compareCommitted([0, 1], [7n, 7n], 200), true);
  assert.deepEqual([s0.restore, s1.restore], [true, false]);
  assert.deepEqual(warnings, ['COMMIT_WENT_BACK']);
  // Already being restored: not reported twice.
  assert.equal(d.compareCommitted([0, 1], [7n, 7n], 200), false);
  assert.equal(createDeliveryStrategy('exactly-once', ports({ guarantee: 'exactly-once' }, async () => {}).p).compareCommitted([0], [0n], 200), false);
});
