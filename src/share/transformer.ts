// The runtime of a share-group member (`--group-type share`): records acquired from any partition run through the same
// job, worker pool, retries and dead letters as in a consumer group, and each one is acknowledged on its own once its
// outcome is durable: ACCEPT when its outputs (or its dead letter) are acknowledged by the broker; RELEASE when the
// member gives it up (stop, drain timeout), so that another member takes it at once. Records that run longer than the
// acquisition lock get it renewed. The broker's delivery count is part of the attempts: a record delivered more than
// `attempts` times without an outcome (it killed the members that held it) is dead-lettered as DELIVERY_LIMIT.
// At-least-once only: there are no offsets, so no transaction could commit them with the outputs.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { within } from '../common/index.ts';
import { isLaglessError, LaglessError, warning, type WarningCode } from '../errors/index.ts';
import { InputRecord, type JobDefinition } from '../job/index.ts';
import { AckType, createAdmin, createRecordProducer } from '../kafka/index.ts';
import { exponentialBackoff, retryDelay, type RetryOptions } from '../retry/index.ts';
import { deadLetter, JobExecutor, minimalDeadLetter, OutputSink, resolveTransformerOptions, toRecordError, type CloseSummary, type LagSample, type OutgoingRecord, type TransformerEvents, type TransformerInit, type TransformerOptions, type TransformerStats } from '../runtime/index.ts';
import { ShareConsumer, type ShareConsumerStats, type ShareRecord } from './consumer.ts';
import { prepareShareGroup, readShareBacklog } from './group.ts';

/** An acquired record on its way through the member. */
interface ShareItem {
  readonly record: ShareRecord;
  readonly input: InputRecord;
  /** When it was acquired or its lock last renewed (performance.now()). */
  lockedAt: number;
  started: number;
}

export interface ShareStats extends ShareConsumerStats {
  /** Records acquired (first deliveries and redeliveries). */
  acquired: number;
  /** Records acquired with a delivery count above 1 (another member crashed, gave them up, or their lock expired). */
  redelivered: number;
  /** Records dead-lettered as DELIVERY_LIMIT. */
  deliveryLimit: number;
  /** Gauge: records this member holds (acquired, not yet acknowledged). */
  held: number;
}

export class ShareTransformer extends EventEmitter<TransformerEvents> {
  readonly options: TransformerOptions;
  readonly executor: JobExecutor;
  readonly #consumer: ShareConsumer;
  readonly #sink: OutputSink;
  readonly #retry: RetryOptions;
  readonly #held = new Set<ShareItem>();
  /** Aborted when the member stops taking records for good (drain timeout, destroy): records still running are released. */
  readonly #abort = new AbortController();
  #state: 'new' | 'running' | 'draining' | 'closed' = 'new';
  #closing: Promise<CloseSummary> | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  /** Deliveries without an outcome after which a record is dead-lettered (DELIVERY_LIMIT) instead of run again. */
  #deliveryLimit = Infinity;
  #idleWaiters: (() => void)[] = [];
  #lastWarned = new Map<string, number>();
  readonly #counts = { received: 0, succeeded: 0, deadLettered: 0, retries: 0, busyMs: 0, abandoned: 0, unacknowledged: 0, acquired: 0, redelivered: 0, deliveryLimit: 0 };

