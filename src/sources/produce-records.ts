// Moves records from a source to a topic: batches them, keeps a few batches in flight, counts what the broker confirmed and what failed.
import type { RecordSource, UrlRecord } from './types.ts';

/** The one thing needed from a Kafka producer (a @platformatic/kafka Producer<string, string, ...> fits). */
export interface RecordSender {
  send(options: { messages: { topic: string; key: string; value: string }[] }): Promise<unknown>;
}

export interface ProduceRecordsOptions {
  topic: string;
  /** Records per produce request. Default 500. */
  batchSize?: number;
  /** A partial batch goes out after this long (ms), so a slow source still sees its records delivered promptly. Default 5. */
  lingerMs?: number;
  /**
   * Batches awaiting the broker's acknowledgement at once; reading pauses beyond that. Default 1: with an idempotent
   * producer, a batch sent while an earlier one is being retried after a partial failure (one partition's leader not
   * ready, the others written) is refused for the retried partition (out of order sequence), and @platformatic/kafka
   * 2.12.1 then resends that whole batch under a new producer id, writing its other partitions' records twice. One
   * batch at a time cost nothing measurable (200,000 records: about 110,000-137,000/s either way).
   */
  maxInFlight?: number;
  /** After the source ends, wait this long (ms) for outstanding acknowledgements. Default 30000 (as the seed's flush(30)). */
  flushTimeoutMs?: number;
  /** Stop reading the source at the first failed batch (default true): an idempotent producer only fails when the broker is gone or refuses. */
  stopOnFailure?: boolean;
}

export const defaultProduceRecordsOptions: Required<Omit<ProduceRecordsOptions, 'topic'>> = {
  batchSize: 500,
  lingerMs: 5,
  maxInFlight: 1,
  flushTimeoutMs: 30_000,
  stopOnFailure: true,
};

/** Live counters (read them for progress lines while `run` is going). */
export interface ProduceCounters {
  /** Records taken from the source. */
  read: number;
  /** Records the broker acknowledged (acks=all). */
  delivered: number;
  /** Records in batches the broker rejected or that could not be sent. */
  failed: number;
  /** Records sent and not yet acknowledged, or still waiting in the batch. */
  pending: number;
}

export interface ProduceRecordsResult extends ProduceCounters {
  /** Records whose fate is unknown because the flush timeout expired (counted neither delivered nor failed). */
  unconfirmed: number;
  /** The first send error, if any. */
  sendError?: unknown;
  /** The error that ended the source early (a read error, a fatal X API answer), if any. */
  sourceError?: unknown;
  /** From the first record read to the last acknowledgement, ms. */
  elapsedMs: number;
}

/** The value written for a record: exactly `{"id","url"}` as UTF-8 JSON. */
export function recordValue(record: UrlRecord): string {
  return JSON.stringify({ id: record.id, url: record.url });
}

function check(o: Required<Omit<ProduceRecordsOptions, 'topic'>> & { topic: string }): void {
  if (typeof o.topic !== 'string' || o.topic === '') throw new RangeError('topic: expected a topic name');
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new RangeError(`batchSize: expected an integer ≥ 1, got ${o.batchSize}`);
  if (!(o.lingerMs >= 0)) throw new RangeError(`lingerMs: expected a duration ≥ 0, got ${o.lingerMs}`);
  if (!Number.isInteger(o.maxInFlight) || o.maxInFlight < 1) throw new RangeError(`maxInFlight: expected an integer ≥ 1, got ${o.maxInFlight}`);
  if (!(o.flushTimeoutMs >= 0)) throw new RangeError(`flushTimeoutMs: expected a duration ≥ 0, got ${o.flushTimeoutMs}`);
}

/**
 * A pipe from sources to one topic. Records are keyed by id. Batches are sent in order, at most
 * `maxInFlight` at a time; `counters` is live for progress reporting.
 */
export class RecordPipe {
  readonly counters: ProduceCounters = { read: 0, delivered: 0, failed: 0, pending: 0 };
  readonly #sender: RecordSender;
  readonly #o: Required<Omit<ProduceRecordsOptions, 'topic'>> & { topic: string };
  #batch: { topic: string; key: string; value: string }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #inFlight = new Set<Promise<void>>();
  #chain: Promise<void> = Promise.resolve();
  #sendError: unknown;
  #firstReadAt: number | undefined;
  #lastAckAt: number | undefined;

  constructor(sender: RecordSender, options: ProduceRecordsOptions) {
    this.#o = { ...defaultProduceRecordsOptions, ...options };
    check(this.#o);
    this.#sender = sender;
  }

  /** Reads the source to its end (or until a send fails), then flushes. Never rejects: errors are in the result. */
  async run(source: RecordSource<unknown>): Promise<ProduceRecordsResult> {
    let sourceError: unknown;
    try {
      for await (const record of source) {
        this.#add(record);
        if (this.#batch.length >= this.#o.batchSize) await this.#dispatch();
        else this.#timer ??= setTimeout(() => void this.#dispatch(), this.#o.lingerMs);
        if (this.#sendError !== undefined && this.#o.stopOnFailure) break;
      }
    } catch (err) {
      sourceError = err;
    }
    const unconfirmed = await this.flush();
    const end = this.#lastAckAt ?? performance.now();
    return {
      ...this.counters,
      unconfirmed,
      ...(this.#sendError !== undefined ? { sendError: this.#sendError } : {}),
      ...(sourceError !== undefined ? { sourceError } : {}),
      elapsedMs: this.#firstReadAt === undefined ? 0 : Math.max(0, end - this.#firstReadAt),
    };
  }

  /** Sends what is batched and waits for every acknowledgement, at most flushTimeoutMs; resolves to the records still unconfirmed. */
  async flush(): Promise<number> {
    await this.#dispatch();
    const all = Promise.all([this.#chain, ...this.#inFlight]).then(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((ok) => {
        timer = setTimeout(() => ok(true), this.#o.flushTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return timedOut ? this.counters.pending : 0;
  }

  #add(record: UrlRecord): void {
    this.#firstReadAt ??= performance.now();
    this.counters.read += 1;
    this.counters.pending += 1;
    this.#batch.push({ topic: this.#o.topic, key: record.id, value: recordValue(record) });
  }

  /** Queues the current batch; resolves once it has been handed to the producer (so the reader feels backpressure). */
  #dispatch(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#batch.length === 0) return this.#chain;
    const messages = this.#batch;
    this.#batch = [];
    // Batches leave in the order they were filled: a chain, each link waiting for a free slot.
    this.#chain = this.#chain.then(async () => {
      while (this.#inFlight.size >= this.#o.maxInFlight) await Promise.race(this.#inFlight);
      const n = messages.length;
      // Through a then(): a sender that throws synchronously counts as a failed batch, not a broken chain.
      const p: Promise<void> = Promise.resolve()
        .then(() => this.#sender.send({ messages }))
        .then(
          () => {
            this.counters.delivered += n;
          },
          (err: unknown) => {
            this.counters.failed += n;
            this.#sendError ??= err;
          },
        )
        .finally(() => {
          this.counters.pending -= n;
          this.#lastAckAt = performance.now();
          this.#inFlight.delete(p);
        });
      this.#inFlight.add(p);
    });
    return this.#chain;
  }
}
