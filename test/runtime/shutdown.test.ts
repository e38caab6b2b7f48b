// Bounded shutdown: with the broker frozen (SIGSTOP) or stopped while records are in flight, a stop ends within the drain timeout plus the close timeout, says what it gave up, and loses nothing.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startBroker, stopBroker } from '../../src/broker/index.ts';
import { freePort } from '../../src/common/index.ts';
import { startImageServer } from '../../src/image-server/index.ts';
import { createNoopJob } from '../../src/jobs/index.ts';
import { createAdmin, createProducer, ensureTopic } from '../../src/kafka/index.ts';
import { defineJob } from '../../src/index.ts';
import { Transformer } from '../../src/runtime/index.ts';
import { exitedReason, startCli, waitCli } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { readTopic } from '../helpers/kafka.ts';

// A broker of its own: freezing or stopping the run's shared broker would disturb the other tests.
let port = 0;
let dataDir = '';
let brokerPid = 0;
let brokers: string[] = [];

async function start(): Promise<void> {
  brokerPid = (await startBroker({ port, dataDir, heap: '512m' })).state.pid;
}

before(async () => {
  port = await freePort();
  dataDir = await mkdtemp(join(tmpdir(), 'lagless-shutdown-'));
  await start();
  brokers = [`127.0.0.1:${port}`];
});

after(async () => {
  // A frozen broker does not stop on SIGTERM.
  try {
    process.kill(brokerPid, 'SIGCONT');
  } catch {
    /* already gone */
  }
  await stopBroker({ port, dataDir }).catch(() => {});
  await rm(dataDir, { recursive: true, force: true });
});

async function topics(prefix: string, partitions: number): Promise<{ from: string; to: string; dlq: string; group: string }> {
  const names = { from: `${prefix}-in`, to: `${prefix}-out`, dlq: `${prefix}-dlq`, group: `${prefix}-group` };
  const admin = createAdmin({ brokers });
  try {
    for (const name of [names.from, names.to, names.dlq]) await ensureTopic(admin, { name, partitions }, brokers);
  } finally {
    await admin.close();
  }
  return names;
}

async function produce(topic: string, records: { key: string; value: string }[]): Promise<void> {
  const p = createProducer({ brokers });
  try {
    await p.send({ messages: records.map((r) => ({ topic, ...r })) });
  } finally {
    await p.close();
  }
}

async function lag(group: string, topic: string, partitions: number): Promise<bigint> {
  const admin = createAdmin({ brokers });
  try {
    const ends = await admin.listOffsets({ topics: [{ name: topic, partitions: Array.from({ length: partitions }, (_, i) => ({ partitionIndex: i, timestamp: -1n })) }] });
    const commits = await admin.listConsumerGroupOffsets({ groups: [{ groupId: group, topics: [{ name: topic, partitionIndexes: Array.from({ length: partitions }, (_, i) => i) }] }] });
    const committed = new Map<number, bigint>();
    for (const g of commits) for (const t of g.topics) for (const p of t.partitions) committed.set(p.partitionIndex, p.committedOffset);
    let total = 0n;
    for (const p of ends[0]?.partitions ?? []) total += p.offset - ((committed.get(p.partitionIndex) ?? -1n) >= 0n ? committed.get(p.partitionIndex)! : 0n);
    return total;
  } finally {
    await admin.close();
  }
}

const DRAIN_S = 3;
/** The commit and the group leave (5 s), the status tombstone (3 s), the metrics server's admin client (2 s). */
const CLOSE_S = 10;
/** A loaded machine is slow to start and end a process: the bound checked is drain + close + this. */
const SLACK_S = 20;

