// Replica autoscaling end to end: `lagless run palette --replicas` adds and removes processes with the load, replaces one killed with
// kill -9, and across all of these rebalances every input record ends as a palette or a dead letter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isReplica, isSupervisor } from '../../src/control/index.ts';
import { startImageServer, type ImageServer } from '../../src/image-server/index.ts';
import { runCli } from '../helpers/cli.ts';
import { consumeAll, produce } from '../helpers/kafka.ts';
import { eventually } from '../helpers/eventually.ts';
import { readTopic } from '../helpers/pipeline.ts';
import {
  alive,
  createPipelineTopics,
  exitedReason,
  groupStatus,
  httpGet,
  metricValue,
  startLagless,
  stopLagless,
  waitForStderr,
  type PipelineNames,
} from '../helpers/lagless-process.ts';

const PARTITIONS = 6;
const ALL = Array.from({ length: PARTITIONS }, (_, p) => p).join();

/** The replicas as the supervisor and the group see them (what `lagless status --json` shows). */
interface ReplicaState {
  /** Replica processes the supervisor has and has not seen exit (stopping ones included). */
  pids: number[];
  /** Of those, the ones not being stopped. */
  running: number;
  /** Live replica statuses of those processes: pid, partitions, outputs so far. */
  replicas: { pid: number; assigned: number[]; ok: number }[];
  /** Warm processes outside the group (--standby). */
  standby: number[];
  /** Consumers in the group according to the broker. */
  consumers: number;
  totalLag: number;
}

async function replicaState(n: PipelineNames): Promise<ReplicaState> {
  const s = await groupStatus(n);
  const sup = s.members.filter(isSupervisor).find((m) => m.live);
  if (!sup?.replicas) throw new Error('no live supervisor status yet');
  const pids = sup.replicas.pids;
  const replicas = s.members
    .filter(isReplica)
    .filter((m) => m.live && pids.includes(m.pid))
    .map((m) => ({ pid: m.pid, assigned: [...m.assigned].sort((a, b) => a - b), ok: m.totals.ok }));
  return { pids, running: sup.replicas.running, replicas, standby: sup.replicas.standby ?? [], consumers: s.brokerMembers.length, totalLag: s.totalLag };
}

/** Throws (so that `eventually` keeps it as what it last saw) unless `ok`. */
function expectState(st: ReplicaState, ok: boolean): true {
  if (!ok) throw new Error(JSON.stringify(st));
  return true;
}

/** Records that fail for good, each with the code its dead letter must carry. */
function badRecords(images: ImageServer, prefix: string): { id: string; url: string; code: string }[] {
  return [
    { id: `${prefix}-404`, url: `${images.url}/status/404`, code: 'HTTP_STATUS' },
    { id: `${prefix}-html`, url: `${images.url}/not-image`, code: 'NOT_AN_IMAGE' },
    { id: `${prefix}-trunc`, url: `${images.url}/truncated/${images.images[0]}`, code: 'DECODE_FAILED' },
  ];
}

/**
 * Reads the input, output and dead-letter topics back and checks that every input id is in the output or the
 * dead-letter topic, and that the bad ones are dead letters with their code. Returns the number of duplicate outputs.
 */
async function assertNothingLost(n: PipelineNames, inputs: number, bad: { id: string; code: string }[]): Promise<{ duplicates: number }> {
  const input = await consumeAll(n.from, { count: inputs, timeoutMs: 60_000 });
  // The processes have stopped: the topics are complete up to their log-end offsets.
  const out = await readTopic(n.to, PARTITIONS);
  const dead = await readTopic(n.dlq, PARTITIONS);
  const ids = new Set(input.map((r) => (JSON.parse(r.value) as { id: string }).id));
  assert.equal(ids.size, inputs);
  const done = new Set([...out.map((r) => (JSON.parse(r.value) as { id: string }).id), ...dead.map((r) => r.key!)]);
  const missing = [...ids].filter((id) => !done.has(id));
  assert.deepEqual(missing.slice(0, 20), [], `${missing.length} input id(s) are neither in ${n.to} nor in ${n.dlq}`);
  const codes = new Map(dead.map((r) => [r.key!, (JSON.parse(r.value) as { error: { code: string } }).error.code]));
  for (const b of bad) assert.equal(codes.get(b.id), b.code, `dead letter of ${b.id}`);
  assert.equal(new Set(codes.keys()).size, bad.length, 'only the bad records are dead letters');
  return { duplicates: out.length - new Set(out.map((r) => r.key)).size };
}

