// One Kafka transaction per call: records and consumer-group offsets committed atomically by a transactional producer,
// with an explicit transaction timeout, every step bounded, and failures sorted by what is known of their outcome.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  kGetApi,
  kGetConnection,
  kMetadata,
  kOptions,
  type Admin,
  type API,
  type Callback,
  type ClusterMetadata,
  type Connection,
  type Consumer,
  type MessageToProduce,
  type Producer,
} from '@platformatic/kafka';
import { LaglessError } from '../errors/index.ts';
import { describeKafkaError, findKafkaErrorId } from './errors.ts';

/** Who commits offsets in the group: the transaction's offsets are accepted only while this generation is current. */
export interface GroupGeneration {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId?: string | null;
  /** The group coordinator's node id, as the member's consumer knows it. */
  coordinatorId: number;
}

/** A consumer offset to commit in the transaction: `offset` is the next offset to read. */
export interface TransactionOffset {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch?: number;
}

/**
 * What is known of a failed transaction:
 * - `not-committed`: it failed before the commit was requested, so nothing of it is or will become visible;
 * - `unknown`: the commit request itself failed; the transaction may have committed. The caller must find out (the
 *   group's committed offsets tell, once the transaction is resolved: reset() resolves it).
 */
export type TransactionOutcome = 'not-committed' | 'unknown';

/**
 * Why it failed:
 * - `generation`: the group moved on (rebalance, or this member was removed): the offsets were refused;
 * - `fenced`: a newer producer with the same transactional id exists, or the coordinator aborted the transaction
 *   (its timeout passed): this producer can do nothing more;
 * - `timeout`: a step did not answer in time (the producer is replaced);
 * - `error`: anything else (coordinator moving, broker away, ...).
 */
export type TransactionFailureReason = 'generation' | 'fenced' | 'timeout' | 'error';

export class TransactionError extends LaglessError {
  readonly outcome: TransactionOutcome;
  readonly reason: TransactionFailureReason;
  constructor(message: string, outcome: TransactionOutcome, reason: TransactionFailureReason, cause?: unknown) {
    super('KAFKA', message, { cause, retryable: reason !== 'fenced' });
    this.name = 'TransactionError';
    this.outcome = outcome;
    this.reason = reason;
  }
}

const GENERATION_ERRORS = ['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID', 'REBALANCE_IN_PROGRESS', 'STALE_MEMBER_EPOCH', 'FENCED_MEMBER_EPOCH'];
const FENCED_ERRORS = ['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 'INVALID_TXN_STATE'];

function reasonOf(err: unknown): TransactionFailureReason {
  if (err instanceof StepTimeout) return 'timeout';
  if (GENERATION_ERRORS.some((id) => findKafkaErrorId(err, id))) return 'generation';
  if (FENCED_ERRORS.some((id) => findKafkaErrorId(err, id))) return 'fenced';
  return 'error';
}

class StepTimeout extends Error {}

/** The TxnOffsetCommit request's topics (not exported by the client's root). */
interface TxnOffsetCommitRequestTopic {
  name: string;
  partitions: { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string | null }[];
}

export interface TransactionalProducerOptions {
  /**
   * How long the coordinator lets a transaction stay open before it aborts it and fences its producer: the longest a
   * crashed member's unfinished transaction holds back read_committed readers and the next owner of its partitions.
   */
  transactionTimeoutMs: number;
  /** The longest one step (begin, a produce request, the offsets, the commit) may take before it is given up. */
  stepTimeoutMs: number;
  /** Records per produce request, at most. Default 1000. */
  maxBatchRecords?: number;
  /** Bytes of keys, values and headers per produce request, at most (approximate). Default 512 KiB. */
  maxBatchBytes?: number;
}

type AnyProducer<K, V, HK, HV> = Producer<K, V, HK, HV>;

const call = <T>(fn: (cb: Callback<T>) => void): Promise<T> =>
  new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));

