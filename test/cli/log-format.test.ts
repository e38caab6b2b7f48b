// `lagless run --log-format json`: every line a process writes is one JSON object (a supervisor's and its replica's
// alike), with the level, the group, the member, the event's fields, and the code of every warning.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { groupLag, produce } from '../helpers/kafka.ts';
import { createPipelineTopics, exitedReason, startLagless, stopLagless } from '../helpers/lagless-process.ts';

type Line = Record<string, unknown> & { time: string; level: string; msg: string };

function parseLines(stderr: string): Line[] {
  return stderr
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Line;
      } catch {
        assert.fail(`a line that is not JSON: ${l}`);
      }
    });
}

test('--log-format json under a supervisor: JSON lines only, the replica\'s relayed with its number; assignment, status and stopped events', async (t) => {
  const n = await createPipelineTopics(t, 'logjson', 2);
  const run = startLagless(t, ['run', 'noop', '--from', n.from, '--to', n.to, '--dlq', n.dlq, '--group', n.group, '--replicas', '1..1', '--status-topic', n.statusTopic, '--status-interval', '500ms', '--log-format', 'json']);
  await produce(n.from, Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
  await eventually(async () => (await groupLag(n.from, 2, n.group)).lag === 0n, {
    what: 'the 20 records committed',
    timeout: 120_000,
    failIf: exitedReason(run),
  });
  await eventually(() => run.output.stderr.includes('"event":"status"'), { what: 'a status line', timeout: 60_000, failIf: exitedReason(run) });
  const res = await stopLagless(run, 90_000);
  assert.equal(res.code, 0, res.stderr);
  const lines = parseLines(res.stderr);
  for (const l of lines) {
    assert.ok(!Number.isNaN(Date.parse(l.time)) && ['debug', 'info', 'notice', 'warn', 'error'].includes(l.level) && typeof l.msg === 'string', JSON.stringify(l));
    assert.equal(l.group, n.group, `every line names the group: ${JSON.stringify(l)}`);
    if (l.level === 'warn') assert.match(String(l.code), /^[A-Z_]+$/, `a warning has its code: ${JSON.stringify(l)}`);
  }
  assert.ok(lines.some((l) => l.role === 'supervisor' && l.replica === undefined), 'the supervisor\'s own lines');
  const replica = lines.filter((l) => l.replica === 1);
  assert.ok(replica.some((l) => l.event === 'assignment' && Array.isArray(l.partitions) && (l.partitions as number[]).length === 2), 'the replica got both partitions');
  assert.ok(replica.some((l) => l.event === 'status' && typeof l.outputs === 'number'), 'status lines with their counters');
  const stopped = replica.find((l) => l.event === 'stopped');
  assert.ok(stopped, 'the replica\'s summary');
  assert.equal(stopped.outputs, 20);
  assert.equal(stopped.committed, true);
});
