// Transactions against the real broker: a restarted producer fences its predecessor, the transaction timeout is the
// configured one, offsets of a stale generation are refused, and a new owner's offset read waits for an open transaction.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { describeTransactionsV0, kGetConnection, kMetadata, Producer, stringSerializers, type Broker, type ClusterMetadata, type Connection } from '@platformatic/kafka';
import { createAdmin, createConsumer, findKafkaErrorId, readStableOffsets, TransactionalProducer, TransactionError, type GroupGeneration } from '../../src/kafka/index.ts';
import { eventually } from '../helpers/eventually.ts';
import { createTopic, testBrokers, uniqueName } from '../helpers/kafka.ts';
import { hasKcat, kcatRead, kcatSkipReason } from '../helpers/kcat.ts';

function txnProducer(t: TestContext, transactionalId: string, transactionTimeoutMs = 10_000) {
  const p = new TransactionalProducer(
    () => new Producer({ clientId: 'lagless-test-txn', bootstrapBrokers: testBrokers(), serializers: stringSerializers, idempotent: true, transactionalId }),
    { transactionTimeoutMs, stepTimeoutMs: 30_000 },
  );
  t.after(() => p.close());
  return p;
}

/** A member of `group` consuming `topic`: its generation is what transactions commit offsets as. */
async function member(t: TestContext, topic: string, group: string) {
  const consumer = createConsumer({ brokers: testBrokers(), clientId: 'lagless-test-member', groupId: group, extra: { maxWaitTime: 100, sessionTimeout: 10_000, heartbeatInterval: 500 } });
  const stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest' });
  t.after(async () => {
    await stream.close().catch(() => {});
    await consumer.close(true).catch(() => {});
  });
  return (): GroupGeneration => ({ groupId: group, generationId: consumer.generationId, memberId: consumer.memberId!, coordinatorId: consumer.coordinatorId! });
}

test('a producer restarted with the same transactional id starts, fences its predecessor, and aborts its open transaction at once', async (t) => {
  const topic = await createTopic(t, uniqueName('txn'), 1);
  const id = uniqueName('txn-id');
  const first = txnProducer(t, id);
  await first.commit([{ topic, key: 'committed-1', value: 'x' }], [], { groupId: '-', generationId: -1, memberId: '', coordinatorId: -1 });
  // A crash in the middle of a transaction: records written, no commit (a raw producer of the same id, left open).
  const crashed = new Producer({ clientId: 'lagless-test-crashed', bootstrapBrokers: testBrokers(), serializers: stringSerializers, idempotent: true, transactionalId: id });
  t.after(() => crashed.close(true));
  const open = await crashed.beginTransaction({ producerId: -1n, producerEpoch: -1 });
  await open.send({ messages: [{ topic, key: 'open', value: 'x' }] });
  // The restart (the client's default InitProducerId would be refused here with PRODUCER_FENCED: producer id 0, epoch 0).
  const restarted = txnProducer(t, id);
  await restarted.init();
  await assert.rejects(open.commit(), (err) => findKafkaErrorId(err, 'PRODUCER_FENCED'));
  await restarted.commit([{ topic, key: 'committed-2', value: 'x' }], [], { groupId: '-', generationId: -1, memberId: '', coordinatorId: -1 });
  // The first producer is fenced too.
  await assert.rejects(first.commit([{ topic, key: 'zombie', value: 'x' }], [], { groupId: '-', generationId: -1, memberId: '', coordinatorId: -1 }), (err) => err instanceof TransactionError && err.reason === 'fenced' && err.outcome === 'not-committed');
  if (!hasKcat) return t.diagnostic(`kcat checks skipped: ${kcatSkipReason}`);
  // No timeout to wait for: the open transaction was aborted by the restart, so read_committed readers move on.
  const committed = await eventually(async () => {
    const r = await kcatRead(topic, 'read_committed');
    return r.length >= 2 ? r : undefined;
  }, { what: 'both committed records readable', timeout: 20_000 });
  assert.deepEqual(committed.map((r) => r.key), ['committed-1', 'committed-2']);
  const all = await kcatRead(topic, 'read_uncommitted');
  assert.ok(all.some((r) => r.key === 'open'), 'the aborted record is in the log');
});

