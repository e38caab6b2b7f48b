// Completion tracking for every assigned partition, with rebalances: revoke, reassign, and stale tickets ignored.
import { PartitionOffsets, type OffsetTicket } from './partition-offsets.ts';

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

interface Ticket extends RecordTicket {
  readonly inner: OffsetTicket;
  readonly tracker: PartitionOffsets;
}

const keyOf = (topic: string, partition: number): string => `${partition}\u0000${topic}`;

/**
 * Offsets of all partitions this consumer owns. A partition's state lives from assign() (or its first register())
 * to revoke() or reset(); tickets of an earlier assignment are ignored by done(), so a record that finishes after
 * its partition moved away can never mark a record of the new assignment done.
 */
export class OffsetTracker {
  #partitions = new Map<string, { tp: TopicPartition; offsets: PartitionOffsets }>();

  /** Starts (or restarts) tracking a partition from its committed offset, if known. */
  assign(topic: string, partition: number, committed?: bigint): void {
    this.#partitions.set(keyOf(topic, partition), { tp: { topic, partition }, offsets: new PartitionOffsets(committed) });
  }

  /** Registers a fetched record (assigning its partition if needed). Offsets must increase within a partition. */
  register(topic: string, partition: number, offset: bigint): RecordTicket {
    const key = keyOf(topic, partition);
    let state = this.#partitions.get(key);
    if (state === undefined) {
      this.assign(topic, partition);
      state = this.#partitions.get(key)!;
    }
    const inner = state.offsets.register(offset);
    const ticket: Ticket = { topic, partition, offset, inner, tracker: state.offsets };
    return ticket;
  }

  /** Marks a record done. Returns false for a ticket already done or from a partition revoked or reset since. */
  done(ticket: RecordTicket): boolean {
    const t = ticket as Ticket;
    const state = this.#partitions.get(keyOf(t.topic, t.partition));
    if (state === undefined || state.offsets !== t.tracker) return false;
    return state.offsets.done(t.inner);
  }

  /** Commits that would move a partition forward now (one per partition, offsets are next-to-read). */
  committable(): CommitPosition[] {
    const out: CommitPosition[] = [];
    for (const { tp, offsets } of this.#partitions.values()) {
      const offset = offsets.committable();
      if (offset !== undefined) out.push({ topic: tp.topic, partition: tp.partition, offset });
    }
    return out;
  }

  /** Records successful commits, so committable() stops returning them. Unknown partitions are ignored. */
  markCommitted(positions: Iterable<CommitPosition>): void {
    for (const p of positions) this.#partitions.get(keyOf(p.topic, p.partition))?.offsets.markCommitted(p.offset);
  }

  /**
   * Stops tracking a partition (rebalance). Returns the commit to make before giving it up, if any, and how many of
   * its records were still in flight: their work is abandoned, and the next owner redoes them.
   */
  revoke(topic: string, partition: number): { commit: CommitPosition | undefined; abandoned: number } {
    const key = keyOf(topic, partition);
    const state = this.#partitions.get(key);
    if (state === undefined) return { commit: undefined, abandoned: 0 };
    this.#partitions.delete(key);
    const offset = state.offsets.committable();
    return { commit: offset === undefined ? undefined : { topic, partition, offset }, abandoned: state.offsets.inFlight };
  }

  /** Forgets every partition (for example after losing the group membership). */
  reset(): void {
    this.#partitions.clear();
  }

  /** In-flight records of one partition, or of all when no partition is given. */
  inFlight(topic?: string, partition?: number): number {
    if (topic !== undefined && partition !== undefined) return this.#partitions.get(keyOf(topic, partition))?.offsets.inFlight ?? 0;
    let n = 0;
    for (const { offsets } of this.#partitions.values()) n += offsets.inFlight;
    return n;
  }

  /** Registered records not yet covered by a commit, over all partitions: the records a crash now would redo. */
  uncommitted(): number {
    let n = 0;
    for (const { offsets } of this.#partitions.values()) n += offsets.uncommitted;
    return n;
  }

  /** The highest offset registered in a partition, if it is tracked (to skip records fetched again after a rebalance). */
  /** The committed offset the partition starts from (or was last committed at), if known. */
  committed(topic: string, partition: number): bigint | undefined {
    return this.#partitions.get(keyOf(topic, partition))?.offsets.committed;
  }

  lastRegistered(topic: string, partition: number): bigint | undefined {
    return this.#partitions.get(keyOf(topic, partition))?.offsets.lastRegistered;
  }

  /** The partitions tracked now. */
  partitions(): TopicPartition[] {
    return [...this.#partitions.values()].map((s) => s.tp);
  }
}