test('lagless run with the broker frozen (SIGSTOP) while records are in flight: it exits within the drain timeout plus a few seconds, exit 1, and says what it gave up; a new run redoes it', async (t) => {
  const n = await topics('frozen', 2);
  const images = await startImageServer({ latencyMs: 300 });
  t.after(() => images.close());
  const ids = Array.from({ length: 40 }, (_, i) => `f${i}`);
  await produce(n.from, ids.map((id, i) => ({ key: id, value: JSON.stringify({ id, url: images.imageUrl(i, { id }) }) })));
  const args = [
    'run', 'palette', '--brokers', brokers.join(','), '--from', n.from, '--to', n.to, '--dlq', n.dlq, '--group', n.group,
    '--allow-host', new URL(images.url).host, '--workers', '1', '--max-in-flight', '10', '--session-timeout', '6s',
    '--drain-timeout', `${DRAIN_S}s`,
    // Everything a stop has to close: the status publisher (its tombstone) and the metrics server with its admin client.
    '--status-topic', `${n.from}-status`, '--status-every', '1s', '--http-port', '0',
  ];
  const first = startCli(args);
  t.after(() => first.kill('SIGKILL'));
  // Records in flight: downloads are on the image server now, and some outputs are already acknowledged.
  await eventually(async () => images.stats.inFlight > 0 && (await lag(n.group, n.from, 2)) < BigInt(ids.length), {
    what: 'records in flight after the first commits',
    timeout: 90_000,
    every: 50,
    failIf: exitedReason(first),
  });
  process.kill(brokerPid, 'SIGSTOP');
  t.after(() => {
    try {
      process.kill(brokerPid, 'SIGCONT');
    } catch {
      /* gone */
    }
  });
  const stopAt = performance.now();
  first.kill('SIGTERM');
  const res = await waitCli(first, (DRAIN_S + CLOSE_S + SLACK_S) * 1000);
  const tookS = (performance.now() - stopAt) / 1000;
  t.diagnostic(`stopped in ${tookS.toFixed(1)} s with the broker frozen (bound ${DRAIN_S} + ${CLOSE_S} s + slack)\n${res.stderr.split('\n').filter((l) => /stop|warning|error/.test(l)).join('\n')}`);
  assert.equal(res.code, 1, res.stderr);
  const summary = /^.*stopped after [^:]+: \d+ output\(s\), .*$/m.exec(res.stderr)?.[0];
  assert.ok(summary, `a summary line:\n${res.stderr}`);
  const abandoned = Number(/(\d+) abandoned/.exec(summary)?.[1]);
  const unacknowledged = Number(/(\d+) output\(s\) not acknowledged by the broker/.exec(summary)?.[1] ?? 0);
  // The records in flight finished their downloads in 300 ms, and their outputs then waited for the frozen broker.
  assert.ok(abandoned > 0 && unacknowledged > 0, `the summary counts the records abandoned and the outputs not acknowledged: ${summary}`);
  assert.match(res.stderr, /^.*error \[SHUTDOWN_INCOMPLETE\]/m);
  assert.match(res.stderr, /^.* warning: .* \[LEAVE_TIMEOUT\]$/m, 'the group was not left: a warning with its code says so');

  // Thawed, a new member redoes what the first gave up: every id ends as an output.
  process.kill(brokerPid, 'SIGCONT');
  const second = startCli(args);
  t.after(() => second.kill('SIGKILL'));
  await eventually(async () => (await lag(n.group, n.from, 2)) === 0n, { what: 'the new member to commit every record', timeout: 120_000, every: 250, failIf: exitedReason(second) });
  second.kill('SIGTERM');
  const res2 = await waitCli(second, 60_000);
  assert.equal(res2.code, 0, res2.stderr);
  const out = await readTopic(n.to, 2, { brokers });
  assert.deepEqual([...new Set(out.map((r) => r.key))].sort(), [...ids].sort(), 'every id has an output');
});

test('Transformer.close() while it reconnects to a stopped broker: bounded, and no consumer of it is left to join the group', async (t) => {
  const n = await topics('stopped', 2);
  // Records that wait for a gate: in flight when the broker stops.
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const job = defineJob({
    name: 'gated',
    async run(input, ctx) {
      await Promise.race([gate, new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }))]);
      return { key: input.key, value: input.value };
    },
  });
  const tr = new Transformer(job, { kafka: { brokers }, ...n, clientId: 'stopped-a', commitIntervalMs: 200, sessionTimeoutMs: 6000, drainTimeoutMs: DRAIN_S * 1000 });
  t.after(() => tr.destroy());
  await tr.start();
  await produce(n.from, Array.from({ length: 20 }, (_, i) => ({ key: `s${i}`, value: '{}' })));
  await eventually(() => tr.stats().inFlight === 20, { what: '20 records in flight', timeout: 60_000, every: 20 });

  await stopBroker({ port, dataDir });
  await eventually(() => tr.stats().reconnecting, { what: 'the transformer reconnecting after its stream died', timeout: 60_000, every: 50 });
  const t0 = performance.now();
  const closed = await tr.close();
  const tookS = (performance.now() - t0) / 1000;
  t.diagnostic(`close() took ${tookS.toFixed(1)} s: ${JSON.stringify(closed)}`);
  assert.ok(tookS < DRAIN_S + CLOSE_S + SLACK_S, `close() is bounded (took ${tookS.toFixed(1)} s)`);
  release();
  // The stream died with the broker: its records were given back as in a rebalance, so none is left to abandon.
  assert.equal(tr.stats().reconnecting, false, 'the reconnect loop ended with close()');

  // The broker back: a new member gets every partition, does every record, and is the group's only member.
  await start();
  const b = new Transformer(createNoopJob(), { kafka: { brokers }, ...n, clientId: 'stopped-b', commitIntervalMs: 200, sessionTimeoutMs: 6000 });
  t.after(() => b.destroy());
  await b.start();
  await eventually(async () => b.stats().assigned.length === 2 && (await lag(n.group, n.from, 2)) === 0n, { what: 'the new member to own both partitions and commit every record', timeout: 120_000, every: 250 });
  const admin = createAdmin({ brokers });
  try {
    const g = (await admin.describeGroups({ groups: [n.group] })).get(n.group);
    assert.deepEqual([...(g?.members.values() ?? [])].map((m) => m.clientId), ['stopped-b'], 'no consumer of the closed transformer joined the group');
  } finally {
    await admin.close();
  }
  await b.close();
});