function sizeOf(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (v instanceof Uint8Array) return v.byteLength;
  return 64;
}

function approximateSize(m: MessageToProduce<unknown, unknown, unknown, unknown>): number {
  let n = 70 + sizeOf(m.key) + sizeOf(m.value);
  const h = m.headers as Map<unknown, unknown> | Record<string, unknown> | undefined;
  if (h) for (const [k, v] of h instanceof Map ? h : Object.entries(h)) n += sizeOf(k) + sizeOf(v) + 8;
  return n;
}

/**
 * A transactional producer (Kafka Streams' EOS v2: one per member): `commit()` runs one whole transaction: records,
 * then the group's offsets (TxnOffsetCommit with the member's generation, so a member that the group has moved past
 * cannot commit), then EndTxn. One transaction at a time.
 *
 * The producer comes from `create()`, which must set `idempotent: true` and the stable `transactionalId`. reset()
 * replaces it: the new producer's InitProducerId bumps the epoch, which fences the old one (its late writes are
 * refused) and resolves the transaction it left open (aborted, or completed if its commit was already requested).
 */
export class TransactionalProducer<K, V, HK, HV> {
  readonly #create: () => AnyProducer<K, V, HK, HV>;
  readonly #o: Required<TransactionalProducerOptions>;
  #producer: AnyProducer<K, V, HK, HV> | undefined;
  #initialized = false;
  #busy = false;
  /** Transactions committed and aborted by this object. */
  readonly stats = { committed: 0, failed: 0, resets: 0, records: 0 };

  /** Bytes of keys, values and headers per produce request, at most (approximate): at most the smallest max.message.bytes of the topics written. */
  get maxBatchBytes(): number {
    return this.#o.maxBatchBytes;
  }
  set maxBatchBytes(n: number) {
    this.#o.maxBatchBytes = Math.max(1, Math.floor(n));
  }

  constructor(create: () => AnyProducer<K, V, HK, HV>, options: TransactionalProducerOptions) {
    this.#create = create;
    this.#o = { maxBatchRecords: 1000, maxBatchBytes: 512 * 1024, ...options };
  }

  /** The transactional id of the producer (the one `create()` sets). */
  get transactionalId(): string | undefined {
    return this.#producer?.[kOptions].transactionalId;
  }

