// Record processing: a fetched record joins the window (intake), runs through the job with retries, and ends with
// its outputs delivered or its dead letter written; then it is marked done for the commit. Whatever the job throws,
// nothing here throws back: a record always ends (done, or given up to the next owner).
import type { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeThrown, isLaglessError, LaglessError, safeCause, type WarningCode } from '../errors/index.ts';
import { InputRecord } from '../job/index.ts';
import { OffsetTracker, OrderingScheduler, type RecordTicket } from '../offsets/index.ts';
import { exponentialBackoff, retryDelay, type RetryOptions } from '../retry/index.ts';
import { deadLetter, minimalDeadLetter, toRecordError } from './dead-letter.ts';
import type { DeliveryStrategy } from './delivery.ts';
import type { HeldRecord } from './exactly-once.ts';
import type { JobExecutor } from './executor.ts';
import type { InputMessage } from './group-member.ts';
import type { TransformerOptions } from './options.ts';
import type { PartitionTable } from './partition-table.ts';
import type { OutgoingRecord, SendCallback } from './sink.ts';
import type { TransformerEvents } from './types.ts';

/** A fetched record on its way through the runtime. */
export interface Item {
  readonly topic: string;
  readonly partition: number;
  readonly key: string | undefined;
  readonly input: InputRecord;
  readonly ticket: RecordTicket;
  /** The partition's controller when the record started: aborted when the partition is revoked or the runtime stops. */
  abort: AbortController | undefined;
  /** When it started (performance.now()), 0 before. */
  started: number;
  /** exactly-once: where its outputs wait for their transaction. */
  held: HeldRecord | undefined;
  /** Its output or dead letter went to the sink: it finishes whatever happens to its partition. */
  sending: boolean;
  /** Its partition was released before it produced anything: it ends without output (the next owner does it). */
  cancelled: boolean;
}

/** A partition being released (see the release hook in Transformer): the records it waits for, and its end. */
export interface Release {
  readonly waitFor: Set<Item>;
  /** Called when the last record of waitFor finished. */
  readonly emptied: () => void;
  /** Resolves when waitFor is empty. */
  readonly drained: Promise<void>;
  /** Records of the partition left to the next owner before they produced anything. */
  readonly handedOver: number;
  /** Resolves when the release is over (committed and dropped, or given up). */
  done: Promise<void>;
}

export type Partitions = PartitionTable<InputMessage, Release>;

export interface ProcessorPorts {
  readonly options: TransformerOptions;
  readonly executor: JobExecutor;
  readonly delivery: DeliveryStrategy;
  readonly partitions: Partitions;
  readonly tracker: OffsetTracker;
  readonly scheduler: OrderingScheduler<Item>;
  /** Where record, retry and warning events go (the transformer). */
  readonly events: EventEmitter<TransformerEvents>;
  warnEvery(code: WarningCode, message: string): void;
  /** The window changed: decide the flow again. */
  flow(): void;
  /** Records are taken (false while stopping). */
  accepting(): boolean;
  /** The transformer was destroyed: a failing record ends without a retry or a dead letter. */
  destroyed(): boolean;
}

export class RecordProcessor {
  readonly #p: ProcessorPorts;
  readonly #retry: RetryOptions;
  readonly #running = new Set<Item>();
  #idleWaiters: (() => void)[] = [];
  readonly counts = { received: 0, succeeded: 0, deadLettered: 0, retries: 0, duplicatesSkipped: 0, busyMs: 0 };

  constructor(ports: ProcessorPorts) {
    this.#p = ports;
    const o = ports.options;
    this.#retry = { attempts: o.attempts, backoff: exponentialBackoff({ baseMs: o.retryBaseMs, maxMs: o.retryMaxMs, jitter: 'full' }) };
  }

  /** Records in the job (or delivering their outputs) now. */
  get running(): number {
    return this.#running.size;
  }

