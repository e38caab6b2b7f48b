// The output sink against injected producer faults: a broker that never answers (bounded close), a request that never settles, a record refused as too large.
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

type Sent = { topic: string; key?: string; value: string }[];

/** A producer whose send() behaves as `behave` says; it records what each successful request carried. */
function fakeProducer(behave: (messages: Sent) => Promise<void>, log: Sent[], closed: { n: number }): RecordProducer {
  return {
    send: async ({ messages }: { messages: Sent }) => {
      await behave(messages);
      log.push(messages);
    },
    close: async () => {
      closed.n += 1;
    },
  } as unknown as RecordProducer;
}

test('regression: a produce request that never settles (a leader frozen past the timeout) is given up, the producer replaced, the records sent again', async () => {
  const log: Sent[] = [];
  const closed = { n: 0 };
  let made = 0;
  const errors: string[] = [];
  const sink = new OutputSink(
    () => {
      made += 1;
      // The first producer is wedged like @platformatic/kafka 2.12.1's idempotent producer after a SIGSTOP of the leader.
      return fakeProducer(made === 1 ? () => new Promise<void>(() => {}) : async () => {}, log, closed);
    },
    { sendTimeoutMs: 200, retryDelayMs: 1, onError: (e) => errors.push(e.message) },
  );
  await Promise.all([sink.send({ topic: 'out', key: 'a', value: '1' }), sink.send({ topic: 'out', key: 'b', value: '2' })]);
  assert.equal(made, 2, 'a new producer replaced the wedged one at once');
  assert.equal(closed.n, 1, 'the wedged producer was closed');
  assert.deepEqual(log.flat().map((m) => m.key).sort(), ['a', 'b']);
  assert.match(errors[0]!, /no answer to the produce request within 200 ms/);
  await sink.close();
});

// Bug (fault run, at-least-once, KIP-848, broker-pause): a produce request left unanswered by a frozen broker was given
// up and sent again, twice, after the member had lost the records' partitions; the next owner redid them too, so each
// of those 179 records appeared three times and the run went over its duplicate bound. A record whose signal is aborted
// (its partition revoked, or the stop's drain timeout) is now dropped before its next attempt: it is not retried.
test('a send whose record was given up (its signal aborted) is not sent again after a failed attempt; the others are', async () => {
  const log: Sent[] = [];
  const closed = { n: 0 };
  let made = 0;
  const sink = new OutputSink(
    () => {
      made += 1;
      return fakeProducer(made === 1 ? () => new Promise<void>(() => {}) : async () => {}, log, closed);
    },
    { sendTimeoutMs: 200, retryDelayMs: 1 },
  );
  const revoked = new AbortController();
  const kept = sink.send({ topic: 'out', key: 'kept', value: '1' });
  const given = sink.send({ topic: 'out', key: 'given-up', value: '2' }, revoked.signal).then(() => 'sent', (e: Error) => e.message);
  // The first request hangs; meanwhile the record's partition is revoked.
  revoked.abort(new Error('partition 3 was revoked'));
  await kept;
  assert.equal(await given, 'partition 3 was revoked');
  assert.deepEqual(log.flat().map((m) => m.key), ['kept'], 'only the record still wanted was sent again');
  const queued = new AbortController();
  queued.abort(new Error('drain timeout'));
  await assert.rejects(sink.send({ topic: 'out', key: 'late', value: '3' }, queued.signal), /drain timeout/);
  assert.deepEqual(log.flat().map((m) => m.key), ['kept'], 'a record given up before its first attempt is never sent');
  await sink.close();
});

test('a record refused as too large fails alone with OUTPUT_TOO_LARGE; the others of its request are acknowledged', async () => {
  const log: Sent[] = [];
  const tooLarge = Object.assign(new Error('Producing messages failed.'), {
    errors: [Object.assign(new Error('The request included a message larger than the max message size the server will accept.'), { apiId: 'MESSAGE_TOO_LARGE' })],
  });
  const sink = new OutputSink(() => fakeProducer(async (messages) => {
    if (messages.some((m) => m.value.length > 100)) throw tooLarge;
  }, log, { n: 0 }), { lingerMs: 5 });
  const results = await Promise.allSettled(['a', 'b', 'big', 'c', 'd'].map((key) => sink.send({ topic: 'out', key, value: key === 'big' ? 'x'.repeat(1000) : key })));
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  const refused = (results[2] as PromiseRejectedResult).reason as { code: string; message: string };
  assert.equal(refused.code, 'OUTPUT_TOO_LARGE');
  assert.match(refused.message, /1000 bytes for topic "out"/);
  assert.deepEqual(log.flat().map((m) => m.key).sort(), ['a', 'b', 'c', 'd']);
  await sink.close();
});
