// End to end, --guarantee exactly-once with more than one member: two palette members with rebalances mid-run (one
// joins, one leaves), and --replicas; kcat (librdkafka, read_committed) counts every id exactly once in outputs and dead
// letters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readGroupStatus } from '../../src/control/index.ts';
import { createAdmin } from '../../src/kafka/index.ts';
import { exitedReason } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { PARTITIONS, assertExactlyOnce, readBack, skip, startMember, stopMember, sum, topics } from '../helpers/exactly-once.ts';
import { produce, testBrokers, uniqueName } from '../helpers/kafka.ts';
import { kcatRead } from '../helpers/kcat.ts';
import { committedOffsets, startImages, waitCaughtUp } from '../helpers/pipeline.ts';

test('exactly-once: two palette members (--ordering key and partition) with rebalances mid-run (one joins, one leaves), outputs and dead letters once each', { skip }, async (t) => {
  const images = await startImages(t);
  const tp = await topics(t, 'eos-rebalance');
  const TOTAL = 400;
  const inputs = Array.from({ length: TOTAL }, (_, n) => {
    const id = `${tp.group}-${n}`;
    const url = n % 10 === 9 ? `${images.url}/status/404?id=${id}` : images.imageUrl(images.images[n % images.images.length]!, { id });
    return { key: id, value: JSON.stringify({ id, url }) };
  });
  await produce(tp.from, inputs);
  const extra = ['--allow-host', `127.0.0.1:${images.port}`, '--workers', '1', '--max-in-flight', '40'];
  // The two members use the two ordering modes that constrain the order of work (key, partition).
  const a = startMember(t, 'palette', tp, [...extra, '--ordering', 'key']);
  await eventually(async () => sum(await committedOffsets(tp.group, tp.from, PARTITIONS)) >= 40n, {
    what: 'the first member commits 40 records',
    timeout: 120_000,
    failIf: exitedReason(a),
  });
  const b = startMember(t, 'palette', tp, [...extra, '--ordering', 'partition']);
  const admin = createAdmin({ brokers: testBrokers(), clientId: 'lagless-test' });
  t.after(() => admin.close());
  // Rebalance 1: the second member joins and gets partitions while the first has records in progress.
  await eventually(
    async () => {
      const g = (await admin.describeGroups({ groups: [tp.group] })).get(tp.group);
      const owners = [...(g?.members.values() ?? [])].filter((m) => [...(m.assignments?.values() ?? [])].some((x) => x.partitions.length > 0));
      return owners.length === 2;
    },
    { what: 'both members own partitions', timeout: 120_000, failIf: () => exitedReason(a)() ?? exitedReason(b)() },
  );
  const atJoin = sum(await committedOffsets(tp.group, tp.from, PARTITIONS));
  await eventually(async () => sum(await committedOffsets(tp.group, tp.from, PARTITIONS)) >= atJoin + 40n, {
    what: 'the two members commit 40 more records',
    timeout: 120_000,
    failIf: () => exitedReason(a)() ?? exitedReason(b)(),
  });
  // Rebalance 2: the first member leaves (SIGTERM) mid-run; the second finishes.
  const atLeave = sum(await committedOffsets(tp.group, tp.from, PARTITIONS));
  await stopMember(a);
  await waitCaughtUp(tp.group, tp.from, PARTITIONS, 180_000, b);
  await stopMember(b);
  const { committed, uncommitted } = await readBack(tp);
  assertExactlyOnce(
    inputs.map((r) => r.key),
    committed,
    'read_committed outputs and dead letters',
  );
  const dead = (await kcatRead(tp.dlq, 'read_committed')).map((r) => JSON.parse(r.value!) as { error: { code: string } });
  assert.equal(dead.length, TOTAL / 10, 'every 10th input is a dead letter');
  for (const d of dead) assert.equal(d.error.code, 'HTTP_STATUS');
  assert.ok(atLeave < BigInt(TOTAL), `the first member left mid-run (${atLeave} of ${TOTAL} committed)`);
  t.diagnostic(`${TOTAL} ids; second member joined at ${atJoin} committed, first left at ${atLeave}; read_committed ${committed.length}, read_uncommitted ${uncommitted.length}`);
});

test('exactly-once with --replicas 2: the supervisor and both replicas publish the guarantee; each id once', { skip }, async (t) => {
  const images = await startImages(t);
  const tp = await topics(t, 'eos-replicas');
  const statusTopic = uniqueName('eos-status');
  const TOTAL = 200;
  const ids = Array.from({ length: TOTAL }, (_, n) => `${tp.group}-${n}`);
  await produce(
    tp.from,
    ids.map((id, n) => ({ key: id, value: JSON.stringify({ id, url: images.imageUrl(images.images[n % images.images.length]!, { id }) }) })),
  );
  const supervisor = startMember(t, 'palette', tp, [
    '--replicas', '2..2', '--workers', '1', '--allow-host', `127.0.0.1:${images.port}`,
    '--status-topic', statusTopic, '--status-every', '500ms',
  ]);
  const members = await eventually(
    async () => {
      const s = await readGroupStatus({ kafka: { brokers: testBrokers() }, group: tp.group, statusTopic });
      const live = s.members.filter((m) => m.live);
      const replicas = live.filter((m) => m.role === 'replica');
      return replicas.length === 2 && live.some((m) => m.role === 'supervisor') ? live : undefined;
    },
    { what: 'the supervisor and two replicas in the status topic', timeout: 120_000, failIf: exitedReason(supervisor) },
  );
  for (const m of members) assert.equal(m.guarantee, 'exactly-once', `${m.role} ${m.member} publishes its guarantee`);
  await waitCaughtUp(tp.group, tp.from, PARTITIONS, 180_000, supervisor);
  await stopMember(supervisor);
  const { committed } = await readBack(tp);
  assertExactlyOnce(ids, committed, 'read_committed');
});