  constructor(job: JobDefinition, init: TransformerInit) {
    super();
    this.options = resolveTransformerOptions({ ...init, groupType: 'share' });
    const o = this.options;
    this.executor = new JobExecutor(job, { to: o.to, maxConcurrency: o.maxConcurrency, workers: o.workers, ...(o.recordTimeoutMs !== undefined ? { timeoutMs: o.recordTimeoutMs } : {}) });
    this.#retry = { attempts: o.attempts, backoff: exponentialBackoff({ baseMs: o.retryBaseMs, maxMs: o.retryMaxMs, jitter: 'full' }) };
    this.#sink = new OutputSink(() => createRecordProducer({ ...o.kafka, clientId: `${o.clientId}-out` }), { onError: (err) => this.emit('warning', err as LaglessError) });
    this.#consumer = new ShareConsumer({
      kafka: o.kafka,
      clientId: o.clientId,
      group: o.group,
      topic: o.from,
      fetchMaxWaitMs: o.fetchMaxWaitMs,
      fetchMaxBytes: o.fetchMaxBytes,
      room: () => (this.#state === 'running' ? o.maxInFlight - this.#held.size : 0),
      records: (records) => {
        for (const r of records) this.#intake(r);
      },
      assigned: (partitions) => this.emit('rebalance', { assigned: [...partitions], revoked: [], generation: this.#consumer.stats().memberEpoch }),
      warn: (w) => this.emit('warning', w),
      warnEvery: (code, message) => this.#warnEvery(code, message),
    });
  }

  /** Sets the job up and joins the share group. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new LaglessError('INTERNAL', `the share transformer cannot start (${this.#state})`);
    const { from, to, dlq, group } = this.options;
    await this.executor.setup({ from, to, dlq, group });
    const settings = await prepareShareGroup(this.options);
    // The broker archives a record after share.delivery.count.limit deliveries, dead letter or not: the runtime's own
    // limit stays below it, so that such a record is dead-lettered (DELIVERY_LIMIT) before the broker drops it.
    this.#deliveryLimit = Math.min(this.options.attempts, settings.deliveryLimit - 1);
    if (this.options.attempts >= settings.deliveryLimit) {
      this.emit('warning', warning('SHARE_DELIVERY_LIMIT', `--attempts ${this.options.attempts} is not below the share group's share.delivery.count.limit (${settings.deliveryLimit}): a record is dead-lettered as DELIVERY_LIMIT after ${this.#deliveryLimit} deliveries without an outcome, before the broker archives it`));
    }
    this.#state = 'running';
    try {
      await this.#consumer.start();
    } catch (err) {
      this.#state = 'closed';
      await this.#consumer.destroy();
      await this.#sink.destroy();
      await this.executor.close().catch(() => {});
      throw err;
    }
    this.#renewTimer = setInterval(() => this.#renewLocks(), 1000);
    this.#renewTimer.unref();
  }

  #intake(r: ShareRecord): void {
    if (this.#state !== 'running') {
      // Fetched while stopping: another member takes it at once.
      this.#consumer.acknowledge(r.partition, r.offset, AckType.RELEASE);
      return;
    }
    this.#counts.acquired += 1;
    this.#counts.received += 1;
    if (r.deliveryCount > 1) this.#counts.redelivered += 1;
    const input = new InputRecord({ topic: this.options.from, partition: r.partition, offset: r.offset, key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers });
    const item: ShareItem = { record: r, input, lockedAt: performance.now(), started: performance.now() };
    this.#held.add(item);
    this.#process(item).catch((err: unknown) => this.emit('warning', new LaglessError('INTERNAL', `share record ${r.partition}/${r.offset}: ${String(err)}`)));
  }

  /**
   * One record: attempts left after its earlier deliveries, the job with retries, its outputs or its dead letter, then
   * its acknowledgement. Never throws.
   */
  async #process(item: ShareItem): Promise<void> {
    const o = this.options;
    const { record, input } = item;
    const signal = this.#abort.signal;
    // Earlier deliveries count as attempts: a record whose earlier holders all vanished gets fewer tries here.
    const earlier = record.deliveryCount - 1;
    let attempt = earlier;
    let outcome: 'ok' | 'dead' | undefined;
    let outputs: readonly OutgoingRecord[] = [];
    let failure: LaglessError | undefined;
    try {
      if (earlier >= this.#deliveryLimit) {
        failure = new LaglessError('DELIVERY_LIMIT', `delivered ${record.deliveryCount} times: the ${earlier} earlier deliveries ended without an outcome (the members that held it stopped or crashed; --attempts ${o.attempts})`);
        this.#counts.deliveryLimit += 1;
        if (await this.#deadLetter(item, failure, attempt)) outcome = 'dead';
        return;
      }
      for (;;) {
        attempt += 1;
        try {
          outputs = await this.executor.run(input, attempt, signal);
          if (signal.aborted) return;
          await this.#send(outputs, signal);
          outcome = 'ok';
          return;
        } catch (err) {
          if (signal.aborted) return;
          const error = toRecordError(err);
          // Attempts are counted across deliveries: this delivery has what the earlier ones left.
          const delayMs = retryDelay(error, attempt, this.#retry);
          if (delayMs !== undefined) {
            this.#counts.retries += 1;
            this.emit('retry', { input, attempt, delayMs, code: error.code, message: error.message });
            try {
              await sleep(delayMs, undefined, { signal });
            } catch {
              return;
            }
            continue;
          }
          failure = error;
          if (await this.#deadLetter(item, error, attempt)) outcome = 'dead';
          return;
        }
      }
    } finally {
      this.#finish(item, outcome, attempt, outputs, failure);
    }
  }

  #send(outputs: readonly OutgoingRecord[], signal: AbortSignal): Promise<void> {
    if (outputs.length === 0) return Promise.resolve();
    return Promise.all(outputs.map((out) => new Promise<void>((resolve, reject) => this.#sink.enqueue(out, signal, (e) => (e ? reject(e) : resolve()))))).then(() => {});
  }

  /** Writes the dead letter (the minimal one when the topic refuses the whole one as too large): true when written. */
  async #deadLetter(item: ShareItem, error: LaglessError, attempts: number): Promise<boolean> {
    const o = this.options;
    const { fields, error: fieldsError } = this.executor.deadLetterFields(item.input);
    const letter = deadLetter(item.input, error, attempts, fields, new Date(), fieldsError);
    const signal = this.#abort.signal;
    try {
      await this.#send([{ topic: o.dlq, key: item.input.key, value: JSON.stringify(letter) }], signal);
      return true;
    } catch (err) {
      if (!(isLaglessError(err) && err.code === 'OUTPUT_TOO_LARGE')) return false;
    }
    try {
      await this.#send([{ topic: o.dlq, key: item.input.key, value: JSON.stringify(minimalDeadLetter(letter)) }], signal);
      return true;
    } catch {
      return false;
    }
  }

  /** The record's acknowledgement: ACCEPT once its outcome is durable, RELEASE when the member gave it up. */
  #finish(item: ShareItem, outcome: 'ok' | 'dead' | undefined, attempts: number, outputs: readonly OutgoingRecord[], failure: LaglessError | undefined): void {
    this.#held.delete(item);
    const { record, input } = item;
    const durationMs = performance.now() - item.started;
    if (outcome) {
      this.#consumer.acknowledge(record.partition, record.offset, AckType.ACCEPT);
      this.#counts.busyMs += durationMs;
      if (outcome === 'ok') this.#counts.succeeded += 1;
      else this.#counts.deadLettered += 1;
      if (this.listenerCount('record') > 0) {
        this.emit('record', outcome === 'ok' ? { kind: 'ok', input, outputs, durationMs, attempts } : { kind: 'dead', input, durationMs, attempts, code: failure!.code, message: failure!.message });
      }
    } else {
      // Given up (stop, drain timeout): another member takes it at once, with its delivery count raised.
      this.#counts.abandoned += 1;
      this.#consumer.acknowledge(record.partition, record.offset, AckType.RELEASE);
    }
    this.#consumer.poke();
    if (this.#held.size === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  /** Records held for more than half the acquisition lock get it renewed. */
  #renewLocks(): void {
    const lock = this.#consumer.stats().lockTimeoutMs;
    if (lock <= 0) return;
    const now = performance.now();
    for (const item of this.#held) {
      if (now - item.lockedAt < lock / 2) continue;
      item.lockedAt = now;
      this.#consumer.renew(item.record.partition, item.record.offset);
    }
  }

  #warnEvery(code: WarningCode, message: string): void {
    const now = performance.now();
    if (now - (this.#lastWarned.get(code) ?? -Infinity) < 10_000) return;
    this.#lastWarned.set(code, now);
    this.emit('warning', warning(code, message));
  }

  #idle(): Promise<void> {
    return this.#held.size === 0 ? Promise.resolve() : new Promise<void>((r) => this.#idleWaiters.push(r));
  }

  /**
   * The backlog of the share group on the input topic, as lag: records not yet acknowledged by any member (from the
   * share-partition start offset to the log end).
   */
  async sampleLag(): Promise<LagSample> {
    const admin = createAdmin({ ...this.options.kafka, clientId: `${this.options.clientId}-lag` });
    try {
      const lag = await readShareBacklog(admin, this.options.group, this.options.from);
      return { ...lag, at: Date.now() };
    } finally {
      await admin.close().catch(() => {});
    }
  }

  stats(): TransformerStats & { share: ShareStats } {
    const c = this.#counts;
    const consumer = this.#consumer.stats();
    return {
      received: c.received,
      succeeded: c.succeeded,
      deadLettered: c.deadLettered,
      retries: c.retries,
      duplicatesSkipped: 0,
      abandoned: c.abandoned,
      unacknowledged: c.unacknowledged,
      handedOver: 0,
      released: 0,
      commits: 0,
      inFlight: this.#held.size,
      unfinished: this.#held.size,
      windowSize: this.#held.size,
      paused: this.#held.size >= this.options.maxInFlight,
      buffered: 0,
      reconnecting: consumer.reconnecting,
      assigned: this.#consumer.assigned.map((partition) => ({ topic: this.options.from, partition })),
      busyMs: c.busyMs,
      ...this.executor.stats(),
      guarantee: 'at-least-once',
      share: { ...consumer, acquired: c.acquired, redelivered: c.redelivered, deliveryLimit: c.deliveryLimit, held: this.#held.size },
    };
  }

  /**
   * Graceful stop: no new records; records running get drainTimeoutMs to finish and be accepted; what is left is
   * released (another member takes it at once); the acknowledgements go out, the sessions close, the member leaves.
   */
  close(): Promise<CloseSummary> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<CloseSummary> {
    const o = this.options;
    if (this.#state !== 'running') return { abandoned: 0, unacknowledged: 0, committed: false, leftGroup: false };
    this.#state = 'draining';
    this.#consumer.stopFetching();
    const abandonedBefore = this.#counts.abandoned;
    if (!(await within(this.#idle(), o.drainTimeoutMs))) {
      const n = this.#held.size;
      this.#abort.abort(new LaglessError('INTERNAL', 'drain timeout'));
      this.emit('warning', warning('DRAIN_TIMEOUT', `drain timeout: ${n} record(s) released; other members take them at once`));
      await within(this.#idle(), o.closeTimeoutMs);
    }
    const { unacknowledged } = await this.#sink.close(o.closeTimeoutMs);
    this.#counts.unacknowledged += unacknowledged;
    if (this.#renewTimer) clearInterval(this.#renewTimer);
    // committed: every acknowledgement reached the broker (a share group's counterpart of the final commit).
    const { flushed, left } = await this.#consumer.close(o.closeTimeoutMs);
    await this.executor.close();
    this.#state = 'closed';
    return { abandoned: this.#counts.abandoned - abandonedBefore, unacknowledged, committed: flushed, leftGroup: left };
  }

  /** Immediate stop: nothing more is acknowledged; the broker gives what this member held to others after its lock. */
  async destroy(): Promise<void> {
    this.#state = 'closed';
    if (this.#renewTimer) clearInterval(this.#renewTimer);
    this.#abort.abort(new LaglessError('INTERNAL', 'destroyed'));
    await this.#consumer.destroy();
    await this.#sink.destroy();
    await this.executor.close().catch(() => {});
  }
}