test('--replicas 1..3: replicas are added under a step load and removed after it; every input id ends in the output or the dead-letter topic', async (t) => {
  const n = await createPipelineTopics(t, 'as-replicas', PARTITIONS);
  const images = await startImageServer({ latencyMs: 20 });
  t.after(() => images.close());
  const sup = startLagless(t, [
    'run', 'palette', '--from', n.from, '--to', n.to, '--dlq', n.dlq, '--group', n.group, '--allow-host', new URL(images.url).host,
    '--replicas', '1..3', '--idle-timeout', '5s', '--session-timeout', '6s', '--drain-timeout', '10s',
    '--status-topic', n.statusTopic, '--status-every', '1s', '--http-port', '0',
  ]);
  const metricsUrl = `${(await waitForStderr(sup, /serving \/healthz, \/readyz and \/metrics on (http:\/\/\S+)/))[1]}/metrics`;
  const live = exitedReason(sup);
  await eventually(async () => {
    const st = await replicaState(n);
    return expectState(st, st.pids.length === 1 && st.replicas.length === 1 && st.replicas[0]!.assigned.join() === ALL);
  }, { what: 'one replica with every partition', timeout: 180_000, every: 500, failIf: live });
  assert.equal(metricValue((await httpGet(metricsUrl)).body, 'lagless_desired_replicas'), 1);

  // Follow the supervisor's wish as an orchestrator would, from /metrics, starting from the 1 read above (on a busy
  // machine the first scrape can come after the step's scale-up: fresh-clone run j8 saw "3 → 1").
  const wishes: number[] = [1];
  const scraper = setInterval(() => {
    httpGet(metricsUrl).then((r) => {
      const v = metricValue(r.body, 'lagless_desired_replicas');
      if (v !== undefined && v !== wishes.at(-1)) wishes.push(v);
    }, () => {});
  }, 250);
  t.after(() => clearInterval(scraper));

  const bad = badRecords(images, 'bad-replicas');
  await produce(n.from, bad.map((b) => ({ key: b.id, value: JSON.stringify({ id: b.id, url: b.url }) })));
  const load = await runCli(['produce', '--topic', n.from, '--source', 'synthetic', '--image-base', images.url, '--profile', 'steps:10@2s,500@8s', '--quiet', '--json']);
  assert.equal(load.code, 0, load.stderr);
  const produced = (JSON.parse(load.stdout) as { delivered: number }).delivered;

  // More than one replica process, each with partitions of its own.
  const up = await eventually(async () => {
    const st = await replicaState(n);
    return expectState(st, st.replicas.filter((r) => r.assigned.length > 0).length >= 2) && st;
  }, { what: 'a second replica with partitions', timeout: 180_000, every: 500, failIf: live });
  // Back to one replica after the load: the others have exited, the group has one consumer, which has every partition.
  const down = await eventually(async () => {
    const st = await replicaState(n);
    return expectState(
      st,
      st.pids.length === 1 && st.running === 1 && st.consumers === 1 && st.replicas.length === 1 && st.replicas[0]!.assigned.join() === ALL && st.totalLag === 0,
    ) && st;
  }, { what: 'back to one replica process that has every partition, no lag', timeout: 300_000, every: 500, failIf: live });
  for (const r of up.replicas) if (r.pid !== down.pids[0]) assert.ok(!alive(r.pid), `replica pid ${r.pid} has exited`);
  await eventually(() => wishes.at(-1) === 1, { what: 'the wish in /metrics is back to 1', timeout: 10_000 });
  clearInterval(scraper);

  const res = await stopLagless(sup);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /stopped; 0 replica\(s\) were replaced after an unexpected exit/);
  assert.doesNotMatch(res.stderr, /unexpected, starting a replacement/);
  assert.ok(Math.max(...wishes) >= 2 && wishes[0] === 1 && wishes.at(-1) === 1, `lagless_desired_replicas went ${wishes.join(' → ')}`);

  const { duplicates } = await assertNothingLost(n, produced + bad.length, bad);
  const events = [...res.stderr.matchAll(/^\S+ (scale (?:up|down) .*)$/gm)].map((m) => m[1]);
  t.diagnostic(`${produced + bad.length} inputs, ${duplicates} duplicate output(s); wish ${wishes.join(' → ')}; events:\n${events.join('\n')}`);
});

