// Regression (issue 22, 5c): an exactly-once member whose heartbeats stall for good (requests that never get an
// answer: a link cut one way, a connection that hangs) only warned, forever: evicted, it kept its partitions, its
// transactions were refused, and nothing was committed again. Now it joins again with a new consumer, as an
// at-least-once member does, after ending the transactions of the old membership (its producer replaced, which aborts
// an open transaction), and every id still comes out once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createNoopJob } from '../../src/jobs/index.ts';
import type { RecordConsumer } from '../../src/kafka/index.ts';
import { Transformer } from '../../src/runtime/index.ts';
import { watchInstances, wrapApi, type KafkaApi } from '../helpers/client-faults.ts';
import { eventually } from '../helpers/eventually.ts';
import { assertExactlyOnce, readBack } from '../helpers/exactly-once.ts';
import { createTopic, groupLag, idBatch, produceIds, testBrokers, uniqueName } from '../helpers/kafka.ts';
import { kcatSkipReason } from '../helpers/kcat.ts';

const PARTITIONS = 2;

test('exactly-once: a member whose heartbeats never get an answer again joins the group again with a new consumer; every id once', { skip: kcatSkipReason }, async (t) => {
  const tp = {
    from: await createTopic(t, uniqueName('eos-stall-in'), PARTITIONS),
    to: await createTopic(t, uniqueName('eos-stall-out'), PARTITIONS),
    dlq: await createTopic(t, uniqueName('eos-stall-dlq'), PARTITIONS),
    group: uniqueName('eos-stall'),
  };
  const clientId = uniqueName('eos-stall');
  const consumers: RecordConsumer[] = [];
  let swallow = false;
  watchInstances<RecordConsumer>(t, 'consumer', (consumer) => {
    if (consumer.clientId !== clientId) return;
    const first = consumers.length === 0;
    consumers.push(consumer);
    // The first consumer's heartbeats, once `swallow` is set, are sent nowhere and never answered.
    wrapApi(consumer, 'Heartbeat', (api): KafkaApi => (...args) => {
      if (first && swallow) return;
      api(...args);
    });
  });
  const tr = new Transformer(createNoopJob(), {
    kafka: { brokers: testBrokers() },
    ...tp,
    clientId,
    guarantee: 'exactly-once',
    transactionalId: uniqueName('txn-stall'),
    sessionTimeoutMs: 6000,
    rebalanceTimeoutMs: 10_000,
  });
  t.after(() => tr.destroy());
  const warnings: string[] = [];
  tr.on('warning', (w) => warnings.push(w.message));
  const ids = (prefix: string) => idBatch(`${tp.group}-${prefix}`, 100);
  const send = (keys: string[]) => produceIds(tp.from, keys);
  await tr.start();
  const before = ids('before');
  await send(before);
  await eventually(async () => (await groupLag(tp.from, PARTITIONS, tp.group)).lag === 0n, { what: 'the first ids committed', timeout: 120_000, every: 200 });

  swallow = true;
  const during = ids('during');
  await send(during);
  // Evicted, then stalled past the client's stall timeout: the member must come back with a new consumer.
  await eventually(() => consumers.length >= 2 && tr.stats().assigned.length === PARTITIONS, { what: 'the member back in the group with a new consumer', timeout: 120_000, every: 200 });
  const after = ids('after');
  await send(after);
  await eventually(
    async () => {
      const lag = await groupLag(tp.from, PARTITIONS, tp.group);
      if (lag.lag === 0n) return true;
      throw new Error(`lag ${lag.partitions.map((p) => `${p.partition}:${p.lag}`).join(' ')}`);
    },
    { what: 'every id committed', timeout: 180_000, every: 200 },
  );
  await tr.close();
  for (const w of warnings.slice(0, 12)) t.diagnostic(w);
  const back = await readBack(tp);
  assertExactlyOnce([...before, ...during, ...after], back.committed, 'read_committed');
  assert.ok(consumers.length >= 2);
});

test("exactly-once: the consumer's error event (a membership lost for good) while a transaction's commit is unanswered: the member joins again after fencing that transaction; every id once", { skip: kcatSkipReason }, async (t) => {
  const tp = {
    from: await createTopic(t, uniqueName('eos-err-in'), PARTITIONS),
    to: await createTopic(t, uniqueName('eos-err-out'), PARTITIONS),
    dlq: await createTopic(t, uniqueName('eos-err-dlq'), PARTITIONS),
    group: uniqueName('eos-err'),
  };
  const clientId = uniqueName('eos-err');
  const consumers: RecordConsumer[] = [];
  watchInstances<RecordConsumer>(t, 'consumer', (c) => c.clientId === clientId && consumers.push(c));
  // The transactional producer's EndTxn answers, held while `hold` is set.
  const held: (() => void)[] = [];
  let hold = false;
  watchInstances<{ clientId: string }>(t, 'producer', (p) => {
    if (p.clientId !== `${clientId}-out`) return;
    wrapApi(p, 'EndTxn', (api): KafkaApi => (...args) => {
      if (!hold) return api(...args);
      const cb = args.at(-1) as (e: unknown, r?: unknown) => void;
      api(...args.slice(0, -1), (e: unknown, r: unknown) => held.push(() => cb(e, r)));
    });
  });
  const tr = new Transformer(createNoopJob(), { kafka: { brokers: testBrokers() }, ...tp, clientId, guarantee: 'exactly-once', transactionalId: uniqueName('txn-err'), sessionTimeoutMs: 6000, transactionTimeoutMs: 5000 });
  t.after(() => tr.destroy());
  const ids = (prefix: string) => idBatch(`${tp.group}-${prefix}`, 100);
  const send = (keys: string[]) => produceIds(tp.from, keys);
  await tr.start();
  const before = ids('before');
  await send(before);
  await eventually(async () => (await groupLag(tp.from, PARTITIONS, tp.group)).lag === 0n, { what: 'the first ids committed', timeout: 120_000, every: 200 });
  hold = true;
  const during = ids('during');
  await send(during);
  await eventually(() => held.length > 0, { what: 'a commit (EndTxn) held unanswered', timeout: 60_000, every: 20 });
  hold = false;
  consumers[0]!.emit('error', new Error('injected: the group membership failed for good'));
  await eventually(() => consumers.length >= 2 && tr.stats().assigned.length === PARTITIONS, { what: 'the member back with a new consumer', timeout: 120_000, every: 100 });
  // The held answer arrives late, after the member joined again.
  for (const answer of held.splice(0)) answer();
  const after = ids('after');
  await send(after);
  await eventually(async () => (await groupLag(tp.from, PARTITIONS, tp.group)).lag === 0n, { what: 'every id committed', timeout: 180_000, every: 200 });
  await tr.close();
  const back = await readBack(tp);
  assertExactlyOnce([...before, ...during, ...after], back.committed, 'read_committed');
});