test('the transaction timeout the coordinator holds is the configured one, not the client request timeout', async (t) => {
  const topic = await createTopic(t, uniqueName('txn'), 1);
  const id = uniqueName('txn-id');
  const p = txnProducer(t, id, 7_000);
  await p.commit([{ topic, key: 'k', value: 'x' }], [], { groupId: '-', generationId: -1, memberId: '', coordinatorId: -1 });
  const admin = createAdmin({ brokers: testBrokers(), clientId: 'lagless-test' });
  t.after(() => admin.close());
  const call = <T>(fn: (cb: (e: Error | null, v?: T) => void) => void) => new Promise<T>((res, rej) => fn((e, v) => (e ? rej(e) : res(v as T))));
  const metadata = await call<ClusterMetadata>((cb) => admin[kMetadata]({ topics: [] }, cb));
  const broker = [...metadata.brokers.values()][0] as Broker;
  const connection = await call<Connection>((cb) => admin[kGetConnection](broker, cb));
  const described = await describeTransactionsV0.api.async(connection, [id]);
  assert.equal(described.transactionStates[0]?.transactionTimeoutMs, 7_000);
});

test('offsets of a generation the group has left are refused: the transaction is not committed and nothing is visible', async (t) => {
  const topic = await createTopic(t, uniqueName('txn'), 2);
  const out = await createTopic(t, uniqueName('txn-out'), 1);
  const group = uniqueName('txn-group');
  const generation = await member(t, topic, group);
  const p = txnProducer(t, uniqueName('txn-id'));
  await p.commit([{ topic: out, key: 'ok', value: 'x' }], [{ topic, partition: 0, offset: 5n }], generation());
  const stale = { ...generation(), generationId: generation().generationId - 1 };
  await assert.rejects(p.commit([{ topic: out, key: 'stale', value: 'x' }], [{ topic, partition: 0, offset: 9n }], stale), (err) => {
    assert.ok(err instanceof TransactionError);
    assert.equal(err.reason, 'generation');
    assert.equal(err.outcome, 'not-committed');
    return true;
  });
  const admin = createAdmin({ brokers: testBrokers(), clientId: 'lagless-test' });
  t.after(() => admin.close());
  const offsets = await readStableOffsets(admin, group, topic, [0, 1]);
  assert.equal(offsets.get(0), 5n);
  assert.equal(offsets.get(1), -1n);
  if (!hasKcat) return t.diagnostic(`kcat checks skipped: ${kcatSkipReason}`);
  assert.deepEqual((await kcatRead(out, 'read_committed')).map((r) => r.key), ['ok']);
});

test('a new owner reading stable offsets waits while a transaction that commits them is open, then sees them', async (t) => {
  const topic = await createTopic(t, uniqueName('txn'), 1);
  const group = uniqueName('txn-group');
  const generation = await member(t, topic, group);
  const id = uniqueName('txn-id');
  // A transaction with offsets, held open between TxnOffsetCommit and EndTxn: its producer's send of the commit is delayed.
  const raw = new Producer({ clientId: 'lagless-test-raw', bootstrapBrokers: testBrokers(), serializers: stringSerializers, idempotent: true, transactionalId: id });
  t.after(() => raw.close(true));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let offsetsSent = false;
  const slow = new TransactionalProducer(() => raw, { transactionTimeoutMs: 30_000, stepTimeoutMs: 60_000 });
  const originalBegin = raw.beginTransaction.bind(raw);
  raw.beginTransaction = (async (...args: Parameters<typeof raw.beginTransaction>) => {
    const txn = await (originalBegin as (...a: unknown[]) => Promise<Awaited<ReturnType<typeof raw.beginTransaction>>>)(...args);
    const commit = txn.commit.bind(txn);
    txn.commit = (async () => {
      offsetsSent = true;
      await gate;
      return commit();
    }) as typeof txn.commit;
    return txn;
  }) as typeof raw.beginTransaction;
  const committing = slow.commit([], [{ topic, partition: 0, offset: 42n }], generation());
  await eventually(() => offsetsSent, { what: 'the transaction to have sent its offsets (TxnOffsetCommit)', timeout: 30_000 });
  // No retries in the client: each refusal reaches readStableOffsets, which counts and retries it.
  const admin = createAdmin({ brokers: testBrokers(), clientId: 'lagless-test', retries: 0 });
  t.after(() => admin.close());
  let waits = 0;
  const read = readStableOffsets(admin, group, topic, [0], { onWait: () => void waits++ });
  // The read keeps being refused while the transaction is open.
  await eventually(() => waits >= 2, { what: 'the stable read to be refused twice (UNSTABLE_OFFSET_COMMIT)', timeout: 30_000 });
  release();
  await committing;
  const offsets = await read;
  assert.equal(offsets.get(0), 42n);
});
