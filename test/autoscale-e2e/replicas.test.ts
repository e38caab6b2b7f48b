// Replica autoscaling end to end: `lagless run palette --replicas` adds and removes processes with the load, replaces one killed with
// kill -9, and across all of these rebalances every input record ends as a palette or a dead letter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startImageServer, type ImageServer } from '../../src/image-server/index.ts';
import { runCli } from '../helpers/cli.ts';
import { consumeAll, produce } from '../helpers/kafka.ts';
import {
  createPipelineTopics,
  eventually,
  httpGet,
  metricValue,
  replicaPids,
  startLagless,
  stopLagless,
  waitForStderr,
  type PipelineNames,
} from '../helpers/lagless-process.ts';

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
  const out = await consumeAll(n.to, { idleMs: 3000, timeoutMs: 120_000 });
  const dead = await consumeAll(n.dlq, { idleMs: 3000, timeoutMs: 60_000 });
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
  const n = await createPipelineTopics(t, 'as-replicas', 6);
  const images = await startImageServer({ latencyMs: 20 });
  t.after(() => images.close());
  const sup = startLagless(t, [
    'run', 'palette', '--from', n.from, '--to', n.to, '--dlq', n.dlq, '--group', n.group, '--allow-host', new URL(images.url).host,
    '--replicas', '1..3', '--idle-timeout', '5s', '--session-timeout', '6s', '--drain-timeout', '10s',
    '--status-topic', n.statusTopic, '--status-every', '1s', '--http-port', '0',
  ]);
  const metricsUrl = `${(await waitForStderr(sup, /serving \/healthz, \/readyz and \/metrics on (http:\/\/\S+)/))[1]}/metrics`;
  await waitForStderr(sup, /\[replica 1\] assignment \(generation \d+\): partitions \[0,1,2,3,4,5\]/);
  assert.equal(metricValue((await httpGet(metricsUrl)).body, 'lagless_desired_replicas'), 1);

  // Follow the supervisor's wish as an orchestrator would, from /metrics.
  const wishes: number[] = [];
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

  await waitForStderr(sup, /scale up 1→2: /, 60_000);
  // A replica other than the first joins and gets partitions. (Its number is not always 2: a start that the policy
  // cancels at once, because the need went away on the next tick, uses up a number.)
  await waitForStderr(sup, /\[replica (?:[2-9]|\d\d+)\] assignment \(generation \d+\): partitions \[\d/, 60_000);
  const down = await waitForStderr(sup, /scale down [23]→1: idle for [\d.]+s/, 120_000);
  await waitForStderr(sup, /replica \d+ \(pid \d+\) exited with code 0\n/, 60_000, down.index);
  await eventually('the wish in /metrics is back to 1', () => (wishes.at(-1) === 1 ? true : undefined), 10_000);
  clearInterval(scraper);

  const res = await stopLagless(sup);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /stopping 1 replica\(s\): each drains, commits and leaves the group/, 'back to one replica process');
  assert.match(res.stderr, /stopped; 0 replica\(s\) were replaced after an unexpected exit/);
  assert.doesNotMatch(res.stderr, /unexpected, starting a replacement/);
  assert.ok(Math.max(...wishes) >= 2 && wishes[0] === 1 && wishes.at(-1) === 1, `lagless_desired_replicas went ${wishes.join(' → ')}`);

  const { duplicates } = await assertNothingLost(n, produced + bad.length, bad);
  const events = [...res.stderr.matchAll(/^\S+ (scale (?:up|down) .*)$/gm)].map((m) => m[1]);
  t.diagnostic(`${produced + bad.length} inputs, ${duplicates} duplicate output(s); wish ${wishes.join(' → ')}; events:\n${events.join('\n')}`);
});

test('a replica killed with kill -9 is replaced by the supervisor, and no record is lost', async (t) => {
  const n = await createPipelineTopics(t, 'as-kill', 6);
  const images = await startImageServer({ latencyMs: 50 });
  t.after(() => images.close());
  const sup = startLagless(t, [
    'run', 'palette', '--from', n.from, '--to', n.to, '--dlq', n.dlq, '--group', n.group, '--allow-host', new URL(images.url).host,
    '--replicas', '2..2', '--session-timeout', '6s', '--drain-timeout', '10s', '--max-in-flight', '200',
    '--status-topic', n.statusTopic, '--status-every', '1s',
  ]);
  await waitForStderr(sup, /\[replica 1\] assignment \(generation \d+\): partitions \[\d/);
  await waitForStderr(sup, /\[replica 2\] assignment \(generation \d+\): partitions \[\d/);

  const bad = badRecords(images, 'bad-kill');
  await produce(n.from, bad.map((b) => ({ key: b.id, value: JSON.stringify({ id: b.id, url: b.url }) })));
  // A steady load; the kill lands while both replicas have records in flight.
  const loading = runCli(['produce', '--topic', n.from, '--source', 'synthetic', '--image-base', images.url, '--rate', '100', '--duration', '15s', '--quiet', '--json']);
  await eventually('both replicas are processing', async () => {
    const out = await consumeAll(n.to, { idleMs: 300, timeoutMs: 5000 });
    return out.length >= 300 ? true : undefined;
  }, 30_000, 1000);
  const victim = replicaPids(sup).get(1)!;
  process.kill(victim, 'SIGKILL');
  await waitForStderr(sup, new RegExp(`replica 1 \\(pid ${victim}\\) exited on SIGKILL: unexpected, starting a replacement`), 10_000);
  await waitForStderr(sup, /replica 3 started \(pid \d+\)/, 30_000);
  await waitForStderr(sup, /\[replica 3\] assignment \(generation \d+\): partitions \[\d/, 60_000);

  const load = await loading;
  assert.equal(load.code, 0, load.stderr);
  const produced = (JSON.parse(load.stdout) as { delivered: number }).delivered;
  // The group catches up: the committed offsets reach the log end.
  await eventually('lag back to 0', async () => {
    const res = await runCli(['status', '--group', n.group, '--status-topic', n.statusTopic, '--json']);
    if (res.code !== 0) throw new Error(`lagless status exited with ${res.code}: ${res.stderr}`);
    const s = JSON.parse(res.stdout) as { totalLag: number; partitions: { partition: number; lag: number; owner: string | null }[] };
    if (s.totalLag === 0) return true;
    // Kept as the last error, so that a timeout says where the lag was.
    throw new Error(`lag ${s.totalLag}: ${JSON.stringify(s.partitions.filter((p) => p.lag > 0))}`);
  }, 90_000, 1000);

  const res = await stopLagless(sup);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /stopped; 1 replica\(s\) were replaced after an unexpected exit/);
  const { duplicates } = await assertNothingLost(n, produced + bad.length, bad);
  // At-least-once: the killed replica's uncommitted window (at most --max-in-flight records) may be done twice.
  t.diagnostic(`${produced + bad.length} inputs, ${duplicates} duplicate output(s) after the kill`);
});