test('a replica killed with kill -9 is replaced by the supervisor, and no record is lost', async (t) => {
  const n = await createPipelineTopics(t, 'as-kill', PARTITIONS);
  const images = await startImageServer({ latencyMs: 50 });
  t.after(() => images.close());
  const sup = startLagless(t, [
    'run', 'palette', '--from', n.from, '--to', n.to, '--dlq', n.dlq, '--group', n.group, '--allow-host', new URL(images.url).host,
    '--replicas', '2..2', '--session-timeout', '6s', '--drain-timeout', '10s', '--max-in-flight', '200',
    '--status-topic', n.statusTopic, '--status-every', '1s',
  ]);
  const live = exitedReason(sup);
  const twoWithPartitions = (st: ReplicaState) => st.pids.length === 2 && st.replicas.length === 2 && st.replicas.every((r) => r.assigned.length > 0);
  await eventually(async () => {
    const st = await replicaState(n);
    return expectState(st, twoWithPartitions(st));
  }, { what: 'two replicas with partitions', timeout: 180_000, every: 500, failIf: live });

  const bad = badRecords(images, 'bad-kill');
  await produce(n.from, bad.map((b) => ({ key: b.id, value: JSON.stringify({ id: b.id, url: b.url }) })));
  // A steady load; the kill lands while both replicas have records in flight.
  const loading = runCli(['produce', '--topic', n.from, '--source', 'synthetic', '--image-base', images.url, '--rate', '100', '--duration', '15s', '--quiet', '--json']);
  const busy = await eventually(async (progress) => {
    const st = await replicaState(n);
    progress(st.replicas.reduce((a, r) => a + r.ok, 0));
    return expectState(st, twoWithPartitions(st) && st.replicas.every((r) => r.ok > 0) && st.replicas.reduce((a, r) => a + r.ok, 0) >= 300) && st;
  }, { what: 'both replicas are processing', timeout: 600_000, stall: 90_000, every: 500, failIf: live });
  const victim = busy.replicas[0]!.pid;
  process.kill(victim, 'SIGKILL');
  // The supervisor sees the exit and starts a replacement; the group rebalances to the survivor and the replacement.
  await eventually(async () => {
    const st = await replicaState(n);
    return expectState(st, !st.pids.includes(victim) && twoWithPartitions(st) && st.consumers === 2 && st.replicas.flatMap((r) => r.assigned).sort((a, b) => a - b).join() === ALL);
  }, { what: `a replacement for replica pid ${victim} with partitions`, timeout: 180_000, every: 500, failIf: live });

  const load = await loading;
  assert.equal(load.code, 0, load.stderr);
  const produced = (JSON.parse(load.stdout) as { delivered: number }).delivered;
  // The group catches up: the committed offsets reach the log end.
  await eventually(async (progress) => {
    const s = await groupStatus(n);
    progress(s.partitions.reduce((a, p) => a + (p.committed ?? 0), 0));
    if (s.totalLag === 0) return true;
    // Kept as the last error, so that a timeout says where the lag was.
    throw new Error(`lag ${s.totalLag}: ${JSON.stringify(s.partitions.filter((p) => p.lag > 0))}`);
  }, { what: 'lag back to 0', timeout: 600_000, stall: 90_000, every: 1000, failIf: live });

  const res = await stopLagless(sup);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /stopped; 1 replica\(s\) were replaced after an unexpected exit/);
  const { duplicates } = await assertNothingLost(n, produced + bad.length, bad);
  // At-least-once: the killed replica's uncommitted window (at most --max-in-flight records) may be done twice.
  t.diagnostic(`${produced + bad.length} inputs, ${duplicates} duplicate output(s) after the kill`);
});

