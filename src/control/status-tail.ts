// Follows the compacted status topic continuously and keeps the latest status of every process (for long-running readers such as the dashboard).
import { randomBytes } from 'node:crypto';
import type { Admin } from '@platformatic/kafka';
import { createAdmin, createConsumer, describeTopics, type KafkaConnection, type StringConsumer } from '../kafka/index.ts';
import { parseStatus, type MemberStatus } from './status-record.ts';

export interface StatusTailOptions {
  kafka: KafkaConnection;
  topic: string;
  /** How long to wait before looking again for a status topic that does not exist yet, ms. Default 2000. */
  retryMs?: number;
}

/**
 * Reads the status topic from its beginning, then follows it: `statuses()` is the latest value per key, tombstones
 * removing keys. It uses a consumer group of its own (never committed, deleted on close). While the topic does not
 * exist or the broker is away, it retries; `error` says why it has nothing.
 */
export class StatusTail {
  readonly #o: StatusTailOptions;
  readonly #latest = new Map<string, MemberStatus>();
  readonly #groupId = `lagless-status-tail-${randomBytes(4).toString('hex')}`;
  #consumer: StringConsumer | undefined;
  #stream: { close(): Promise<void> } | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #running: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #error: string | undefined;

  constructor(options: StatusTailOptions) {
    this.#o = options;
  }

  /** The latest published status of every process that has not written its tombstone. */
  statuses(): MemberStatus[] {
    return [...this.#latest.values()];
  }

  /** Why no status can be read right now (topic missing, broker unreachable), or undefined. */
  get error(): string | undefined {
    return this.#error;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async #run(): Promise<void> {
    const admin: Admin = createAdmin({ ...this.#o.kafka, clientId: 'lagless-status-tail' });
    try {
      while (!this.#closed) {
        try {
          if (!(await describeTopics(admin, [this.#o.topic])).has(this.#o.topic)) {
            this.#error = `the status topic "${this.#o.topic}" does not exist yet: no Lagless process has published a status`;
          } else {
            await this.#follow();
          }
        } catch (err) {
          this.#error = `reading the status topic "${this.#o.topic}" failed: ${(err as Error).message}`;
        }
        if (!this.#closed) await new Promise<void>((r) => {
          this.#wake = r;
          setTimeout(r, this.#o.retryMs ?? 2000).unref();
        });
      }
    } finally {
      await admin.close().catch(() => {});
    }
  }

  async #follow(): Promise<void> {
    const consumer = createConsumer({ ...this.#o.kafka, clientId: 'lagless-status-tail', groupId: this.#groupId, extra: { maxWaitTime: 500 } });
    this.#consumer = consumer;
    try {
      // A fresh stream re-reads the compacted topic from the start: forget what a previous stream saw (tombstones included).
      const stream = await consumer.consume({ topics: [this.#o.topic], mode: 'earliest' });
      this.#stream = stream;
      this.#error = undefined;
      let first = true;
      for await (const m of stream) {
        if (this.#closed) break;
        // A new stream re-reads the compacted topic from its start (a few ms): forget what an earlier one saw.
        if (first) this.#latest.clear();
        first = false;
        const s = parseStatus(m.value);
        if (s) this.#latest.set(m.key, s);
        else this.#latest.delete(m.key);
      }
    } finally {
      this.#consumer = undefined;
      this.#stream = undefined;
      await consumer.close(true).catch(() => {});
    }
  }

  /** Stops following and deletes the tail's consumer group. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#wake?.();
      await this.#stream?.close().catch(() => {});
      await this.#consumer?.close(true).catch(() => {});
      await this.#running?.catch(() => {});
      const admin = createAdmin({ ...this.#o.kafka, clientId: 'lagless-status-tail' });
      await admin.deleteGroups({ groups: [this.#groupId] }).catch(() => {});
      await admin.close().catch(() => {});
    })();
    return this.#closing;
  }
}
