// A local 3-node cluster through the real CLI: start, status of every node, RF 3 and min.insync.replicas=2 by default, kill -9 / restart / pause / resume of one node by id, stop.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePortRange } from '../../src/common/index.ts';
import { createAdmin, createProducer } from '../../src/kafka/index.ts';
import { runCli } from '../helpers/cli.ts';
import { consumeAll } from '../helpers/kafka.ts';

interface NodeJson {
  nodeId: number;
  running: boolean;
  paused: boolean;
  reachable: boolean;
  leaderOf?: number;
  rssBytes?: number;
}

test('kafka start --nodes 3: every node answers, topics get 3 replicas and min.insync.replicas=2, a node can be killed, restarted, paused and resumed by id', async (t) => {
  const port = await freePortRange(3);
  const dataDir = await mkdtemp(join(tmpdir(), 'lagless-cluster-test-'));
  const where = ['--port', String(port), '--data-dir', dataDir];
  t.after(async () => {
    await runCli(['kafka', 'stop', ...where]);
    await rm(dataDir, { recursive: true, force: true });
  });
  const status = async () => {
    const res = await runCli(['kafka', 'status', '--json', ...where]);
    return { code: res.code, nodes: (JSON.parse(res.stdout) as { nodes: NodeJson[] }).nodes };
  };

  const start = await runCli(['kafka', 'start', '--nodes', '3', '--heap', '384m', ...where], { timeoutMs: 240_000 });
  assert.equal(start.code, 0, start.stderr);
  const bootstrap = [0, 1, 2].map((i) => `127.0.0.1:${port + i}`);
  assert.equal(start.stdout.trim(), bootstrap.join(','), 'start prints every node on stdout');
  const up = await status();
  assert.equal(up.code, 0);
  assert.deepEqual(up.nodes.map((n) => [n.nodeId, n.running, n.reachable, n.paused]), [[1, true, true, false], [2, true, true, false], [3, true, true, false]]);
  assert.ok(up.nodes.every((n) => (n.rssBytes ?? 0) > 0), 'status reports each node\'s resident memory');

  // A topic created by Lagless without a replication factor: 3 replicas, 2 needed in sync.
  const created = await runCli(['topics', 'create', 'replicated', '--partitions', '3', '--brokers', bootstrap.join(',')]);
  assert.equal(created.code, 0, created.stderr);
  const admin = createAdmin({ brokers: bootstrap });
  t.after(() => admin.close());
  const md = await admin.metadata({ topics: ['replicated'], forceUpdate: true });
  for (const p of md.topics.get('replicated')!.partitions) assert.deepEqual([...p.replicas].sort(), [1, 2, 3]);
  const configs = await admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: 'replicated', configurationKeys: ['min.insync.replicas'] }] });
  assert.equal(configs[0]!.configs.find((c) => c.name === 'min.insync.replicas')?.value, '2');

  // kill -9 of node 2: status says so (exit 1), and the two others still take durable writes.
  const kill = await runCli(['kafka', 'kill', '--node', '2', ...where]);
  assert.equal(kill.code, 0, kill.stderr);
  assert.match(kill.stdout, /Killed \(kill -9\) node 2/);
  const down = await status();
  assert.equal(down.code, 1, 'status exits 1 while a node is down');
  assert.deepEqual(down.nodes.map((n) => n.running), [true, false, true]);
  const producer = createProducer({ brokers: [bootstrap[0]!, bootstrap[2]!] });
  t.after(() => producer.close());
  await producer.send({ messages: [0, 1, 2].map((i) => ({ topic: 'replicated', key: `k${i}`, value: `while node 2 is down ${i}`, partition: i })) });

  const restart = await runCli(['kafka', 'start', '--node', '2', ...where], { timeoutMs: 180_000 });
  assert.equal(restart.code, 0, restart.stderr);
  assert.match(restart.stderr, /node\(s\) 2 of 3 started/);
  assert.equal((await status()).code, 0, 'every node answers again after the restart');

  // SIGSTOP of node 3 shows as paused; SIGCONT brings it back.
  assert.equal((await runCli(['kafka', 'pause', '--node', 'node-3', ...where])).code, 0);
  const paused = await status();
  assert.equal(paused.code, 1);
  assert.deepEqual(paused.nodes.map((n) => n.paused), [false, false, true]);
  assert.equal((await runCli(['kafka', 'resume', '--node', '3', ...where])).code, 0);
  const resumed = await status();
  assert.deepEqual(resumed.nodes.map((n) => [n.running, n.paused]), [[true, false], [true, false], [true, false]]);

  // The records written while node 2 was down are all there.
  const got = await consumeAll('replicated', { count: 3, kafka: { brokers: bootstrap } });
  assert.deepEqual(got.map((r) => r.value).sort(), [0, 1, 2].map((i) => `while node 2 is down ${i}`));

  const unknown = await runCli(['kafka', 'kill', '--node', '7', ...where]);
  assert.equal(unknown.code, 2, 'an unknown node id is a usage error');
  assert.match(unknown.stderr, /--node/);

  const stop = await runCli(['kafka', 'stop', ...where], { timeoutMs: 120_000 });
  assert.equal(stop.code, 0, stop.stderr);
  assert.deepEqual([...stop.stdout.matchAll(/Stopped node (\d)/g)].map((m) => m[1]).sort(), ['1', '2', '3']);
  const after = await status();
  assert.deepEqual(after.nodes.map((n) => n.running), [false, false, false]);
});