  #current(): AnyProducer<K, V, HK, HV> {
    if (!this.#producer) {
      this.#producer = this.#create();
      this.#initialized = false;
      if (!this.#producer[kOptions].idempotent || !this.#producer[kOptions].transactionalId) {
        throw new LaglessError('INTERNAL', 'a transactional producer needs idempotent: true and a transactionalId');
      }
    }
    return this.#producer;
  }

  async #step<T>(what: string, p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StepTimeout(`${what} did not answer within ${this.#o.stepTimeoutMs} ms`)), this.#o.stepTimeoutMs);
    });
    try {
      return await Promise.race([p, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Begins a transaction. The first one of a producer runs InitProducerId, where @platformatic/kafka 2.12.1 needs two
   * corrections:
   * - the transaction timeout is taken from the client's request timeout: it is set to transactionTimeoutMs for that
   *   request only;
   * - without options it sends producer id 0 and epoch 0, which claims to be that existing producer: once the
   *   transactional id has had any other producer id, the coordinator answers PRODUCER_FENCED and a restarted member
   *   could never start. -1/-1 asks for a new session, as the Java client does: the epoch is bumped, the previous
   *   holder of the id is fenced and its open transaction resolved.
   */
  async #begin(producer: AnyProducer<K, V, HK, HV>) {
    if (this.#initialized) return this.#step('BeginTransaction', producer.beginTransaction());
    const options = producer[kOptions];
    const requestTimeout = options.timeout;
    options.timeout = this.#o.transactionTimeoutMs;
    try {
      const txn = await this.#step('InitProducerId', producer.beginTransaction({ producerId: -1n, producerEpoch: -1 }));
      this.#initialized = true;
      return txn;
    } finally {
      options.timeout = requestTimeout;
    }
  }

  /**
   * Produces `records` and commits `offsets` for `group` in one transaction. Resolves when the transaction is committed.
   * Rejects with a TransactionError that says whether the transaction may have committed (`outcome`) and why it failed.
   */
  async commit(records: readonly MessageToProduce<K, V, HK, HV>[], offsets: readonly TransactionOffset[], group: GroupGeneration): Promise<void> {
    if (this.#busy) throw new LaglessError('INTERNAL', 'one transaction at a time');
    this.#busy = true;
    let producer: AnyProducer<K, V, HK, HV> | undefined;
    let phase: 'begin' | 'produce' | 'offsets' | 'commit' = 'begin';
    try {
      producer = this.#current();
      const txn = await this.#begin(producer);
      phase = 'produce';
      for (const chunk of this.#chunks(records)) await this.#step('Produce', txn.send({ messages: chunk }));
      if (offsets.length > 0) {
        phase = 'offsets';
        await this.#step('AddOffsetsToTxn', txn.addConsumer({ groupId: group.groupId } as unknown as Consumer<K, V, HK, HV>));
        await this.#step('TxnOffsetCommit', this.#commitOffsets(producer, offsets, group));
      }
      phase = 'commit';
      await this.#step('EndTxn', txn.commit());
      this.stats.committed += 1;
      this.stats.records += records.length;
    } catch (err) {
      this.stats.failed += 1;
      const reason = reasonOf(err);
      const outcome: TransactionOutcome = phase === 'commit' ? 'unknown' : 'not-committed';
      // A transaction that surely did not commit is aborted now (cheaper than a new producer); any doubt, a fencing, a
      // step that hung, or a refused produce request: the producer is replaced, which resolves what it left open. (A
      // produce request the broker refused, MESSAGE_TOO_LARGE say, has used up sequence numbers the broker never saw:
      // @platformatic/kafka 2.12.1 keeps counting from there, and every later transaction of that producer was refused
      // with OUT_OF_ORDER_SEQUENCE_NUMBER. A new producer id starts the sequences again.)
      if (outcome === 'not-committed' && reason !== 'fenced' && reason !== 'timeout' && phase !== 'produce' && producer?.transaction) {
        try {
          await this.#step('EndTxn(abort)', producer.transaction.abort());
        } catch {
          await this.reset();
        }
      } else {
        await this.reset();
      }
      throw new TransactionError(`transaction failed while ${phase === 'begin' ? 'beginning' : `in ${phase}`} (${reason}): ${describeKafkaError(err)}`, outcome, reason, err);
    } finally {
      this.#busy = false;
    }
  }

  *#chunks(records: readonly MessageToProduce<K, V, HK, HV>[]): Generator<MessageToProduce<K, V, HK, HV>[]> {
    let chunk: MessageToProduce<K, V, HK, HV>[] = [];
    let bytes = 0;
    for (const r of records) {
      const size = approximateSize(r as MessageToProduce<unknown, unknown, unknown, unknown>);
      if (chunk.length > 0 && (chunk.length >= this.#o.maxBatchRecords || bytes + size > this.#o.maxBatchBytes)) {
        yield chunk;
        chunk = [];
        bytes = 0;
      }
      chunk.push(r);
      bytes += size;
    }
    if (chunk.length > 0) yield chunk;
  }

  /**
   * One TxnOffsetCommit for every partition (the client's Transaction.addOffset sends one request per record), with the
   * member's generation and id: the coordinator refuses them once the group has moved past this member.
   */
  async #commitOffsets(producer: AnyProducer<K, V, HK, HV>, offsets: readonly TransactionOffset[], group: GroupGeneration): Promise<void> {
    const topics = new Map<string, TxnOffsetCommitRequestTopic>();
    for (const o of offsets) {
      let t = topics.get(o.topic);
      if (!t) topics.set(o.topic, (t = { name: o.topic, partitions: [] }));
      t.partitions.push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch ?? -1, committedMetadata: null });
    }
    type Args = [string, string, bigint, number, number, string, string | null, TxnOffsetCommitRequestTopic[]];
    const api = await call<API<Args, unknown>>((cb) => producer[kGetApi]<Args, unknown>('TxnOffsetCommit', cb));
    const metadata = await call<ClusterMetadata>((cb) => producer[kMetadata]({ topics: [] }, cb));
    const broker = metadata.brokers.get(group.coordinatorId);
    if (!broker) throw new LaglessError('KAFKA', `the group coordinator (node ${group.coordinatorId}) is not in the cluster metadata`);
    const connection = await call<Connection>((cb) => producer[kGetConnection](broker, cb));
    const txnId = producer.transaction?.id;
    if (txnId === undefined || producer.producerId === undefined || producer.producerEpoch === undefined) {
      throw new LaglessError('INTERNAL', 'TxnOffsetCommit outside a transaction');
    }
    const args: Args = [txnId, group.groupId, producer.producerId, producer.producerEpoch, group.generationId, group.memberId, group.groupInstanceId ?? null, [...topics.values()]];
    // A coordinator that is loading or moving answers with a retriable error: two more tries before the transaction is
    // given up (a refused generation or a fencing is final).
    for (let attempt = 1; ; attempt += 1) {
      try {
        await api.async(connection, ...args);
        return;
      } catch (err) {
        if (attempt >= 3 || reasonOf(err) !== 'error') throw err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  }

  /** Replaces the producer with a new one (same transactional id), fencing the old one and resolving its transaction. */
  async reset(): Promise<void> {
    const old = this.#producer;
    this.#producer = undefined;
    this.#initialized = false;
    this.stats.resets += 1;
    if (old) await old.close(true).catch(() => {});
  }

  /** Makes sure the producer is initialized now (InitProducerId), which also resolves a transaction a predecessor left open. */
  async init(): Promise<void> {
    const producer = this.#current();
    if (this.#initialized) return;
    const txn = await this.#begin(producer);
    // Nothing was added to it: the coordinator holds no state for an empty transaction, so ending it locally is enough.
    await txn.cancel();
  }

  async close(): Promise<void> {
    const p = this.#producer;
    this.#producer = undefined;
    if (p) await p.close(true).catch(() => {});
  }
}

export interface StableOffsetsOptions {
  /** Stop waiting (rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Called on each retry while a transaction holds the offsets unstable (or the coordinator is away). */
  onWait?: (err: unknown, attempt: number) => void;
}

/**
 * The group's committed offsets of `partitions` (next offset to read, -1n when none), read with requireStable: while a
 * transaction that commits offsets of one of them is open, the coordinator answers UNSTABLE_OFFSET_COMMIT and this
 * waits (Kafka's KIP-447), so a new owner never starts below offsets a previous owner's transaction is committing.
 * Retries until it works or `signal` aborts.
 */
export async function readStableOffsets(
  admin: Admin,
  groupId: string,
  topic: string,
  partitions: readonly number[],
  options: StableOffsetsOptions = {},
): Promise<Map<number, bigint>> {
  for (let attempt = 1; ; attempt += 1) {
    options.signal?.throwIfAborted();
    try {
      const groups = await admin.listConsumerGroupOffsets({ groups: [{ groupId, topics: [{ name: topic, partitionIndexes: [...partitions] }] }], requireStable: true });
      const out = new Map<number, bigint>(partitions.map((p) => [p, -1n]));
      for (const g of groups) for (const t of g.topics) if (t.name === topic) for (const p of t.partitions) if (out.has(p.partitionIndex)) out.set(p.partitionIndex, p.committedOffset);
      return out;
    } catch (err) {
      options.signal?.throwIfAborted();
      options.onWait?.(err, attempt);
      await sleep(Math.min(1000, 100 * attempt), undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }
}
