// Share groups (KIP-932) with a real broker: members past the partition count, every record once, release on stop.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineJob, type JobDefinition } from '../../src/index.ts';
import { ShareTransformer } from '../../src/share/index.ts';
import { createTopic, produce, readTopic, testBrokers, uniqueName } from '../helpers/kafka.ts';
import { eventually } from '../helpers/eventually.ts';

/** Each output says which member ran the record, and when the run began and ended. */
function timedJob(member: string, ms: number): JobDefinition {
  return {
    name: 'timed',
    async run(input, { signal }) {
      const start = Date.now();
      await sleep(ms, undefined, { signal });
      return { key: input.key, value: JSON.stringify({ id: input.text(), member, start, end: Date.now() }) };
    },
  };
}

async function topics(t: TestContext, prefix: string, partitions: number) {
  return {
    from: await createTopic(t, uniqueName(`${prefix}-in`), partitions),
    to: await createTopic(t, uniqueName(`${prefix}-out`), 1),
    dlq: await createTopic(t, uniqueName(`${prefix}-dlq`), 1),
    group: uniqueName(`${prefix}-share`),
  };
}

function member(t: TestContext, job: JobDefinition, n: { from: string; to: string; dlq: string; group: string }, extra: Partial<ConstructorParameters<typeof ShareTransformer>[1]> = {}): ShareTransformer {
  const m = new ShareTransformer(job, { kafka: { brokers: testBrokers() }, ...n, maxInFlight: 20, maxConcurrency: 20, ...extra });
  t.after(() => m.destroy());
  return m;
}

test('share group: 4 members process records of one partition at the same time; every id comes out once', async (t) => {
  const n = await topics(t, 'share4', 1);
  const ids = Array.from({ length: 160 }, (_, i) => `r${i}`);
  const members = ['m1', 'm2', 'm3', 'm4'].map((name) => member(t, timedJob(name, 200), n));
  await Promise.all(members.map((m) => m.start()));
  // Every member has the one partition (a share group assigns it to all of them).
  await eventually(() => members.every((m) => m.stats().assigned.length === 1), { what: 'the partition assigned to all 4 members', timeout: 60_000, every: 50 });
  await produce(n.from, ids.map((id) => ({ value: id })));
  await eventually(() => members.reduce((s, m) => s + m.stats().succeeded, 0) >= ids.length, { what: 'every record processed', timeout: 120_000, every: 100 });
  const summaries = await Promise.all(members.map((m) => m.close()));
  for (const s of summaries) assert.equal(s.abandoned, 0);

  const outputs = (await readTopic(n.to, 1)).map((r) => JSON.parse(r.value) as { id: string; member: string; start: number; end: number });
  const seen = outputs.map((o) => o.id).sort();
  assert.deepEqual(seen, [...ids].sort(), 'every id exactly once in a clean run');
  const byMember = new Map<string, number>();
  for (const o of outputs) byMember.set(o.member, (byMember.get(o.member) ?? 0) + 1);
  assert.equal(byMember.size, 4, `all 4 members processed records of the one partition: ${JSON.stringify([...byMember])}`);
  // Overlap: some instant at which all 4 members were running a record of the same partition.
  const events = outputs.flatMap((o) => [{ at: o.start, member: o.member, d: 1 }, { at: o.end, member: o.member, d: -1 }]).sort((a, b) => a.at - b.at || a.d - b.d);
  const running = new Map<string, number>();
  let maxMembers = 0;
  for (const e of events) {
    running.set(e.member, (running.get(e.member) ?? 0) + e.d);
    maxMembers = Math.max(maxMembers, [...running.values()].filter((v) => v > 0).length);
  }
  assert.equal(maxMembers, 4, 'at one moment, 4 members were running records of the one partition');
  const total = members.reduce((s, m) => s + m.stats().share.accepted, 0);
  assert.equal(total, ids.length, 'each record accepted once');
});

