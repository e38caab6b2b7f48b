// Test helpers for the real broker of the run: unique names, topics cleaned up after each test, reading a topic back.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { TestContext } from 'node:test';
import { Consumer, FetchIsolationLevels, stringDeserializers, type Message } from '@platformatic/kafka';
import { eventually } from './eventually.ts';
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

/** Produces string records (acks=all, idempotent), to the partition of their key unless a partition is given. */
/** `count` ids "<prefix>-0", "<prefix>-1"...: one batch of a test's records. */
export function idBatch(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, n) => `${prefix}-${n}`);
}

/** One JSON record `{ id }` per id, keyed by the id (what the noop and the accounting of the tests read back). */
export function produceIds(topic: string, ids: readonly string[]): Promise<void> {
  return produce(topic, ids.map((id) => ({ key: id, value: JSON.stringify({ id }) })));
}

export async function produce(topic: string, records: { key?: string; value: string; partition?: number; headers?: Record<string, string> }[]): Promise<void> {
  const producer = createProducer({ brokers: testBrokers(), clientId: 'lagless-test' });
  try {
    for (let i = 0; i < records.length; i += 500) {
      await producer.send({
        messages: records.slice(i, i + 500).map((r) => ({
          topic,
          value: r.value,
          ...(r.key !== undefined ? { key: r.key } : {}),
          ...(r.partition !== undefined ? { partition: r.partition } : {}),
          ...(r.headers ? { headers: r.headers } : {}),
        })),
      });
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
  /** Only when consumeAll was asked for headers. */
  headers?: Record<string, string>;
  /** The value's bytes, only when consumeAll was asked for them (`value` is their UTF-8 reading). */
  bytes?: Buffer;
}

/**
 * Reads a topic from the beginning with a fresh group until `count` records arrived, and fails after `timeoutMs` (also
 * while no record arrives). There is no "until a silence": a loaded machine pauses any writer for seconds; to read a
 * topic nobody writes to any more, count its records first (`readTopic` in pipeline.ts).
 */
export async function consumeAll(
  topic: string,
  opts: { count: number; timeoutMs?: number; isolation?: 'read_committed' | 'read_uncommitted'; kafka?: KafkaConnection; headers?: boolean; bytes?: boolean },
): Promise<ConsumedRecord[]> {
  const timeoutMs = opts.timeoutMs ?? 180_000;
  const consumer = new Consumer({
    groupId: uniqueName('lagless-test-reader'),
    clientId: 'lagless-test-reader',
    // Another broker (a secure one) when given: its brokers, TLS and SASL.
    bootstrapBrokers: opts.kafka?.brokers ?? testBrokers(),
    ...(opts.kafka ? clientSecurityOptions(opts.kafka) : {}),
    // Values as bytes (`value` is their UTF-8 reading; `bytes` on request), keys and headers as strings.
    deserializers: { ...stringDeserializers, value: (data?: Buffer) => data },
    autocommit: false,
    maxWaitTime: 200,
    ...(opts.isolation === 'read_committed' ? { isolationLevel: FetchIsolationLevels.READ_COMMITTED } : {}),
  } as ConstructorParameters<typeof Consumer<string, string, string, string>>[0]);
  const out: ConsumedRecord[] = [];
  const seen = new Set<string>();
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest' } as Parameters<typeof consumer.consume>[0]);
  try {
    const deadline = Date.now() + timeoutMs;
    const iterator = stream[Symbol.asyncIterator]();
    while (out.length < opts.count) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`consumeAll(${topic}): got ${out.length} of ${opts.count} records within ${timeoutMs} ms`);
      const next = await Promise.race([
        iterator.next(),
        new Promise<'timeout'>((r) => setTimeout(r, remaining, 'timeout').unref()),
      ]);
      if (next === 'timeout') continue;
      if (next.done) throw new Error(`consumeAll(${topic}): the stream ended after ${out.length} of ${opts.count} records`);
      const m = next.value as unknown as Message<string, Buffer | undefined, string, string>;
      // The reader's own group can rebalance on a loaded machine (a missed heartbeat) and, with nothing committed, read
      // a partition again from the start: a record is counted once, by its place in the log.
      const at = `${m.partition}:${m.offset}`;
      if (seen.has(at)) continue;
      seen.add(at);
      out.push({
        key: m.key ?? undefined,
        value: m.value?.toString('utf8') ?? '',
        partition: m.partition,
        offset: m.offset,
        ...(opts.headers ? { headers: Object.fromEntries(m.headers) } : {}),
        ...(opts.bytes ? { bytes: m.value ?? Buffer.alloc(0) } : {}),
      });
    }
  } finally {
    await stream.close().catch(() => {});
    await consumer.close(true).catch(() => {});
  }
  return out;
}

