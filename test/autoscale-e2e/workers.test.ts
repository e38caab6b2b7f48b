// In-process worker autoscaling end to end: a step load from the synthetic source scales `lagless run palette` from 1 to 2 workers and back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startImageServer } from '../../src/image-server/index.ts';
import { exitedReason, runCli } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { consumeAll, groupMembers, laglessClientId } from '../helpers/kafka.ts';
import { createPipelineTopics, groupStatus, startLagless, stopLagless } from '../helpers/lagless-process.ts';

interface StatusJson {
  members: {
    role: string;
    live: boolean;
    workers: { active: number; max: number };
    totals: { ok: number };
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
  await eventually(async () => (await groupMembers(n.group)).get(laglessClientId(run.pid))?.length === 4, {
    what: 'the process in the group with the 4 partitions',
    timeout: 180_000,
    every: 500,
    failIf: exitedReason(run),
  });
  // Polled in this process (what `lagless status --json` prints); the CLI itself is run once at the end.
  const status = async (): Promise<StatusJson> => (await groupStatus(n)) as unknown as StatusJson;
  const replicaOf = (s: StatusJson) => s.members.find((m) => m.role === 'replica' && m.live);
  const idle = await eventually(async () => replicaOf(await status()), { what: 'the process publishes its status', every: 1000, failIf: exitedReason(run) });
  assert.deepEqual(idle.workers.active, 1, 'starts at --min-workers');
  assert.equal(idle.workers.max, 2);

  // A low rate, then a step far above what one worker does here (about 100-150 images/s per core): a backlog forms.
  const load = await runCli(['produce', '--topic', n.from, '--source', 'synthetic', '--image-base', images.url, '--profile', 'steps:10@2s,600@5s', '--quiet', '--json']);
  assert.equal(load.code, 0, load.stderr);
  const produced = (JSON.parse(load.stdout) as { delivered: number }).delivered;
  assert.equal(produced, 3020);

  const busy = await eventually(async () => {
    const m = replicaOf(await status());
    return m && m.workers.active === 2 ? m : undefined;
  }, { what: 'lagless status shows 2 active workers', timeout: 180_000, every: 1000, failIf: exitedReason(run) });
  assert.equal(busy.wish?.workers, 2);
  // The status record carries what readers such as the dashboard need: topics, guarantee and the scale event with its reason.
  assert.equal(busy.output, n.to);
  assert.equal(busy.dlq, n.dlq);
  assert.equal(busy.guarantee, 'at-least-once');
  assert.deepEqual(busy.scaleEvents?.map((e) => ({ unit: e.unit, from: e.from, to: e.to })), [{ unit: 'workers', from: 1, to: 2 }]);
  const upReason = busy.scaleEvents![0]!.reason;
  assert.match(upReason, /^scale up 1→2: ./);
  assert.ok(run.output.stderr.includes(upReason), `the event's reason is the logged one: ${upReason}`);

  // After the backlog (a loaded machine takes longer: the wait fails only when the outputs stop growing for 90 s).
  const back = await eventually(async (progress) => {
    const s = await status();
    const m = replicaOf(s);
    if (m) progress(m.totals.ok);
    return m && m.workers.active === 1 ? s : undefined;
  }, { what: 'lagless status shows 1 active worker again', timeout: 600_000, stall: 90_000, every: 1000, failIf: exitedReason(run) });
  assert.equal(back.wish.workers, 1);
  const cli = await runCli(['status', '--group', n.group, '--status-topic', n.statusTopic, '--json']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(replicaOf(JSON.parse(cli.stdout) as StatusJson)?.workers.active, 1, 'lagless status --json shows the one active worker');

  // Scaling changed nothing about the outcome: every record became a palette.
  const out = await consumeAll(n.to, { count: produced, timeoutMs: 60_000 });
  assert.equal(new Set(out.map((r) => r.key)).size, produced);
  const res = await stopLagless(run);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /stopped after .*: \d+ output\(s\), 0 dead letter\(s\)/);
  // Exactly two scale events, up then down after idling: no flapping while the load was steady.
  const events = [...res.stderr.matchAll(/ (scale (?:up|down) .*)$/gm)].map((m) => m[1]!);
  t.diagnostic(`scale events: ${events.map((e) => `"${e}"`).join(' then ')}`);
  assert.equal(events.length, 2, res.stderr);
  assert.match(events[0]!, /^scale up 1→2: /);
  assert.match(events[1]!, /^scale down 2→1: idle for [\d.]+s.*need [\d.]+ workers/);
});
