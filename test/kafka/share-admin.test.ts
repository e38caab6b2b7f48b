// Share groups seen from outside, against the real broker: two members join with ShareGroupHeartbeat, one acquires
// and accepts records, and describeShareGroup, shareGroupBacklog and `lagless status --group G --json` show them as
// Kafka 4.4 counts them; a consumer group is not taken for a share group.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FindCoordinatorKeyTypes, kGetConnection, kMetadata, type Admin, type ClusterMetadata, type Connection } from '@platformatic/kafka';
import type { ShareGroupStatus } from '../../src/control/index.ts';
import { createAdmin, describeShareGroup, shareGroupBacklog } from '../../src/kafka/index.ts';
import { AckType, shareAcknowledgeV2, shareFetchV2, shareGroupHeartbeatV1, type AckBatch } from '../../src/kafka/index.ts';
import { runCli } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { createTopic, produce, testBrokers, uniqueName } from '../helpers/kafka.ts';

interface Member {
  id: string;
  epoch: number;
  heartbeatIntervalMs: number;
  partitions: number[];
}

function call<T>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}

/** A connection to the group's coordinator, where heartbeats go (one broker in the tests: fetches too). */
async function coordinator(admin: Admin, group: string): Promise<Connection> {
  const [c] = await admin.findCoordinator({ keyType: FindCoordinatorKeyTypes.GROUP, keys: [group] });
  return call<Connection>((cb) => admin[kGetConnection]({ host: c!.host, port: c!.port }, cb));
}

/**
 * Two members of share group `group` on `topic`, heartbeating (until the test ends, then leaving) once both have
 * partitions.
 */
async function joinTwo(t: TestContext, admin: Admin, connection: Connection, group: string, topic: string): Promise<Member[]> {
  const members: Member[] = [0, 1].map(() => ({ id: randomBytes(16).toString('base64url').slice(0, 22), epoch: 0, heartbeatIntervalMs: 5000, partitions: [] }));
  const beat = async (m: Member) => {
    const r = await shareGroupHeartbeatV1.async(connection, group, m.id, m.epoch, null, m.epoch === 0 ? [topic] : null);
    m.epoch = r.memberEpoch;
    m.heartbeatIntervalMs = r.heartbeatIntervalMs;
    if (r.assignment) m.partitions = r.assignment.flatMap((a) => a.partitions).sort((a, b) => a - b);
  };
  // The first share group of a broker waits for its state topic (COORDINATOR_NOT_AVAILABLE meanwhile).
  await eventually(
    async () => {
      for (const m of members) await beat(m);
      return members.every((m) => m.partitions.length > 0);
    },
    { what: 'both share-group members have partitions', timeout: 60_000, every: 500 },
  );
  let stopped = false;
  const alive = (async () => {
    while (!stopped) {
      await sleep(Math.min(...members.map((m) => m.heartbeatIntervalMs)));
      if (!stopped) for (const m of members) await beat(m).catch(() => {});
    }
  })();
  t.after(async () => {
    stopped = true;
    await alive;
    for (const m of members) await shareGroupHeartbeatV1.async(connection, group, m.id, -1, null, null).catch(() => {});
    await admin.deleteGroups({ groups: [group] }).catch(() => {});
  });
  return members;
}

