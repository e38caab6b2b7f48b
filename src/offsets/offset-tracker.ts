// Completion tracking for every assigned partition, with rebalances: revoke, reassign, and stale tickets ignored.
import { PartitionOffsets, type OffsetEntry, type OffsetTicket } from './partition-offsets.ts';

/** A record's place in the log. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** A commit to make: `offset` is the next offset to read. */
export interface CommitPosition extends TopicPartition {
  readonly offset: bigint;
}

/** A registered record of some partition, handed back to done(). */
export interface RecordTicket extends TopicPartition, OffsetTicket {}

interface PartitionState {
  readonly tp: TopicPartition;
  readonly offsets: PartitionOffsets;
}

/**
 * Offsets of all partitions this consumer owns. A partition's state lives from assign() (or its first register())
 * to revoke() or reset(); tickets of an earlier assignment are ignored by done(), so a record that finishes after
 * its partition moved away can never mark a record of the new assignment done.
 */
export class OffsetTracker {
  /** By topic, then partition (no key string built per record). */
  #topics = new Map<string, Map<number, PartitionState>>();
  /** Registered records not yet covered by a commit, over all partitions (kept as it changes: read per record). */
  #uncommitted = 0;
  /** Registered records not yet done, over all partitions (kept as it changes). */
  #inFlight = 0;

  #get(topic: string, partition: number): PartitionState | undefined {
    return this.#topics.get(topic)?.get(partition);
  }

  *#states(): Generator<PartitionState> {
    for (const m of this.#topics.values()) yield* m.values();
  }

  /** Starts (or restarts) tracking a partition from its committed offset, if known. */
  assign(topic: string, partition: number, committed?: bigint): void {
    this.#forget(topic, partition);
    let m = this.#topics.get(topic);
    if (m === undefined) this.#topics.set(topic, (m = new Map()));
    m.set(partition, { tp: { topic, partition }, offsets: new PartitionOffsets(committed, { topic, partition }) });
  }

  /** Stops tracking a partition; its uncommitted records leave the count. */
  #forget(topic: string, partition: number): PartitionState | undefined {
    const m = this.#topics.get(topic);
    const state = m?.get(partition);
    if (state === undefined) return undefined;
    m!.delete(partition);
    if (m!.size === 0) this.#topics.delete(topic);
    this.#uncommitted -= state.offsets.uncommitted;
    this.#inFlight -= state.offsets.inFlight;
    return state;
  }

  /** Registers a fetched record (assigning its partition if needed). Offsets must increase within a partition. */
  register(topic: string, partition: number, offset: bigint): RecordTicket {
    let state = this.#get(topic, partition);
    if (state === undefined) {
      this.assign(topic, partition);
      state = this.#get(topic, partition)!;
    }
    // The partition's entry is the ticket: it names its topic, partition and tracker.
    const ticket = state.offsets.register(offset);
    this.#uncommitted += 1;
    this.#inFlight += 1;
    return ticket as OffsetEntry;
  }

  /** Marks a record done. Returns false for a ticket already done or from a partition revoked or reset since. */
  done(ticket: RecordTicket): boolean {
    const t = ticket as OffsetEntry;
    const state = this.#get(t.topic, t.partition);
    if (state === undefined || state.offsets !== t.owner) return false;
    if (!state.offsets.done(t)) return false;
    this.#inFlight -= 1;
    return true;
  }

  /** Commits that would move a partition forward now (one per partition, offsets are next-to-read). */
  committable(): CommitPosition[] {
    const out: CommitPosition[] = [];
    for (const { tp, offsets } of this.#states()) {
      const offset = offsets.committable();
      if (offset !== undefined) out.push({ topic: tp.topic, partition: tp.partition, offset });
    }
    return out;
  }

  /** Records successful commits, so committable() stops returning them. Unknown partitions are ignored. */
  markCommitted(positions: Iterable<CommitPosition>): void {
    for (const p of positions) {
      const state = this.#get(p.topic, p.partition);
      if (state) this.#uncommitted -= state.offsets.markCommitted(p.offset);
    }
  }

  /**
   * Stops tracking a partition (rebalance). Returns the commit to make before giving it up, if any, and how many of
   * its records were still in flight: their work is abandoned, and the next owner redoes them.
   */
  revoke(topic: string, partition: number): { commit: CommitPosition | undefined; abandoned: number } {
    const state = this.#forget(topic, partition);
    if (state === undefined) return { commit: undefined, abandoned: 0 };
    const offset = state.offsets.committable();
    return { commit: offset === undefined ? undefined : { topic, partition, offset }, abandoned: state.offsets.inFlight };
  }

  /** Forgets every partition (for example after losing the group membership). */
  reset(): void {
    this.#topics.clear();
    this.#uncommitted = 0;
    this.#inFlight = 0;
  }

  /** In-flight records of one partition, or of all when no partition is given. */
  inFlight(topic?: string, partition?: number): number {
    if (topic !== undefined && partition !== undefined) return this.#get(topic, partition)?.offsets.inFlight ?? 0;
    return this.#inFlight;
  }

  /** Registered records not yet covered by a commit, over all partitions: the records a crash now would redo. */
  uncommitted(): number {
    return this.#uncommitted;
  }

  /** The committed offset the partition starts from (or was last committed at), if known. */
  committed(topic: string, partition: number): bigint | undefined {
    return this.#get(topic, partition)?.offsets.committed;
  }

  /** The highest offset registered in a partition, if it is tracked (to skip records fetched again after a rebalance). */
  lastRegistered(topic: string, partition: number): bigint | undefined {
    return this.#get(topic, partition)?.offsets.lastRegistered;
  }

  /** The tracking of one partition, if it is tracked (its committed offset and last registered offset in one lookup). */
  partition(topic: string, partition: number): PartitionOffsets | undefined {
    return this.#get(topic, partition)?.offsets;
  }

  /** The partitions tracked now. */
  partitions(): TopicPartition[] {
    return [...this.#states()].map((s) => s.tp);
  }
}
