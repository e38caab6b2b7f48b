// A batching, never-dropping output: each send resolves only when the broker acknowledged the record (acks=all); failed sends are retried until the sink is closed or aborted, except records the broker refuses as too large.
import { setTimeout as sleep } from 'node:timers/promises';
import { within } from '../common/index.ts';
import { LaglessError, warning } from '../errors/index.ts';
import type { OutValue, RecordProducer } from '../kafka/index.ts';
import { describeKafkaError, findKafkaErrorId } from '../kafka/index.ts';

export interface OutgoingRecord {
  topic: string;
  key: string | Uint8Array | undefined;
  /** null: a tombstone. */
  value: OutValue;
  headers?: Readonly<Record<string, string | Uint8Array>>;
}

export interface SinkOptions {
  /** Records per produce request at most. Default 1000. */
  maxBatch: number;
  /** An idle sink waits this long for more records before sending (a busy one batches by itself). Default 1 ms. */
  lingerMs: number;
  /**
   * Produce requests in flight at once. Records accumulate while they are busy (group commit). Default 1: with an
   * idempotent producer, a failed request followed by a successful one would break sequence numbers.
   */
  maxConcurrentSends: number;
  /** Consecutive failed requests after which the producer is replaced by a new one (new producer id). Default 3. */
  recreateAfterFailures: number;
  /**
   * A produce request not settled after this long counts as failed, and the producer is replaced at once. Default
   * 40 s (the client's request timeout is 30 s). @platformatic/kafka 2.12.1's idempotent producer, which retries
   * without limit, never settles a request caught by a leader frozen past the timeout, even once the leader is back:
   * without this deadline one such request stalled every output of the process for good.
   */
  sendTimeoutMs: number;
  /** First delay after a failed produce request; doubles up to maxRetryDelayMs. Default 250 ms. */
  retryDelayMs: number;
  maxRetryDelayMs: number;
  /** Called when a produce request fails (it is retried); the runtime reports it. */
  onError?: (error: Error, attempt: number) => void;
}

export const defaultSinkOptions: SinkOptions = {
  maxBatch: 1000,
  lingerMs: 1,
  maxConcurrentSends: 1,
  recreateAfterFailures: 3,
  sendTimeoutMs: 40_000,
  retryDelayMs: 250,
  maxRetryDelayMs: 10_000,
};

function valueBytes(v: OutValue): number {
  return v === null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.byteLength;
}

/** The broker refuses the record itself, not the moment: retrying the same bytes can never succeed. */
function isTooLarge(err: unknown): boolean {
  return findKafkaErrorId(err, 'MESSAGE_TOO_LARGE') || findKafkaErrorId(err, 'RECORD_LIST_TOO_LARGE');
}

/** Called once per record: without an error when the broker acknowledged it, with one when it was given up. */
export type SendCallback = (error?: Error) => void;

interface Pending {
  record: OutgoingRecord;
  /** Call through settle(): a record given up while its request is in flight must not be settled twice. */
  done: SendCallback;
  settled?: boolean;
  /** Aborted when the record is given up (its partition revoked, a stop's drain timeout): not sent again. */
  signal: AbortSignal | undefined;
}

/** What `close` left behind. */
export interface SinkCloseResult {
  /** Records given up without the broker's acknowledgement (their sends rejected: the caller does not commit them). */
  unacknowledged: number;
}

/**
 * Group-commit producer: while requests are in flight, new records queue and leave together in the next request.
 * An idle sink lingers a millisecond so that records finishing together leave together.
 */
export class OutputSink {
  readonly #createProducer: () => RecordProducer;
  #producer: RecordProducer;
  #consecutiveFailures = 0;
  readonly #options: SinkOptions;
  #queue: Pending[] = [];
  #sending = 0;
  #closed = false;
  #aborted: Error | undefined;
  #idleWaiters: (() => void)[] = [];
  /** Batches in a produce request now: abort rejects them at once, without waiting for the request to end. */
  readonly #inFlight = new Set<Pending[]>();
  #closing: Promise<SinkCloseResult> | undefined;
  /** Records acknowledged by the broker. */
  acknowledged = 0;
  /** Produce requests that failed and were retried. */
  failedRequests = 0;

