// `lagless status` against a live group: its members, and per-partition lag equal to what the Kafka admin API reports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startImageServer } from '../../src/image-server/index.ts';
import { exitedReason, runCli } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { consumeAll, groupLag, groupMembers, laglessClientId, produce, waitHeldBack } from '../helpers/kafka.ts';
import { createPipelineTopics, startLagless, stopLagless } from '../helpers/lagless-process.ts';

interface Row {
  partition: number;
  logEnd: number;
  committed: number | null;
  lag: number;
}

/** The group's lag as the admin API reports it (ListOffsets and OffsetFetch), as plain numbers. */
async function adminLag(topic: string, partitions: number, group: string): Promise<Row[]> {
  const lag = await groupLag(topic, partitions, group);
  return lag.partitions.map((p) => ({ partition: p.partition, logEnd: Number(p.logEnd), committed: p.committed === null ? null : Number(p.committed), lag: Number(p.lag) }));
}

test('lagless status shows the live members and the per-partition lag the admin API reports, as JSON and as a table', async (t) => {
  const partitions = 4;
  const n = await createPipelineTopics(t, 'as-status', partitions);
  const images = await startImageServer();
  t.after(() => images.close());
  const run = startLagless(t, [
    'run', 'palette', '--from', n.from, '--to', n.to, '--dlq', n.dlq, '--group', n.group, '--allow-host', new URL(images.url).host,
    '--workers', '1', '--headers-timeout', '10m', '--download-timeout', '10m', '--drain-timeout', '1s',
    '--status-topic', n.statusTopic, '--status-every', '1s',
  ]);
  await eventually(async () => (await groupMembers(n.group)).get(laglessClientId(run.pid))?.length === partitions, {
    what: 'the process in the group with the 4 partitions',
    timeout: 180_000,
    every: 500,
    failIf: exitedReason(run),
  });

  // Two records whose image never arrives hold their partitions' commits back: a lag that stays put, records behind
  // them included. The others all become palettes.
  const stuck = ['stuck-a', 'stuck-b'].map((id) => ({ key: id, value: JSON.stringify({ id, url: `${images.url}/slow/600000/${images.images[0]}` }) }));
  const good = Array.from({ length: 60 }, (_, i) => ({ key: `good-${i}`, value: JSON.stringify({ id: `good-${i}`, url: images.imageUrl(i, { id: i }) }) }));
  await produce(n.from, [...good.slice(0, 20), ...stuck, ...good.slice(20)]);
  await consumeAll(n.to, { count: good.length });

  // The load has stopped: wait for the state it leaves (every partition committed up to its stuck record or its end).
  await waitHeldBack(n.from, partitions, n.group, stuck.map((r) => r.key));
  const stable = await adminLag(n.from, partitions, n.group);
  const total = stable.reduce((a, p) => a + p.lag, 0);
  assert.ok(total > 0, 'the stuck records keep a lag');
  assert.equal(stable.reduce((a, p) => a + p.logEnd, 0), good.length + stuck.length);

  const res = await runCli(['status', '--group', n.group, '--status-topic', n.statusTopic, '--json']);
  const after = await adminLag(n.from, partitions, n.group);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(after, stable, 'nothing moved while lagless status ran');
  const s = JSON.parse(res.stdout) as {
    state: string;
    brokerMembers: { clientId: string; partitions: { topic: string; partition: number }[] }[];
    members: { member: string; role: string; pid: number; live: boolean; assigned: number[]; inFlight: number }[];
    partitions: (Row & { topic: string; owner: string | null })[];
    totalLag: number;
  };
  assert.deepEqual(
    s.partitions.map(({ partition, logEnd, committed, lag }) => ({ partition, logEnd, committed, lag })),
    stable,
  );
  assert.equal(s.totalLag, total);
  assert.equal(s.state, 'Stable');
  const live = s.members.filter((m) => m.live);
  assert.equal(live.length, 1);
  const me = live[0]!;
  assert.equal(me.role, 'replica');
  assert.equal(me.pid, run.pid);
  assert.deepEqual(me.assigned, [0, 1, 2, 3]);
  assert.equal(me.inFlight, stuck.length);
  assert.deepEqual(s.brokerMembers.map((m) => m.clientId), [me.member]);
  assert.ok(s.partitions.every((p) => p.topic === n.from && p.owner === me.member));

  // The table: one row per partition with the same numbers, the process with its pid, and the total.
  const text = await runCli(['status', '--group', n.group, '--status-topic', n.statusTopic]);
  assert.equal(text.code, 0, text.stderr);
  t.diagnostic(`lagless status:\n${text.stdout}`);
  assert.match(text.stdout, new RegExp(`^======== Lagless status: group ${n.group} `, 'm'));
  assert.match(text.stdout, /^Group state \(broker\): Stable; 1 consumer\(s\) in the group$/m);
  assert.match(text.stdout, /^TOPIC +PARTITION +LOG END +COMMITTED +LAG +OWNER$/m);
  for (const p of stable) {
    assert.match(text.stdout, new RegExp(`^${n.from} +${p.partition} +${p.logEnd} +${p.committed ?? '-'} +${p.lag} +${me.member}$`, 'm'));
  }
  // WORKERS busy/active/max, I/O active/limit, IN FLIGHT.
  assert.match(text.stdout, new RegExp(`^${me.member} +replica +\\S+ +${run.pid} +at-least-once +\\d+/1/1 +\\d+/\\d+ +${stuck.length} `, 'm'));
  assert.match(text.stdout, new RegExp(`^ lag ${total} record\\(s\\);`, 'm'));

  const stopped = await stopLagless(run);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stderr, /drain timeout: 2 record\(s\) abandoned/);
});
