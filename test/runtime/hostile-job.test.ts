// Regression (issue 22, "a job cannot take a member down"): whatever a job's run(), worker function, setup() or
// deadLetterFields() throws or returns costs one dead letter with a code, never the member, a partition or the group.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { defineJob, JobError, UsageError, type JobDefinition } from '../../src/index.ts';
import { Transformer, type TransformerInit } from '../../src/runtime/index.ts';
import { eventually } from '../helpers/eventually.ts';
import { consumeAll, createTopic, groupLag, produce, testBrokers, uniqueName } from '../helpers/kafka.ts';

interface Letter {
  [field: string]: unknown;
  error: { code: string; message: string };
  attempts: number;
  fieldsError?: string;
}

async function topics(t: TestContext, partitions = 2) {
  return {
    from: await createTopic(t, uniqueName('hostile-in'), partitions),
    to: await createTopic(t, uniqueName('hostile-out'), partitions),
    dlq: await createTopic(t, uniqueName('hostile-dlq'), partitions),
    group: uniqueName('hostile'),
    partitions,
  };
}

const everyTrap = new Proxy(
  {},
  Object.fromEntries(
    ['get', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'getPrototypeOf', 'defineProperty', 'set', 'deleteProperty', 'isExtensible', 'preventExtensions', 'setPrototypeOf', 'apply', 'construct'].map((trap) => [
      trap,
      () => {
        throw new Error(`trap ${trap}`);
      },
    ]),
  ),
);

/** The odd values a careless job throws, by name. */
const THROWN: Record<string, () => unknown> = {
  'null-proto': () => Object.create(null),
  'bad-tostring': () => ({ toString: () => { throw new Error('no'); } }),
  'tostring-not-a-string': () => ({ toString: () => ({}), valueOf: () => ({}) }),
  undefined: () => undefined,
  null: () => null,
  string: () => 'a string',
  symbol: () => Symbol('odd'),
  bigint: () => 42n,
  proxy: () => everyTrap,
  'message-getter-throws': () => {
    const e = new Error('x');
    Object.defineProperty(e, 'message', { get: () => { throw new Error('message getter'); } });
    return e;
  },
  'fake-lagless-error': () => {
    // Branded like a Lagless error (its prototype), but with a code that is no string and getters that throw.
    const e = Object.create(JobError.prototype) as Record<string, unknown>;
    Object.defineProperty(e, 'code', { get: () => 12 });
    Object.defineProperty(e, 'retryable', { get: () => { throw new Error('retryable getter'); } });
    return e;
  },
};

async function runUntilDone(t: TestContext, job: JobDefinition, inputs: { key: string; value: string }[], expect: { outputs: number; letters: number }, extra: Partial<TransformerInit> = {}) {
  const tp = await topics(t);
  await produce(tp.from, inputs);
  const tr = new Transformer(job, { kafka: { brokers: testBrokers() }, from: tp.from, to: tp.to, dlq: tp.dlq, group: tp.group, commitIntervalMs: 200, retryBaseMs: 5, retryMaxMs: 20, ...extra });
  t.after(() => tr.destroy());
  await tr.start();
  const [out, dead] = await Promise.all([
    expect.outputs ? consumeAll(tp.to, { count: expect.outputs, timeoutMs: 120_000 }) : Promise.resolve([]),
    expect.letters ? consumeAll(tp.dlq, { count: expect.letters, timeoutMs: 120_000 }) : Promise.resolve([]),
  ]);
  // Every partition commits to its end: no record wedges its partition.
  await eventually(
    async () => {
      const lag = await groupLag(tp.from, tp.partitions, tp.group);
      if (lag.lag !== 0n) throw new Error(`lag ${lag.lag}`);
      return true;
    },
    { what: 'every input committed', timeout: 120_000, every: 200 },
  );
  const letters = new Map(dead.map((d) => [d.key!, JSON.parse(d.value) as Letter]));
  return { tr, tp, out, letters };
}

test('run() that throws or rejects with any value costs one JOB_FAILED dead letter each, never the member', async (t) => {
  const kinds = Object.keys(THROWN);
  const job = defineJob({
    name: 'hostile-run',
    async run(record) {
      const [how, kind] = record.text().split(':') as [string, string];
      if (how === 'ok') return { value: record.value };
      const value = THROWN[kind]!();
      if (how === 'sync') throw value;
      if (how === 'reject') return Promise.reject(value);
      // A thenable whose `then` throws the value.
      return { then: () => { throw value; } } as never;
    },
  });
  const inputs: { key: string; value: string }[] = [];
  for (const how of ['sync', 'reject', 'thenable']) for (const kind of kinds) inputs.push({ key: `${how}-${kind}`, value: `${how}:${kind}` });
  for (let i = 0; i < 20; i += 1) inputs.push({ key: `ok-${i}`, value: `ok:${i}` });
  const { tr, letters, out } = await runUntilDone(t, job, inputs, { outputs: 20, letters: inputs.length - 20 });
  for (const how of ['sync', 'reject', 'thenable']) {
    for (const kind of kinds) {
      const l = letters.get(`${how}-${kind}`);
      assert.ok(l, `a dead letter for ${how} ${kind}`);
      assert.equal(l.error.code, 'JOB_FAILED', `${how} ${kind}`);
      assert.equal(typeof l.error.message, 'string');
      assert.ok(l.error.message.length > 0, `${how} ${kind}: a message`);
      assert.equal(l.attempts, 1, `${how} ${kind}: not retried`);
    }
  }
  assert.equal(out.length, 20);
  const s = tr.stats();
  assert.equal(s.deadLettered, inputs.length - 20);
  assert.equal(s.succeeded, 20);
  await tr.close();
});

