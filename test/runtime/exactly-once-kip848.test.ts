// Regression (issue 22, item 4): exactly-once with the KIP-848 consumer group protocol. Every transaction used to be
// refused (ILLEGAL_GENERATION: the offsets carried the classic generation id, 0, instead of the member epoch), so
// nothing was ever committed and read_committed readers saw no output.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createNoopJob } from '../../src/jobs/index.ts';
import { Transformer, type TransformerInit } from '../../src/runtime/index.ts';
import { eventually } from '../helpers/eventually.ts';
import { assertExactlyOnce, readBack } from '../helpers/exactly-once.ts';
import { createTopic, groupLag, produce, testBrokers, uniqueName } from '../helpers/kafka.ts';
import { kcatSkipReason } from '../helpers/kcat.ts';
import { slowJob } from '../helpers/members.ts';

const PARTITIONS = 4;

async function topics(t: TestContext, name: string) {
  return {
    from: await createTopic(t, uniqueName(`${name}-in`), PARTITIONS),
    to: await createTopic(t, uniqueName(`${name}-out`), PARTITIONS),
    dlq: await createTopic(t, uniqueName(`${name}-dlq`), PARTITIONS),
    group: uniqueName(name),
  };
}

const committedAll = (tp: { from: string; group: string }) =>
  eventually(
    async () => {
      const lag = await groupLag(tp.from, PARTITIONS, tp.group);
      if (lag.lag === 0n && lag.partitions.every((p) => p.committed !== undefined && p.committed !== null && p.committed >= 0n)) return true;
      throw new Error(`lag per partition ${lag.partitions.map((p) => `${p.partition}:${p.lag}`).join(' ')}`);
    },
    { what: 'every record committed', timeout: 180_000, every: 250 },
  );

test('exactly-once with --group-protocol consumer: transactions commit with the member epoch; read_committed sees every id once', { skip: kcatSkipReason }, async (t) => {
  const tp = await topics(t, 'eos848');
  const ids = Array.from({ length: 400 }, (_, i) => `${tp.group}-${i}`);
  await produce(tp.from, ids.map((id) => ({ key: id, value: JSON.stringify({ id }) })));
  const tr = new Transformer(createNoopJob(), { kafka: { brokers: testBrokers() }, ...tp, groupProtocol: 'consumer', guarantee: 'exactly-once', transactionalId: uniqueName('txn-848') });
  t.after(() => tr.destroy());
  await tr.start();
  await committedAll(tp);
  const s = tr.stats();
  t.diagnostic(`transactions ${s.transactions?.transactions}, failed ${s.transactions?.failedTransactions}`);
  assert.equal(s.transactions?.committedOutputs, ids.length, 'each output committed once');
  await tr.close();
  const back = await readBack(tp);
  assertExactlyOnce(ids, back.committed, 'read_committed');
});

test('exactly-once with --group-protocol consumer: a member joining and another leaving move partitions; every id once', { skip: kcatSkipReason }, async (t) => {
  const tp = await topics(t, 'eos848-moves');
  const ids = Array.from({ length: 3000 }, (_, i) => `${tp.group}-${i}`);
  await produce(tp.from, ids.map((id) => ({ key: id, value: JSON.stringify({ id }) })));
  const member = (clientId: string) => {
    const init: TransformerInit = {
      kafka: { brokers: testBrokers() },
      ...tp,
      clientId,
      groupProtocol: 'consumer',
      guarantee: 'exactly-once',
      transactionalId: uniqueName(`txn-${clientId}`),
      maxConcurrency: 8,
    };
    const tr = new Transformer(slowJob(), init);
    t.after(() => tr.destroy());
    return tr;
  };
  const a = member('a');
  await a.start();
  await eventually(() => a.stats().succeeded > 200 && (a.stats().transactions?.transactions ?? 0) > 0, { what: 'a working and committing', timeout: 120_000, every: 50 });
  const b = member('b');
  await b.start();
  await eventually(() => b.stats().assigned.length > 0 && b.stats().succeeded > 100 && (b.stats().transactions?.transactions ?? 0) > 0, { what: 'b holds partitions and commits', timeout: 120_000, every: 50 });
  await a.close();
  await eventually(() => b.stats().assigned.length === PARTITIONS, { what: 'b takes every partition', timeout: 120_000, every: 50 });
  await committedAll(tp);
  t.diagnostic(`a: ${JSON.stringify(a.stats().transactions)}; b: ${JSON.stringify(b.stats().transactions)}`);
  await b.close();
  const back = await readBack(tp);
  assertExactlyOnce(ids, back.committed, 'read_committed');
});

