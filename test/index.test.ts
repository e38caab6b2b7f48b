// The public entry as a service embeds it: createTransformer runs a job with the options of `lagless run`, and rejects a bad option naming it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTransformer, defineJob, UsageError } from '../src/index.ts';
import { consumeAll, createTopic, groupLag, produce, testBrokers, uniqueName } from './helpers/kafka.ts';

const upper = defineJob({ name: 'upper', run: (record) => ({ value: record.text().toUpperCase() }) });

test('createTransformer: start, every record transformed and committed, close', async (t) => {
  const from = await createTopic(t, uniqueName('embed-in'), 2);
  const to = await createTopic(t, uniqueName('embed-out'), 2);
  const group = uniqueName('embed-group');
  await produce(from, ['a', 'b', 'c'].map((w) => ({ key: w, value: w })));
  const tr = await createTransformer(upper, { kafka: { brokers: testBrokers() }, from, to, group, statusIntervalMs: 0, commitIntervalMs: 200 });
  const done: string[] = [];
  tr.on('record', (r) => done.push(String(r.input.key)));
  t.after(() => tr.close());
  await tr.start();
  const out = await consumeAll(to, { count: 3 });
  assert.deepEqual(out.map((o) => [o.key, o.value]).sort(), [['a', 'A'], ['b', 'B'], ['c', 'C']]);
  const summary = await tr.close();
  assert.deepEqual(summary, { abandoned: 0, unacknowledged: 0, committed: true, leftGroup: true }, 'close() says what it gave up: nothing');
  assert.equal(await tr.close(), summary, 'the same summary for every call');
  assert.deepEqual(done.sort(), ['a', 'b', 'c'], "the 'record' event saw every record");
  assert.equal((await groupLag(from, 2, group)).lag, 0n, 'close() committed every record');
  assert.equal(tr.stats().succeeded, 3);
});

test('createTransformer rejects bad options with a UsageError that names them', async () => {
  // The code is the contract; the option's name in the message is what the user needs (never the rest of its wording).
  const cases: [unknown, string][] = [
    [{ from: 'a', to: 'b' }, 'kafka.brokers'],
    [{ kafka: { brokers: ['127.0.0.1:9'] }, to: 'b' }, 'from'],
    [{ kafka: { brokers: ['127.0.0.1:9'] }, from: 'a', to: 'b', workers: { min: 3, max: 2 } }, 'workers.min'],
    [{ kafka: { brokers: ['127.0.0.1:9'] }, from: 'a', to: 'b', maxInFlight: 0 }, 'maxInFlight'],
  ];
  const names = (name: string) => (e: unknown) => e instanceof UsageError && e.code === 'USAGE' && new RegExp(`(^|[^\\w.])${name.replace('.', '\\.')}([^\\w]|$)`).test(e.message);
  for (const [options, name] of cases) await assert.rejects(createTransformer(upper, options as never), names(name), name);
  await assert.rejects(createTransformer({ name: 'x' } as never, { kafka: { brokers: ['127.0.0.1:9'] }, from: 'a', to: 'b' }), names('run'));
});
