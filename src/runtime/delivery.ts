// How outputs and offsets reach the broker, one strategy per delivery guarantee behind one interface, so that the member
// (transformer.ts) never asks which guarantee is in force: it reads the strategy's policy, named after behaviours.
//   at-least-once: each output is produced as soon as its record is done; offsets are committed by the consumer after;
//   our commits are checked against the broker's (a late commit of a previous owner is undone).
//   exactly-once: outputs are held and committed with their offsets in Kafka transactions; new partitions wait for
//   their stable committed offsets; a new membership restarts every partition from there.
import { LaglessError, warning } from '../errors/index.ts';
import type { Admin } from '@platformatic/kafka';
import { within } from '../common/index.ts';
import { createAdmin, createRecordProducer, describeKafkaError, readStableOffsets, recordBatchBytes, type GroupGeneration, type RecordConsumer } from '../kafka/index.ts';
import type { OffsetTracker } from '../offsets/index.ts';
import { ExactlyOnceOutput, type ExactlyOnceStats, type HeldRecord } from './exactly-once.ts';
import type { Guarantee, TransformerOptions } from './options.ts';
import type { PartitionTable } from './partition-table.ts';
import { OutputSink, type OutgoingRecord, type SendCallback } from './sink.ts';
import { claimTransactionalId, type TransactionalIdClaim } from './transactional-id.ts';

/** What the member does differently per guarantee, each named after the behaviour. */
export interface DeliveryPolicy {
  /** Back under a new membership, every partition is dropped and read again from its stable committed offset. */
  readonly restartOnNewMembership: boolean;
  /** A revoked partition is released (its done records committed, then dropped) or dropped at once. */
  readonly revocation: 'release' | 'drop';
  /** Newly assigned partitions hold their records until their stable committed offsets are known. */
  readonly gateNewPartitions: boolean;
  /** The final commit at close() is tried again (every ≤ 500 ms) until the close deadline. */
  readonly retryFinalCommit: boolean;
  /** Our commits are compared with what the broker holds (a late commit of a previous owner is undone). */
  readonly verifyCommits: boolean;
  /**
   * A commit is made as soon as every record in the window is done (the end of a burst, or of a backlog) instead of
   * at the next commit interval. Cheap for a consumer commit; not for a transaction (exactly-once keeps its interval).
   */
  readonly commitWhenSettled: boolean;
}

/** The member's group state, as a commit needs it. */
export interface MemberView {
  readonly consumer: RecordConsumer | undefined;
  readonly generation: { generationId: number; memberId: string; membership: string } | undefined;
}

export interface DeliveryPorts {
  readonly options: TransformerOptions;
  /** Every topic outputs and dead letters go to. */
  readonly outputTopics: readonly string[];
  readonly tracker: OffsetTracker;
  readonly partitions: PartitionTable<unknown, unknown>;
  member(): MemberView;
  warn(w: LaglessError): void;
  /** A warning at most every 10 s per code. */
  warnEvery(w: LaglessError): void;
}

export type CommitResult = { readonly ok: boolean; readonly offsets: readonly { partition: number; offset: bigint; leaderEpoch: number }[] };

