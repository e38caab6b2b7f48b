// examples/filter-fanout end to end with `lagless run`: clicks dropped, each order split into a summary and its items on two topics, a malformed event dead-lettered with the job's code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { consumeAll, createTopic, groupLag, produce, uniqueName } from '../helpers/kafka.ts';
import { exitedReason, startLagless, stopLagless } from '../helpers/lagless-process.ts';

test('filter-fanout: clicks are dropped, orders fan out to two topics, a bad event is a dead letter', async (t) => {
  const from = await createTopic(t, uniqueName('shop-events'), 2);
  const to = await createTopic(t, uniqueName('orders'), 2);
  const items = await createTopic(t, uniqueName('order-items'), 2);
  const dlq = await createTopic(t, uniqueName('shop-dlq'), 2);
  const group = uniqueName('shop-group');
  const events = [
    { key: 'c1', value: JSON.stringify({ type: 'click', id: 'c1' }) },
    { key: 'o1', value: JSON.stringify({ type: 'order', id: 'o1', customer: 'ada', items: [{ sku: 'tea', qty: 2, price: 3 }, { sku: 'cup', qty: 1, price: 8 }] }) },
    { key: 'c2', value: JSON.stringify({ type: 'click', id: 'c2' }) },
    { key: 'o2', value: JSON.stringify({ type: 'order', id: 'o2', customer: 'bob', items: [{ sku: 'pot', qty: 1, price: 20 }] }) },
    { key: 'x1', value: JSON.stringify({ type: 'refund', id: 'x1' }) },
  ];
  await produce(from, events);
  const run = startLagless(t, ['run', 'examples/filter-fanout/job.ts', '--from', from, '--to', to, '--dlq', dlq, '--group', group, '--status-every', '0'], {
    env: { ITEMS_TOPIC: items },
  });
  const summaries = await consumeAll(to, { count: 2, timeoutMs: 90_000 });
  const lines = await consumeAll(items, { count: 3, headers: true });
  const dead = await consumeAll(dlq, { count: 1 });
  await eventually(async () => (await groupLag(from, 2, group)).lag === 0n, { what: 'every event committed', timeout: 30_000, failIf: exitedReason(run) });
  const stopped = await stopLagless(run);
  assert.equal(stopped.code, 0, stopped.stderr);

  assert.deepEqual(
    summaries.map((s) => [s.key, JSON.parse(s.value)]).sort(),
    [
      ['o1', { order: 'o1', customer: 'ada', items: 2, total: 14 }],
      ['o2', { order: 'o2', customer: 'bob', items: 1, total: 20 }],
    ],
    'one summary per order, keyed like the input; no click reached the output',
  );
  assert.deepEqual(
    lines.map((l) => [l.key, JSON.parse(l.value).order, l.headers?.['order-id']]).sort(),
    [
      ['cup', 'o1', 'o1'],
      ['pot', 'o2', 'o2'],
      ['tea', 'o1', 'o1'],
    ],
    'one record per item on the second topic, keyed by SKU',
  );
  const letter = JSON.parse(dead[0]!.value) as { id: string; error: { code: string }; attempts: number };
  assert.equal(dead[0]!.key, 'x1');
  assert.equal(letter.id, 'x1');
  assert.equal(letter.error.code, 'NOT_AN_ORDER');
  assert.equal(letter.attempts, 1);
  assert.match(stopped.stderr, /stopped after [^:]+: 4 output\(s\), 1 dead letter\(s\)/, 'two clicks and two orders done, one dead letter');
});
