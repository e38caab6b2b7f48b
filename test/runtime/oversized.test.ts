// Regression (found by the fault runner's fuzzing): a record the broker refuses as too large (the dead letter of a
// 900 kB input, or a job's 2 MB output) was retried forever: the member stalled, the other records of the same produce
// request were re-sent again and again, and a graceful stop hung. Now the dead letter is bounded and an oversized
// output becomes a dead letter with OUTPUT_TOO_LARGE; everything else goes through once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UnrecoverableError } from '../../src/errors/index.ts';
import type { JobDefinition as Job } from '../../src/index.ts';
import { Transformer } from '../../src/runtime/index.ts';
import { consumeAll, createTopic, produce, testBrokers, uniqueName } from '../helpers/kafka.ts';
import { eventually } from '../helpers/eventually.ts';

async function run(t: import('node:test').TestContext, job: Job, inputs: { key: string; value: string }[]) {
  const from = await createTopic(t, uniqueName('in'), 2);
  const to = await createTopic(t, uniqueName('out'), 2);
  const dlq = await createTopic(t, uniqueName('dlq'), 2);
  // One record per request: a 900 kB record must not share a batch with others on its way in.
  for (const r of inputs) await produce(from, [r]);
  const tr = new Transformer(job, { kafka: { brokers: testBrokers() }, from, to, dlq, group: uniqueName('group'), commitIntervalMs: 200 });
  t.after(() => tr.destroy());
  await tr.start();
  await eventually(() => tr.stats().succeeded + tr.stats().deadLettered === inputs.length, { what: 'every record done (an output or a dead letter)', timeout: 90_000, every: 100 });
  // Before the fix, close() never returned: the sink's flush waited for the refused record forever.
  await tr.close();
  return { to, dlq, tr };
}

test('regression: the dead letter of a 900 kB input fits (original cut to 64 KiB) and nothing else is held up', async (t) => {
  // Quotes double in size once escaped: uncut, this dead letter would be about 1.8 MB.
  const big = JSON.stringify({ id: 'big', url: `http://example.com/${'"'.repeat(440_000)}` });
  const inputs = [
    ...Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `small ${i}` })),
    { key: 'big', value: big },
    ...Array.from({ length: 10 }, (_, i) => ({ key: `m${i}`, value: `small ${i}` })),
  ];
  const job: Job = {
    name: 'refuse-big',
    run: async (input) => {
      if (input.value.length > 100_000) throw new UnrecoverableError('far too long a URL', 'INVALID_URL');
      return { key: input.key, value: input.text() };
    },
    close: async () => {},
  };
  const { to, dlq } = await run(t, job, inputs);
  const [dead] = await consumeAll(dlq, { count: 1 });
  const d = JSON.parse(dead!.value);
  assert.equal(d.error.code, 'INVALID_URL');
  assert.equal(d.originalTruncated, true);
  assert.equal(d.originalBytes, Buffer.byteLength(big));
  assert.ok(big.startsWith(d.original));
  const out = await consumeAll(to, { count: 20 });
  assert.deepEqual([...new Set(out.map((r) => r.key))].sort(), inputs.filter((r) => r.key !== 'big').map((r) => r.key).sort(), 'every other record has its output');
});

test('regression: an output larger than the topic allows is a dead letter OUTPUT_TOO_LARGE, not an endless retry', async (t) => {
  const inputs = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
  const job: Job = {
    name: 'one-huge-output',
    run: async (input) => ({ key: input.key, value: input.key === 'k7' ? 'x'.repeat(2_000_000) : input.text() }),
    close: async () => {},
  };
  const { to, dlq, tr } = await run(t, job, inputs);
  assert.equal(tr.stats().deadLettered, 1);
  const [dead] = await consumeAll(dlq, { count: 1 });
  assert.equal(dead!.key, 'k7');
  assert.equal(JSON.parse(dead!.value).error.code, 'OUTPUT_TOO_LARGE');
  // Records that shared a refused request may come out twice (at-least-once); each has its output.
  const out = await consumeAll(to, { count: 29 });
  assert.deepEqual([...new Set(out.map((r) => r.key))].sort(), inputs.filter((r) => r.key !== 'k7').map((r) => r.key).sort());
});
