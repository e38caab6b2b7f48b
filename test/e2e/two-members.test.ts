// End to end: two transformer processes share a group; one leaves mid-run (SIGTERM, graceful; or kill -9) and the other takes over its partitions: no id missing.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { createTopic, endOffsets, groupMembers, laglessClientId, produce, testBrokers, uniqueName } from '../helpers/kafka.ts';
import {
  account,
  assignments,
  enginePalettes,
  killTransformer,
  readTopic,
  startImages,
  startTransformer,
  stopTransformer,
  waitCaughtUp,
  warnings,
} from '../helpers/pipeline.ts';
import { exitedReason } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';

const PARTITIONS = 8;
const TOTAL = 1200;
// Produced after the first member is gone: however fast it was before it stopped, records of its partitions are left
// for the survivor (g5, a fresh-clone run with a busy core: the first member had done all of its partitions by the
// time the stop took effect, and the takeover assertion had nothing to see).
const AFTER_STOP = 200;
const MAX_IN_FLIGHT = 200;
const ALL = Array.from({ length: PARTITIONS }, (_, p) => p);

async function handover(t: TestContext, how: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  // A little latency per image, so that the run lasts long enough to stop a member in the middle of it.
  const images = await startImages(t, { latencyMs: 10 });
  const palettes = await enginePalettes(images.images);
  const from = await createTopic(t, uniqueName('urls'), PARTITIONS);
  const to = await createTopic(t, uniqueName('palettes'), PARTITIONS);
  const dlq = await createTopic(t, uniqueName('urls.dlq'), PARTITIONS);
  const group = uniqueName('e2e-pair');
  const statusTopic = await createTopic(t, uniqueName('lagless.status'), 1, { 'cleanup.policy': 'compact' });
  const args = [
    '--brokers', testBrokers().join(','),
    '--from', from, '--to', to, '--dlq', dlq, '--group', group,
    '--allow-host', `127.0.0.1:${images.port}`,
    '--workers', '1',
    '--max-in-flight', String(MAX_IN_FLIGHT),
    '--session-timeout', '6s',
    // A graceful stop finishes every record in flight however slow the machine is (the SIGTERM case checks that).
    '--drain-timeout', '10m',
    '--status-topic', statusTopic, '--status-every', '500ms',
  ];

  // Both members in the group, four partitions each, before any record arrives.
  const a = startTransformer(t, args);
  await eventually(async () => ((await groupMembers(group)).get(laglessClientId(a.pid))?.length ?? 0) > 0, {
    what: 'the first member in the group with partitions',
    timeout: 180_000,
    every: 250,
    failIf: exitedReason(a),
  });
  const b = startTransformer(t, args);
  const aPartitions = await eventually(
    async () => {
      const m = await groupMembers(group);
      const pa = m.get(laglessClientId(a.pid)) ?? [];
      const pb = m.get(laglessClientId(b.pid)) ?? [];
      return m.size === 2 && pa.length > 0 && pb.length > 0 && [...pa, ...pb].sort((x, y) => x - y).join() === ALL.join() && pa;
    },
    { what: 'the two members to split the 8 partitions (per the broker)', timeout: 180_000, every: 250, failIf: () => exitedReason(a)() ?? exitedReason(b)() },
  );

  const run = uniqueName('pair');
  const inputs = Array.from({ length: TOTAL }, (_, n) => {
    const id = `${run}-${n}`;
    const image = images.images[n % images.images.length]!;
    return { id, image, value: JSON.stringify({ id, url: images.imageUrl(image, { id }) }) };
  });
  const toRecord = (r: (typeof inputs)[number]) => ({ key: r.id, value: r.value });
  await produce(from, inputs.slice(0, TOTAL - AFTER_STOP).map(toRecord));

  // Stopped mid-run: once 300 records are done.
  await eventually(async (progress) => {
    const outputs = (await endOffsets(to, PARTITIONS)).reduce((x, y) => x + y, 0n);
    progress(outputs);
    return outputs >= 300n;
  }, {
    what: '300 outputs',
    timeout: 600_000,
    stall: 90_000,
    every: 250,
    failIf: exitedReason(a),
  });
  let doneByA: number;
  if (how === 'SIGTERM') {
    const stoppedA = await stopTransformer(a);
    assert.equal(stoppedA.code, 0, `the stopped member exits 0\n${stoppedA.stderr}`);
    assert.match(stoppedA.stderr, / 0 abandoned /, 'the stopped member abandoned no record');
    doneByA = Number(/stopped after .*?: (\d+) output\(s\)/.exec(stoppedA.stderr)?.[1] ?? NaN);
  } else {
    assert.equal((await killTransformer(a)).signal, 'SIGKILL');
    // Counted below from the topic: every output not made by B was made by A.
    doneByA = NaN;
  }
  await produce(from, inputs.slice(TOTAL - AFTER_STOP).map(toRecord));

  // The survivor's assignment grows to all 8 partitions (after the session timeout when A was killed), and it finishes the run.
  await eventually(
    async () => {
      const m = await groupMembers(group);
      return m.size === 1 && m.get(laglessClientId(b.pid))?.join() === ALL.join();
    },
    { what: 'the second member to take all 8 partitions (per the broker)', timeout: 60_000, every: 250, failIf: exitedReason(b) },
  );
  await waitCaughtUp(group, from, PARTITIONS, 90_000, b);
  // What an operator sees: one member left, owning every partition, no lag. Each member publishes its status on its own
  // clock, so the survivor's record with all 8 partitions is waited for (the state), then checked whole.
  type View = { brokerMembers: { partitions: { partition: number }[] }[]; members: { pid: number; live: boolean; assigned: number[] }[]; totalLag: number };
  const view = await eventually(
    async () => {
      const status = await runCli(['status', '--brokers', testBrokers().join(','), '--group', group, '--status-topic', statusTopic, '--json']);
      assert.equal(status.code, 0, status.stderr);
      const v = JSON.parse(status.stdout) as View;
      const live = v.members.filter((m) => m.live);
      return live.length === 1 && live[0]!.assigned.length === ALL.length ? v : undefined;
    },
    { what: 'lagless status to show only the survivor, with all 8 partitions', timeout: 30_000, every: 500, failIf: exitedReason(b) },
  );
  assert.equal(view.brokerMembers.length, 1, `one member left in the group: ${JSON.stringify(view)}`);
  assert.deepEqual(view.brokerMembers[0]!.partitions.map((p) => p.partition).sort((x, y) => x - y), ALL);
  assert.equal(view.totalLag, 0);
  assert.deepEqual(view.members.filter((m) => m.live).map((m) => [m.pid, m.assigned]), [[b.pid, ALL]], 'the published statuses show the survivor with all partitions');

  const stoppedB = await stopTransformer(b);
  assert.equal(stoppedB.code, 0, `the surviving member exits 0\n${stoppedB.stderr}`);
  const doneByB = Number(/stopped after .*?: (\d+) output\(s\)/.exec(stoppedB.stderr)?.[1] ?? NaN);

  const [outputs, deadLetters] = await Promise.all([readTopic(to, PARTITIONS), readTopic(dlq, PARTITIONS)]);
  const acc = account(
    inputs.map((r) => r.id),
    outputs,
    deadLetters,
  );
  assert.deepEqual(acc.missing, [], 'no id is missing after the handover');
  assert.deepEqual(acc.unknown, []);
  assert.deepEqual(
    deadLetters.map((d) => d.value.slice(0, 300)),
    [],
    'no dead letters: every input is a good photo',
  );
  const byId = new Map(inputs.map((r) => [r.id, r]));
  for (const o of outputs) assert.deepEqual(JSON.parse(o.value).palette, palettes.get(byId.get(o.key!)!.image)!.palette, `palette of ${o.key}`);
  if (how === 'SIGTERM') {
    // A graceful stop finishes its in-flight records, commits them, then leaves: the next owner redoes nothing.
    assert.equal(acc.duplicates, 0, 'a graceful handover processes no record twice');
    assert.equal(doneByA + doneByB, outputs.length, "the members' own counts add up to the outputs in the topic");
  } else {
    assert.ok(acc.duplicates <= MAX_IN_FLIGHT, `duplicates (${acc.duplicates}) are bounded by --max-in-flight (${MAX_IN_FLIGHT})`);
    doneByA = outputs.length - doneByB;
  }
  // Keys map to the same partition number in both topics (same partitioner, same count): the outputs on A's partitions
  // beyond A's own count were made by B after the takeover.
  const onAPartitions = outputs.filter((o) => aPartitions.includes(o.partition)).length;
  assert.ok(onAPartitions > doneByA, `the survivor processed records of the other member's partitions (${onAPartitions - doneByA})`);
  t.diagnostic(
    `${how}: member A had partitions [${aPartitions}] and made ${doneByA} outputs; member B made ${doneByB} and ended with [${assignments(b).at(-1)}]; ` +
      `${outputs.length} outputs for ${TOTAL} ids (${acc.duplicates} duplicates); ${onAPartitions - doneByA} records of A's partitions done by B`,
  );
  for (const w of [...warnings(a), ...warnings(b)]) t.diagnostic(w);
}

test('two members in one group; one stops gracefully (SIGTERM) mid-run: the other takes over its partitions, nothing missing or redone', async (t) => {
  await handover(t, 'SIGTERM');
});

test('two members in one group; one is killed (SIGKILL) mid-run: the other takes over after the session timeout, no id missing', async (t) => {
  await handover(t, 'SIGKILL');
});