test('share group: a record that crashes the worker thread every time is dead-lettered (WORKER_CRASHED) after --attempts; the others are unaffected', async (t) => {
  const n = await topics(t, 'sharepoison', 1);
  const job = defineJob({
    name: 'poison-worker',
    worker: new URL('../runtime/fixtures/hostile-worker.ts', import.meta.url),
    async run(record, ctx) {
      const [kind, k] = record.text().split(':') as [string, string];
      return { value: JSON.stringify(await ctx.worker.run({ kind, n: Number(k) })) };
    },
  });
  const inputs = Array.from({ length: 40 }, (_, i) => ({ value: `ok:${i}` }));
  inputs.splice(17, 0, { value: 'exit:0' });
  const members = [1, 2].map(() => member(t, job, n, { attempts: 3, retryBaseMs: 10, workers: { workers: 1, minWorkers: 1, maxWorkers: 1 } }));
  await Promise.all(members.map((m) => m.start()));
  await produce(n.from, inputs);
  await eventually(() => members.reduce((s, m) => s + m.stats().succeeded + m.stats().deadLettered, 0) >= inputs.length, { what: 'every record done', timeout: 120_000, every: 100 });
  const letters = (await readTopic(n.dlq, 1)).map((r) => JSON.parse(r.value) as { error: { code: string }; attempts: number; original: string });
  assert.equal(letters.length, 1);
  assert.equal(letters[0]!.error.code, 'WORKER_CRASHED');
  assert.equal(letters[0]!.attempts, 3);
  assert.equal(letters[0]!.original, 'exit:0');
  assert.equal((await readTopic(n.to, 1)).length, 40, 'every other record has its output');
  for (const m of members) assert.equal(m.stats().share.deliveryLimit, 0);
});

test('share group: a record whose members all go away while holding it is dead-lettered as DELIVERY_LIMIT after --attempts deliveries, without running again', async (t) => {
  const n = await topics(t, 'sharelimit', 1);
  const ran = new Map<string, number>();
  const hangOnPoison = (name: string): JobDefinition => ({
    name: 'hang-on-poison',
    async run(input) {
      if (input.text() !== 'poison') return { value: input.text() };
      ran.set(name, (ran.get(name) ?? 0) + 1);
      // Never ends, whatever its signal says: only the member going away frees the record.
      return new Promise(() => {});
    },
  });
  await produce(n.from, [{ value: 'a' }, { value: 'poison' }, { value: 'b' }]);
  const opts = { attempts: 2, drainTimeoutMs: 500, closeTimeoutMs: 2000 };
  for (const [i, name] of ['first', 'second'].entries()) {
    const m = member(t, hangOnPoison(name), n, opts);
    await m.start();
    await eventually(() => ran.get(name) === 1, { what: `member ${name} runs the poison record`, timeout: 60_000, every: 50 });
    const deliveries = m.stats().share.redelivered;
    assert.equal(deliveries, i, `delivery ${i + 1} of the poison record`);
    await m.close();
  }
  const third = member(t, hangOnPoison('third'), n, opts);
  await third.start();
  await eventually(() => third.stats().deadLettered === 1, { what: 'the third delivery dead-lettered', timeout: 60_000, every: 50 });
  assert.equal(ran.get('third'), undefined, 'the third member did not run it');
  const letters = (await readTopic(n.dlq, 1)).map((r) => JSON.parse(r.value) as { error: { code: string }; attempts: number; original: string });
  assert.deepEqual(letters.map((l) => [l.error.code, l.original, l.attempts]), [['DELIVERY_LIMIT', 'poison', 2]]);
  assert.deepEqual((await readTopic(n.to, 1)).map((r) => r.value).sort(), ['a', 'b']);
  await third.close();
});

test('share group: the backlog (sampleLag) counts the records no member has acknowledged, and falls to 0 when all are done', async (t) => {
  const n = await topics(t, 'sharelag', 2);
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const job: JobDefinition = {
    name: 'gated',
    async run(input) {
      await gate;
      return { value: input.text() };
    },
  };
  await produce(n.from, Array.from({ length: 30 }, (_, i) => ({ value: `g${i}`, partition: i % 2 })));
  const m = member(t, job, n);
  await m.start();
  const held = await eventually(async () => {
    const s = await m.sampleLag();
    return m.stats().share.held > 0 && s.lag === 30n ? s : undefined;
  }, { what: 'a backlog of 30 while records are held', timeout: 60_000, every: 200 });
  assert.equal(held.logEnd, 30n);
  assert.deepEqual(held.partitions.map((p) => p.partition), [0, 1]);
  open();
  await eventually(async () => (await m.sampleLag()).lag === 0n, { what: 'the backlog at 0 once every record is acknowledged', timeout: 60_000, every: 200 });
  assert.equal(m.stats().succeeded, 30);
  await m.close();
});

