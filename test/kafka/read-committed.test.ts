// read_committed as Kafka defines it: records of aborted transactions never reach a Lagless consumer, whatever the
// producer ids, the interleaving and how the fetch responses cut the log (the client's own filter lets some through).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IS_CONTROL, IS_TRANSACTIONAL, Producer, stringSerializers, type RecordsBatch } from '@platformatic/kafka';
import { createConsumer, dropAbortedRecords, TransactionalProducer } from '../../src/kafka/index.ts';
import { createTopic, testBrokers, uniqueName } from '../helpers/kafka.ts';
import { hasKcat, kcatRead, kcatSkipReason } from '../helpers/kcat.ts';

function batch(producerId: bigint, firstOffset: bigint, n: number, kind: 'data' | 'txn' | 'abort' | 'commit'): RecordsBatch {
  const control = kind === 'abort' || kind === 'commit';
  const key = Buffer.alloc(4);
  key.writeInt16BE(kind === 'abort' ? 0 : 1, 2);
  return {
    firstOffset,
    length: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes: (kind === 'data' ? 0 : IS_TRANSACTIONAL) | (control ? IS_CONTROL : 0),
    lastOffsetDelta: n - 1,
    firstTimestamp: 0n,
    maxTimestamp: 0n,
    producerId,
    producerEpoch: 0,
    firstSequence: 0,
    records: Array.from({ length: n }, (_, i) => ({
      length: 0,
      attributes: 0,
      timestampDelta: 0n,
      offsetDelta: i,
      key: control ? key : Buffer.from(`${producerId}-${firstOffset + BigInt(i)}`),
      value: null,
      headers: [],
    })),
  };
}

const kept = (batches: RecordsBatch[]) => batches.flatMap((b) => (b.attributes & IS_CONTROL ? [] : b.records.map((r) => r.key!.toString())));

test('dropAbortedRecords: two aborted transactions of one producer, a committed one between, another producer interleaved', () => {
  const records = [
    batch(7n, 0n, 2, 'txn'), // aborted
    batch(-1n, 2n, 1, 'data'),
    batch(7n, 3n, 1, 'abort'),
    batch(7n, 4n, 2, 'txn'), // committed
    batch(9n, 6n, 1, 'txn'), // producer 9: aborted
    batch(7n, 7n, 1, 'commit'),
    batch(7n, 8n, 3, 'txn'), // aborted
    batch(9n, 11n, 1, 'abort'),
    batch(7n, 12n, 1, 'abort'),
    batch(7n, 13n, 1, 'txn'), // committed (its marker is in a later response)
  ];
  const partition = { abortedTransactions: [{ producerId: 7n, firstOffset: 8n }, { producerId: 7n, firstOffset: 0n }, { producerId: 9n, firstOffset: 6n }], records };
  const dropped = dropAbortedRecords(partition);
  assert.deepEqual(kept(records), ['-1-2', '7-4', '7-5', '7-13']);
  assert.equal(dropped, 6);
  assert.equal(records.length, 10, 'batches stay (the consumer advances past the last one), emptied');
  assert.equal(partition.abortedTransactions, null, 'nothing left for the client filter');
});

test('dropAbortedRecords: an aborted transaction whose marker is beyond this response is dropped up to the end', () => {
  const records = [batch(3n, 10n, 2, 'txn'), batch(3n, 12n, 2, 'txn')];
  dropAbortedRecords({ abortedTransactions: [{ producerId: 3n, firstOffset: 10n }], records });
  assert.deepEqual(kept(records), []);
  assert.equal(records[1]!.records.length, 0);
  // Without aborted transactions nothing changes.
  const plain = [batch(3n, 20n, 2, 'txn'), batch(-1n, 22n, 1, 'data')];
  assert.equal(dropAbortedRecords({ abortedTransactions: [], records: plain }), 0);
  assert.deepEqual(kept(plain), ['3-20', '3-21', '-1-22']);
});

test('a Lagless consumer reads exactly the committed records of a producer that aborts several transactions (as kcat does)', async (t) => {
  const topic = await createTopic(t, uniqueName('rc'), 1);
  const brokers = testBrokers();
  const txp = new TransactionalProducer(
    () => new Producer({ clientId: 'lagless-test-txn', bootstrapBrokers: brokers, serializers: stringSerializers, idempotent: true, transactionalId: uniqueName('rc-txn') }),
    { transactionTimeoutMs: 10_000, stepTimeoutMs: 30_000 },
  );
  const plain = new Producer({ clientId: 'lagless-test', bootstrapBrokers: brokers, serializers: stringSerializers, idempotent: true });
  t.after(() => txp.close());
  t.after(() => plain.close(true));
  // Aborted transactions come from a raw producer with a fixed id; committed ones from TransactionalProducer with another.
  const aborting = new Producer({ clientId: 'lagless-test-abort', bootstrapBrokers: brokers, serializers: stringSerializers, idempotent: true, transactionalId: uniqueName('rc-abort') });
  t.after(() => aborting.close(true));
  const expected: string[] = [];
  let first = true;
  for (let i = 0; i < 6; i++) {
    const txn = await aborting.beginTransaction(first ? { producerId: -1n, producerEpoch: -1 } : {});
    first = false;
    await txn.send({ messages: [{ topic, key: `aborted-${i}-a`, value: 'x' }] });
    await plain.send({ messages: [{ topic, key: `plain-${i}`, value: 'x' }] });
    expected.push(`plain-${i}`);
    await txn.send({ messages: [{ topic, key: `aborted-${i}-b`, value: 'x' }] });
    await txn.abort();
    if (i % 2 === 1) {
      await txp.commit([{ topic, key: `committed-${i}`, value: 'x' }], [], { groupId: 'unused', generationId: -1, memberId: '', coordinatorId: -1 });
      expected.push(`committed-${i}`);
    }
  }
  // Small fetches cut the log at many places, large ones take it whole.
  for (const maxBytes of [150, 1024 * 1024]) {
    const consumer = createConsumer({ brokers, clientId: 'lagless-test-reader', groupId: uniqueName('rc-reader'), extra: { maxWaitTime: 100, maxBytes } });
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest' });
    const keys: string[] = [];
    try {
      for await (const m of stream) {
        keys.push(m.key!);
        if (keys.length === expected.length) break;
      }
    } finally {
      await stream.close().catch(() => {});
      await consumer.close(true).catch(() => {});
    }
    assert.deepEqual(keys.sort(), [...expected].sort(), `maxBytes ${maxBytes}`);
  }
  if (hasKcat) {
    const kc = await kcatRead(topic, 'read_committed');
    assert.deepEqual(kc.map((r) => r.key).sort(), [...expected].sort(), 'kcat agrees');
    const all = await kcatRead(topic, 'read_uncommitted');
    assert.equal(all.filter((r) => r.key?.startsWith('aborted-')).length, 12, 'the aborted records are in the log');
  } else {
    t.diagnostic(`kcat cross-check skipped: ${kcatSkipReason}`);
  }
});
