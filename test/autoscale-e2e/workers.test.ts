// In-process worker autoscaling end to end: a step load from the synthetic source scales `lagless run palette` from 1 to 2 workers and back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startImageServer } from '../../src/image-server/index.ts';
import { runCli } from '../helpers/cli.ts';
import { consumeAll } from '../helpers/kafka.ts';
import { eventually } from '../helpers/eventually.ts';
import { createPipelineTopics, startLagless, stopLagless, waitForStderr } from '../helpers/lagless-process.ts';

interface StatusJson {
  members: {
    role: string;
    live: boolean;
    workers: { active: number; max: number };
    wish?: { workers?: number; reason: string };
    output?: string;
    dlq?: string;
    guarantee?: string;
    scaleEvents?: { unit: string; from: number; to: number; reason: string }[];
  }[];
  wish: { workers?: number; reasons: string[] };
}

test('a step load scales the workers of one process from 1 to 2, and they go back to 1 after the idle timeout', async (t) => {
  const n = await createPipelineTopics(t, 'as-workers', 4);
  const images = await startImageServer({ latencyMs: 20 });
  t.after(() => images.close());
  const hostPort = new URL(images.url).host;

  const run = startLagless(t, [
    'run', 'palette', '--from', n.from, '--to', n.to, '--dlq', n.dlq, '--group', n.group, '--allow-host', hostPort,
    '--min-workers', '1', '--max-workers', '2', '--idle-timeout', '5s',
    '--status-topic', n.statusTopic, '--status-every', '1s', '--status-interval', '2s',
  ]);
  await waitForStderr(run, /assignment \(generation \d+\): partitions \[0,1,2,3\]/);
  const status = async (): Promise<StatusJson> => {
    const res = await runCli(['status', '--group', n.group, '--status-topic', n.statusTopic, '--json']);
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout) as StatusJson;
  };
  const replicaOf = (s: StatusJson) => s.members.find((m) => m.role === 'replica' && m.live);
  const idle = await eventually(async () => replicaOf(await status()), { what: 'the process publishes its status' });
  assert.deepEqual(idle.workers.active, 1, 'starts at --min-workers');
  assert.equal(idle.workers.max, 2);

  // A low rate, then a step far above what one worker does here (about 100-150 images/s per core): a backlog forms.
  const load = await runCli(['produce', '--topic', n.from, '--source', 'synthetic', '--image-base', images.url, '--profile', 'steps:10@2s,600@5s', '--quiet', '--json']);
  assert.equal(load.code, 0, load.stderr);
  const produced = (JSON.parse(load.stdout) as { delivered: number }).delivered;
  assert.equal(produced, 3020);

  const up = await waitForStderr(run, /^.* (scale up 1→2: .*)$/m, 60_000);
  const busy = await eventually(async () => {
    const m = replicaOf(await status());
    return m && m.workers.active === 2 ? m : undefined;
  }, { what: 'lagless status shows 2 active workers' });
  assert.equal(busy.wish?.workers, 2);
  // The status record carries what readers such as the dashboard need: topics, guarantee and the scale event with its reason.
  assert.equal(busy.output, n.to);
  assert.equal(busy.dlq, n.dlq);
  assert.equal(busy.guarantee, 'at-least-once');
  assert.deepEqual(busy.scaleEvents?.map((e) => ({ ...e, at: undefined })), [{ at: undefined, unit: 'workers', from: 1, to: 2, reason: up[1]!.replace(/ \(downloads in flight up to \d+\)$/, '') }]);

  const upAt = up.index! + up[0].length;
  const down = await waitForStderr(run, /^.* (scale down 2→1: idle for [\d.]+s.*)$/m, 90_000, upAt);
  assert.match(down[1]!, /need [\d.]+ workers/);
  const back = await eventually(async () => {
    const s = await status();
    const m = replicaOf(s);
    return m && m.workers.active === 1 ? s : undefined;
  }, { what: 'lagless status shows 1 active worker again' });
  assert.equal(back.wish.workers, 1);
  t.diagnostic(`scale events: "${up[1]}" then "${down[1]}"`);

  // Scaling changed nothing about the outcome: every record became a palette.
  const out = await consumeAll(n.to, { count: produced, timeoutMs: 60_000 });
  assert.equal(new Set(out.map((r) => r.key)).size, produced);
  const res = await stopLagless(run);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /stopped after .*: \d+ output\(s\), 0 dead letter\(s\)/);
  // Exactly two scale events: no flapping while the load was steady.
  assert.equal([...res.stderr.matchAll(/ scale (up|down) /g)].length, 2, res.stderr);
});