test('share group: a record that runs longer than the acquisition lock gets its lock renewed, and no other member takes it', async (t) => {
  const n = await topics(t, 'sharerenew', 1);
  const runs: string[] = [];
  const slow = (name: string): JobDefinition => ({
    name: 'slow-one',
    async run(input, { signal }) {
      runs.push(name);
      // Longer than the group's acquisition lock (15 s on the test broker, read below).
      await sleep(lockMs + 5000, undefined, { signal });
      return { value: input.text() };
    },
  });
  const { prepareShareGroup } = await import('../../src/share/index.ts');
  const lockMs = (await prepareShareGroup({ kafka: { brokers: testBrokers() }, clientId: 'lagless-test', group: n.group })).lockMs;
  const a = member(t, slow('a'), n);
  await a.start();
  await produce(n.from, [{ value: 'long' }]);
  await eventually(() => a.stats().share.held === 1, { what: 'member a holds the record', timeout: 60_000, every: 50 });
  const b = member(t, slow('b'), n);
  await b.start();
  await eventually(() => a.stats().succeeded === 1, { what: 'the record done by a', timeout: lockMs * 3, every: 200 });
  assert.deepEqual(runs, ['a'], 'only member a ran it: its lock did not expire');
  assert.ok(a.stats().share.renewed >= 1, `the lock was renewed (${a.stats().share.renewed})`);
  assert.equal(a.stats().share.ackErrors, 0);
  assert.deepEqual((await readTopic(n.to, 1)).map((r) => r.value), ['long']);
  await Promise.all([a.close(), b.close()]);
});

test('share group: a member that loses one of its partitions while it runs records of it still accepts them (no other member runs them) and stops cleanly', async (t) => {
  const n = await topics(t, 'sharelose', 2);
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const ran = new Map<string, string[]>();
  const job = (name: string): JobDefinition => ({
    name: 'gated-per-member',
    async run(input) {
      ran.set(input.text(), [...(ran.get(input.text()) ?? []), name]);
      if (name === 'a') await gate;
      return { value: input.text() };
    },
  });
  const a = member(t, job('a'), n, { maxInFlight: 4, maxConcurrency: 4 });
  await a.start();
  await eventually(() => a.stats().assigned.length === 2, { what: 'member a alone, with both partitions', timeout: 60_000, every: 50 });
  await produce(n.from, Array.from({ length: 40 }, (_, i) => ({ value: `l${i}`, partition: i % 2 })));
  await eventually(() => a.stats().share.held === 4, { what: 'member a holds 4 records', timeout: 60_000, every: 50 });
  const others = ['b', 'c', 'd'].map((name) => member(t, job(name), n));
  await Promise.all(others.map((m) => m.start()));
  // The group gives the partitions to the newcomers too: a loses one (if it never did, this waits and fails).
  await eventually(() => a.stats().assigned.length < 2, { what: 'member a loses a partition', timeout: 60_000, every: 50 });
  await eventually(() => others.reduce((s, m) => s + m.stats().succeeded, 0) === 36, { what: 'the other 36 records done by b, c, d', timeout: 60_000, every: 50 });
  open();
  await eventually(() => a.stats().succeeded === 4, { what: 'member a finishes its 4', timeout: 60_000, every: 50 });
  const summary = await a.close();
  assert.equal(summary.committed, true, 'a stopped cleanly: its acknowledgements went out');
  assert.equal(a.stats().share.ackErrors, 0, 'none of its acknowledgements was refused');
  const twice = [...ran].filter(([, by]) => by.length > 1);
  assert.deepEqual(twice, [], 'no record ran twice: what a held stayed a\'s');
  assert.equal((await readTopic(n.to, 1)).length, 40);
  await Promise.all(others.map((m) => m.close()));
});
