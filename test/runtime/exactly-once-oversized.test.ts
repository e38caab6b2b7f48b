// Regression (issue 22, 5b): exactly-once, an output larger than its topic's max.message.bytes failed the member's
// transaction again and again, and no partition of the member ever committed again. Now it becomes an
// OUTPUT_TOO_LARGE dead letter inside the same transaction, and the other records commit: also when the limit is
// lowered while the member runs (the broker's refusal is then what tells), and when many small outputs together would
// exceed a small limit.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { JobDefinition } from '../../src/index.ts';
import { createAdmin } from '../../src/kafka/index.ts';
import { Transformer, type GroupProtocol } from '../../src/runtime/index.ts';
import { eventually } from '../helpers/eventually.ts';
import { consumeAll, createTopic, groupLag, produce, testBrokers, uniqueName } from '../helpers/kafka.ts';

const PARTITIONS = 2;
const LIMIT = 10_000;

/** Outputs `size` bytes for a record whose value names it ("big:20000"), else a copy. */
const sizedJob: JobDefinition = {
  name: 'sized',
  run: (record) => {
    const [kind, size] = record.text().split(':');
    return { value: kind === 'big' || kind === 'mid' ? 'x'.repeat(Number(size)) : record.value };
  },
};

async function setup(t: TestContext, name: string, groupProtocol: GroupProtocol, toLimit: number) {
  const tp = {
    from: await createTopic(t, uniqueName(`${name}-in`), PARTITIONS),
    to: await createTopic(t, uniqueName(`${name}-out`), PARTITIONS, { 'max.message.bytes': String(toLimit) }),
    dlq: await createTopic(t, uniqueName(`${name}-dlq`), PARTITIONS),
    group: uniqueName(name),
  };
  const tr = new Transformer(sizedJob, { kafka: { brokers: testBrokers() }, ...tp, groupProtocol, guarantee: 'exactly-once', transactionalId: uniqueName('txn-big') });
  t.after(() => tr.destroy());
  return { tp, tr };
}

async function allCommitted(tp: { from: string; group: string }) {
  await eventually(
    async () => {
      const lag = await groupLag(tp.from, PARTITIONS, tp.group);
      if (lag.lag === 0n) return true;
      throw new Error(`lag per partition ${lag.partitions.map((p) => `${p.partition}:${p.lag}`).join(' ')}`);
    },
    { what: 'every record committed', timeout: 120_000, every: 200 },
  );
}

for (const groupProtocol of ['classic', 'consumer'] as GroupProtocol[]) {
  test(`exactly-once (${groupProtocol}): an output over its topic's max.message.bytes is an OUTPUT_TOO_LARGE dead letter; many mid-sized outputs fit; the rest commits`, async (t) => {
    const { tp, tr } = await setup(t, 'eos-big', groupProtocol, LIMIT);
    const inputs = [
      ...Array.from({ length: 40 }, (_, i) => ({ key: `s${i}`, value: `small:${i}` })),
      { key: 'big', value: `big:${LIMIT * 2}` },
      // Each fits alone; forty of them in one produce request would not.
      ...Array.from({ length: 40 }, (_, i) => ({ key: `m${i}`, value: `mid:${LIMIT / 3}` })),
    ];
    await produce(tp.from, inputs);
    await tr.start();
    await allCommitted(tp);
    const out = await consumeAll(tp.to, { count: inputs.length - 1, isolation: 'read_committed' });
    const [dead] = await consumeAll(tp.dlq, { count: 1, isolation: 'read_committed' });
    assert.equal(dead!.key, 'big');
    assert.equal(JSON.parse(dead!.value).error.code, 'OUTPUT_TOO_LARGE');
    assert.deepEqual(out.map((o) => o.key).sort(), inputs.filter((i) => i.key !== 'big').map((i) => i.key).sort());
    assert.equal(tr.stats().deadLettered, 1);
    await tr.close();
  });
}

test('exactly-once: a limit lowered while the member runs: the refused transaction is retried with the oversized outputs as dead letters', async (t) => {
  const { tp, tr } = await setup(t, 'eos-lowered', 'classic', LIMIT * 10);
  const warnings: string[] = [];
  tr.on('warning', (w) => warnings.push(w.message));
  t.after(() => { for (const w of warnings.slice(0, 10)) t.diagnostic(w); });
  await tr.start();
  await produce(tp.from, [{ key: 'before', value: `mid:${LIMIT}` }]);
  await allCommitted(tp);
  const admin = createAdmin({ brokers: testBrokers(), clientId: 'lagless-test' });
  t.after(() => admin.close());
  await admin.incrementalAlterConfigs({ resources: [{ resourceType: 2, resourceName: tp.to, configs: [{ name: 'max.message.bytes', configOperation: 0, value: String(LIMIT) }] }] });
  const inputs = [
    ...Array.from({ length: 20 }, (_, i) => ({ key: `s${i}`, value: `small:${i}` })),
    ...Array.from({ length: 3 }, (_, i) => ({ key: `big${i}`, value: `big:${LIMIT * 2}` })),
  ];
  await produce(tp.from, inputs);
  await allCommitted(tp);
  const dead = await consumeAll(tp.dlq, { count: 3, isolation: 'read_committed' });
  assert.deepEqual(dead.map((d) => d.key).sort(), ['big0', 'big1', 'big2']);
  for (const d of dead) assert.equal(JSON.parse(d.value).error.code, 'OUTPUT_TOO_LARGE');
  const out = await consumeAll(tp.to, { count: 21, isolation: 'read_committed' });
  assert.deepEqual(out.map((o) => o.key).sort(), ['before', ...inputs.filter((i) => !i.key.startsWith('big')).map((i) => i.key)].sort());
  assert.ok((tr.stats().transactions?.failedTransactions ?? 0) >= 1, 'the refusal was what told');
  assert.equal(tr.stats().deadLettered, 3);
  await tr.close();
});