test('describeShareGroup and shareGroupBacklog show two members, and a backlog of the records not yet acknowledged', async (t) => {
  const N = 20;
  const K = 6;
  const topic = await createTopic(t, uniqueName('share'), 2);
  const group = uniqueName('share-group');
  const admin = createAdmin({ brokers: testBrokers(), clientId: 'lagless-test-share' });
  t.after(() => admin.close());
  // A new share group starts at the log end; this one reads from the start.
  await admin.incrementalAlterConfigs({
    resources: [{ resourceType: 32, resourceName: group, configs: [{ name: 'share.auto.offset.reset', configOperation: 0, value: 'earliest' }] }],
  } as unknown as Parameters<Admin['incrementalAlterConfigs']>[0]);
  await produce(topic, Array.from({ length: N }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: 0 })));
  const metadata = await call<ClusterMetadata>((cb) => admin[kMetadata]({ topics: [topic] }, cb));
  const topicId = metadata.topics.get(topic)!.id;

  const connection = await coordinator(admin, group);
  const members = await joinTwo(t, admin, connection, group, topic);
  assert.deepEqual([...new Set(members.flatMap((m) => m.partitions))].sort(), [0, 1], 'the two partitions are assigned');

  const described = await describeShareGroup(admin, group);
  assert.ok(described);
  assert.equal(described.group, group);
  assert.equal(described.state, 'Stable');
  assert.ok(described.epoch > 0);
  assert.deepEqual(described.members.map((m) => m.memberId).sort(), members.map((m) => m.id).sort());
  for (const m of described.members) {
    assert.deepEqual(m.subscribedTopics, [topic]);
    assert.deepEqual(m.assignment.map((a) => [a.topic, a.topicId]), [[topic, topicId]], 'topics by name and id');
    assert.deepEqual(m.assignment[0]!.partitions, members.find((x) => x.id === m.memberId)!.partitions);
  }

  // The owner of partition 0 acquires the N records.
  const owner = members.find((m) => m.partitions.includes(0))!;
  let sessionEpoch = 0;
  const acquired = new Set<bigint>();
  await eventually(
    async () => {
      const r = await shareFetchV2.async(connection, {
        groupId: group,
        memberId: owner.id,
        sessionEpoch,
        maxWaitMs: 500,
        minBytes: 1,
        maxBytes: 1 << 20,
        maxRecords: 500,
        batchSize: 500,
        topics: sessionEpoch === 0 ? [{ topicId, partitions: [{ partition: 0, batches: [] }] }] : [],
        forgotten: [],
      });
      sessionEpoch += 1;
      for (const p of r.responses.flatMap((x) => x.partitions)) for (const a of p.acquired) for (let o = a.firstOffset; o <= a.lastOffset; o++) acquired.add(o);
      return acquired.size === N;
    },
    { what: `the owner of partition 0 acquired its ${N} records`, timeout: 60_000 },
  );
  // Acquired, nothing acknowledged: no state is persisted yet (start offset and broker lag -1); the whole log is backlog.
  const before = await shareGroupBacklog(admin, group, topic);
  assert.deepEqual(before.partitions[0], { partition: 0, startOffset: -1n, logStartOffset: 0n, logEndOffset: BigInt(N), backlog: BigInt(N), brokerLag: -1n });

  const acknowledge = async (batches: AckBatch[]) => {
    const r = await shareAcknowledgeV2.async(connection, group, owner.id, sessionEpoch, false, [{ topicId, partitions: [{ partition: 0, batches }] }]);
    sessionEpoch += 1;
    assert.deepEqual(r.responses.flatMap((x) => x.partitions.map((p) => p.errorCode)), [0]);
  };
  // A contiguous prefix 0..K-1, then 10..11 past a gap (K..9 stay acquired).
  await acknowledge([{ firstOffset: 0n, lastOffset: BigInt(K - 1), type: AckType.ACCEPT }]);
  const afterPrefix = (await shareGroupBacklog(admin, group, topic)).partitions[0]!;
  assert.equal(afterPrefix.backlog, BigInt(N - K));
  assert.equal(afterPrefix.brokerLag, BigInt(N - K));
  // Kafka 4.4 persists the start offset one state write late: the write of this acknowledgement carries the old one.
  assert.ok(afterPrefix.startOffset >= 0n && afterPrefix.startOffset <= BigInt(K), `start offset ${afterPrefix.startOffset}`);

  await acknowledge([{ firstOffset: 10n, lastOffset: 11n, type: AckType.ACCEPT }]);
  const after = await shareGroupBacklog(admin, group, topic);
  // Records accepted past the gap are done too: the backlog is N minus every accepted record, not only the prefix.
  assert.deepEqual(after.partitions, [
    { partition: 0, startOffset: BigInt(K), logStartOffset: 0n, logEndOffset: BigInt(N), backlog: BigInt(N - K - 2), brokerLag: BigInt(N - K - 2) },
    { partition: 1, startOffset: -1n, logStartOffset: 0n, logEndOffset: 0n, backlog: 0n, brokerLag: -1n },
  ]);
  assert.equal(after.total, BigInt(N - K - 2));

  // `lagless status --group G --json` shows the share view.
  const r = await runCli(['status', '--group', group, '--json', '--brokers', testBrokers().join(',')], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as ShareGroupStatus;
  assert.equal(s.type, 'share');
  assert.equal(s.group, group);
  assert.equal(s.state, 'Stable');
  assert.deepEqual(s.members.map((m) => m.memberId).sort(), members.map((m) => m.id).sort());
  assert.deepEqual(s.members.flatMap((m) => m.partitions).sort((a, b) => a.partition - b.partition), [
    { topic, partition: 0 },
    { topic, partition: 1 },
  ]);
  assert.deepEqual(
    s.partitions.map(({ owners, ...p }) => ({ ...p, owners: owners.length })),
    [
      { topic, partition: 0, startOffset: K, logStart: 0, logEnd: N, backlog: N - K - 2, owners: 1 },
      { topic, partition: 1, startOffset: -1, logStart: 0, logEnd: 0, backlog: 0, owners: 1 },
    ],
  );
  assert.equal(s.totalBacklog, N - K - 2);
});

test('a consumer group, or a name no group has, is no share group: lagless status shows it as a consumer group', async (t) => {
  const topic = await createTopic(t, uniqueName('share-not'), 1);
  const group = uniqueName('consumer-group');
  const admin = createAdmin({ brokers: testBrokers(), clientId: 'lagless-test-share' });
  t.after(async () => {
    await admin.deleteGroups({ groups: [group] }).catch(() => {});
    await admin.close();
  });
  await produce(topic, [{ key: 'k', value: 'v' }, { key: 'k', value: 'v' }]);
  // Committed offsets alone make a (classic, empty) consumer group.
  await admin.alterConsumerGroupOffsets({ groupId: group, topics: [{ name: topic, partitionOffsets: [{ partition: 0, offset: 1n }] }] });
  assert.equal(await describeShareGroup(admin, group), null);
  assert.equal(await describeShareGroup(admin, uniqueName('no-group')), null);

  const r = await runCli(['status', '--group', group, '--json', '--status-topic', uniqueName('no-status'), '--brokers', testBrokers().join(',')], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(s.type, undefined, 'the consumer view has no type');
  assert.deepEqual(s.partitions, [{ topic, partition: 0, logEnd: 2, committed: 1, lag: 1, owner: null }]);
  assert.equal(s.totalLag, 1);
});