  /** The running records of a partition. */
  runningOf(partition: number): Item[] {
    return [...this.#running].filter((r) => r.partition === partition);
  }

  /** Aborts the running records (of one partition, or all): they end without output, left to the next owner. */
  abort(partition: number | undefined, reason: LaglessError): number {
    let n = 0;
    for (const r of this.#running) {
      if (partition !== undefined && r.partition !== partition) continue;
      r.abort?.abort(reason);
      n += 1;
    }
    return n;
  }

  /** Resolves when no record is running. */
  idle(): Promise<void> {
    return this.#running.size === 0 ? Promise.resolve() : new Promise<void>((r) => this.#idleWaiters.push(r));
  }

  /** A fetched record: into the window and on its way, unless it is not ours (or not ours to do again). */
  intake(m: InputMessage): void {
    const p = this.#p;
    if (!p.accepting()) return;
    // Records of partitions we no longer own may still sit in the client's buffer: the new owner processes them.
    if (m.topic !== p.options.from || !p.partitions.isOwned(m.partition)) return;
    if (p.partitions.hold(m.partition, m)) {
      p.flow();
      return;
    }
    const last = p.tracker.lastRegistered(m.topic, m.partition);
    const committed = p.tracker.committed(m.topic, m.partition);
    if ((last !== undefined && m.offset <= last) || (committed !== undefined && m.offset < committed)) {
      // Fetched again after a rebalance refresh (already in the window), or fetched before the partition came back
      // to us at a later committed offset (a member frozen past its session: the client still delivered offset 140
      // of a partition now committed at 1527, and the process crashed on it). Either way not ours to do.
      this.counts.duplicatesSkipped += 1;
      return;
    }
    const ticket = p.tracker.register(m.topic, m.partition, m.offset);
    p.partitions.get(m.partition)!.leaderEpoch = m.leaderEpoch ?? -1;
    this.counts.received += 1;
    const input = new InputRecord({
      topic: m.topic,
      partition: m.partition,
      offset: m.offset,
      key: m.key ?? undefined,
      value: m.value ?? undefined,
      timestamp: m.timestamp,
      headers: m.headers,
    });
    // Every field set here, in one order: one object shape for every record.
    const item: Item = { topic: m.topic, partition: m.partition, key: input.key, input, ticket, abort: undefined, started: 0, held: p.delivery.register(m.partition, m.offset), sending: false, cancelled: false };
    if (p.scheduler.submit(item)) this.start(item);
    p.flow();
  }

  /** Records start() was given while it was starting others (a record done at once starts the next of its lane). */
  #toStart: Item[] = [];
  #starting = false;

  /**
   * Processes a record. Records done at once (a job that returns its result, outputs delivered synchronously) start
   * the next ones of their lane from a loop here, not by recursion.
   */
  start(item: Item): void {
    this.#toStart.push(item);
    if (this.#starting) return;
    this.#starting = true;
    try {
      for (let i = 0; i < this.#toStart.length; i++) this.#begin(this.#toStart[i]!);
    } finally {
      this.#toStart.length = 0;
      this.#starting = false;
    }
  }

  /** A rejection or a throw here is a bug of the runtime: reported, never thrown back into the client's stream. */
  #internal(item: Item, err: unknown): void {
    this.#p.events.emit('warning', new LaglessError('INTERNAL', `processing offset ${item.input.offset} of partition ${item.partition} failed: ${describeThrown(err)}`, { cause: safeCause(err) }));
  }

  /** The record enters processing: its partition's abort signal, its start time; it counts as running. */
  #enter(item: Item): AbortSignal {
    // One controller per partition (not per record): revocation and shutdown abort whole partitions anyway.
    const state = this.#p.partitions.get(item.partition);
    let abort = state?.abort;
    if (!abort || abort.signal.aborted) {
      abort = new AbortController();
      if (state) state.abort = abort;
    }
    item.abort = abort;
    item.started = performance.now();
    this.#running.add(item);
    return abort.signal;
  }

  /**
   * The first attempt, without a promise where none is needed (the common case costs no promise and no closure but
   * the delivery's callback): the job's run() returned its result, its outputs go to the delivery, and the record is
   * finished from the delivery's callback. Anything else (a promise, an error, a failed delivery) continues in
   * #process, which takes the record from where it is.
   */
  #begin(item: Item): void {
    try {
      const signal = this.#enter(item);
      let result: readonly OutgoingRecord[] | Promise<readonly OutgoingRecord[]>;
      try {
        result = this.#p.executor.runNow(item.input, 1, signal);
      } catch (err) {
        this.#continue(item, Promise.reject(err));
        return;
      }
      if (result instanceof Promise) {
        this.#continue(item, result);
        return;
      }
      if (signal.aborted || item.cancelled) {
        this.#finish(item, undefined, 1);
        return;
      }
      item.sending = true;
      const outputs = result;
      this.#emitNow(item, outputs, 1, false, (error) => {
        try {
          if (error === undefined) this.#finish(item, 'ok', 1, outputs);
          else this.#continue(item, Promise.reject(error));
        } catch (err) {
          this.#internal(item, err);
        }
      });
    } catch (err) {
      this.#internal(item, err);
    }
  }

  /** The rest of the record's way in #process, from its first attempt's result (pending, or failed). */
  #continue(item: Item, first: Promise<readonly OutgoingRecord[]>): void {
    this.#process(item, first).catch((err: unknown) => this.#internal(item, err));
  }

  /** Emits a record or retry event: a listener that throws (embedding code) is reported, never breaks the record's path. */
  #notify<K extends 'record' | 'retry'>(event: K, ...payload: TransformerEvents[K]): void {
    try {
      (this.#p.events.emit as (e: K, ...a: TransformerEvents[K]) => boolean)(event, ...payload);
    } catch (err) {
      this.#p.warnEvery('LISTENER_FAILED', `a '${event}' event listener threw: ${describeThrown(err)}`);
    }
  }

  /**
   * A record whose first attempt did not end at once: `first` is that attempt's outputs (or its failure: the job's, or
   * its delivery's); then retries with backoff, or its dead letter.
   */
  async #process(item: Item, first: Promise<readonly OutgoingRecord[]>): Promise<void> {
    const p = this.#p;
    const input = item.input;
    const signal = item.abort!.signal;
    let attempt = 1;
    let pending: Promise<readonly OutgoingRecord[]> | undefined = first;
    let kind: 'ok' | 'dead' | undefined;
    let outputs: readonly OutgoingRecord[] | undefined;
    let failure: LaglessError | undefined;
    try {
      for (;;) {
        try {
          if (pending) {
            const once = pending;
            pending = undefined;
            outputs = await once;
          } else {
            attempt += 1;
            outputs = await p.executor.runNow(input, attempt, signal);
          }
          if (signal.aborted || item.cancelled) return;
          item.sending = true;
          // Done only when every output is acknowledged (none: done at once, a filtered record); exactly-once: when
          // every output is held for the transaction that commits the record's offset.
          await this.#emit(item, outputs, attempt);
          kind = 'ok';
          break;
        } catch (err) {
          if (signal.aborted || p.destroyed() || item.cancelled) return;
          const error = toRecordError(err);
          const delayMs = retryDelay(error, attempt, this.#retry);
          if (delayMs !== undefined) {
            this.counts.retries += 1;
            this.#notify('retry', { input, attempt, delayMs, code: error.code, message: error.message });
            try {
              await sleep(delayMs, undefined, { signal });
            } catch {
              return;
            }
            if (item.cancelled) return;
            continue;
          }
          item.sending = true;
          if (!(await this.#deadLetter(item, error, attempt))) return;
          kind = 'dead';
          failure = error;
          break;
        }
      }
    } finally {
      this.#finish(item, kind, attempt, outputs, failure);
    }
  }

  /** A record's end: done (`kind`), or given up to the next owner (undefined). */
  #finish(item: Item, kind: 'ok' | 'dead' | undefined, attempts: number, outputs?: readonly OutgoingRecord[], failure?: LaglessError): void {
    const p = this.#p;
    this.#running.delete(item);
    // done() refuses tickets of a partition revoked since: an abandoned or late record is never marked done.
    if (kind && p.tracker.done(item.ticket)) {
      const input = item.input;
      p.partitions.noteDone(item.partition, input.offset);
      if (kind === 'ok') this.counts.succeeded += 1;
      else this.counts.deadLettered += 1;
      const durationMs = performance.now() - item.started;
      this.counts.busyMs += durationMs;
      if (p.events.listenerCount('record') > 0) {
        this.#notify(
          'record',
          kind === 'ok'
            ? { kind: 'ok', input, outputs: outputs ?? [], durationMs, attempts }
            : { kind: 'dead', input, durationMs, attempts, code: failure!.code, message: failure!.message },
        );
      }
    }
    const release = p.partitions.get(item.partition)?.release;
    if (release?.waitFor.delete(item) && release.waitFor.size === 0) release.emptied();
    const next = p.scheduler.complete(item);
    for (let i = 0; i < next.length; i++) this.start(next[i]!);
    p.flow();
    if (this.#running.size === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  /**
   * Writes the record's dead letter; true when it is done. Nothing here may throw: a dead letter that cannot be built
   * or written would leave the record undone and its partition's commits held for good.
   */
  async #deadLetter(item: Item, error: LaglessError, attempt: number): Promise<boolean> {
    const { options, executor } = this.#p;
    const input = item.input;
    const { fields, error: fieldsError } = executor.deadLetterFields(input);
    const letter = deadLetter(input, error, attempt, fields, new Date(), fieldsError);
    try {
      await this.#emit(item, [{ topic: options.dlq, key: input.key, value: JSON.stringify(letter) }], attempt, true);
      return true;
    } catch (err) {
      // A dead-letter topic whose max.message.bytes is below even a bounded dead letter: send the smallest one.
      if (!(isLaglessError(err) && err.code === 'OUTPUT_TOO_LARGE')) return false;
    }
    try {
      await this.#emit(item, [{ topic: options.dlq, key: input.key, value: JSON.stringify(minimalDeadLetter(letter)) }], attempt, true);
      return true;
    } catch (e) {
      if (isLaglessError(e) && e.code === 'OUTPUT_TOO_LARGE') {
        this.#p.warnEvery('DLQ_TOO_LARGE', `the dead-letter topic "${options.dlq}" refuses even a minimal dead letter as too large (max.message.bytes): partition ${item.partition} cannot commit past offset ${input.offset}`);
      }
      return false;
    }
  }

  /**
   * A record's outputs: at-least-once, produced now (resolves when acknowledged); exactly-once, held for the
   * transaction that will commit the record's offset.
   */
  #emit(item: Item, outputs: readonly OutgoingRecord[], attempts = 1, deadLetter = false): Promise<void> {
    return new Promise<void>((resolve, reject) => this.#emitNow(item, outputs, attempts, deadLetter, (error) => (error === undefined ? resolve() : reject(error))));
  }

  /** #emit with a callback: called once, without an argument when the record counts as done. */
  #emitNow(item: Item, outputs: readonly OutgoingRecord[], attempts: number, deadLetter: boolean, done: SendCallback): void {
    // The last-resort dead letter is only for a held record (exactly-once): no closure per record otherwise.
    const lastResort = item.held ? (error: LaglessError) => this.#lastResortLetter(item, error, attempts, deadLetter) : undefined;
    this.#p.delivery.deliver(item.held, outputs, item.abort?.signal, lastResort, done);
  }

  /**
   * exactly-once: the dead letter that replaces a held record's outputs when the broker refuses one as too large after
   * all (see ExactlyOnceOutput): the whole one when it fits the dead-letter topic, else the minimal one.
   */
  #lastResortLetter(item: Item, error: LaglessError, attempts: number, wasDeadLetter: boolean): readonly OutgoingRecord[] {
    const { options, executor, delivery } = this.#p;
    const { fields, error: fieldsError } = executor.deadLetterFields(item.input);
    const letter = deadLetter(item.input, error, attempts, fields, new Date(), fieldsError);
    const full: OutgoingRecord = { topic: options.dlq, key: item.input.key, value: JSON.stringify(letter) };
    if (!wasDeadLetter) {
      this.counts.succeeded -= 1;
      this.counts.deadLettered += 1;
    }
    return [delivery.fits(full) ? full : { ...full, value: JSON.stringify(minimalDeadLetter(letter)) }];
  }
}
