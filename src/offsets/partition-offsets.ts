// Completion tracking for one partition: which offset can be committed so that no unfinished record is skipped.
import { Fifo } from './fifo.ts';

/** A registered record, returned by register() and handed back to done(). Opaque apart from its offset. */
export interface OffsetTicket {
  readonly offset: bigint;
}

/** A registered record: its ticket. One object per record (the tracker hands it out as its RecordTicket too). */
export interface OffsetEntry extends OffsetTicket {
  readonly topic: string;
  readonly partition: number;
  done: boolean;
  readonly owner: PartitionOffsets;
}
type Entry = OffsetEntry;

/**
 * Tracks the records of one partition from fetch to completion.
 *
 * Records are registered in offset order as they are fetched; offsets may have gaps (compaction, transaction
 * markers), and gaps never block. They may complete in any order. The committable offset is Kafka's "next offset to
 * read": the offset of the oldest registered record not yet done, or, when all are done, the last registered
 * offset + 1. Every record below it is done, so committing it loses nothing.
 *
 * Each operation is O(1) amortised: done records are released from the front of a FIFO as soon as no unfinished
 * record precedes them.
 */
export class PartitionOffsets {
  /**
   * Every registered record not yet covered by a commit (done or not), in offset order: the records a crash now would
   * redo. The first `#doneAhead` of them are done and precede every unfinished one (they wait only for the commit).
   */
  #entries = new Fifo<Entry>();
  #doneAhead = 0;
  #inFlight = 0;
  #lastRegistered: bigint | undefined;
  #committed: bigint | undefined;
  /** What committable() must beat: the committed offset, or, when unknown, the first offset registered (where reading started). */
  #floor: bigint | undefined;

  readonly topic: string;
  readonly partition: number;

  /**
   * @param committed the partition's committed offset when tracking starts (next offset to read), if known.
   * @param tp the partition, carried by its tickets.
   */
  constructor(committed?: bigint, tp: { topic: string; partition: number } = { topic: '', partition: -1 }) {
    this.#committed = committed;
    this.#floor = committed;
    this.topic = tp.topic;
    this.partition = tp.partition;
  }

  /** Records registered and not yet done. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Records held: not done, or done but behind an unfinished one. */
  get held(): number {
    return this.#entries.length - this.#doneAhead;
  }

  /** Records registered and not yet covered by a commit (done or not): what a crash now would process again. */
  get uncommitted(): number {
    return this.#entries.length;
  }

  /** The last committed offset recorded by markCommitted() (or given at construction). */
  get committed(): bigint | undefined {
    return this.#committed;
  }

  /** The highest offset registered so far. */
  get lastRegistered(): bigint | undefined {
    return this.#lastRegistered;
  }

  /** Registers the next fetched record. Offsets must increase; throws RangeError otherwise (a fetch bug). */
  register(offset: bigint): OffsetTicket {
    if (this.#lastRegistered !== undefined && offset <= this.#lastRegistered) {
      throw new RangeError(`offset ${offset} registered after ${this.#lastRegistered}: offsets must increase`);
    }
    if (this.#committed !== undefined && offset < this.#committed) {
      throw new RangeError(`offset ${offset} is below the committed offset ${this.#committed}`);
    }
    this.#floor ??= offset;
    const entry: Entry = { topic: this.topic, partition: this.partition, offset, done: false, owner: this };
    this.#entries.push(entry);
    this.#lastRegistered = offset;
    this.#inFlight++;
    return entry;
  }

  /**
   * Marks a record done (its output or dead letter is acknowledged). Any order. Returns false when the ticket was
   * already done or belongs to another tracker (for example one replaced after a rebalance).
   */
  done(ticket: OffsetTicket): boolean {
    const entry = ticket as Entry;
    if (entry.owner !== this || entry.done) return false;
    entry.done = true;
    this.#inFlight--;
    const entries = this.#entries;
    while (entries.at(this.#doneAhead)?.done === true) this.#doneAhead++;
    return true;
  }

  /**
   * The offset to commit now (next offset to read), or undefined when it would not move past the committed offset
   * (or, if that is unknown, past the first offset registered).
   */
  committable(): bigint | undefined {
    if (this.#lastRegistered === undefined) return undefined;
    const candidate = this.#entries.at(this.#doneAhead)?.offset ?? this.#lastRegistered + 1n;
    return this.#floor === undefined || candidate > this.#floor ? candidate : undefined;
  }

  /**
   * Records that `offset` was committed. Lower values than the current one are ignored (commits are monotonic).
   * Returns how many registered records the commit covered that no earlier one did.
   */
  markCommitted(offset: bigint): number {
    if (this.#committed === undefined || offset > this.#committed) this.#committed = offset;
    if (this.#floor === undefined || offset > this.#floor) this.#floor = offset;
    const committed = this.#committed!;
    const entries = this.#entries;
    let covered = 0;
    for (let e = entries.peek(); e !== undefined && e.offset < committed; e = entries.peek()) {
      entries.shift();
      covered++;
      // A record below the committed offset that is not done (committed by someone else) stays in flight until done().
      if (this.#doneAhead > 0) this.#doneAhead--;
    }
    while (entries.at(this.#doneAhead)?.done === true) this.#doneAhead++;
    return covered;
  }
}