  /** `createProducer` is called once now, and again to replace a producer that keeps failing (e.g. after a broker restart). */
  constructor(createProducer: () => RecordProducer, options: Partial<SinkOptions> = {}) {
    this.#createProducer = createProducer;
    this.#producer = createProducer();
    this.#options = { ...defaultSinkOptions, ...options };
  }

  /** Records waiting or in flight (0 once aborted: they were all given up). */
  get pending(): number {
    return this.#aborted ? 0 : this.#queue.length + this.#inFlightRecords;
  }
  #inFlightRecords = 0;

  /**
   * Resolves when the broker has acknowledged the record. Rejects when the sink is aborted or destroyed first, or with
   * OUTPUT_TOO_LARGE when the broker refuses the record as too large (the other records of its request still go).
   * When `signal` aborts (the record was given up: its partition revoked), the record is not sent again after a failed
   * or unanswered attempt, nor at all if it is still queued: the send rejects with the signal's reason. (An attempt
   * already on its way may still land: at-least-once.)
   */
  send(record: OutgoingRecord, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => this.enqueue(record, signal, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * send() with a callback instead of a promise (the runtime's path for each record): `done` is called once, with no
   * argument when the broker acknowledged the record, with the error otherwise (at once when the sink is closed or
   * the signal already aborted).
   */
  enqueue(record: OutgoingRecord, signal: AbortSignal | undefined, done: SendCallback): void {
    if (this.#aborted) return done(this.#aborted);
    if (this.#closed) return done(new Error('output sink closed'));
    if (signal?.aborted) return done(givenUp(signal));
    this.#queue.push({ record, done, signal });
    this.#pump();
  }

  #lingering: NodeJS.Timeout | undefined;

  #pump(): void {
    if (this.#sending === 0 && this.#queue.length < this.#options.maxBatch && this.#options.lingerMs > 0 && !this.#aborted) {
      this.#lingering ??= setTimeout(() => {
        this.#lingering = undefined;
        this.#send();
      }, this.#options.lingerMs);
      return;
    }
    this.#send();
  }

  #send(): void {
    while (this.#sending < this.#options.maxConcurrentSends && this.#queue.length > 0 && !this.#aborted) {
      const batch = this.#queue.splice(0, this.#options.maxBatch);
      this.#sending += 1;
      this.#inFlightRecords += batch.length;
      void this.#sendBatch(batch).finally(() => {
        this.#sending -= 1;
        this.#inFlightRecords -= batch.length;
        this.#send();
        if (this.pending === 0) for (const w of this.#idleWaiters.splice(0)) w();
      });
    }
  }

  async #sendBatch(batch: Pending[]): Promise<void> {
    this.#inFlight.add(batch);
    try {
      await this.#sendUntilDone(batch);
    } finally {
      this.#inFlight.delete(batch);
    }
  }

