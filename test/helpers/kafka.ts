// Test helpers for the real broker of the run: unique names, topics cleaned up after each test, reading a topic back.
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { Consumer, FetchIsolationLevels, stringDeserializers, type Message } from '@platformatic/kafka';
import { clientSecurityOptions, createAdmin, createProducer, ensureTopic, readGroupLag, type KafkaConnection, type TopicLag } from '../../src/kafka/index.ts';

/** Bootstrap servers of the run's broker (`npm test` exports KAFKA_BROKERS). */
export function testBrokers(): string[] {
  const b = process.env.KAFKA_BROKERS;
  if (!b) throw new Error('KAFKA_BROKERS is not set: run the tests with "npm test", which starts a broker for the run');
  return b.split(',');
}

/** A name unique to this test run and call, e.g. "urls-3f9a1c2b". */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Creates a topic for this test and deletes it after the test. */
export async function createTopic(t: TestContext, name: string, partitions: number, configs?: Record<string, string>): Promise<string> {
  const brokers = testBrokers();
  const admin = createAdmin({ brokers, clientId: 'lagless-test' });
  try {
    await ensureTopic(admin, { name, partitions, ...(configs ? { configs } : {}) }, brokers);
  } finally {
    await admin.close();
  }
  t.after(async () => {
    const a = createAdmin({ brokers, clientId: 'lagless-test' });
    await a.deleteTopics({ topics: [name] }).catch(() => {});
    await a.close();
  });
  return name;
}

/** Produces string records (acks=all, idempotent). */
export async function produce(topic: string, records: { key?: string; value: string }[]): Promise<void> {
  const producer = createProducer({ brokers: testBrokers(), clientId: 'lagless-test' });
  try {
    for (let i = 0; i < records.length; i += 500) {
      await producer.send({ messages: records.slice(i, i + 500).map((r) => ({ topic, value: r.value, ...(r.key !== undefined ? { key: r.key } : {}) })) });
    }
  } finally {
    await producer.close();
  }
}

export interface ConsumedRecord {
  key: string | undefined;
  value: string;
  partition: number;
  offset: bigint;
}

/**
 * Reads a topic from the beginning with a fresh group until `count` records arrived (or, without count, until no record
 * arrived for `idleMs`), and fails after `timeoutMs`.
 */
export async function consumeAll(
  topic: string,
  opts: { count?: number; timeoutMs?: number; idleMs?: number; isolation?: 'read_committed' | 'read_uncommitted'; kafka?: KafkaConnection } = {},
): Promise<ConsumedRecord[]> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const idleMs = opts.idleMs ?? 3000;
  const consumer = new Consumer({
    groupId: uniqueName('lagless-test-reader'),
    clientId: 'lagless-test-reader',
    // Another broker (a secure one) when given: its brokers, TLS and SASL.
    bootstrapBrokers: opts.kafka?.brokers ?? testBrokers(),
    ...(opts.kafka ? clientSecurityOptions(opts.kafka) : {}),
    deserializers: stringDeserializers,
    autocommit: false,
    maxWaitTime: 200,
    ...(opts.isolation === 'read_committed' ? { isolationLevel: FetchIsolationLevels.READ_COMMITTED } : {}),
  } as ConstructorParameters<typeof Consumer<string, string, string, string>>[0]);
  const out: ConsumedRecord[] = [];
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest' } as Parameters<typeof consumer.consume>[0]);
  try {
    const deadline = Date.now() + timeoutMs;
    let last = Date.now();
    const iterator = stream[Symbol.asyncIterator]();
    for (;;) {
      if (opts.count !== undefined && out.length >= opts.count) break;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        if (opts.count === undefined) break;
        throw new Error(`consumeAll(${topic}): got ${out.length} of ${opts.count} records within ${timeoutMs} ms`);
      }
      const wait = opts.count === undefined ? Math.min(remaining, idleMs - (Date.now() - last)) : remaining;
      if (opts.count === undefined && wait <= 0) break;
      const next = await Promise.race([
        iterator.next(),
        new Promise<'timeout'>((r) => setTimeout(r, Math.max(1, wait), 'timeout').unref()),
      ]);
      if (next === 'timeout') continue;
      if (next.done) break;
      const m = next.value as Message<string, string, string, string>;
      out.push({ key: m.key ?? undefined, value: m.value, partition: m.partition, offset: m.offset });
      last = Date.now();
    }
  } finally {
    await stream.close().catch(() => {});
    await consumer.close(true).catch(() => {});
  }
  return out;
}

/** The lag of `group` on `topic` as the admin API reports it (the runtime's own definition, src/kafka/lag.ts). */
export async function groupLag(topic: string, partitions: number, group: string): Promise<TopicLag> {
  const admin = createAdmin({ brokers: testBrokers(), clientId: 'lagless-test' });
  try {
    const lag = (await readGroupLag(admin, group, new Map([[topic, partitions]]))).get(topic);
    if (!lag) throw new Error(`no offsets for topic ${topic}`);
    return lag;
  } finally {
    await admin.close();
  }
}
