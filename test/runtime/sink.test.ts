// The output sink's bounded close: with a broker that never answers (a producer whose requests hang, injected), close(timeout) gives up what is pending and says how many.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RecordProducer } from '../../src/kafka/index.ts';
import { OutputSink } from '../../src/runtime/index.ts';

/** A producer facing a frozen broker: send() never settles; close() records how it was asked. */
function frozenProducer(): RecordProducer & { closedWith: (boolean | undefined)[] } {
  const closedWith: (boolean | undefined)[] = [];
  return {
    closedWith,
    send: () => new Promise(() => {}),
    close: async (force?: boolean) => {
      closedWith.push(force);
    },
  } as unknown as RecordProducer & { closedWith: (boolean | undefined)[] };
}

test('close(timeout) with the broker frozen: sends in flight and queued are given up, counted, and rejected; the producer is force-closed', async () => {
  const producer = frozenProducer();
  // One request at a time and batches of 2: two records in the hanging request, three queued behind it.
  const sink = new OutputSink(() => producer, { maxBatch: 2, lingerMs: 0 });
  const sends = Array.from({ length: 5 }, (_, i) => sink.send({ topic: 'out', key: `k${i}`, value: 'v' }));
  const outcomes = sends.map((p) => p.then(() => 'acknowledged', (e: Error) => e.message));
  assert.equal(sink.pending, 5);
  const result = await sink.close(50);
  assert.deepEqual(result, { unacknowledged: 5 });
  assert.deepEqual(await Promise.all(outcomes), Array(5).fill('output not acknowledged by the broker within 50 ms of closing'));
  assert.equal(sink.acknowledged, 0);
  assert.equal(sink.pending, 0);
  assert.deepEqual(producer.closedWith, [true], 'the producer is closed without waiting for its hanging request');
  await assert.rejects(sink.send({ topic: 'out', key: 'late', value: 'v' }), /not acknowledged/);
  assert.equal(await sink.close(50), result, 'close twice returns the same result');
});

test('close() with nothing pending acknowledges nothing and closes the producer gracefully', async () => {
  const producer = frozenProducer();
  const sink = new OutputSink(() => producer);
  assert.deepEqual(await sink.close(50), { unacknowledged: 0 });
  assert.deepEqual(producer.closedWith, [false]);
  await assert.rejects(sink.send({ topic: 'out', key: 'late', value: 'v' }), /sink closed/);
});