test('the coordinator refuses offsets in a transaction that carry a stale or a future member epoch (what the KIP-848 exactly-once path relies on)', async (t) => {
  const { watchInstances } = await import('../helpers/client-faults.ts');
  const { createRecordProducer, TransactionalProducer, TransactionError } = await import('../../src/kafka/index.ts');
  const tp = await topics(t, 'eos848-epoch');
  const consumers: import('../../src/kafka/index.ts').RecordConsumer[] = [];
  const clientId = uniqueName('epoch-member');
  watchInstances<import('../../src/kafka/index.ts').RecordConsumer>(t, 'consumer', (c) => c.clientId === clientId && consumers.push(c));
  const tr = new Transformer(createNoopJob(), { kafka: { brokers: testBrokers() }, ...tp, clientId, groupProtocol: 'consumer', guarantee: 'exactly-once', transactionalId: uniqueName('txn-848-epoch') });
  t.after(() => tr.destroy());
  await tr.start();
  const consumer = await eventually(() => (consumers[0] && consumers[0].memberEpoch > 0 ? consumers[0] : undefined), { what: 'the member has an epoch', timeout: 60_000, every: 50 });
  const txnId = uniqueName('txn-848-probe');
  const producer = new TransactionalProducer(() => createRecordProducer({ brokers: testBrokers(), clientId: 'probe', transactionalId: txnId }), { transactionTimeoutMs: 10_000, stepTimeoutMs: 10_000 });
  t.after(() => producer.close());
  for (const generationId of [consumer.memberEpoch - 1, consumer.memberEpoch + 1]) {
    await assert.rejects(
      producer.commit([], [{ topic: tp.from, partition: 0, offset: 0n }], { groupId: tp.group, generationId, memberId: consumer.memberId!, coordinatorId: consumer.coordinatorId! }),
      (e) => e instanceof TransactionError && e.reason === 'generation',
      `epoch ${generationId} (current ${consumer.memberEpoch}) refused`,
    );
  }
  await tr.close();
});

test('two live members given one transactional id fence each other: a TRANSACTIONAL_ID_CONFLICT warning says so', async (t) => {
  const tp = await topics(t, 'eos-conflict');
  const transactionalId = uniqueName('txn-shared');
  const codes: string[] = [];
  const members = ['a', 'b'].map((name) => {
    const tr = new Transformer(createNoopJob(), { kafka: { brokers: testBrokers() }, ...tp, clientId: `${tp.group}-${name}`, guarantee: 'exactly-once', transactionalId });
    tr.on('warning', (w) => codes.push((w as { code?: string }).code ?? ''));
    t.after(() => tr.destroy());
    return tr;
  });
  await Promise.all(members.map((m) => m.start()));
  // A steady load, so that both keep committing (and fencing each other) until the warning comes.
  let stop = false;
  const load = (async () => {
    for (let n = 0; !stop; n += 1) await produce(tp.from, Array.from({ length: 50 }, (_, i) => ({ key: `k${n}-${i}`, value: 'v' })));
  })();
  try {
    await eventually(() => codes.includes('TRANSACTIONAL_ID_CONFLICT'), { what: 'a TRANSACTIONAL_ID_CONFLICT warning', timeout: 120_000, every: 100 });
  } finally {
    stop = true;
    await load;
  }
});
