// The public job API against the real broker: outputs (none, many, named topics, headers, bytes), a job's own error codes and dead-letter fields, setup and close, and CPU work on the runtime's worker pool.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineJob, JobError } from '../../src/index.ts';
import { Transformer } from '../../src/runtime/index.ts';
import { consumeAll, createTopic, produce, testBrokers, uniqueName } from '../helpers/kafka.ts';

async function topics(t: import('node:test').TestContext, partitions = 2) {
  const from = await createTopic(t, uniqueName('api-in'), partitions);
  const to = await createTopic(t, uniqueName('api-out'), partitions);
  const side = await createTopic(t, uniqueName('api-side'), partitions);
  const dlq = await createTopic(t, uniqueName('api-dlq'), partitions);
  return { from, to, side, dlq, group: uniqueName('api-group') };
}

test('filter, fan-out to a named topic, keys, headers and bytes; own codes reach the dead letter with the job\'s fields', async (t) => {
  const tp = await topics(t);
  const calls: string[] = [];
  let attemptsOfFlaky = 0;
  const job = defineJob({
    name: 'api-test',
    outputs: [tp.side],
    setup(ctx) {
      calls.push(`setup ${ctx.from}->${ctx.to}`);
    },
    run(record, ctx) {
      const { kind, id } = record.json<{ kind: string; id: string }>();
      switch (kind) {
        case 'drop':
          return null;
        case 'split':
          return [
            { value: `${id}-a` },
            { value: Buffer.from(`${id}-b`), key: `${id}-other`, topic: tp.side, headers: { 'content-type': 'text/plain', seen: record.headers.trace ?? '-' } },
          ];
        case 'rejected':
          throw new JobError('UPSTREAM_REJECTED', `the upstream refused ${id}`);
        case 'flaky':
          attemptsOfFlaky = ctx.attempt;
          throw new JobError('UPSTREAM_BUSY', 'try later', { retryable: true, retryAfterMs: 10 });
        case 'bad-output':
          return { value: 'x', topic: 'not-declared' } as never;
        default:
          return { value: record.value, headers: { kind } };
      }
    },
    deadLetterFields: (record) => ({ id: record.json<{ id: string }>().id, stage: 'api-test' }),
    close() {
      calls.push('close');
    },
  });
  const inputs = [
    { key: 'k-keep', value: JSON.stringify({ kind: 'keep', id: 'keep' }) },
    { key: 'k-drop', value: JSON.stringify({ kind: 'drop', id: 'drop' }) },
    { key: 'k-split', value: JSON.stringify({ kind: 'split', id: 'split' }), headers: { trace: 't-1' } },
    { key: 'k-rejected', value: JSON.stringify({ kind: 'rejected', id: 'rejected' }) },
    { key: 'k-flaky', value: JSON.stringify({ kind: 'flaky', id: 'flaky' }) },
    { key: 'k-bad', value: JSON.stringify({ kind: 'bad-output', id: 'bad' }) },
  ];
  await produce(tp.from, inputs);
  const tr = new Transformer(job, { kafka: { brokers: testBrokers() }, from: tp.from, to: tp.to, dlq: tp.dlq, group: tp.group, commitIntervalMs: 200, retryBaseMs: 10, attempts: 3 });
  t.after(() => tr.destroy());
  await tr.start();
  assert.deepEqual(calls, [`setup ${tp.from}->${tp.to}`], 'setup runs once, before the first record');
  const out = await consumeAll(tp.to, { count: 2, headers: true });
  const side = await consumeAll(tp.side, { count: 1, headers: true });
  const dead = await consumeAll(tp.dlq, { count: 3 });
  await tr.close();
  assert.deepEqual(calls.at(-1), 'close');
  const byKey = new Map(out.map((r) => [r.key, r]));
  assert.equal(byKey.get('k-keep')?.value, inputs[0]!.value, 'the default output keeps the input key and value');
  assert.deepEqual(byKey.get('k-keep')?.headers, { kind: 'keep' });
  assert.equal(byKey.get('k-split')?.value, 'split-a');
  assert.equal(out.length, 2, 'the dropped record has no output');
  assert.equal(side[0]?.key, 'split-other');
  assert.equal(side[0]?.value, 'split-b');
  assert.deepEqual(side[0]?.headers, { 'content-type': 'text/plain', seen: 't-1' });
  const letters = new Map(dead.map((d) => [d.key, JSON.parse(d.value) as { id: string; stage: string; error: { code: string; message: string }; attempts: number }]));
  assert.equal(letters.get('k-rejected')?.error.code, 'UPSTREAM_REJECTED');
  assert.equal(letters.get('k-rejected')?.attempts, 1, 'not retryable: no retry');
  assert.equal(letters.get('k-rejected')?.id, 'rejected');
  assert.equal(letters.get('k-rejected')?.stage, 'api-test');
  assert.equal(letters.get('k-flaky')?.error.code, 'UPSTREAM_BUSY');
  assert.equal(letters.get('k-flaky')?.attempts, 3, 'retryable: retried up to --attempts');
  assert.equal(attemptsOfFlaky, 3);
  assert.equal(letters.get('k-bad')?.error.code, 'INVALID_OUTPUT');
  assert.match(letters.get('k-bad')!.error.message, /not-declared/);
  const s = tr.stats();
  assert.equal(s.succeeded, 3, 'kept, dropped and split records are done');
  assert.equal(s.deadLettered, 3);
});

