// Regression: status records were produced with acks=1 (@platformatic/kafka 2.12.1 ignores the constructor's acks for a
// producer that is not idempotent), so a leader failover could drop an acknowledged status or the stop's tombstone.
import assert from 'node:assert/strict';
import { tracingChannel } from 'node:diagnostics_channel';
import { test } from 'node:test';
import { ProduceAcks } from '@platformatic/kafka';
import { StatusPublisher, type MemberStatus } from '../../src/control/index.ts';
import { consumeAll, createTopic, testBrokers, uniqueName } from '../helpers/kafka.ts';

test('the status publisher sends every status and its tombstone with acks=all', async (t) => {
  const topic = await createTopic(t, uniqueName('status'), 1);
  const clientId = uniqueName('publisher');
  const acks: unknown[] = [];
  const onStart = (context: unknown) => {
    const c = context as { client?: { clientId?: string }; options?: { acks?: number } };
    if (c.client?.clientId === `${clientId}-status`) acks.push(c.options?.acks);
  };
  const noop = () => {};
  const handlers = { start: onStart, end: noop, asyncStart: noop, asyncEnd: noop, error: noop };
  tracingChannel('plt:kafka:producer:sends').subscribe(handlers);
  t.after(() => tracingChannel('plt:kafka:producer:sends').unsubscribe(handlers));
  const status = { v: 2, group: 'g', member: 'm1', role: 'replica', pid: process.pid } as unknown as MemberStatus;
  const publisher = new StatusPublisher({ kafka: { brokers: testBrokers() }, topic, clientId, intervalMs: 60_000, snapshot: () => status, onError: (err) => assert.fail(err) });
  await publisher.publish();
  await publisher.close();
  assert.deepEqual(acks, [ProduceAcks.ALL, ProduceAcks.ALL], 'one status and one tombstone, each with acks=all');
  const records = await consumeAll(topic, { count: 2 });
  assert.equal(records.length, 2);
});
