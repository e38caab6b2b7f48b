// Publishes this process's status to the compacted status topic every few seconds, and a tombstone when it stops.
import { ProduceAcks, type Admin } from '@platformatic/kafka';
import { createProducer, ensureTopic, type KafkaConnection, type StringProducer } from '../kafka/index.ts';
import { statusKey, type MemberStatus } from './status-record.ts';

/** Creates the compacted status topic if needed (one partition: it only holds the latest status of each process). */
export async function ensureStatusTopic(admin: Admin, topic: string, kafka: KafkaConnection): Promise<void> {
  await ensureTopic(
    admin,
    {
      name: topic,
      partitions: 1,
      configs: { 'cleanup.policy': 'compact', 'segment.ms': '600000', 'min.cleanable.dirty.ratio': '0.1', 'delete.retention.ms': '600000' },
    },
    kafka,
  );
}

export interface StatusPublisherOptions {
  kafka: KafkaConnection;
  topic: string;
  clientId: string;
  intervalMs: number;
  /** Builds the current status; called at every interval. */
  snapshot: () => MemberStatus | Promise<MemberStatus>;
  onError?: (err: Error) => void;
}

export class StatusPublisher {
  readonly #o: StatusPublisherOptions;
  readonly #producer: StringProducer;
  #timer: NodeJS.Timeout | undefined;
  #last: MemberStatus | undefined;
  #publishing: Promise<void> = Promise.resolve();
  #closed: Promise<void> | undefined;

  constructor(options: StatusPublisherOptions) {
    this.#o = options;
    // Status is advisory: no idempotence needed. Each send still asks for acks=all: @platformatic/kafka 2.12.1 ignores
    // the constructor's acks and sends with acks=1 when not idempotent, and a leader that fails over may then drop
    // acknowledged status records (a lost tombstone leaves a stopped member listed).
    this.#producer = createProducer({ ...options.kafka, clientId: `${options.clientId}-status`, idempotent: false });
  }

  start(): void {
    void this.publish();
    this.#timer = setInterval(() => void this.publish(), this.#o.intervalMs);
    this.#timer.unref();
  }

  /** Publishes one status now (serialised with the periodic ones). */
  publish(): Promise<void> {
    this.#publishing = this.#publishing.then(async () => {
      try {
        const s = await this.#o.snapshot();
        this.#last = s;
        await this.#producer.send({ acks: ProduceAcks.ALL, messages: [{ topic: this.#o.topic, key: statusKey(s.group, s.member), value: JSON.stringify(s) }] });
      } catch (err) {
        // Publishes queued before close() that fail once it gave up on the broker are not news: close() said so once.
        if (!this.#closed) this.#o.onError?.(err as Error);
      }
    });
    return this.#publishing;
  }

  /**
   * Stops publishing and writes a tombstone so the member disappears from `lagless status`. Bounded by `timeoutMs`
   * (default 3 s): with the broker away, the status is left to go stale (`lagless status` marks it so) and the producer
   * closes in the background.
   */
  close(timeoutMs = 3000): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#timer) clearInterval(this.#timer);
      // Once the deadline passed and the producer is force-closed, its failures are the ones already reported.
      let gaveUp = false;
      const tombstone = (async () => {
        await this.#publishing;
        if (this.#last) {
          await this.#producer
            .send({ acks: ProduceAcks.ALL, messages: [{ topic: this.#o.topic, key: statusKey(this.#last.group, this.#last.member), value: undefined as unknown as string }] })
            .catch((err: Error) => gaveUp || this.#o.onError?.(err));
        }
        await this.#producer.close().catch(() => {});
      })();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((r) => (timer = setTimeout(r, timeoutMs, true)));
      const timedOut = await Promise.race([tombstone.then(() => false), late]);
      clearTimeout(timer);
      if (timedOut) {
        gaveUp = true;
        this.#o.onError?.(new Error(`the status tombstone was not acknowledged within ${timeoutMs} ms; the status goes stale instead`));
        void this.#producer.close(true).catch(() => {});
      }
    })();
    return this.#closed;
  }
}