test('a worker module runs on the runtime\'s threads; its JobError keeps its code; a job without one cannot call it', async (t) => {
  const tp = await topics(t);
  const job = defineJob({
    name: 'squares',
    worker: new URL('./fixtures/square-worker.ts', import.meta.url),
    async run(record, ctx) {
      const n = Number(record.text());
      const r = await ctx.worker.run<{ square: number; onWorkerThread: boolean }>({ n });
      return { value: JSON.stringify(r) };
    },
  });
  await produce(tp.from, [1, 2, 3, -4].map((n) => ({ key: `n${n}`, value: String(n) })));
  const tr = new Transformer(job, { kafka: { brokers: testBrokers() }, from: tp.from, to: tp.to, dlq: tp.dlq, group: tp.group, commitIntervalMs: 200, workers: { workers: 2, maxWorkers: 2, minWorkers: 1 } });
  t.after(() => tr.destroy());
  await tr.start();
  const out = await consumeAll(tp.to, { count: 3 });
  const dead = await consumeAll(tp.dlq, { count: 1 });
  assert.equal(tr.stats().workers?.maxWorkers, 2);
  await tr.close();
  assert.deepEqual(
    out.map((o) => [o.key, JSON.parse(o.value)]).sort(),
    [['n1', { square: 1, onWorkerThread: true }], ['n2', { square: 4, onWorkerThread: true }], ['n3', { square: 9, onWorkerThread: true }]],
  );
  const letter = JSON.parse(dead[0]!.value) as { error: { code: string; message: string } };
  assert.deepEqual(letter.error, { code: 'NEGATIVE', message: 'cannot square -4 here' });

  // Without a worker module, ctx.worker.run() fails the record with JOB_FAILED and a message that says what to add.
  const tp2 = await topics(t, 1);
  const noWorker = defineJob({ name: 'no-worker', run: async (_r, ctx) => ({ value: String(await ctx.worker.run(1)) }) });
  await produce(tp2.from, [{ key: 'x', value: '1' }]);
  const tr2 = new Transformer(noWorker, { kafka: { brokers: testBrokers() }, from: tp2.from, to: tp2.to, dlq: tp2.dlq, group: tp2.group, commitIntervalMs: 200 });
  t.after(() => tr2.destroy());
  await tr2.start();
  const [d] = await consumeAll(tp2.dlq, { count: 1 });
  await tr2.close();
  const e = (JSON.parse(d!.value) as { error: { code: string; message: string } }).error;
  assert.equal(e.code, 'JOB_FAILED');
  assert.match(e.message, /names no worker module/);
});

test('a worker module that cannot load stops start() with a clear error, before any record is taken', async (t) => {
  const tp = await topics(t, 1);
  const job = defineJob({ name: 'broken-worker', worker: new URL('./fixtures/does-not-exist.ts', import.meta.url), run: () => null });
  const tr = new Transformer(job, { kafka: { brokers: testBrokers() }, from: tp.from, to: tp.to, dlq: tp.dlq, group: tp.group });
  t.after(() => tr.destroy());
  await assert.rejects(tr.start(), (e: Error & { code?: string }) => e.code === 'IO' && /worker module .*does-not-exist\.ts cannot run on a worker thread/.test(e.message));
});
