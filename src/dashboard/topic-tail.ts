// Follows topics from chosen offsets (the last few records of the output, the last hour of dead letters) without committing anything.
import { randomBytes } from 'node:crypto';
import { createAdmin, createConsumer, describeTopics, type KafkaConnection, type StringConsumer } from '../kafka/index.ts';

export interface TailRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
}

export interface TopicTailOptions {
  kafka: KafkaConnection;
  topics: string[];
  /** Where to start in each partition, given its log-start and log-end offsets (and the time-indexed offset of `sinceMs`). */
  start: (p: { topic: string; partition: number; logStart: number; logEnd: number; sinceOffset: number | null }) => number;
  /** Records at or after this time (ms) are looked up by timestamp, for `sinceOffset`. Default: none. */
  sinceMs?: number;
  onRecord: (r: TailRecord) => void;
  onError?: (err: Error) => void;
}

/** A consumer in a group of its own (never committed, deleted on close), reading every partition of `topics` from the offsets `start` picks. */
export class TopicTail {
  readonly #o: TopicTailOptions;
  readonly #groupId = `lagless-dashboard-tail-${randomBytes(4).toString('hex')}`;
  #consumer: StringConsumer | undefined;
  #stream: { close(): Promise<void> } | undefined;
  #running: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #closed = false;

  constructor(options: TopicTailOptions) {
    this.#o = options;
  }

  start(): void {
    this.#running ??= this.#run().catch((err: Error) => {
      if (!this.#closed) this.#o.onError?.(err);
    });
  }

  async #offsets(): Promise<{ topic: string; partition: number; offset: bigint }[]> {
    const admin = createAdmin({ ...this.#o.kafka, clientId: 'lagless-dashboard' });
    try {
      const counts = await describeTopics(admin, this.#o.topics);
      const specs = this.#o.topics.map((name) => ({ name, n: counts.get(name) ?? 0 }));
      const list = async (timestamp: bigint) => {
        const res = await admin.listOffsets({
          topics: specs.filter((s) => s.n > 0).map((s) => ({ name: s.name, partitions: Array.from({ length: s.n }, (_, i) => ({ partitionIndex: i, timestamp })) })),
        });
        const out = new Map<string, number>();
        for (const t of res) for (const p of t.partitions) out.set(`${t.name}/${p.partitionIndex}`, Number(p.offset));
        return out;
      };
      const ends = await list(-1n);
      const starts = await list(-2n);
      const since = this.#o.sinceMs !== undefined ? await list(BigInt(Math.floor(this.#o.sinceMs))) : undefined;
      const out: { topic: string; partition: number; offset: bigint }[] = [];
      for (const s of specs) {
        for (let partition = 0; partition < s.n; partition++) {
          const k = `${s.name}/${partition}`;
          const logEnd = ends.get(k) ?? 0;
          const logStart = starts.get(k) ?? 0;
          const found = since?.get(k);
          const sinceOffset = found === undefined || found < 0 ? null : found;
          const offset = Math.min(logEnd, Math.max(logStart, this.#o.start({ topic: s.name, partition, logStart, logEnd, sinceOffset })));
          out.push({ topic: s.name, partition, offset: BigInt(offset) });
        }
      }
      return out;
    } finally {
      await admin.close().catch(() => {});
    }
  }

  async #run(): Promise<void> {
    const offsets = await this.#offsets();
    if (this.#closed || offsets.length === 0) return;
    const consumer = createConsumer({ ...this.#o.kafka, clientId: 'lagless-dashboard', groupId: this.#groupId, extra: { maxWaitTime: 500 } });
    this.#consumer = consumer;
    const stream = await consumer.consume({ topics: this.#o.topics, mode: 'manual', offsets, fallbackMode: 'earliest' });
    this.#stream = stream;
    if (this.#closed) return;
    for await (const m of stream) {
      if (this.#closed) break;
      this.#o.onRecord({
        topic: m.topic,
        partition: m.partition,
        offset: Number(m.offset),
        timestamp: Number(m.timestamp),
        key: m.key ?? null,
        value: m.value ?? null,
      });
    }
  }

  /** Stops reading and deletes the tail's group. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      await this.#stream?.close().catch(() => {});
      await this.#consumer?.close(true).catch(() => {});
      await this.#running;
      if (this.#consumer) {
        const admin = createAdmin({ ...this.#o.kafka, clientId: 'lagless-dashboard' });
        await admin.deleteGroups({ groups: [this.#groupId] }).catch(() => {});
        await admin.close().catch(() => {});
      }
    })();
    return this.#closing;
  }
}
