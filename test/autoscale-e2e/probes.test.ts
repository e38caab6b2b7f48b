// /healthz, /readyz and /metrics of `lagless run palette --http-port 0`, as a kubelet and Prometheus see them.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { startImageServer } from '../../src/image-server/index.ts';
import { consumeAll, groupMembers, produce, waitHeldBack } from '../helpers/kafka.ts';
import { eventually } from '../helpers/eventually.ts';
import { createPipelineTopics, httpGet, metricValue, startLagless, stopLagless, waitForStderr } from '../helpers/lagless-process.ts';

test('--http-port 0: /healthz answers at once, /readyz turns 200 once the group is joined, /metrics has the lag and the wish', async (t) => {
  const n = await createPipelineTopics(t, 'as-probes', 3);
  const images = await startImageServer();
  t.after(() => images.close());
  const run = startLagless(t, [
    'run', 'palette', '--from', n.from, '--to', n.to, '--dlq', n.dlq, '--group', n.group, '--allow-host', new URL(images.url).host,
    '--min-workers', '1', '--max-workers', '2', '--headers-timeout', '10m', '--download-timeout', '10m', '--drain-timeout', '1s',
    '--status-topic', n.statusTopic, '--http-port', '0',
  ]);
  const base = (await waitForStderr(run, /serving \/healthz, \/readyz and \/metrics on (http:\/\/127\.0\.0\.1:\d+)$/m))[1]!;
  assert.notEqual(new URL(base).port, '0', 'port 0 picked a free port and the log names it');
  const clientId = `lagless-${hostname()}-${run.pid}`;

  // Poll as a kubelet would. Liveness never depends on Kafka; readiness waits for the group.
  const seen: number[] = [];
  const membersWhenReady = await eventually(async () => {
    assert.equal((await httpGet(`${base}/healthz`)).status, 200);
    const r = await httpGet(`${base}/readyz`);
    if (seen.at(-1) !== r.status) seen.push(r.status);
    // Read the broker's view right after the first 200: the member must already be in the group with its partitions.
    return r.status === 200 ? await groupMembers(n.group) : undefined;
  }, { what: '/readyz turns 200', timeout: 180_000, every: 20 });
  assert.equal(membersWhenReady.get(clientId)?.length, 3, `when ready, the broker lists ${clientId} with its 3 partitions (readyz went ${seen.join(' → ')})`);
  assert.ok(seen.every((s) => s === 503 || s === 200), `readyz answers 503 or 200, got ${seen.join(', ')}`);
  t.diagnostic(`/readyz went ${seen.join(' → ')}`);

  // One record that never finishes holds a lag; /metrics shows the same lag as the admin API.
  await produce(n.from, [
    { key: 'stuck', value: JSON.stringify({ id: 'stuck', url: `${images.url}/slow/600000/${images.images[0]}` }) },
    ...Array.from({ length: 30 }, (_, i) => ({ key: `p${i}`, value: JSON.stringify({ id: `p${i}`, url: images.imageUrl(i) }) })),
  ]);
  await consumeAll(n.to, { count: 30 });
  const expected = Number((await waitHeldBack(n.from, 3, n.group, ['stuck'])).lag);
  assert.ok(expected > 0, 'the stuck record holds a lag');
  const metrics = await eventually(async () => {
    const m = await httpGet(`${base}/metrics`);
    return metricValue(m.body, 'lagless_consumer_lag') === expected ? m : undefined;
  }, { what: '/metrics reports the lag', timeout: 10_000 });
  assert.equal(metrics.status, 200);
  assert.match(metrics.body, new RegExp(`^lagless_consumer_lag\\{group="${n.group}",topic="${n.from}"\\} ${expected}$`, 'm'));
  // The burst of 30 may or may not have asked for a second worker (it depends on this machine's speed); either way the
  // wish is within the bounds and applied.
  const wish = metricValue(metrics.body, 'lagless_desired_workers');
  assert.ok(wish === 1 || wish === 2, `lagless_desired_workers ${wish}`);
  assert.equal(metricValue(metrics.body, 'lagless_workers_active'), wish);
  assert.equal(metricValue(metrics.body, 'lagless_workers_max'), 2);
  assert.equal(metricValue(metrics.body, 'lagless_records_succeeded_total'), 30);
  assert.equal(metricValue(metrics.body, 'lagless_in_flight'), 1);
  assert.match(metrics.body, /^# TYPE lagless_desired_replicas gauge$/m);
  assert.ok((metricValue(metrics.body, 'lagless_process_resident_memory_bytes') ?? 0) > 0, 'default process metrics');

  const stopped = await stopLagless(run);
  assert.equal(stopped.code, 0, stopped.stderr);
});

test('--replicas with --http-port 0: the supervisor serves the group-wide wish lagless_desired_replicas and the group lag, and is ready once a replica is', async (t) => {
  const n = await createPipelineTopics(t, 'as-probes-sup', 2);
  const sup = startLagless(t, [
    'run', 'palette', '--from', n.from, '--to', n.to, '--dlq', n.dlq, '--group', n.group,
    '--replicas', '1..2', '--status-topic', n.statusTopic, '--http-port', '0',
  ]);
  const base = (await waitForStderr(sup, /serving \/healthz, \/readyz and \/metrics on (http:\/\/127\.0\.0\.1:\d+)$/m))[1]!;
  assert.equal((await httpGet(`${base}/healthz`)).status, 200);
  await eventually(async () => ((await httpGet(`${base}/readyz`)).status === 200 ? true : undefined), { what: '/readyz turns 200', timeout: 180_000, every: 100 });
  assert.deepEqual([...(await groupMembers(n.group)).values()], [[0, 1]], 'when the supervisor is ready, a replica is in the group with both partitions');

  await produce(n.from, Array.from({ length: 5 }, (_, i) => ({ key: `x${i}`, value: 'not json' })));
  await consumeAll(n.dlq, { count: 5 });
  const m = await eventually(async () => {
    const r = await httpGet(`${base}/metrics`);
    return metricValue(r.body, 'lagless_consumer_lag') === 0 ? r.body : undefined;
  }, { what: '/metrics shows the group lag back at 0 and the wish', timeout: 30_000 });
  assert.match(m, new RegExp(`^lagless_desired_replicas\\{group="${n.group}",topic="${n.from}"\\} 1$`, 'm'));

  const stopped = await stopLagless(sup);
  assert.equal(stopped.code, 0, stopped.stderr);
});
