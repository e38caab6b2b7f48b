// Exactly-once output: a record's outputs (or its dead letter) are held until its input offset can be committed, then
// produced and committed together with the offsets in one Kafka transaction (one per commit interval).
import type { Admin } from '@platformatic/kafka';
import { LaglessError, warning } from '../errors/index.ts';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  describeKafkaError,
  findKafkaErrorId,
  RECORD_BATCH_OVERHEAD,
  readMaxMessageBytes,
  readStableOffsets,
  recordBatchBytes,
  TransactionError,
  TransactionalProducer,
  type GroupGeneration,
  type OutValue,
  type RecordProducer,
  type TransactionOffset,
} from '../kafka/index.ts';
import { Fifo } from '../offsets/index.ts';
import type { OutgoingRecord } from './sink.ts';

/** A fetched record's place in the output: its outputs are set when it is done. */
export interface HeldRecord {
  readonly offset: bigint;
  outputs: readonly OutgoingRecord[] | undefined;
  /**
   * Set with the outputs: the record's dead letter instead of them, for an output the broker refuses as too large
   * after all (a topic's max.message.bytes lowered while the member runs).
   */
  tooLarge?: ((error: LaglessError) => readonly OutgoingRecord[]) | undefined;
}

/** The records of one assigned partition, in offset order, from the oldest not yet committed. */
class Lane {
  readonly held = new Fifo<HeldRecord>();
}

/** A partition's share of a transaction: its lane when collected, how many held records, and the offset to commit. */
interface Part {
  readonly partition: number;
  readonly lane: Lane;
  readonly count: number;
  readonly offset: bigint;
  readonly leaderEpoch: number;
}

export interface ExactlyOnceOptions {
  /** Input topic and consumer group: the offsets committed in the transactions. */
  topic: string;
  group: string;
  transactionalId: string;
  transactionTimeoutMs: number;
  /** A producer with the transactional id set (called again to replace one that is fenced or hung). */
  createProducer: () => RecordProducer;
  /** An admin client, for reading stable offsets and the topics' max.message.bytes. */
  admin: Admin;
  /** Every topic outputs and dead letters may go to (their max.message.bytes bound what a transaction may hold). */
  outputTopics: readonly string[];
  onWarning: (err: Error) => void;
}

export interface ExactlyOnceStats {
  /** Transactions committed. */
  transactions: number;
  /** Transactions that failed (aborted, refused, fenced, or of unknown outcome). */
  failedTransactions: number;
  /** Producers replaced (fenced, hung, or a commit of unknown outcome). */
  producerResets: number;
  /** Outputs committed. */
  committedOutputs: number;
}

/** A position that may be committed: every record of `partition` below `offset` is done. */
export interface Committable {
  partition: number;
  offset: bigint;
  leaderEpoch: number;
}

/**
 * Holds outputs per input partition and commits them with their offsets. A transaction contains exactly the outputs of
 * the records below the offsets it commits (the done prefix of each partition): records that finish out of order wait,
 * with their outputs, until every record before them is done. So nothing visible to read_committed readers can be
 * produced again: an input whose offset is not committed has no committed output.
 */
export class ExactlyOnceOutput {
  readonly #o: ExactlyOnceOptions;
  readonly #producer: TransactionalProducer<OutValue, OutValue, string, string | Uint8Array>;
  readonly #lanes = new Map<number, Lane>();
  #failures = 0;
  /** When transactions were fenced lately: a live producer with the same transactional id (see commit). */
  #fencedAt: number[] = [];
  #conflictWarnedAt = -Infinity;
  #retryAt = 0;
  #failedGeneration: number | undefined;
  #stats = { transactions: 0, failedTransactions: 0, producerResets: 0, committedOutputs: 0 };
  #closed = new AbortController();
  /** max.message.bytes of each output topic (read at init, again after a refusal as too large). */
  #limits = new Map<string, number>();

