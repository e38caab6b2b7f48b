// Steady input load for a fault scenario: records at a fixed rate, round-robin over the partitions, each partition sent on its own so that one unavailable leader does not hold back the others.
import { setTimeout as sleep } from 'node:timers/promises';
import { ProduceAcks } from '@platformatic/kafka';
import { createProducer, type StringProducer } from '../../src/kafka/index.ts';

export interface LoadOptions {
  brokers: string[];
  topic: string;
  partitions: number;
  /** Records per second. */
  rate: number;
  /** Id of record n (the key; also inside the value). */
  id: (n: number) => string;
  value: (id: string, n: number) => string;
}

export interface SentRecord {
  id: string;
  partition: number;
  /** Date.now() when the broker acknowledged it (durably written: acks=all). */
  ackedAt: number;
}

export class SteadyLoad {
  readonly #o: LoadOptions;
  readonly #producer: StringProducer;
  readonly #queues: { id: string; value: string }[][];
  readonly #pumps: Promise<void>[] = [];
  readonly sent: SentRecord[] = [];
  /** Failed produce requests (retried with the same records: a retry may write a record twice). */
  failedRequests = 0;
  #generated = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopping = false;
  #wake: (() => void)[] = [];
  #startedAt = 0;

  constructor(o: LoadOptions) {
    this.#o = o;
    // Not idempotent: a request retried after a timeout must not wedge on sequence numbers; duplicates in the input
    // are counted by the accounting (a record twice in the input rightly comes out twice).
    this.#producer = createProducer({ brokers: o.brokers, clientId: 'lagless-faults-load', idempotent: false, requestTimeoutMs: 15_000 });
    this.#queues = Array.from({ length: o.partitions }, () => []);
  }

  get generated(): number {
    return this.#generated;
  }

  start(): void {
    this.#startedAt = performance.now();
    this.#timer = setInterval(() => this.#tick(), 50);
    for (let p = 0; p < this.#o.partitions; p += 1) this.#pumps.push(this.#pump(p));
  }

  #tick(): void {
    const due = Math.floor(((performance.now() - this.#startedAt) / 1000) * this.#o.rate);
    while (this.#generated < due) {
      const n = this.#generated++;
      const id = this.#o.id(n);
      this.#queues[n % this.#o.partitions]!.push({ id, value: this.#o.value(id, n) });
    }
    for (const w of this.#wake.splice(0)) w();
  }

  async #pump(partition: number): Promise<void> {
    const queue = this.#queues[partition]!;
    for (;;) {
      if (queue.length === 0) {
        if (this.#stopping) return;
        await new Promise<void>((r) => this.#wake.push(r));
        continue;
      }
      const batch = queue.slice(0, 500);
      try {
        // acks per send: @platformatic/kafka 2.12.1 ignores the constructor's acks and sends with acks=1 when not
        // idempotent (found by the broker-pause scenario: a zombie leader acknowledged records it later truncated).
        await this.#producer.send({ acks: ProduceAcks.ALL, messages: batch.map((r) => ({ topic: this.#o.topic, partition, key: r.id, value: r.value })) });
        const ackedAt = Date.now();
        queue.splice(0, batch.length);
        for (const r of batch) this.sent.push({ id: r.id, partition, ackedAt });
      } catch {
        this.failedRequests += 1;
        await sleep(200);
      }
    }
  }

  /** Stops generating and waits until every generated record is acknowledged. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#stopping = true;
    for (const w of this.#wake.splice(0)) w();
    await Promise.all(this.#pumps);
    await this.#producer.close().catch(() => {});
  }
}
