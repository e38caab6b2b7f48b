// `lagless run` with a careless user's job file (issue 22): a thrown null-prototype object and a run() that never
// settles each cost a dead letter with a code, the process goes on, and status and /metrics count the timeouts; a
// rejection the job itself leaves unhandled reaches the last-resort handler, which exits 1 with a code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { consumeAll, groupLag, produce } from '../helpers/kafka.ts';
import { createPipelineTopics, exitedReason, httpGet, metricValue, startLagless, stopLagless, waitForStderr } from '../helpers/lagless-process.ts';
import { waitCli } from '../helpers/cli.ts';

const JOB = 'test/cli/fixtures/hostile-job.ts';

test('a job file that throws a null-prototype object or never settles: dead letters JOB_FAILED and RECORD_TIMEOUT, the process goes on; status and /metrics count the timeouts', async (t) => {
  const n = await createPipelineTopics(t, 'hostile-file', 2);
  const run = startLagless(t, [
    'run', JOB, '--from', n.from, '--to', n.to, '--dlq', n.dlq, '--group', n.group,
    '--record-timeout', '500ms', '--attempts', '2', '--retry-base', '10ms',
    '--status-topic', n.statusTopic, '--status-every', '500ms', '--http-port', '0',
  ]);
  const base = (await waitForStderr(run, /serving \/healthz, \/readyz and \/metrics on (http:\/\/127\.0\.0\.1:\d+)$/m))[1]!;
  await produce(n.from, [
    { key: 'throw', value: 'throw' },
    { key: 'hang', value: 'hang' },
    ...Array.from({ length: 20 }, (_, i) => ({ key: `ok${i}`, value: `ok${i}` })),
  ]);
  const out = await consumeAll(n.to, { count: 20 });
  const dead = await consumeAll(n.dlq, { count: 2 });
  const codes = new Map(dead.map((d) => [d.key, JSON.parse(d.value) as { error: { code: string }; attempts: number }]));
  assert.equal(codes.get('throw')?.error.code, 'JOB_FAILED');
  assert.equal(codes.get('hang')?.error.code, 'RECORD_TIMEOUT');
  assert.equal(codes.get('hang')?.attempts, 2, 'the timeout is retried up to --attempts');
  assert.equal(out.length, 20);
  await eventually(async () => (await groupLag(n.from, 2, n.group)).lag === 0n, { what: 'every record committed', failIf: exitedReason(run) });
  const metrics = await eventually(async () => {
    const m = await httpGet(`${base}/metrics`);
    return metricValue(m.body, 'lagless_record_timeouts_total') === 2 ? m : undefined;
  }, { what: '/metrics counts the two timed-out attempts', timeout: 30_000 });
  assert.equal(metricValue(metrics.body, 'lagless_records_dead_lettered_total'), 2);
  const status = await eventually(async () => {
    const res = await runCli(['status', '--group', n.group, '--status-topic', n.statusTopic, '--json']);
    const s = JSON.parse(res.stdout) as { totals?: { timeouts: number; dead: number } };
    return s.totals?.timeouts === 2 ? s : undefined;
  }, { what: 'lagless status counts the timeouts', timeout: 30_000 });
  assert.equal(status.totals!.dead, 2);
  const res = await stopLagless(run);
  assert.equal(res.code, 0, res.stderr.slice(-2000));
});

test('a rejection the job leaves unhandled reaches the last-resort handler: it is reported with a code and the process exits 1', async (t) => {
  const n = await createPipelineTopics(t, 'hostile-leak', 1);
  const run = startLagless(t, ['run', JOB, '--from', n.from, '--to', n.to, '--dlq', n.dlq, '--group', n.group, '--status-every', '0'], { env: { LEAK: '1' } });
  await produce(n.from, [{ key: 'leak', value: 'leak' }]);
  const res = await waitCli(run, 120_000);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /^error \[INTERNAL\]/m, "reported with its code");
});