export interface DeliveryStrategy {
  readonly guarantee: Guarantee;
  readonly policy: DeliveryPolicy;
  /** Before the group is joined. */
  start(): Promise<void>;
  /** A fetched record joined the window: its handle (exactly-once: where its outputs wait). */
  register(partition: number, offset: bigint): HeldRecord | undefined;
  /**
   * A record's outputs (or its dead letter). Calls `done` once, without an argument when the record counts as done
   * (at-least-once: the broker acknowledged them; exactly-once: they are held for the transaction that commits its
   * offset), with the error otherwise. It may call it before it returns. `signal`: the record was given up (not sent
   * again). `lastResort`: its dead letter, when the broker refuses an output after all.
   */
  deliver(handle: HeldRecord | undefined, outputs: readonly OutgoingRecord[], signal: AbortSignal | undefined, lastResort: ((error: LaglessError) => readonly OutgoingRecord[]) | undefined, done: SendCallback): void;
  /** Whether the broker accepts this record (its topic's max.message.bytes, as last read). */
  fits(record: OutgoingRecord): boolean;
  /** Commits what is done (of the given partitions, or all). `final`: the close's last commit. */
  commit(only: readonly number[] | undefined, o: { final: boolean }): Promise<CommitResult>;
  /** The stable committed offsets of newly assigned partitions (gateNewPartitions). */
  stableOffsets(partitions: readonly number[], signal: AbortSignal): Promise<Map<number, bigint>>;
  /** A release of the partition committed what it could, before the partition is dropped. */
  released(partition: number): Promise<void>;
  /**
   * What the broker answered for our partitions' committed offsets (asked at `asked`, performance.now()): true when
   * one went back below our commit (a late commit of its previous owner) and must be committed again.
   */
  compareCommitted(partitions: readonly number[], fetched: readonly bigint[], asked: number): boolean;
  /** A partition's state ended (released or dropped). */
  dropped(partition: number): void;
  /** The membership ended (a reconnect): resolves when a new one may begin. */
  membershipEnded(commitTail: Promise<unknown>): Promise<void>;
  /** At close(), after the drain: outputs not acknowledged within `ms` are given up. */
  drainOutputs(ms: number): Promise<{ unacknowledged: number }>;
  close(): Promise<void>;
  destroy(): Promise<void>;
  stats(): { transactions?: ExactlyOnceStats & { transactionalId: string | undefined } };
}

export function createDeliveryStrategy(guarantee: Guarantee, ports: DeliveryPorts): DeliveryStrategy {
  return guarantee === 'exactly-once' ? new ExactlyOnceDelivery(ports) : new AtLeastOnceDelivery(ports);
}

/** A commit position (offset after the done prefix) with its leader epoch. */
function positionsOf(ports: DeliveryPorts, keep: (partition: number) => boolean) {
  const out: { partition: number; offset: bigint; leaderEpoch: number }[] = [];
  for (const c of ports.tracker.committable()) {
    if (!keep(c.partition)) continue;
    out.push({ partition: c.partition, offset: c.offset, leaderEpoch: ports.partitions.get(c.partition)?.leaderEpoch ?? -1 });
  }
  return out;
}

class AtLeastOnceDelivery implements DeliveryStrategy {
  readonly guarantee = 'at-least-once' as const;
  readonly policy: DeliveryPolicy = { restartOnNewMembership: false, revocation: 'release', gateNewPartitions: false, retryFinalCommit: false, verifyCommits: true, commitWhenSettled: true };
  readonly #p: DeliveryPorts;
  readonly #sink: OutputSink;

  constructor(ports: DeliveryPorts) {
    this.#p = ports;
    const o = ports.options;
    this.#sink = new OutputSink(() => createRecordProducer({ ...o.kafka, clientId: `${o.clientId}-out` }), { onError: (err) => ports.warn(err as LaglessError) });
  }

  async start(): Promise<void> {}

  register(): undefined {
    return undefined;
  }

