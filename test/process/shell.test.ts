// The shell around a process (probes, metrics, status) by role: a supervisor exports no gauge of a replica's own work.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { STATUS_RECORD_VERSION } from '../../src/control/index.ts';
import type { MetricsSource } from '../../src/observe/index.ts';
import { ProcessShell } from '../../src/process/index.ts';

/** Gauges only a process that runs the job has. */
const REPLICA_ONLY = [
  'lagless_records_received_total',
  'lagless_records_succeeded_total',
  'lagless_records_dead_lettered_total',
  'lagless_record_retries_total',
  'lagless_workers_active',
  'lagless_workers_max',
  'lagless_io_active',
  'lagless_concurrency_limit',
  'lagless_desired_workers',
  'lagless_exactly_once',
];
/** Gauges of both roles. */
const COMMON = ['lagless_in_flight', 'lagless_window', 'lagless_consumer_lag', 'lagless_desired_replicas'];

const replicaMetrics: MetricsSource = {
  role: 'replica',
  group: 'g',
  topic: 'urls',
  stats: () => ({ received: 5, succeeded: 4, deadLettered: 1, retries: 0, inFlight: 2, windowSize: 3, workers: { workers: 2, maxWorkers: 4 }, concurrency: { active: 1, limit: 8 }, guarantee: 'at-least-once' }),
  lag: () => 7,
  desiredWorkers: () => 2,
  desiredReplicas: () => 1,
};
const supervisorMetrics: MetricsSource = { role: 'supervisor', group: 'g', topic: 'urls', lag: () => 9, desiredReplicas: () => 2, load: () => ({ inFlight: 4, windowSize: 6 }) };

async function openShell(t: TestContext, metrics: MetricsSource, ready = () => true): Promise<{ shell: ProcessShell; url: string; infos: string[] }> {
  const infos: string[] = [];
  const shell: ProcessShell = new ProcessShell({
    // Never reached: no dashboard, no status publishing.
    kafka: { brokers: ['127.0.0.1:1'] },
    group: 'g',
    member: 'm1',
    statusTopic: 'lagless.status',
    statusIntervalMs: 0,
    http: { port: 0, host: '127.0.0.1' },
    dashboard: false,
    metrics,
    status: () => ({ ...shell.envelope(), role: 'supervisor', job: 'supervisor', input: 'urls', inFlight: 0, window: 0, rates: { in: 0, out: 0, dead: 0, arrival: 0 }, lag: 0, replicas: { running: 0, min: 1, max: 1, pids: [] } }),
    ready,
    onWarning: (e) => assert.fail(e),
    onInfo: (m) => infos.push(m),
  });
  t.after(() => shell.close());
  await shell.open();
  assert.ok(shell.url);
  return { shell, url: shell.url, infos };
}

const metricNames = (text: string) => new Set([...text.matchAll(/^(lagless_\w+)\{/gm)].map((m) => m[1]!));

test("a supervisor's shell exports the group's lag, its replicas' load and its replica wish, and no gauge of a replica's own work", async (t) => {
  const { url } = await openShell(t, supervisorMetrics);
  const text = await (await fetch(`${url}/metrics`)).text();
  const names = metricNames(text);
  for (const n of COMMON) assert.ok(names.has(n), `${n} exported`);
  for (const n of REPLICA_ONLY) assert.ok(!text.includes(`${n} `) && !names.has(n), `${n} not exported`);
  assert.match(text, /^lagless_consumer_lag\{group="g",topic="urls"\} 9$/m);
  assert.match(text, /^lagless_in_flight\{group="g",topic="urls"\} 4$/m);
  assert.match(text, /^lagless_desired_replicas\{group="g",topic="urls"\} 2$/m);
});

test("a replica's shell exports every gauge", async (t) => {
  const { url } = await openShell(t, replicaMetrics);
  const names = metricNames(await (await fetch(`${url}/metrics`)).text());
  for (const n of [...COMMON, ...REPLICA_ONLY]) assert.ok(names.has(n), `${n} exported`);
});

test('the probes: /healthz at once, /readyz as the role says; the URL is announced', async (t) => {
  let ready = false;
  const { url, infos } = await openShell(t, supervisorMetrics, () => ready);
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
  assert.equal((await fetch(`${url}/readyz`)).status, 503);
  ready = true;
  assert.equal((await fetch(`${url}/readyz`)).status, 200);
  assert.deepEqual(infos, [`serving /healthz, /readyz and /metrics on ${url}`]);
});

test('the envelope of the status record: who, when, and the latest scale events of the process', async (t) => {
  const { shell } = await openShell(t, supervisorMetrics);
  shell.scaleEvent({ unit: 'replicas', from: 1, to: 2, reason: 'more' });
  const e = shell.envelope();
  assert.equal(e.v, STATUS_RECORD_VERSION);
  assert.equal(e.group, 'g');
  assert.equal(e.member, 'm1');
  assert.equal(e.pid, process.pid);
  assert.equal(e.intervalMs, 0);
  assert.deepEqual(e.scaleEvents?.map(({ at: _at, ...rest }) => rest), [{ unit: 'replicas', from: 1, to: 2, reason: 'more' }]);
  assert.ok(Date.parse(e.at) >= Date.parse(e.startedAt));
  // Publishing off: publish() starts nothing, and close() is safe twice.
  shell.publish();
  await shell.close();
  await shell.close();
});