test('deadLetterFields that throws or returns what JSON cannot hold: the dead letter goes without those fields and says why; the partition commits', async (t) => {
  const circular: Record<string, unknown> = { a: 1 };
  circular.self = circular;
  const fields: Record<string, () => unknown> = {
    good: () => ({ id: 'good', n: 1 }),
    bigint: () => ({ id: 'x', n: 10n }),
    circular: () => ({ id: 'x', c: circular }),
    'throws-null-proto': () => {
      throw Object.create(null);
    },
    'throws-proxy': () => {
      throw everyTrap;
    },
    proxy: () => everyTrap,
    'a-string': () => 'not an object',
    'getter-throws': () => ({
      get id() {
        throw new Error('getter');
      },
    }),
    'tojson-throws': () => ({ id: 'x', v: { toJSON: () => { throw Object.create(null); } } }),
    huge: () => ({ id: 'x', list: Array.from({ length: 200_000 }, (_, i) => i) }),
  };
  const job = defineJob({
    name: 'hostile-fields',
    run: () => {
      throw new JobError('NOPE', 'every record fails');
    },
    deadLetterFields: (record) => fields[record.text()]!() as Record<string, unknown>,
  });
  const inputs = Object.keys(fields).map((k) => ({ key: k, value: k }));
  // Good records after the bad ones, on every partition: none of them may be held back.
  for (let i = 0; i < 40; i += 1) inputs.push({ key: `after-${i}`, value: 'good' });
  const { letters } = await runUntilDone(t, job, inputs, { outputs: 0, letters: inputs.length });
  assert.equal(letters.get('good')?.id, 'good');
  assert.equal(letters.get('good')?.n, 1);
  assert.equal(letters.get('good')?.fieldsError, undefined);
  for (const k of Object.keys(fields).filter((k) => k !== 'good')) {
    const l = letters.get(k)!;
    assert.ok(l, `a dead letter for ${k}`);
    assert.equal(l.error.code, 'NOPE', k);
    assert.equal(typeof l.fieldsError, 'string', `${k}: the dead letter says why the job's fields are missing`);
    assert.equal(l.id, undefined, `${k}: no field of the job's`);
  }
});

test('a worker function that throws odd values, exits, dies of an uncaught exception or of out-of-memory: its thread is replaced, the record retried, then WORKER_CRASHED', async (t) => {
  const job = defineJob({
    name: 'hostile-worker',
    worker: new URL('./fixtures/hostile-worker.ts', import.meta.url),
    async run(record, ctx) {
      const [kind, n] = record.text().split(':') as [string, string];
      return { value: JSON.stringify(await ctx.worker.run({ kind, n: Number(n) })) };
    },
  });
  const bad = ['throw-null-proto', 'throw-bad-tostring', 'exit', 'uncaught', 'oom', 'unclonable'];
  const inputs = bad.map((kind) => ({ key: kind, value: `${kind}:0` }));
  for (let i = 0; i < 20; i += 1) inputs.push({ key: `ok-${i}`, value: `ok:${i}` });
  const { tr, letters, out } = await runUntilDone(t, job, inputs, { outputs: 20, letters: bad.length }, { attempts: 2, workers: { workers: 2, maxWorkers: 2, minWorkers: 1, heapMb: 64 } });
  assert.equal(letters.get('throw-null-proto')?.error.code, 'JOB_FAILED');
  assert.equal(letters.get('throw-bad-tostring')?.error.code, 'JOB_FAILED');
  assert.equal(letters.get('unclonable')?.error.code, 'JOB_FAILED');
  for (const kind of ['exit', 'uncaught', 'oom']) {
    assert.equal(letters.get(kind)?.error.code, 'WORKER_CRASHED', kind);
    assert.equal(letters.get(kind)?.attempts, 2, `${kind}: retried up to --attempts`);
  }
  assert.deepEqual(
    out.map((o) => JSON.parse(o.value) as { doubled: number }).map((o) => o.doubled).sort((a, b) => a - b),
    Array.from({ length: 20 }, (_, i) => i * 2),
  );
  assert.ok(tr.stats().workerCrashes >= 6, `crashes counted (${tr.stats().workerCrashes})`);
  await tr.close();
});

test('setup() that throws an odd value: start() rejects with JOB_SETUP_FAILED and a message', async (t) => {
  const tp = await topics(t, 1);
  for (const value of [Object.create(null), everyTrap, undefined]) {
    const job = defineJob({
      name: 'hostile-setup',
      setup() {
        throw value;
      },
      run: () => null,
    });
    const tr = new Transformer(job, { kafka: { brokers: testBrokers() }, from: tp.from, to: tp.to, dlq: tp.dlq, group: tp.group });
    t.after(() => tr.destroy());
    await assert.rejects(tr.start(), (e: Error & { code?: string }) => e.code === 'JOB_SETUP_FAILED' && typeof e.message === 'string' && e.message.length > 0);
  }
  // A UsageError is the job saying its configuration is wrong: it stays a usage error (exit code 2 in the CLI).
  const usage = defineJob({ name: 'usage-setup', setup: () => { throw new UsageError('set THING'); }, run: () => null });
  const tr = new Transformer(usage, { kafka: { brokers: testBrokers() }, from: tp.from, to: tp.to, dlq: tp.dlq, group: tp.group });
  t.after(() => tr.destroy());
  await assert.rejects(tr.start(), (e: Error & { code?: string }) => e.code === 'USAGE');
});
