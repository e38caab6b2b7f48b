// recordBatchBytes against the real broker: a record of exactly a topic's max.message.bytes is accepted, one byte
// more is refused (what exactly-once relies on to refuse an output before it joins a transaction).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAdmin, createRecordProducer, findKafkaErrorId, readMaxMessageBytes, recordBatchBytes, type SizedRecord } from '../../src/kafka/index.ts';
import { createTopic, testBrokers, uniqueName } from '../helpers/kafka.ts';

const LIMIT = 3000;

test('recordBatchBytes is exact: a record of max.message.bytes is accepted, one byte more is refused (key, value, headers, null key)', async (t) => {
  const topic = await createTopic(t, uniqueName('size'), 1, { 'max.message.bytes': String(LIMIT) });
  const admin = createAdmin({ brokers: testBrokers(), clientId: 'lagless-test' });
  t.after(() => admin.close());
  assert.equal((await readMaxMessageBytes(admin, [topic])).get(topic), LIMIT);
  const producer = createRecordProducer({ brokers: testBrokers(), clientId: 'lagless-test' });
  t.after(() => producer.close());
  const shapes: ((pad: string) => SizedRecord)[] = [
    (pad) => ({ key: 'k', value: pad }),
    (pad) => ({ key: null, value: Buffer.from(pad) }),
    (pad) => ({ key: 'a-key', value: pad, headers: { 'content-type': 'text/plain', trace: Buffer.from('t-1') } }),
  ];
  for (const shape of shapes) {
    // The value that makes the batch exactly LIMIT bytes (the varint of the length can step at the boundary).
    let n = LIMIT - 300;
    while (recordBatchBytes(shape('x'.repeat(n + 1))) <= LIMIT) n += 1;
    const exact = shape('x'.repeat(n));
    assert.equal(recordBatchBytes(exact), LIMIT);
    const send = (r: SizedRecord) =>
      producer.send({ messages: [{ topic, value: r.value ?? null, ...(r.key !== undefined ? { key: r.key } : {}), ...(r.headers ? { headers: r.headers as Record<string, string | Uint8Array> } : {}) }] });
    await send(exact);
    await assert.rejects(send(shape('x'.repeat(n + 1))), (e) => findKafkaErrorId(e, 'MESSAGE_TOO_LARGE') || findKafkaErrorId(e, 'RECORD_LIST_TOO_LARGE'));
  }
});