  deliver(_handle: HeldRecord | undefined, outputs: readonly OutgoingRecord[], signal: AbortSignal | undefined, _lastResort: unknown, done: SendCallback): void {
    // A record given up meanwhile (its partition revoked) is not sent again: its next owner does it.
    if (outputs.length === 0) return done();
    if (outputs.length === 1) return this.#sink.enqueue(outputs[0]!, signal, done);
    // Several outputs: done when every one is settled, with the first error if any failed.
    let left = outputs.length;
    let failed: Error | undefined;
    for (const o of outputs) {
      this.#sink.enqueue(o, signal, (error) => {
        failed ??= error;
        if (--left === 0) done(failed);
      });
    }
  }

  fits(): boolean {
    return true;
  }

  async commit(only: readonly number[] | undefined): Promise<CommitResult> {
    const consumer = this.#p.member().consumer;
    if (!consumer) return { ok: true, offsets: [] };
    const table = this.#p.partitions;
    const offsets = positionsOf(this.#p, (p) => !only || only.includes(p));
    // Partitions whose committed offset went back (a late commit of their previous owner): ours again.
    for (const p of table.owned()) {
      const s = table.get(p)!;
      if (!s.restore || (only && !only.includes(p)) || s.committed === undefined || offsets.some((o) => o.partition === p)) continue;
      offsets.push({ partition: p, offset: s.committed, leaderEpoch: s.leaderEpoch });
    }
    if (offsets.length === 0) return { ok: true, offsets: [] };
    const topic = this.#p.options.from;
    try {
      await consumer.commit({ offsets: offsets.map((o) => ({ topic, ...o })) });
    } catch (err) {
      // Not fatal: the records stay uncommitted and may be redone; the next commit retries.
      this.#p.warnEvery(warning('COMMIT_FAILED', `commit failed (will retry): ${describeKafkaError(err)}`, err));
      return { ok: false, offsets: [] };
    }
    const now = performance.now();
    for (const o of offsets) {
      const s = table.get(o.partition);
      if (!s) continue; // dropped while its commit was on its way
      s.committed = o.offset;
      s.committedAt = now;
      s.restore = false;
    }
    return { ok: true, offsets };
  }

  stableOffsets(): Promise<Map<number, bigint>> {
    return Promise.reject(new LaglessError('INTERNAL', 'at-least-once reads no stable offsets'));
  }

  /**
   * A partition released before any of its records finished here may have no committed offset at all. The next owner
   * then starts from the client's fetch position for it, and @platformatic/kafka 2.12.1 keeps a stale one (where this
   * member had fetched to, if it owned the partition before): records would be skipped. Committing the log start
   * (what the group's fallback `earliest` means) gives every next owner a real position.
   */
  async released(partition: number): Promise<void> {
    const consumer = this.#p.member().consumer;
    const topic = this.#p.options.from;
    if (!consumer || this.#p.partitions.get(partition)?.committed !== undefined) return;
    try {
      const committed = (await consumer.listCommittedOffsets({ topics: [{ topic, partitions: [partition] }] })).get(topic)?.[partition];
      if (committed !== undefined && committed >= 0n) return;
      const start = (await consumer.listOffsets({ topics: [topic], partitions: { [topic]: [partition] }, timestamp: -2n })).get(topic)?.[partition];
      if (start === undefined || start < 0n) return;
      await consumer.commit({ offsets: [{ topic, partition, offset: start, leaderEpoch: -1 }] });
    } catch (err) {
      this.#p.warnEvery(warning('COMMIT_FAILED', `commit of partition ${partition}'s start failed: ${describeKafkaError(err)}`, err));
    }
  }

  compareCommitted(partitions: readonly number[], fetched: readonly bigint[], asked: number): boolean {
    const table = this.#p.partitions;
    let found = false;
    for (const p of partitions) {
      const s = table.isOwned(p) ? table.get(p)! : undefined;
      const ours = s?.committed;
      const theirs = fetched[p] ?? -1n;
      // Only commits that had succeeded before the question was asked are expected in the answer.
      if (!s || ours === undefined || theirs >= ours || (s.committedAt ?? Infinity) >= asked || s.restore) continue;
      s.restore = true;
      found = true;
      this.#p.warn(warning('COMMIT_WENT_BACK', `partition ${p}: the committed offset went back from ${ours} to ${theirs} (a late commit of its previous owner); committing ${ours} again`));
    }
    return found;
  }

  dropped(): void {}

  async membershipEnded(): Promise<void> {}

  async drainOutputs(ms: number): Promise<{ unacknowledged: number }> {
    const { unacknowledged } = await this.#sink.close(ms);
    if (unacknowledged > 0) {
      this.#p.warn(warning('OUTPUTS_UNACKNOWLEDGED', `the broker did not acknowledge ${unacknowledged} output(s) within the drain timeout: their records are not committed and will be redone by the next owner`));
    }
    return { unacknowledged };
  }

  async close(): Promise<void> {}

  async destroy(): Promise<void> {
    await this.#sink.destroy();
  }

  stats(): Record<string, never> {
    return {};
  }
}

class ExactlyOnceDelivery implements DeliveryStrategy {
  readonly guarantee = 'exactly-once' as const;
  readonly policy: DeliveryPolicy;
  readonly #p: DeliveryPorts;
  #output: ExactlyOnceOutput | undefined;
  #admin: Admin | undefined;
  #claim: TransactionalIdClaim | undefined;

  constructor(ports: DeliveryPorts) {
    this.#p = ports;
    // KIP-848: @platformatic/kafka 2.12.1 acknowledges a revocation in its next heartbeat without waiting for the
    // release, so the next owner may already be working: a transaction of ours would commit what it also commits.
    this.policy = {
      restartOnNewMembership: true,
      revocation: ports.options.groupProtocol === 'classic' ? 'release' : 'drop',
      gateNewPartitions: true,
      retryFinalCommit: true,
      // Transactions leave committedAt unset: there is no consumer commit of ours to compare.
      verifyCommits: false,
      commitWhenSettled: false,
    };
  }

  /** The transactional producer, with its stable id, started before the group is joined. */
  async start(): Promise<void> {
    const o = this.#p.options;
    if (o.transactionalId === undefined) this.#claim = await claimTransactionalId(o.group);
    const transactionalId = o.transactionalId ?? this.#claim!.transactionalId;
    // No retries inside the client: readStableOffsets retries (and reports) each refusal while a transaction is open.
    this.#admin = createAdmin({ ...o.kafka, clientId: `${o.clientId}-txn`, retries: 0 });
    const output = new ExactlyOnceOutput({
      topic: o.from,
      group: o.group,
      transactionalId,
      transactionTimeoutMs: o.transactionTimeoutMs,
      createProducer: () => createRecordProducer({ ...o.kafka, clientId: `${o.clientId}-out`, transactionalId }),
      admin: this.#admin,
      outputTopics: [...this.#p.outputTopics],
      onWarning: (err) => this.#p.warn(err as LaglessError),
    });
    this.#output = output;
    // An output over its topic's max.message.bytes would fail every transaction that holds it: the limits are read now,
    // and such an output becomes its record's dead letter before it is held (deliver).
    try {
      await output.loadLimits();
    } catch (err) {
      this.#p.warn(warning('OUTPUT_LIMITS_UNKNOWN', `reading the output topics' max.message.bytes failed (the broker's default is assumed until a refusal): ${describeKafkaError(err)}`));
    }
    // Fences a predecessor with the same id (a crashed run of this member) and resolves its open transaction now,
    // rather than after its timeout: the offsets it was committing become stable for whoever owns its partitions.
    try {
      await output.init();
    } catch (err) {
      this.#p.warn(warning('TRANSACTIONS_INIT_FAILED', `starting the transactional producer ${transactionalId} failed (retried with the first transaction): ${describeKafkaError(err)}`));
    }
  }

  register(partition: number, offset: bigint): HeldRecord {
    return this.#output!.register(partition, offset);
  }

  deliver(handle: HeldRecord | undefined, outputs: readonly OutgoingRecord[], _signal: AbortSignal | undefined, lastResort: ((error: LaglessError) => readonly OutgoingRecord[]) | undefined, done: SendCallback): void {
    const output = this.#output!;
    // An output the broker would refuse fails the whole transaction, again and again; it fails its record here instead
    // (OUTPUT_TOO_LARGE: a dead letter, held in its place).
    for (const o of outputs) {
      if (!output.fits(o)) return done(new LaglessError('OUTPUT_TOO_LARGE', `an output of ${recordBatchBytes(o)} bytes is over the ${output.limitOf(o.topic)} bytes topic "${o.topic}" accepts (max.message.bytes)`));
    }
    try {
      output.finish(handle!, outputs, lastResort);
    } catch (err) {
      return done(err instanceof Error ? err : new LaglessError('INTERNAL', String(err)));
    }
    done();
  }

  fits(record: OutgoingRecord): boolean {
    return this.#output?.fits(record) ?? true;
  }

  /**
   * One transaction with the outputs of the done prefix of every held partition and its offsets, as the member of the
   * current generation. A failed transaction leaves everything held for the next one. `only` is not needed: a
   * transaction takes every partition's done prefix (a release's partition among them).
   */
  async commit(_only: readonly number[] | undefined, o: { final: boolean }): Promise<CommitResult> {
    const { consumer, generation } = this.#p.member();
    if (!consumer) return { ok: true, offsets: [] };
    const table = this.#p.partitions;
    // Owned partitions, and those being released (the member still holds the generation that owns them); not gated.
    const positions = positionsOf(this.#p, (p) => {
      const s = table.get(p);
      return s !== undefined && !s.gate;
    });
    if (positions.length === 0) return { ok: true, offsets: [] };
    // Not a member of a generation (joining, or the coordinator unknown): not now, the next commit tries again.
    const coordinatorId = consumer.coordinatorId;
    if (!generation || coordinatorId === null || coordinatorId === undefined) return { ok: false, offsets: [] };
    let generationId = generation.generationId;
    if (this.#p.options.groupProtocol === 'consumer') {
      // KIP-848: the epoch now, and only partitions the client still holds now (it takes a revocation into its
      // assignment before it acknowledges it, and the coordinator moves the partition only after that: a transaction
      // with this epoch either lands while the partition is ours or is refused as stale).
      generationId = consumer.memberEpoch;
      if (generationId <= 0 || `${consumer.memberId}#${consumer.membership}` !== generation.membership) return { ok: false, offsets: [] };
      const held = new Set(consumer.assignments?.find((a) => a.topic === this.#p.options.from)?.partitions ?? []);
      for (let i = positions.length - 1; i >= 0; i -= 1) if (!held.has(positions[i]!.partition)) positions.splice(i, 1);
      if (positions.length === 0) return { ok: true, offsets: [] };
    }
    const group: GroupGeneration = { groupId: this.#p.options.group, generationId, memberId: generation.memberId, coordinatorId };
    // The offsets go through the transaction, never consumer.commit: so the client has no commit of ours to retry late
    // across a rejoin.
    const offsets = await this.#output!.commit(positions, group, { retryNow: o.final });
    if (offsets.length === 0) return { ok: false, offsets: [] };
    for (const c of offsets) {
      const s = table.get(c.partition);
      if (s) s.committed = c.offset;
    }
    return { ok: true, offsets: offsets.map((c) => ({ partition: c.partition, offset: c.offset, leaderEpoch: c.leaderEpoch ?? -1 })) };
  }

  stableOffsets(partitions: readonly number[], signal: AbortSignal): Promise<Map<number, bigint>> {
    return readStableOffsets(this.#admin!, this.#p.options.group, this.#p.options.from, [...partitions], {
      signal,
      onWait: (err, attempt) => {
        if (attempt % 10 === 0) this.#p.warnEvery(warning('STABLE_OFFSETS_WAIT', `waiting for stable committed offsets of partitions ${partitions.join(',')} (a transaction holds them): ${describeKafkaError(err)}`));
      },
    });
  }

  /** Exactly-once never commits outside a transaction; a next owner reads stable offsets (gateNewPartitions). */
  async released(): Promise<void> {}

  /** Transactions leave committedAt unset: there is no consumer commit of ours to compare. */
  compareCommitted(): boolean {
    return false;
  }

  dropped(partition: number): void {
    this.#output?.revoke(partition);
  }

  /**
   * Nothing of the old membership may commit once the member is back under a new one (its records are redone there,
   * from the stable committed offsets). The transaction in progress, if any, gets its time; then the producer is
   * replaced: the new producer epoch fences the old one, and the coordinator aborts what it left open.
   */
  async membershipEnded(commitTail: Promise<unknown>): Promise<void> {
    await within(commitTail, this.#p.options.transactionTimeoutMs);
    await this.#output?.fence().catch((err: unknown) => this.#p.warn(warning('TRANSACTIONS_INIT_FAILED', `replacing the transactional producer before joining again failed (the next transaction retries it): ${describeKafkaError(err)}`)));
  }

  /** Outputs are held for the final transaction: nothing to drain. */
  async drainOutputs(): Promise<{ unacknowledged: number }> {
    return { unacknowledged: 0 };
  }

  /** An open transaction left behind is aborted by the coordinator (or by this member's successor). */
  async close(): Promise<void> {
    await this.#output?.close();
    await this.#admin?.close().catch(() => {});
    this.#claim?.release();
  }

  destroy(): Promise<void> {
    return this.close();
  }

  stats() {
    return this.#output ? { transactions: { ...this.#output.stats(), transactionalId: this.#output.transactionalId } } : {};
  }
}
