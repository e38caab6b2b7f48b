// End to end, --guarantee exactly-once with a user job (examples/filter-fanout: records filtered out, one input to
// several outputs on two topics, a job error dead-lettered): a kill -9 mid-run and a restart, then kcat (librdkafka,
// read_committed) sees each order's summary and items, and each bad event's dead letter, exactly once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exitedReason, startCli, waitCli } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { PARTITIONS, readBack, skip, stopMember, sum, topics } from '../helpers/exactly-once.ts';
import { createTopic, produce, testBrokers, uniqueName } from '../helpers/kafka.ts';
import { countKeys, kcatRead } from '../helpers/kcat.ts';
import { committedOffsets, waitCaughtUp } from '../helpers/pipeline.ts';

test('exactly-once with a user job (filter, fan-out to two topics, dead letters): kill -9 and restart, each output once', { skip }, async (t) => {
  const tp = await topics(t, 'eos-user');
  const items = await createTopic(t, uniqueName('eos-user-items'), PARTITIONS);
  const TOTAL = 900;
  const kind = (n: number) => (n % 3 === 0 ? 'click' : n % 50 === 49 ? 'refund' : 'order');
  const events = Array.from({ length: TOTAL }, (_, n) => {
    const id = `${tp.group}-${n}`;
    const k = kind(n);
    const value = k === 'order' ? { type: 'order', id, customer: 'ada', items: [{ sku: `${id}-a`, qty: 1, price: 2 }, { sku: `${id}-b`, qty: 3, price: 1 }] } : { type: k, id };
    return { key: id, value: JSON.stringify(value) };
  });
  await produce(tp.from, events);
  const start = () => {
    const child = startCli(
      [
        'run', 'examples/filter-fanout/job.ts',
        '--brokers', testBrokers().join(','),
        '--from', tp.from, '--to', tp.to, '--dlq', tp.dlq, '--group', tp.group,
        '--guarantee', 'exactly-once', '--max-in-flight', '40', '--session-timeout', '6s', '--status-every', '0',
      ],
      { env: { ITEMS_TOPIC: items } },
    );
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    return child;
  };
  const first = start();
  await eventually(async () => sum(await committedOffsets(tp.group, tp.from, PARTITIONS)) >= 150n, {
    what: 'the first member commits 150 events',
    timeout: 120_000,
    failIf: exitedReason(first),
  });
  first.kill('SIGKILL');
  assert.equal((await waitCli(first, 30_000)).signal, 'SIGKILL');
  const second = start();
  await waitCaughtUp(tp.group, tp.from, PARTITIONS, 120_000, second);
  await stopMember(second);

  const orders = events.filter((_, n) => kind(n) === 'order').map((e) => e.key);
  const refunds = events.filter((_, n) => kind(n) === 'refund').map((e) => e.key);
  const { committed, uncommitted } = await readBack(tp);
  const summaries = countKeys(committed.filter((r) => !r.value?.includes('"error"')));
  const dead = countKeys(committed.filter((r) => r.value?.includes('"error"')));
  assert.deepEqual([...summaries.keys()].sort(), [...orders].sort(), 'one summary per order, none for clicks');
  assert.ok([...summaries.values()].every((c) => c === 1), 'each summary once');
  assert.deepEqual([...dead.keys()].sort(), [...refunds].sort(), 'one dead letter per bad event');
  assert.ok([...dead.values()].every((c) => c === 1), 'each dead letter once');
  const lines = countKeys(await kcatRead(items, 'read_committed'));
  assert.equal(lines.size, orders.length * 2, 'two item records per order');
  assert.ok([...lines.values()].every((c) => c === 1), 'each item record once');
  t.diagnostic(`${TOTAL} events (${orders.length} orders, ${refunds.length} bad); read_committed ${committed.length} outputs and dead letters, read_uncommitted ${uncommitted.length}`);
});
