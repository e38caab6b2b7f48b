// Regression (fault runner, KIP-848 groups, at-least-once broker-pause: 947 duplicates against a bound of 800, and a
// partition without progress for 110 s): a consumer-group member that the coordinator no longer knows (evicted past
// its session: its heartbeats are answered UNKNOWN_MEMBER_ID) was never told so by @platformatic/kafka 2.12.1, which
// rejoins only after FENCED_MEMBER_EPOCH. It kept its partitions, fetched and produced for them beside their new
// owner, and could not commit, until its heartbeats counted as stalled (the rebalance timeout). Now it joins again at
// once with a new consumer, and (exactly-once) every id still comes out once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createNoopJob } from '../../src/jobs/index.ts';
import type { RecordConsumer } from '../../src/kafka/index.ts';
import { Transformer, type Guarantee } from '../../src/runtime/index.ts';
import { watchInstances, wrapApi, type KafkaApi } from '../helpers/client-faults.ts';
import { eventually } from '../helpers/eventually.ts';
import { assertExactlyOnce, readBack } from '../helpers/exactly-once.ts';
import { consumeAll, createTopic, groupLag, idBatch, produceIds, testBrokers, uniqueName } from '../helpers/kafka.ts';
import { kcatSkipReason } from '../helpers/kcat.ts';

const PARTITIONS = 2;

for (const guarantee of ['at-least-once', 'exactly-once'] as Guarantee[]) {
  test(`KIP-848 (${guarantee}): a member evicted past its session joins again as soon as its heartbeats are answered UNKNOWN_MEMBER_ID`, { skip: guarantee === 'exactly-once' ? kcatSkipReason : false }, async (t) => {
    const tp = {
      from: await createTopic(t, uniqueName('848-lost-in'), PARTITIONS),
      to: await createTopic(t, uniqueName('848-lost-out'), PARTITIONS),
      dlq: await createTopic(t, uniqueName('848-lost-dlq'), PARTITIONS),
      group: uniqueName('848-lost'),
    };
    const clientId = uniqueName('848-lost');
    const consumers: RecordConsumer[] = [];
    // The first consumer's heartbeats, while `hold` is set, are kept back (not sent) and sent when it is cleared.
    const held: (() => void)[] = [];
    let hold = false;
    watchInstances<RecordConsumer>(t, 'consumer', (consumer) => {
      if (consumer.clientId !== clientId) return;
      const first = consumers.length === 0;
      consumers.push(consumer);
      wrapApi(consumer, 'ConsumerGroupHeartbeat', (api): KafkaApi => (...args) => {
        if (first && hold) held.push(() => api(...args));
        else api(...args);
      });
    });
    const tr = new Transformer(createNoopJob(), {
      kafka: { brokers: testBrokers() },
      ...tp,
      clientId,
      groupProtocol: 'consumer',
      guarantee,
      ...(guarantee === 'exactly-once' ? { transactionalId: uniqueName('txn-848-lost') } : {}),
      // The heartbeat-stall path (a new consumer after the rebalance timeout) cannot be what brings it back here.
      rebalanceTimeoutMs: 600_000,
    });
    t.after(() => tr.destroy());
    const ids = (prefix: string) => idBatch(`${tp.group}-${prefix}`, 100);
    const send = (keys: string[]) => produceIds(tp.from, keys);
    await tr.start();
    const before = ids('before');
    await send(before);
    await eventually(async () => (await groupLag(tp.from, PARTITIONS, tp.group)).lag === 0n, { what: 'the first ids committed', timeout: 120_000, every: 200 });

    // Evicted: no heartbeat reaches the coordinator for longer than the session (10 s on the test broker).
    hold = true;
    await eventually(() => held.length > 0, { what: 'a heartbeat held', timeout: 30_000, every: 50 });
    const evictedAt = Date.now();
    await eventually(() => Date.now() - evictedAt > 15_000 || undefined, { what: 'past the session timeout', timeout: 30_000, every: 500 });
    hold = false;
    for (const h of held.splice(0)) h();
    await eventually(() => consumers.length >= 2 && tr.stats().assigned.length === PARTITIONS, { what: 'the member back in the group with a new consumer', timeout: 120_000, every: 200 });
    const after = ids('after');
    await send(after);
    await eventually(async () => (await groupLag(tp.from, PARTITIONS, tp.group)).lag === 0n, { what: 'every id committed', timeout: 120_000, every: 200 });
    await tr.close();
    if (guarantee === 'exactly-once') {
      const back = await readBack(tp);
      assertExactlyOnce([...before, ...after], back.committed, 'read_committed');
    } else {
      const out = await consumeAll(tp.to, { count: 200 });
      assert.deepEqual(new Set(out.map((o) => o.key)).size, 200, 'every id has its output');
    }
  });
}