  async #sendUntilDone(all: Pending[]): Promise<void> {
    let attempt = 0;
    let batch = all;
    for (;;) {
      // Aborted while waiting: the batch was already rejected by abort().
      if (this.#aborted) return;
      // Records given up since the last attempt (or while queued) are not sent (again).
      if (batch.some((p) => p.signal?.aborted)) {
        for (const p of batch) if (p.signal?.aborted) settle(p, givenUp(p.signal));
        batch = batch.filter((p) => !p.signal?.aborted);
        if (batch.length === 0) return;
      }
      let hung = false;
      try {
        const sent = this.#producer.send({ messages: batch.map(toMessage) });
        // Settles either way (a late failure of a request given up on is nobody's unhandled rejection).
        const settled = sent.then(
          () => ({ ok: true as const }),
          (error: unknown) => ({ ok: false as const, error }),
        );
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'hung'>((resolve) => {
          timer = setTimeout(() => resolve('hung'), this.#options.sendTimeoutMs);
          timer.unref();
        });
        const outcome = await Promise.race([settled, timedOut]);
        clearTimeout(timer);
        if (outcome === 'hung') {
          hung = true;
          // The request may still land later: its records may then be written twice (at-least-once), never lost.
          throw new Error(`no answer to the produce request within ${this.#options.sendTimeoutMs} ms`);
        }
        if (!outcome.ok) throw outcome.error;
        // An acknowledgement that comes after abort() changes nothing: those sends were rejected and are not committed.
        if (this.#aborted) return;
        this.acknowledged += batch.length;
        this.#consecutiveFailures = 0;
        for (const p of batch) settle(p);
        return;
      } catch (err) {
        if (this.#aborted) return;
        if (isTooLarge(err)) {
          this.failedRequests += 1;
          if (batch.length > 1) {
            // Halve until the refused record is alone: the others must not wait for it (nor be re-sent forever).
            const half = Math.ceil(batch.length / 2);
            await this.#sendUntilDone(batch.slice(0, half));
            await this.#sendUntilDone(batch.slice(half));
            return;
          }
          const { record } = batch[0]!;
          settle(
            batch[0]!,
            new LaglessError('OUTPUT_TOO_LARGE', `the broker refused a record of ${valueBytes(record.value)} bytes for topic "${record.topic}": ${describeKafkaError(err)}`, { cause: err }),
          );
          return;
        }
        attempt += 1;
        this.failedRequests += 1;
        this.#consecutiveFailures += 1;
        if (hung || this.#consecutiveFailures % this.#options.recreateAfterFailures === 0) {
          const old = this.#producer;
          this.#producer = this.#createProducer();
          void old.close(true).catch(() => {});
        }
        this.#options.onError?.(warning('OUTPUT_RETRIED', `producing ${batch.length} record(s) failed (attempt ${attempt}, will retry): ${describeKafkaError(err)}`, err), attempt);
        const delay = Math.min(this.#options.maxRetryDelayMs, this.#options.retryDelayMs * 2 ** Math.min(attempt - 1, 16));
        await sleep(delay);
      }
    }
  }

  /** Resolves when every record sent so far is acknowledged. */
  flush(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Stops at once: every send not yet acknowledged (waiting, or in a produce request now) rejects with `reason`, and
   * their records stay uncommitted (redone later). Returns how many records that was.
   */
  abort(reason: Error): number {
    if (this.#aborted) return 0;
    this.#aborted = reason;
    if (this.#lingering) clearTimeout(this.#lingering);
    this.#lingering = undefined;
    let given = 0;
    for (const p of this.#queue.splice(0)) {
      settle(p, reason);
      given += 1;
    }
    for (const batch of this.#inFlight) {
      for (const p of batch) settle(p, reason);
      given += batch.length;
    }
    this.#inFlight.clear();
    for (const w of this.#idleWaiters.splice(0)) w();
    return given;
  }

  /**
   * Waits up to `timeoutMs` (default: no limit) for every record to be acknowledged, then gives up the rest (see
   * abort) and closes the producer, forcibly if it does not close within `timeoutMs` either. Bounded: with the broker
   * down or frozen, close still returns. Calling it twice returns the same promise.
   */
  close(timeoutMs = Infinity): Promise<SinkCloseResult> {
    this.#closing ??= (async () => {
      this.#closed = true;
      const flushed = await within(this.flush(), timeoutMs);
      const unacknowledged = flushed ? 0 : this.abort(new Error(`output not acknowledged by the broker within ${timeoutMs} ms of closing`));
      // A producer with nothing left to send closes quickly; one facing a frozen broker is left closing in the background.
      const closing = this.#producer.close(!flushed).catch(() => {});
      if (flushed) await within(closing, timeoutMs);
      return { unacknowledged };
    })();
    return this.#closing;
  }

  /** Closes the producer at once; unacknowledged records are rejected (and redone after a restart). */
  async destroy(): Promise<void> {
    this.#closed = true;
    this.abort(new Error('output sink destroyed'));
    await this.#producer.close(true).catch(() => {});
  }
}

/** Calls a record's callback, once. One that throws (a bug) must not keep the records after it from settling. */
function settle(p: Pending, error?: Error): void {
  if (p.settled) return;
  p.settled = true;
  try {
    p.done(error);
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}

type Message = Parameters<RecordProducer['send']>[0]['messages'][number];

/**
 * A record as the producer takes it: the record itself (no copy per record). The client reads topic, key, value and
 * headers; a key left undefined is no key, as an absent one.
 */
const toMessage = (p: Pending): Message => p.record as Message;

/** The error a send given up by its signal rejects with: the signal's reason when it is an Error. */
function givenUp(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('the record was given up');
}