  constructor(options: ExactlyOnceOptions) {
    this.#o = options;
    this.#producer = new TransactionalProducer(options.createProducer, {
      transactionTimeoutMs: options.transactionTimeoutMs,
      // A step that takes longer than the whole transaction may take cannot succeed anyway.
      stepTimeoutMs: options.transactionTimeoutMs,
    });
  }

  get transactionalId(): string {
    return this.#o.transactionalId;
  }

  /** Starts the producer session now (InitProducerId): a predecessor with the same id is fenced and its transaction resolved. */
  init(): Promise<void> {
    return this.#producer.init();
  }

  /**
   * Ends every transaction of this member so far: the producer is replaced by one with a new epoch (InitProducerId),
   * which fences the old one (its late requests are refused) and has the coordinator abort what it left open. What is
   * held stays held for the next transaction (the caller drops what is no longer its to commit).
   */
  async fence(): Promise<void> {
    await this.#producer.reset();
    await this.#producer.init();
  }

  /**
   * Reads the output topics' max.message.bytes: an output that can never fit is refused before it joins a transaction
   * (fits), and produce requests stay below the smallest limit. A topic whose limit cannot be read counts with the
   * broker's default until the next reading.
   */
  async loadLimits(): Promise<void> {
    const read = await readMaxMessageBytes(this.#o.admin, this.#o.outputTopics);
    this.#limits = read;
    const smallest = Math.min(...this.#o.outputTopics.map((t) => this.limitOf(t)));
    this.#producer.maxBatchBytes = Math.min(512 * 1024, smallest - RECORD_BATCH_OVERHEAD);
  }

  /** The largest record batch `topic` accepts. */
  limitOf(topic: string): number {
    return this.#limits.get(topic) ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** Whether `out` alone fits in its topic (a transaction holding one that does not would fail every time). */
  fits(out: OutgoingRecord): boolean {
    return recordBatchBytes(out) <= this.limitOf(out.topic);
  }

  /** Registers a fetched record (in offset order per partition). */
  register(partition: number, offset: bigint): HeldRecord {
    let lane = this.#lanes.get(partition);
    if (!lane) this.#lanes.set(partition, (lane = new Lane()));
    const held: HeldRecord = { offset, outputs: undefined };
    lane.held.push(held);
    return held;
  }

  /**
   * A record is done: these are its outputs (none for a filtered record; its dead letter for a failed one).
   * `tooLarge` gives its dead letter should the broker refuse an output as too large after all.
   */
  finish(record: HeldRecord, outputs: readonly OutgoingRecord[], tooLarge?: (error: LaglessError) => readonly OutgoingRecord[]): void {
    record.outputs = outputs;
    record.tooLarge = tooLarge;
  }

  /** The partition is no longer ours: its held outputs are dropped, never committed by this member. */
  revoke(partition: number): void {
    this.#lanes.delete(partition);
  }

  /** Outputs held (done records waiting for their transaction, and records in progress). */
  get held(): number {
    let n = 0;
    for (const lane of this.#lanes.values()) n += lane.held.length;
    return n;
  }

  stats(): ExactlyOnceStats {
    return { ...this.#stats, producerResets: this.#producer.stats.resets };
  }

  /**
   * Commits, in one transaction, the outputs of the records below `positions` and the positions themselves, as member
   * `group` (its generation fences the offsets). Resolves with the offsets committed (none when there was nothing to
   * commit or the transaction failed: its records stay held and the next call tries again).
   */
  async commit(positions: readonly Committable[], group: GroupGeneration, options: { retryNow?: boolean } = {}): Promise<TransactionOffset[]> {
    // After a failure, wait a little before trying again, unless the group has moved on (a new generation may succeed).
    if (!options.retryNow && this.#failures > 0 && performance.now() < this.#retryAt && group.generationId === this.#failedGeneration) return [];
    const parts: Part[] = [];
    const records: OutgoingRecord[] = [];
    for (const pos of positions) {
      const lane = this.#lanes.get(pos.partition);
      if (!lane) continue;
      let count = 0;
      for (let r = lane.held.at(0); r !== undefined && r.offset < pos.offset; r = lane.held.at(++count)) {
        if (!r.outputs) throw new LaglessError('INTERNAL', `offset ${r.offset} of partition ${pos.partition} is below the committable offset but not done`);
        for (const out of r.outputs) records.push(out);
      }
      if (count > 0) parts.push({ partition: pos.partition, lane, count, offset: pos.offset, leaderEpoch: pos.leaderEpoch });
    }
    if (parts.length === 0) return [];
    const offsets = parts.map((p) => ({ topic: this.#o.topic, partition: p.partition, offset: p.offset, leaderEpoch: p.leaderEpoch }));
    try {
      await this.#producer.commit(records.map(toMessage), offsets, group);
      this.#failures = 0;
      this.#stats.transactions += 1;
      this.#stats.committedOutputs += records.length;
      this.#release(parts);
      return offsets;
    } catch (err) {
      this.#failures += 1;
      this.#stats.failedTransactions += 1;
      this.#failedGeneration = group.generationId;
      this.#retryAt = performance.now() + Math.min(5000, 50 * 2 ** Math.min(this.#failures, 7));
      const e = err instanceof TransactionError ? err : new TransactionError(describeKafkaError(err), 'unknown', 'error', err);
      if (e.reason === 'fenced') this.#noteFencing();
      if (e.outcome === 'not-committed') {
        if (findKafkaErrorId(err, 'MESSAGE_TOO_LARGE') || findKafkaErrorId(err, 'RECORD_LIST_TOO_LARGE')) await this.#isolateTooLarge(parts, e);
        // The records stay held; the next transaction (new generation, new producer) carries them again.
        this.#o.onWarning(warning('TRANSACTION_FAILED', `${e.message}; its ${records.length} output(s) will be committed in a later transaction`, err));
        return [];
      }
      // The commit was requested and its answer lost. The producer was replaced, which resolved the transaction; the
      // group's offsets now say whether it committed (offsets and outputs commit together).
      const committed = await readStableOffsets(
        this.#o.admin,
        this.#o.group,
        this.#o.topic,
        parts.map((p) => p.partition),
        { signal: this.#closed.signal },
      ).catch(() => undefined);
      if (!committed) return [];
      const done = parts.filter((p) => (committed.get(p.partition) ?? -1n) >= p.offset);
      this.#release(done);
      this.#o.onWarning(
        warning('TRANSACTION_OUTCOME_UNKNOWN', `${e.message}; the commit's outcome was unknown: ${done.length ? 'it had committed' : 'it had not committed, its outputs will be committed in a later transaction'}`, err),
      );
      if (done.length) {
        this.#stats.transactions += 1;
        this.#stats.committedOutputs += records.length;
      }
      return offsets.filter((o) => done.some((p) => p.partition === o.partition));
    }
  }

  /**
   * The broker refused a produce request of the transaction as too large although every output fitted its topic's
   * limit as last read (a limit lowered since, or batches larger than it): the limits are read again, each held output
   * that no longer fits is replaced by its record's dead letter (OUTPUT_TOO_LARGE), and when none had to be, produce
   * requests are made smaller. The next transaction then commits the rest.
   */
  async #isolateTooLarge(parts: readonly Part[], cause: Error): Promise<void> {
    try {
      await this.loadLimits();
    } catch {
      // The limits as they were: the halving below still makes progress.
    }
    let replaced = 0;
    for (const p of parts) {
      for (let i = 0; i < p.count; i += 1) {
        const r = p.lane.held.at(i);
        if (!r?.outputs || r.outputs.every((o) => this.fits(o)) || !r.tooLarge) continue;
        const big = r.outputs.find((o) => !this.fits(o))!;
        r.outputs = r.tooLarge(new LaglessError('OUTPUT_TOO_LARGE', `an output of ${recordBatchBytes(big)} bytes is over the ${this.limitOf(big.topic)} bytes topic "${big.topic}" accepts (max.message.bytes)`, { cause }));
        replaced += 1;
      }
    }
    if (replaced === 0) this.#producer.maxBatchBytes = Math.max(1024, Math.floor(this.#producer.maxBatchBytes / 2));
  }

  /**
   * A fencing now and then is a predecessor's late request or a restart. Three within a minute mean another live
   * process holds the same transactional id: each new producer fences the other, which fences back, and neither makes
   * progress. Said once a minute.
   */
  #noteFencing(): void {
    const now = performance.now();
    this.#fencedAt = [...this.#fencedAt.filter((t) => now - t < 60_000), now];
    if (this.#fencedAt.length < 3 || now - this.#conflictWarnedAt < 60_000) return;
    this.#conflictWarnedAt = now;
    this.#o.onWarning(
      warning(
        'TRANSACTIONAL_ID_CONFLICT',
        `the transactional id ${this.#o.transactionalId} was fenced ${this.#fencedAt.length} times within a minute: another live process uses it (two members given the same LAGLESS_INSTANCE_ID, or the same transactionalId option?); they fence each other until one stops`,
      ),
    );
  }

  /** Drops committed records from their lanes (unless the partition was revoked, and maybe reassigned, since). */
  #release(parts: readonly Part[]): void {
    for (const p of parts) {
      if (this.#lanes.get(p.partition) !== p.lane) continue;
      for (let i = 0; i < p.count; i += 1) p.lane.held.shift();
    }
  }

  /** Stops: a transaction in progress is not waited for; an open one is aborted by the coordinator (or a successor). */
  async close(): Promise<void> {
    this.#closed.abort(new LaglessError('INTERNAL', 'closed'));
    this.#lanes.clear();
    await this.#producer.close();
  }
}

function toMessage(r: OutgoingRecord) {
  return {
    topic: r.topic,
    value: r.value,
    ...(r.key !== undefined ? { key: r.key } : {}),
    ...(r.headers ? { headers: new Map(Object.entries(r.headers)) } : {}),
  };
}
