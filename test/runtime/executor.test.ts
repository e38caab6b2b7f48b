// The job executor without a broker: the per-record deadline (RECORD_TIMEOUT, ctx.signal, worker threads stopped),
// which waiting for a worker thread does not use up, and the job's own default that the option overrides.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineJob, type JobRecord } from '../../src/index.ts';
import { InputRecord } from '../../src/job/index.ts';
import { JobExecutor } from '../../src/runtime/index.ts';

const record = (n: number): JobRecord =>
  new InputRecord({ topic: 'in', partition: 0, offset: BigInt(n), key: `k${n}`, value: Buffer.from(String(n)), timestamp: 0n, headers: new Map() });

const codeOf = (err: unknown) => (err as { code?: string }).code;

test('a run() that never settles fails with RECORD_TIMEOUT (retryable) at its deadline; ctx.signal aborts with that reason; the slot is given back', async () => {
  let reason: unknown;
  const job = defineJob({
    name: 'hang',
    run: (_r, ctx) =>
      new Promise(() => {
        ctx.signal.addEventListener('abort', () => (reason = ctx.signal.reason));
      }),
  });
  const ex = new JobExecutor(job, { to: 'out', maxConcurrency: 1, timeoutMs: 200 });
  const partition = new AbortController();
  const t0 = performance.now();
  await assert.rejects(ex.run(record(1), 1, partition.signal), (e) => codeOf(e) === 'RECORD_TIMEOUT' && (e as { retryable: boolean }).retryable === true);
  assert.ok(performance.now() - t0 >= 190, 'not before the deadline');
  assert.equal(codeOf(reason), 'RECORD_TIMEOUT', 'ctx.signal aborted with the timeout');
  // The one concurrency slot was given back: the next record can start (and times out too).
  await assert.rejects(ex.run(record(2), 1, partition.signal), (e) => codeOf(e) === 'RECORD_TIMEOUT');
  assert.equal(ex.stats().timeouts, 2);
  assert.equal(ex.stats().concurrency.active, 0);
  await ex.close();
});

test('a run() that hangs is let go when its partition is revoked (the partition signal), without waiting for the deadline', async () => {
  const job = defineJob({ name: 'hang', run: () => new Promise(() => {}) });
  const ex = new JobExecutor(job, { to: 'out', timeoutMs: 600_000 });
  const partition = new AbortController();
  const running = ex.run(record(1), 1, partition.signal);
  partition.abort(new Error('revoked'));
  await assert.rejects(running, /revoked/);
  assert.equal(ex.stats().timeouts, 0);
  await ex.close();
});

test('a worker task stuck in a loop: its thread is terminated at the deadline and replaced; the next task runs', async () => {
  const job = defineJob({
    name: 'spin',
    worker: new URL('./fixtures/slow-worker.ts', import.meta.url),
    run: async (r, ctx) => ({ value: JSON.stringify(await ctx.worker.run({ spin: r.text() === 'spin' })) }),
  });
  // A deadline far above what the next task needs on a loaded machine (a spinning task reaches any deadline).
  const ex = new JobExecutor(job, { to: 'out', timeoutMs: 2000, workers: { workers: 1, maxWorkers: 1, minWorkers: 1, idleTimeoutMs: 60_000 } });
  await ex.setup({ from: 'in', to: 'out', dlq: 'dlq', group: 'g' });
  const partition = new AbortController();
  const spin = new InputRecord({ topic: 'in', partition: 0, offset: 0n, key: 'k', value: Buffer.from('spin'), timestamp: 0n, headers: new Map() });
  await assert.rejects(ex.run(spin, 1, partition.signal), (e) => codeOf(e) === 'RECORD_TIMEOUT');
  const out = await ex.run(record(1), 1, partition.signal);
  assert.deepEqual(JSON.parse(String(out[0]!.value)), { done: true });
  await ex.close();
});

test('waiting for a worker thread does not use up the deadline: with one thread, twenty 100 ms tasks all finish under a 1 s deadline', async () => {
  const job = defineJob({
    name: 'queue',
    worker: new URL('./fixtures/slow-worker.ts', import.meta.url),
    run: async (_r, ctx) => ({ value: JSON.stringify(await ctx.worker.run({ ms: 100 })) }),
  });
  // The queue (20 × 100 ms = 2 s) outlasts the deadline; each task's own time leaves 900 ms to a loaded machine.
  const ex = new JobExecutor(job, { to: 'out', timeoutMs: 1000, workers: { workers: 1, maxWorkers: 1, minWorkers: 1, idleTimeoutMs: 60_000 } });
  await ex.setup({ from: 'in', to: 'out', dlq: 'dlq', group: 'g' });
  const partition = new AbortController();
  const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => ex.run(record(i), 1, partition.signal)));
  assert.deepEqual(results.map((r) => r.status), Array(20).fill('fulfilled'), results.map((r) => (r.status === 'rejected' ? codeOf(r.reason) : 'ok')).join(','));
  assert.equal(ex.stats().timeouts, 0);
  await ex.close();
});

test("the job's timeoutMs is its default deadline; the executor option overrides it", async () => {
  const job = defineJob({ name: 'own-default', timeoutMs: 150, run: () => new Promise(() => {}) });
  const own = new JobExecutor(job, { to: 'out' });
  assert.equal(own.timeoutMs, 150);
  await assert.rejects(own.run(record(1), 1, new AbortController().signal), (e) => codeOf(e) === 'RECORD_TIMEOUT');
  const overridden = new JobExecutor(job, { to: 'out', timeoutMs: 60_000 });
  assert.equal(overridden.timeoutMs, 60_000);
  const plain = new JobExecutor(defineJob({ name: 'plain', run: () => null }), { to: 'out' });
  assert.equal(plain.timeoutMs, 5 * 60_000, 'default 5 minutes');
  await Promise.all([own.close(), overridden.close(), plain.close()]);
  assert.throws(() => defineJob({ name: 'bad', timeoutMs: -1, run: () => null }), (e) => codeOf(e) === 'USAGE');
});
