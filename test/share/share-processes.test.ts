// Share-group members as `lagless run --group-type share` processes: kill -9 loses nothing (the broker delivers what the
// killed member held to the others again: Kafka 4.4 does it when the member's connection drops, else the acquisition
// lock expiring would); SIGTERM releases what the member cannot finish, and the others take it at once.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createAdmin } from '../../src/kafka/index.ts';
import { runCli } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { createTopic, produce, readTopic, testBrokers, uniqueName } from '../helpers/kafka.ts';
import { exitedReason, httpGet, metricValue, startLagless, stopLagless, waitForStderr, type LaglessChild } from '../helpers/lagless-process.ts';

const JOB = new URL('./fixtures/slow-job.ts', import.meta.url).pathname;

interface Output {
  id: string;
  pid: number;
  start: number;
  end: number;
}

async function setup(t: TestContext, prefix: string, lockMs?: number) {
  const n = {
    from: await createTopic(t, uniqueName(`${prefix}-in`), 1),
    to: await createTopic(t, uniqueName(`${prefix}-out`), 1),
    dlq: await createTopic(t, uniqueName(`${prefix}-dlq`), 1),
    group: uniqueName(`${prefix}-share`),
  };
  if (lockMs !== undefined) {
    const admin = createAdmin({ brokers: testBrokers(), clientId: 'lagless-test' });
    try {
      await admin.incrementalAlterConfigs({ resources: [{ resourceType: 32, resourceName: n.group, configs: [{ name: 'share.record.lock.duration.ms', configOperation: 0, value: String(lockMs) }] }] });
    } finally {
      await admin.close();
    }
  }
  return n;
}

function startMember(t: TestContext, n: { from: string; to: string; dlq: string; group: string }, jobMs: number, extra: string[] = []): LaglessChild {
  return startLagless(
    t,
    ['run', JOB, '--group-type', 'share', '--brokers', testBrokers().join(','), '--from', n.from, '--to', n.to, '--dlq', n.dlq, '--group', n.group, '--max-in-flight', '10', '--max-concurrency', '10', '--log-format', 'json', ...extra],
    { env: { SHARE_TEST_JOB_MS: String(jobMs) } },
  );
}

async function outputs(topic: string): Promise<Output[]> {
  return (await readTopic(topic, 1)).map((r) => JSON.parse(r.value) as Output);
}

function stoppedEvent(stderr: string): { abandoned: number; outputs: number } {
  const line = stderr.split('\n').find((l) => l.includes('"event":"stopped"'));
  assert.ok(line, `a stopped event in\n${stderr}`);
  return JSON.parse(line) as { abandoned: number; outputs: number };
}

test('share group processes: kill -9 of a member holding records loses nothing (what it held is delivered again to the other)', async (t) => {
  const n = await setup(t, 'sharekill');
  const ids = Array.from({ length: 400 }, (_, i) => `k${i}`);
  const a = startMember(t, n, 200);
  const b = startMember(t, n, 200);
  await produce(n.from, ids.map((id) => ({ value: id })));
  await eventually(
    async () => {
      const byPid = new Set((await outputs(n.to)).map((o) => o.pid));
      return byPid.has(a.pid!) && byPid.has(b.pid!);
    },
    { what: 'outputs from both members', timeout: 120_000, every: 200, failIf: () => exitedReason(a)() ?? exitedReason(b)() },
  );
  a.kill('SIGKILL');
  const killedAt = Date.now();
  await eventually(
    async () => {
      const seen = new Set((await outputs(n.to)).map((o) => o.id));
      return ids.every((id) => seen.has(id));
    },
    { what: 'every id in the outputs after the kill', timeout: 180_000, every: 500, failIf: exitedReason(b) },
  );
  t.diagnostic(`every id out ${Date.now() - killedAt} ms after the kill (the lock is 15 s)`);
  const stopped = await stopLagless(b);
  assert.equal(stopped.code, 0, stopped.stderr);
  const all = await outputs(n.to);
  const counts = new Map<string, number>();
  for (const o of all) counts.set(o.id, (counts.get(o.id) ?? 0) + 1);
  assert.deepEqual([...ids].filter((id) => !counts.has(id)), [], '0 lost');
  // Redone: only what the killed member held (at most its window of 10) and had not acknowledged.
  const twice = [...counts.values()].filter((c) => c > 1).length;
  assert.ok(twice <= 10, `${twice} id(s) processed twice, at most the killed member's window (10)`);
  assert.equal((await readTopic(n.dlq, 1)).length, 0);
});

test('share group processes: SIGTERM releases what the member cannot finish; another member takes it at once, not after the lock', async (t) => {
  // A 60 s acquisition lock (the most a group may set): records left to expire would come back only after it.
  const LOCK_MS = 60_000;
  const n = await setup(t, 'shareterm', LOCK_MS);
  const ids = Array.from({ length: 40 }, (_, i) => `s${i}`);
  // Records take 3 s; the stopping member gets 500 ms to drain: it cannot finish what it runs, and releases it.
  const a = startMember(t, n, 3000, ['--drain-timeout', '500ms']);
  const b = startMember(t, n, 3000);
  await produce(n.from, ids.map((id) => ({ value: id })));
  await eventually(async () => (await outputs(n.to)).some((o) => o.pid === a.pid), { what: 'an output of the member to stop', timeout: 120_000, every: 200, failIf: exitedReason(a) });
  const stoppedAt = Date.now();
  const stopped = await stopLagless(a);
  assert.equal(stopped.code, 0, stopped.stderr);
  const released = stoppedEvent(stopped.stderr).abandoned;
  assert.ok(released > 0, 'the stopping member released records it could not finish');
  await eventually(
    async () => {
      const seen = new Set((await outputs(n.to)).map((o) => o.id));
      return ids.every((id) => seen.has(id));
    },
    { what: 'every id in the outputs', timeout: 180_000, every: 500, failIf: exitedReason(b) },
  );
  // The released records were taken by the other member well before their lock could have expired.
  const last = Math.max(...(await outputs(n.to)).filter((o) => o.pid === b.pid).map((o) => o.start));
  assert.ok(last - stoppedAt < LOCK_MS - 15_000, `the released records started ${last - stoppedAt} ms after the stop, well within the ${LOCK_MS} ms lock`);
  await stopLagless(b);
});

