// The record pipe into a real topic: every record delivered once, keyed by id; failures counted, never hidden.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResponseError } from '@platformatic/kafka';
import { createProducer } from '../../src/kafka/index.ts';
import { RecordPipe, recordValue, type RecordSource, type UrlRecord } from '../../src/sources/index.ts';
import { wrapApi, type KafkaApi } from '../helpers/client-faults.ts';
import { consumeAll, createTopic, testBrokers, uniqueName } from '../helpers/kafka.ts';

function listSource(records: UrlRecord[], failAfter?: number): RecordSource<{ n: number }> {
  let n = 0;
  return {
    kind: 'file',
    stats: () => ({ n }),
    async *[Symbol.asyncIterator]() {
      for (const r of records) {
        if (failAfter !== undefined && n === failAfter) throw new Error('disk on fire');
        n += 1;
        yield r;
      }
    },
  };
}

test('2,000 records in batches of 300 reach the topic once each, keyed by id, with the exact value', async (t) => {
  const topic = await createTopic(t, uniqueName('pipe'), 4);
  const records = Array.from({ length: 2000 }, (_, i) => ({ id: `id-${i}`, url: `https://img.example/${i}.jpg` }));
  const producer = createProducer({ brokers: testBrokers() });
  t.after(() => producer.close());
  const pipe = new RecordPipe(producer, { topic, batchSize: 300 });
  const result = await pipe.run(listSource(records));
  assert.deepEqual({ read: result.read, delivered: result.delivered, failed: result.failed, pending: result.pending, unconfirmed: result.unconfirmed }, { read: 2000, delivered: 2000, failed: 0, pending: 0, unconfirmed: 0 });
  const back = await consumeAll(topic, { count: 2000 });
  assert.equal(back.length, 2000);
  const byKey = new Map(back.map((r) => [r.key, r.value]));
  assert.equal(byKey.size, 2000, 'no duplicates, no missing ids');
  for (const r of records) assert.equal(byKey.get(r.id), recordValue(r));
  assert.equal(recordValue(records[0]!), '{"id":"id-0","url":"https://img.example/0.jpg"}');
});

test('a batch half written (one partition refused as not leader, as on a just-created topic) is retried without writing anything twice', async (t) => {
  // A fresh-clone run with a busy core found 84 records written twice. With several batches in flight, an idempotent
  // producer's request refused for one partition (its leader not ready on a just-created topic) and written for the
  // others is retried after later batches were written: the retry is refused as out of order, and @platformatic/kafka
  // 2.12.1 then resends the whole request under a new producer id, so its other partitions' records are written twice.
  // Here the first request's partial failure is injected: only its partition-0 records reach the broker, and the
  // answer says NOT_LEADER_OR_FOLLOWER for partition 1; it is held until the next request was answered, if any.
  const topic = await createTopic(t, uniqueName('pipe-half'), 2);
  const records = Array.from({ length: 600 }, (_, i) => ({ id: `id-${i}`, url: `https://img.example/${i}.jpg` }));
  const producer = createProducer({ brokers: testBrokers() });
  t.after(() => producer.close());
  // The pipe's sends, counted: the injected answer waits for the next request's answer when the pipe has one in flight.
  let sending = 0;
  const sender = {
    send: (o: Parameters<typeof producer.send>[0]) => {
      sending += 1;
      return producer.send(o).finally(() => (sending -= 1));
    },
  };
  let requests = 0;
  let secondAnswered: () => void = () => {};
  const second = new Promise<void>((ok) => (secondAnswered = ok));
  wrapApi(producer, 'Produce', (api: KafkaApi) => (...args: unknown[]) => {
    requests += 1;
    const [connection, acks, timeout, messages, produceOptions, callback] = args as [unknown, unknown, unknown, { partition: number }[], unknown, (e: unknown, r?: unknown) => void];
    if (requests > 1) {
      api(connection, acks, timeout, messages, produceOptions, (error: unknown, response: unknown) => {
        secondAnswered();
        callback(error, response);
      });
      return;
    }
    const first = messages.filter((m) => m.partition === 0);
    assert.ok(first.length > 0 && first.length < messages.length, 'the first request holds records of both partitions');
    api(connection, acks, timeout, first, produceOptions, async (error: unknown, response: unknown) => {
      if (sending > 1) await second;
      callback(error ?? new ResponseError(0, (api as { version?: number }).version ?? 11, { '/responses/0/partitionResponses/1': [6, null] }, response));
    });
  });
  const result = await new RecordPipe(sender, { topic, batchSize: 100 }).run(listSource(records));
  assert.deepEqual([result.delivered, result.failed], [600, 0]);
  assert.ok(requests >= 7, `the refused request was retried (${requests} produce requests for 6 batches)`);
  const back = await consumeAll(topic, { count: 600 });
  const keys = new Set(back.map((r) => r.key));
  // consumeAll stops at 600 records: with a duplicate among them, some id would be missing.
  assert.equal(keys.size, 600, `600 distinct ids in the first 600 records (${600 - keys.size} written twice)`);
});

test('a source that fails midway: what was read is still delivered, and the error is returned', async (t) => {
  const topic = await createTopic(t, uniqueName('pipe-src-fail'), 1);
  const producer = createProducer({ brokers: testBrokers() });
  t.after(() => producer.close());
  const records = Array.from({ length: 50 }, (_, i) => ({ id: `r${i}`, url: `https://img.example/${i}.jpg` }));
  const result = await new RecordPipe(producer, { topic, batchSize: 7 }).run(listSource(records, 20));
  assert.equal(result.read, 20);
  assert.equal(result.delivered, 20);
  assert.match(String((result.sourceError as Error).message), /disk on fire/);
  assert.equal((await consumeAll(topic, { count: 20 })).length, 20);
});

test('a failing send (injected) is counted as failed, stops reading, and is reported', async () => {
  let calls = 0;
  const sender = {
    async send(o: { messages: unknown[] }) {
      calls += 1;
      if (calls === 3) throw new Error('broker said no');
      return o;
    },
  };
  const records = Array.from({ length: 100 }, (_, i) => ({ id: `r${i}`, url: `https://img.example/${i}.jpg` }));
  const result = await new RecordPipe(sender, { topic: 't', batchSize: 10, maxInFlight: 1 }).run(listSource(records));
  assert.equal(result.failed, 10);
  assert.equal(result.delivered + result.failed, result.read, 'every record read is accounted for');
  assert.ok(result.read < 100, 'reading stopped after the failure');
  assert.match(String((result.sendError as Error).message), /broker said no/);
});

test('a send that never answers is unconfirmed after the flush timeout, not counted as delivered', async () => {
  const sender = { send: () => new Promise<never>(() => {}) };
  const records = [{ id: 'a', url: 'https://img.example/a.jpg' }];
  const result = await new RecordPipe(sender, { topic: 't', flushTimeoutMs: 100 }).run(listSource(records));
  assert.deepEqual([result.delivered, result.failed, result.unconfirmed], [0, 0, 1]);
});

test('options are checked by name', () => {
  const sender = { send: async () => undefined };
  assert.throws(() => new RecordPipe(sender, { topic: '' }), /topic/);
  assert.throws(() => new RecordPipe(sender, { topic: 't', batchSize: 0 }), /batchSize/);
  assert.throws(() => new RecordPipe(sender, { topic: 't', maxInFlight: 0 }), /maxInFlight/);
});
