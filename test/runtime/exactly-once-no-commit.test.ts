// Regression (issue 22, 5a): exactly-once, a partition that has no committed offset yet comes back to a member that
// had fetched it before. @platformatic/kafka keeps that member's stale fetch position for a partition without a
// committed offset, and the exactly-once gate let everything through when the stable committed offset was -1: the
// records fetched the first time were never fetched again, and the member committed past them (lost).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { JobDefinition } from '../../src/index.ts';
import { Transformer, type GroupProtocol } from '../../src/runtime/index.ts';
import { eventually } from '../helpers/eventually.ts';
import { assertExactlyOnce, readBack } from '../helpers/exactly-once.ts';
import { createTopic, groupLag, produce, testBrokers, uniqueName } from '../helpers/kafka.ts';
import { kcatSkipReason } from '../helpers/kcat.ts';

const PARTITIONS = 2;

/** Every record waits until `open()`; aborted with its signal (a revocation, a stop). */
function gatedJob(): { job: JobDefinition; open: () => void; started: () => number } {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let started = 0;
  return {
    job: {
      name: 'gated',
      async run(record, { signal }) {
        started += 1;
        await new Promise<void>((resolve, reject) => {
          void gate.then(resolve);
          signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
        });
        return { value: record.value };
      },
    },
    open,
    started: () => started,
  };
}

for (const groupProtocol of ['classic', 'consumer'] as GroupProtocol[]) {
  test(`exactly-once (${groupProtocol}): a partition with no committed offset that comes back to a member that fetched it is read again from its start`, { skip: kcatSkipReason }, async (t: TestContext) => {
    const tp = {
      from: await createTopic(t, uniqueName('eos-nocommit-in'), PARTITIONS),
      to: await createTopic(t, uniqueName('eos-nocommit-out'), PARTITIONS),
      dlq: await createTopic(t, uniqueName('eos-nocommit-dlq'), PARTITIONS),
      group: uniqueName('eos-nocommit'),
    };
    const ids = Array.from({ length: 200 }, (_, i) => `${tp.group}-${i}`);
    await produce(tp.from, ids.map((id, i) => ({ key: id, value: JSON.stringify({ id }), partition: i % PARTITIONS })));
    const gated = gatedJob();
    const member = (name: string, extra: Partial<ConstructorParameters<typeof Transformer>[1]> = {}) => {
      const tr = new Transformer(gated.job, {
        kafka: { brokers: testBrokers() },
        ...tp,
        clientId: `${tp.group}-${name}`,
        groupProtocol,
        guarantee: 'exactly-once',
        transactionalId: uniqueName(`txn-${name}`),
        sessionTimeoutMs: 6000,
        ...extra,
      });
      t.after(() => tr.destroy());
      return tr;
    };
    // 1. a alone fetches records of both partitions; none can finish, so nothing is committed.
    const a = member('a');
    await a.start();
    await eventually(() => a.stats().assigned.length === PARTITIONS && a.stats().received === ids.length, { what: 'a fetched every record', timeout: 120_000, every: 50 });
    // 2. b joins and takes a partition; nothing of it finishes there either, and b stops (abandoning what it holds).
    const b = member('b', { drainTimeoutMs: 200 });
    await b.start();
    await eventually(() => (b.stats().assigned.length === 1 && a.stats().assigned.length === 1 ? true : undefined), { what: 'one partition moved to b', timeout: 120_000, every: 50 });
    await eventually(() => b.stats().received > 0, { what: 'b fetched records of its partition', timeout: 60_000, every: 50 });
    await b.close();
    await eventually(() => a.stats().assigned.length === PARTITIONS, { what: 'the partition back at a', timeout: 120_000, every: 50 });
    const lag = await groupLag(tp.from, PARTITIONS, tp.group);
    assert.ok(lag.partitions.every((p) => p.committed === undefined || p.committed === null || p.committed < 0n), 'no committed offset yet');
    // 3. Everything may finish now: every id must come out once.
    gated.open();
    await eventually(
      async () => {
        const l = await groupLag(tp.from, PARTITIONS, tp.group);
        if (l.lag === 0n && l.partitions.every((p) => p.committed !== undefined && p.committed !== null && p.committed >= 0n)) return true;
        throw new Error(`committed ${l.partitions.map((p) => `${p.partition}:${p.committed}`).join(' ')}`);
      },
      { what: 'every record committed', timeout: 120_000, every: 200 },
    );
    await a.close();
    const back = await readBack(tp);
    assertExactlyOnce(ids, back.committed, 'read_committed');
  });
}
