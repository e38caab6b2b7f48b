// Regression (the fault suite's cut-off member, exactly-once: 2 ids lost): a member evicted from the group and back under
// a new member id must redo what it did under the old membership, even when a fetch of the old membership answers late.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Consumer, MessagesStream } from '@platformatic/kafka';
import { createNoopJob } from '../../src/jobs/index.ts';
import { Transformer } from '../../src/runtime/index.ts';
import { watchInstances, wrapApi, type KafkaApi } from '../helpers/client-faults.ts';
import { eventually } from '../helpers/eventually.ts';
import { assertExactlyOnce, readBack } from '../helpers/exactly-once.ts';
import { createTopic, groupLag, groupMembers, idBatch, produceIds, testBrokers, uniqueName } from '../helpers/kafka.ts';
import { kcatSkipReason } from '../helpers/kcat.ts';

type WatchedConsumer = Consumer<string, Buffer, string, string>;
type WatchedStream = MessagesStream<string, Buffer, string, string>;
type Callback = (error: unknown, result?: unknown) => void;

const hasRecords = (response: unknown): boolean =>
  ((response as { responses?: { partitions: { records?: { records: unknown[] }[] | null }[] }[] }).responses ?? []).some((topic) =>
    topic.partitions.some((p) => (p.records ?? []).some((batch) => batch.records.length > 0)),
  );

// The loss, step by step (@platformatic/kafka 2.12.1): a member is evicted (its heartbeats do not reach the broker past
// the session timeout) but goes on fetching and processing; its transactions are refused (a member the group no longer
// knows) and aborted. When it joins again under a new member id it drops all it held, and the client resets its fetch
// positions to the committed offsets. But a fetch request sent before the rejoin and answered after it moved the
// position past the records done under the old membership, which never came again: the member committed past them.
// Injected here through the client's API lookup: heartbeats held until the member is evicted, and one fetch answer
// (with records) held until the client has reset its positions after the rejoin.
test('exactly-once: a member evicted and back under a new member id redoes what it did before, even when a fetch of the old membership answers late', { skip: kcatSkipReason }, async (t) => {
  const tp = {
    from: await createTopic(t, uniqueName('eos-rejoin-in'), 1),
    to: await createTopic(t, uniqueName('eos-rejoin-out'), 1),
    dlq: await createTopic(t, uniqueName('eos-rejoin-dlq'), 1),
    group: uniqueName('eos-rejoin'),
  };
  const clientId = uniqueName('eos-rejoin');
  // What is held back: heartbeats (not sent) while `holdHeartbeats`; the next fetch answer with records after `holdFetch`.
  const faults = { holdHeartbeats: false, heartbeats: [] as (() => void)[], holdFetch: false, fetch: undefined as (() => void) | undefined };
  const consumers: WatchedConsumer[] = [];
  watchInstances<WatchedConsumer>(t, 'consumer', (consumer) => {
    if (consumer.clientId !== clientId) return;
    consumers.push(consumer);
    wrapApi(consumer, 'Heartbeat', (api): KafkaApi => (...args) => {
      if (faults.holdHeartbeats) faults.heartbeats.push(() => api(...args));
      else api(...args);
    });
    wrapApi(consumer, 'Fetch', (api): KafkaApi => (...args) => {
      const cb = args.at(-1) as Callback;
      api(...args.slice(0, -1), (error: unknown, response: unknown) => {
        if (faults.holdFetch && !error && hasRecords(response)) {
          faults.holdFetch = false;
          faults.fetch = () => cb(error, response);
          return;
        }
        cb(error, response);
      });
    });
  });
  const streams: WatchedStream[] = [];
  watchInstances<WatchedStream>(t, 'messages-stream', (stream) => {
    if (stream.consumer.clientId === clientId) streams.push(stream);
  });

  const tr = new Transformer(createNoopJob(), { kafka: { brokers: testBrokers() }, ...tp, clientId, guarantee: 'exactly-once', sessionTimeoutMs: 6000 });
  t.after(() => tr.destroy());
  const warnings: string[] = [];
  tr.on('warning', (e) => warnings.push(e.message));
  const ids = (prefix: string) => idBatch(`${tp.group}-${prefix}`, 50);
  const send = (keys: string[]) => produceIds(tp.from, keys);
  const committed = async () => (await groupLag(tp.from, 1, tp.group)).partitions[0]?.committed;
  await tr.start();
  const before = ids('before');
  await send(before);
  await eventually(async () => (await committed()) === 50n, { what: 'the first 50 records committed', timeout: 180_000, every: 100 });

  // 1. Evicted: its heartbeats are held (not sent) until the group has dropped the member.
  const consumer = consumers[0]!;
  const oldMember = consumer.memberId;
  faults.holdHeartbeats = true;
  await eventually(async () => faults.heartbeats.length > 0 && (await groupMembers(tp.group)).size === 0, { what: 'the member evicted from the group', timeout: 120_000, every: 250 });

  // 2. Still fetching, it does 50 more records; their transaction is refused (aborted with their outputs).
  const failedBefore = tr.stats().transactions!.failedTransactions;
  const mid = ids('mid');
  await send(mid);
  await eventually(() => tr.stats().succeeded >= 100 && tr.stats().transactions!.failedTransactions > failedBefore, {
    what: 'the 50 records done under the old membership, their transaction refused',
    timeout: 120_000,
    every: 50,
  });

  // 3. A fetch of the old membership: its answer (the next 50 records) is held.
  faults.holdFetch = true;
  const late = ids('late');
  await send(late);
  await eventually(() => faults.fetch !== undefined, { what: 'a fetch answer with records held', timeout: 60_000, every: 50 });

  // 4. The heartbeats go: the broker answers UNKNOWN_MEMBER_ID, the member joins again under a new member id, and the
  // client resets its fetch positions to the committed offset (50).
  faults.holdHeartbeats = false;
  for (const heartbeat of faults.heartbeats.splice(0)) heartbeat();
  await eventually(
    () =>
      consumer.memberId !== null &&
      consumer.memberId !== oldMember &&
      tr.stats().assigned.length === 1 &&
      streams.some((s) => s.offsetsToFetch.get(`${tp.from}:0`) === 50n),
    { what: 'the member back under a new member id, fetching from the committed offset', timeout: 120_000, every: 50 },
  );

  // 5. The held answer lands now.
  faults.fetch!();
  await eventually(async () => (await committed()) === 150n, { what: 'all 150 records committed', timeout: 180_000, every: 100 });
  await tr.close();

  const back = await readBack(tp);
  t.diagnostic(`consumers ${consumers.length}, streams ${streams.length}; read_committed ${back.committed.length}, read_uncommitted ${back.uncommitted.length}; warnings: ${warnings.join(' | ')}`);
  assert.ok(back.uncommitted.length > back.committed.length, 'the old membership wrote outputs in a transaction that was aborted');
  assertExactlyOnce([...before, ...mid, ...late], back.committed, 'read_committed');
  assert.equal(consumers.length, 1, 'the member kept its consumer (no extra rebalance)');
});
