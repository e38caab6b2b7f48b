// End to end, --guarantee exactly-once across a broker restart mid-run (a broker of this test's own, stopped and started
// again on the same data directory): kcat (librdkafka, read_committed) counts every id exactly once.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../../src/common/index.ts';
import { createAdmin, createProducer, ensureTopic, readGroupLag } from '../../src/kafka/index.ts';
import { runCli } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { exitedReason } from '../helpers/cli.ts';
import { PARTITIONS, assertExactlyOnce, readBack, skip, startMember, stopMember, type Topics } from '../helpers/exactly-once.ts';
import { uniqueName } from '../helpers/kafka.ts';

test('exactly-once: a broker restart mid-run, each id once for a read_committed reader', { skip }, async (t) => {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'lagless-eos-broker-'));
  const brokerArgs = ['--port', String(port), '--data-dir', dataDir];
  t.after(async () => {
    await runCli(['kafka', 'stop', ...brokerArgs]);
    await rm(dataDir, { recursive: true, force: true });
  });
  const started = await runCli(['kafka', 'start', ...brokerArgs], { timeoutMs: 180_000 });
  assert.equal(started.code, 0, started.stderr);
  const brokers = [`127.0.0.1:${port}`];

  const tp: Topics = { from: uniqueName('eos-restart-in'), to: uniqueName('eos-restart-out'), dlq: uniqueName('eos-restart-dlq'), group: uniqueName('e2e-eos-restart') };
  const admin = createAdmin({ brokers, clientId: 'lagless-test' });
  t.after(() => admin.close().catch(() => {}));
  for (const name of [tp.from, tp.to, tp.dlq]) await ensureTopic(admin, { name, partitions: PARTITIONS }, brokers);
  const TOTAL = 6000;
  const ids = Array.from({ length: TOTAL }, (_, n) => `${tp.group}-${n}`);
  const producer = createProducer({ brokers, clientId: 'lagless-test' });
  for (let i = 0; i < TOTAL; i += 1000) await producer.send({ messages: ids.slice(i, i + 1000).map((id) => ({ topic: tp.from, key: id, value: JSON.stringify({ id }) })) });
  await producer.close();
  await admin.close();

  const committed = async () => {
    const a = createAdmin({ brokers, clientId: 'lagless-test' });
    try {
      const lag = (await readGroupLag(a, tp.group, new Map([[tp.from, PARTITIONS]]))).get(tp.from)!;
      return { done: lag.partitions.reduce((s, p) => s + (p.committed ?? 0n), 0n), lag: lag.lag, partitions: lag.partitions.length };
    } finally {
      await a.close().catch(() => {});
    }
  };
  // Small transactions (at most 50 records each): the member is in the middle of the input when the broker stops.
  const member = startMember(t, 'noop', tp, ['--max-in-flight', '50'], brokers);
  await eventually(async () => (await committed()).done >= 500n, { what: 'the member commits 500 records', timeout: 120_000, failIf: exitedReason(member) });
  const stopped = await runCli(['kafka', 'stop', ...brokerArgs], { timeoutMs: 90_000 });
  assert.equal(stopped.code, 0, stopped.stderr);
  const restarted = await runCli(['kafka', 'start', ...brokerArgs], { timeoutMs: 180_000 });
  assert.equal(restarted.code, 0, restarted.stderr);
  const at = (await committed()).done;
  assert.ok(at < BigInt(TOTAL), `the broker restarted mid-run (${at} of ${TOTAL} committed)`);
  // The same member carries on (it reconnects); nothing is redone twice where a read_committed reader can see it.
  await eventually(async () => {
    const c = await committed();
    return c.partitions === PARTITIONS && c.lag === 0n;
  }, { what: 'the member commits the end of the input after the restart', timeout: 240_000, every: 500, failIf: exitedReason(member) });
  await stopMember(member);
  const { committed: records, uncommitted } = await readBack(tp, brokers);
  assertExactlyOnce(ids, records, 'read_committed');
  t.diagnostic(`${TOTAL} ids; broker restarted at ${at} committed; read_committed ${records.length}, read_uncommitted ${uncommitted.length}`);
});
