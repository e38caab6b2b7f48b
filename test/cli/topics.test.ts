// `lagless topics create|list` against the run's broker, and the errors a user meets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAdmin } from '../../src/kafka/index.ts';
import { runCli } from '../helpers/cli.ts';
import { testBrokers, uniqueName } from '../helpers/kafka.ts';

test('topics create makes a topic, is harmless when it matches, and fails when partitions differ', async (t) => {
  const name = uniqueName('urls');
  const brokers = testBrokers().join(',');
  t.after(async () => {
    const admin = createAdmin({ brokers: testBrokers() });
    await admin.deleteTopics({ topics: [name] }).catch(() => {});
    await admin.close();
  });
  const created = await runCli(['topics', 'create', name, '--partitions', '8', '--brokers', brokers]);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, new RegExp(`Created topic ${name} with 8 partitions`));

  const again = await runCli(['topics', 'create', name, '--partitions', '8'], { env: { KAFKA_BROKERS: brokers } });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /already exists with 8 partitions/);

  const mismatch = await runCli(['topics', 'create', name, '--partitions', '3', '--brokers', brokers]);
  assert.equal(mismatch.code, 1);
  assert.match(mismatch.stderr, /already exists with 8 partitions, not 3/);

  const list = await runCli(['topics', 'list', '--json', '--brokers', brokers]);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(
    (JSON.parse(list.stdout) as { name: string; partitions: number }[]).find((x) => x.name === name),
    { name, partitions: 8 },
  );
  const table = await runCli(['topics', 'list', '--brokers', brokers]);
  assert.match(table.stdout, new RegExp(`^${name}\\s+8$`, 'm'));
  assert.doesNotMatch(table.stdout, /__consumer_offsets/, 'internal topics only with --all');
});

test('topics: usage errors exit 2 and name the option', async () => {
  const noPartitions = await runCli(['topics', 'create', 'x']);
  assert.equal(noPartitions.code, 2);
  assert.match(noPartitions.stderr, /--partitions/);
  const badPartitions = await runCli(['topics', 'create', 'x', '--partitions', '0']);
  assert.equal(badPartitions.code, 2);
  assert.match(badPartitions.stderr, /--partitions <n>.*expected an integer from 1/);
  const badName = await runCli(['topics', 'create', 'a b', '--partitions', '1', '--brokers', testBrokers().join(',')]);
  assert.equal(badName.code, 2);
  assert.match(badName.stderr, /invalid topic name "a b"/);
});

test('topics list against an unreachable broker names the address and suggests lagless kafka start', async () => {
  const res = await runCli(['topics', 'list', '--brokers', '127.0.0.1:1']);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /BROKER_UNREACHABLE.*127\.0\.0\.1:1/);
  assert.match(res.stderr, /lagless kafka start/);
});