/** Log-end offset of every partition of `topic`. */
export async function endOffsets(topic: string, partitions: number, kafka: KafkaConnection = { brokers: testBrokers() }): Promise<bigint[]> {
  const admin = createAdmin({ ...kafka, clientId: 'lagless-test' });
  try {
    const res = await admin.listOffsets({
      topics: [{ name: topic, partitions: Array.from({ length: partitions }, (_, p) => ({ partitionIndex: p, timestamp: -1n })) }],
    });
    const out = Array.from({ length: partitions }, () => 0n);
    for (const t of res) for (const p of t.partitions) out[p.partitionIndex] = p.offset;
    return out;
  } finally {
    await admin.close().catch(() => {});
  }
}

/** Every record of a topic that no producer writes to any more: read up to its log-end offsets (counted first). */
export async function readTopic(topic: string, partitions: number, kafka: KafkaConnection = { brokers: testBrokers() }): Promise<ConsumedRecord[]> {
  const ends = await endOffsets(topic, partitions, kafka);
  const count = Number(ends.reduce((a, b) => a + b, 0n));
  if (count === 0) return [];
  return consumeAll(topic, { count, timeoutMs: 60_000, kafka });
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

/**
 * Waits until `group` has committed everything on `topic` except what `stuck` records (that never finish) hold back:
 * each partition committed up to its first stuck record, or to its end. The exact state, so no need to wait for the
 * numbers to "stop moving". Returns the lag as the admin API reports it then.
 */
export async function waitHeldBack(topic: string, partitions: number, group: string, stuck: readonly string[], timeoutMs = 60_000): Promise<TopicLag> {
  const input = await readTopic(topic, partitions);
  const firstStuck = new Map<number, bigint>();
  for (const r of input) {
    if (r.key === undefined || !stuck.includes(r.key)) continue;
    const f = firstStuck.get(r.partition);
    if (f === undefined || r.offset < f) firstStuck.set(r.partition, r.offset);
  }
  if (firstStuck.size === 0) throw new Error(`none of ${stuck.join(', ')} is in ${topic}`);
  const ends = await endOffsets(topic, partitions);
  // Nothing is committed in a partition whose first record is stuck.
  const want = ends.map((end, p) => {
    const f = firstStuck.get(p);
    return f === undefined ? end : f > 0n ? f : null;
  });
  return eventually(
    async () => {
      const lag = await groupLag(topic, partitions, group);
      const got = lag.partitions.map((p) => p.committed);
      if (got.length === partitions && got.every((c, p) => c === want[p])) return lag;
      throw new Error(`committed ${got.map((c) => c ?? '-').join(',')}, want ${want.map((c) => c ?? '-').join(',')}`);
    },
    { what: `group ${group} to commit ${topic} up to its stuck records`, timeout: timeoutMs, every: 250 },
  );
}

/** Client ids of the group's members and the partitions each holds (sorted), per the broker. */
export async function groupMembers(group: string): Promise<Map<string, number[]>> {
  const admin = createAdmin({ brokers: testBrokers(), clientId: 'lagless-test' });
  try {
    const g = (await admin.describeGroups({ groups: [group] })).get(group);
    const out = new Map<string, number[]>();
    for (const m of g?.members.values() ?? []) out.set(m.clientId, [...(m.assignments?.values() ?? [])].flatMap((x) => x.partitions).sort((x, y) => x - y));
    return out;
  } finally {
    await admin.close();
  }
}

/** The client id `lagless run` uses by default: what the broker lists for that process. */
export function laglessClientId(pid: number | undefined): string {
  return `lagless-${hostname()}-${pid}`;
}
