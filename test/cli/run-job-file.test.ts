// `lagless run <job-file>` as a group of replicas: --replicas supervises replica processes of a user's job (no worker
// threads), `lagless status` shows them under the job's name, and every record is done once the group has caught up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { consumeAll, createTopic, groupLag, produce, uniqueName } from '../helpers/kafka.ts';
import { createPipelineTopics, exitedReason, startLagless, stopLagless } from '../helpers/lagless-process.ts';

interface StatusJson {
  members: { role: string; live: boolean; job: string; assigned: number[] }[];
  brokerMembers: { clientId: string }[];
}

test('a job file runs under --replicas 2..2; lagless status shows its replicas under the job name', async (t) => {
  const n = await createPipelineTopics(t, 'jobfile', 4);
  const items = await createTopic(t, uniqueName('jobfile-items'), 4);
  const run = startLagless(
    t,
    ['run', 'examples/filter-fanout/job.ts', '--from', n.from, '--to', n.to, '--dlq', n.dlq, '--group', n.group, '--replicas', '2..2', '--status-topic', n.statusTopic, '--status-every', '1s'],
    { env: { ITEMS_TOPIC: items } },
  );
  const status = async (): Promise<StatusJson> => {
    const res = await runCli(['status', '--group', n.group, '--status-topic', n.statusTopic, '--json']);
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout) as StatusJson;
  };
  // Two replicas, each with partitions, publishing their status as the job "shop-orders".
  const both = await eventually(
    async () => {
      const s = await status();
      const replicas = s.members.filter((m) => m.role === 'replica' && m.live && m.assigned.length > 0);
      // Each replica publishes its own status every second: right after a rebalance one of them can still show the
      // partitions it had before, so the state we wait for is the settled one (the four partitions, each once).
      const shared = replicas.flatMap((m) => m.assigned).sort().join(',') === '0,1,2,3';
      return replicas.length === 2 && s.brokerMembers.length === 2 && shared ? replicas : undefined;
    },
    { what: 'two live replicas sharing the four partitions in lagless status', timeout: 90_000, failIf: exitedReason(run) },
  );
  assert.deepEqual(both.map((m) => m.job), ['shop-orders', 'shop-orders']);

  const orders = Array.from({ length: 40 }, (_, i) => ({
    key: `o${i}`,
    value: JSON.stringify(i % 4 === 0 ? { type: 'click', id: `o${i}` } : { type: 'order', id: `o${i}`, items: [{ sku: `s${i}`, qty: 1, price: 2 }] }),
  }));
  await produce(n.from, orders);
  const summaries = await consumeAll(n.to, { count: 30, timeoutMs: 90_000 });
  await eventually(async () => (await groupLag(n.from, 4, n.group)).lag === 0n, { what: 'the group has committed every order', timeout: 60_000, failIf: exitedReason(run) });
  const res = await stopLagless(run, 90_000);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(summaries.map((s) => s.key).sort(), orders.filter((_, i) => i % 4 !== 0).map((o) => o.key).sort(), 'every order has its summary; clicks none');
});