test('share group under a supervisor: --replicas 3..3 on a 1-partition topic runs 3 replicas, and all 3 take records', async (t) => {
  const n = await setup(t, 'sharesup');
  const ids = Array.from({ length: 300 }, (_, i) => `p${i}`);
  await produce(n.from, ids.map((id) => ({ value: id })));
  const sup = startLagless(
    t,
    ['run', JOB, '--group-type', 'share', '--replicas', '3..3', '--brokers', testBrokers().join(','), '--from', n.from, '--to', n.to, '--dlq', n.dlq, '--group', n.group, '--max-in-flight', '10', '--max-concurrency', '10'],
    { env: { SHARE_TEST_JOB_MS: '200' } },
  );
  await eventually(
    async () => {
      const seen = new Set((await outputs(n.to)).map((o) => o.id));
      return ids.every((id) => seen.has(id));
    },
    { what: 'every id in the outputs', timeout: 180_000, every: 500, failIf: exitedReason(sup) },
  );
  const pids = new Set((await outputs(n.to)).map((o) => o.pid));
  assert.equal(pids.size, 3, `3 replicas took records of the one partition (pids ${[...pids].join(', ')})`);
  const stopped = await stopLagless(sup);
  assert.equal(stopped.code, 0, stopped.stderr);
});

test('share group observed: /metrics exports the backlog and the share counters; the dashboard shows a share group, its members\' acquisitions and the backlog per partition', async (t) => {
  const n = await setup(t, 'shareobs');
  const statusTopic = await createTopic(t, uniqueName('shareobs-status'), 1, { 'cleanup.policy': 'compact' });
  const observed = ['--status-topic', statusTopic, '--status-every', '500ms'];
  const a = startMember(t, n, 100, [...observed, '--http-port', '0']);
  const b = startMember(t, n, 100, observed);
  const base = JSON.parse((await waitForStderr(a, /"msg":"serving [^"]* on (http:\/\/127\.0\.0\.1:\d+)[^"]*"/)).input!.split('\n').find((l) => l.includes('serving'))!).msg.match(/http:\/\/127\.0\.0\.1:\d+/)![0] as string;
  const ids = Array.from({ length: 200 }, (_, i) => `o${i}`);
  await produce(n.from, ids.map((id) => ({ value: id })));
  await eventually(
    async () => {
      const seen = new Set((await outputs(n.to)).map((o) => o.id));
      return ids.every((id) => seen.has(id));
    },
    { what: 'every id in the outputs', timeout: 120_000, every: 500, failIf: () => exitedReason(a)() ?? exitedReason(b)() },
  );
  const metrics = await eventually(async () => {
    const m = await httpGet(`${base}/metrics`);
    return metricValue(m.body, 'lagless_share_backlog') === 0 && (metricValue(m.body, 'lagless_share_accepted_total') ?? 0) > 0 ? m : undefined;
  }, { what: '/metrics: the share backlog at 0 and accepted records', timeout: 60_000, failIf: exitedReason(a) });
  assert.ok((metricValue(metrics.body, 'lagless_share_acquired_total') ?? 0) > 0);
  interface State {
    summary: { groupType: string | null };
    members: { pid: number | null; share: { acquired: number } | null }[];
    partitions: { partition: number; lag: number; committed: number | null; owner: string | null }[];
  }
  const state = await eventually(async () => {
    const res = await httpGet(`${base}/api/state`);
    if (res.status !== 200) return undefined;
    const s = (JSON.parse(res.body) as { state: State }).state;
    const acquired = s.members.filter((m) => m.pid === a.pid || m.pid === b.pid).map((m) => m.share?.acquired ?? 0);
    return s.summary?.groupType === 'share' && acquired.length === 2 && acquired.reduce((x, y) => x + y, 0) >= ids.length && s.partitions.length === 1 && s.partitions[0]!.lag === 0 ? s : undefined;
  }, { what: 'the dashboard: a share group, both members\' acquisitions, the backlog at 0', timeout: 60_000, failIf: exitedReason(a) });
  assert.equal(state.partitions[0]!.owner?.split(',').length, 2, 'the one partition is assigned to both members');
  const status = await eventually(async () => {
    const res = await runCli(['status', '--group', n.group, '--status-topic', statusTopic, '--brokers', testBrokers().join(','), '--json']);
    const s = JSON.parse(res.stdout) as { type?: string; totalBacklog: number; processes?: { pid: number; acquired: number; held: number }[] };
    const acquired = (s.processes ?? []).filter((p) => p.pid === a.pid || p.pid === b.pid).reduce((x, p) => x + p.acquired, 0);
    return s.type === 'share' && s.processes?.length === 2 && acquired >= ids.length ? s : undefined;
  }, { what: 'lagless status: a share group with both processes and their acquisitions', timeout: 60_000, failIf: exitedReason(a) });
  assert.equal(status.totalBacklog, 0);
  await Promise.all([stopLagless(a), stopLagless(b)]);
});