test('--standby 1: a warm process waits outside the group, a scale-up makes that same process join, and a new standby is started later', async (t) => {
  const n = await createPipelineTopics(t, 'as-standby', PARTITIONS);
  const images = await startImageServer({ latencyMs: 20 });
  t.after(() => images.close());
  const sup = startLagless(t, [
    'run', 'palette', '--from', n.from, '--to', n.to, '--dlq', n.dlq, '--group', n.group, '--allow-host', new URL(images.url).host,
    '--replicas', '1..2', '--standby', '1', '--idle-timeout', '5s', '--session-timeout', '6s', '--drain-timeout', '10s',
    '--status-topic', n.statusTopic, '--status-every', '1s',
  ]);
  const live = exitedReason(sup);
  // One replica with every partition, and one more process, alive but not a member of the group.
  const first = await eventually(async () => {
    const st = await replicaState(n);
    return expectState(st, st.pids.length === 1 && st.replicas.length === 1 && st.replicas[0]!.assigned.join() === ALL && st.standby.length === 1 && st.consumers === 1) && st;
  }, { what: 'one replica with every partition and one standby outside the group', timeout: 180_000, every: 500, failIf: live });
  const standbyPid = first.standby[0]!;
  assert.ok(alive(standbyPid), `standby pid ${standbyPid} is alive`);
  assert.ok(!first.pids.includes(standbyPid));

  const load = await runCli(['produce', '--topic', n.from, '--source', 'synthetic', '--image-base', images.url, '--profile', 'steps:10@2s,500@8s', '--quiet', '--json']);
  assert.equal(load.code, 0, load.stderr);
  const produced = (JSON.parse(load.stdout) as { delivered: number }).delivered;

  // The scale-up is the standby itself joining: a replica with partitions under the standby's pid.
  await eventually(async () => {
    const st = await replicaState(n);
    return expectState(st, st.replicas.some((r) => r.pid === standbyPid && r.assigned.length > 0) && !st.standby.includes(standbyPid));
  }, { what: `the standby (pid ${standbyPid}) holding partitions in the group`, timeout: 180_000, every: 500, failIf: live });
  // After the load: one replica again, and a new standby (there is room for one below the maximum again).
  const down = await eventually(async () => {
    const st = await replicaState(n);
    return expectState(
      st,
      st.pids.length === 1 && st.consumers === 1 && st.replicas.length === 1 && st.replicas[0]!.assigned.join() === ALL && st.totalLag === 0 && st.standby.length === 1 && st.standby[0] !== standbyPid,
    ) && st;
  }, { what: 'back to one replica with every partition, no lag, and a new standby', timeout: 300_000, every: 500, failIf: live });
  assert.ok(alive(down.standby[0]!));

  const res = await stopLagless(sup);
  assert.equal(res.code, 0, res.stderr);
  for (const pid of [...down.pids, ...down.standby, standbyPid]) assert.ok(!alive(pid), `pid ${pid} has exited with the supervisor`);
  assert.match(res.stderr, /as a standby: warm, outside the group/);
  assert.match(res.stderr, new RegExp(`\\(pid ${standbyPid}\\) activated: joins the group`));
  assert.doesNotMatch(res.stderr, /unexpected, starting a replacement/);
  const { duplicates } = await assertNothingLost(n, produced, []);
  t.diagnostic(`${produced} inputs, ${duplicates} duplicate output(s)`);
});
