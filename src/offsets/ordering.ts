// Which fetched records may start now, for --ordering unordered|key|partition (pure, O(1) amortised per record).
import { Fifo } from './fifo.ts';

/** `unordered`: all at once. `key`: one at a time per key within a partition, in offset order. `partition`: one at a time per partition. */
export const OrderingModes = ['unordered', 'key', 'partition'] as const;
export type OrderingMode = (typeof OrderingModes)[number];

/** What the scheduler needs to know about a record. */
export interface SchedulableRecord {
  readonly topic: string;
  readonly partition: number;
  /** Records without a key have no ordering constraint in `key` mode. */
  readonly key?: string | Uint8Array | null | undefined;
}

/** What complete() returns when nothing may start (one shared array, not one per record). */
const NONE: readonly never[] = Object.freeze([]);

interface Lane<T> {
  current: T;
  /** Created on the first record that has to wait: most lanes never need one. */
  waiting: Fifo<T> | undefined;
}

function keyText(key: string | Uint8Array): string {
  // latin1 maps each byte to one char, so distinct byte keys stay distinct (utf8 would merge invalid sequences).
  return typeof key === 'string' ? `s${key}` : `b${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')}`;
}

/**
 * Decides which records may start. Submit records in offset order per partition; each one either starts now
 * (submit() returns true) or waits for the record ahead of it in its lane, and is returned by the complete() of
 * that record. A lane is a partition (`partition` mode) or a partition+key (`key` mode).
 */
export class OrderingScheduler<T extends SchedulableRecord> {
  readonly mode: OrderingMode;
  #lanes = new Map<string, Lane<T>>();
  #running = new Set<T>();
  #waiting = 0;

  constructor(mode: OrderingMode) {
    if (!OrderingModes.includes(mode)) {
      throw new RangeError(`ordering must be one of ${OrderingModes.join(', ')}, got ${JSON.stringify(mode)}`);
    }
    this.mode = mode;
  }

  /** Records started and not completed. */
  get running(): number {
    return this.#running.size;
  }

  /** Records held back behind another record of their lane. */
  get waiting(): number {
    return this.#waiting;
  }

  #laneOf(record: T): string | undefined {
    if (this.mode === 'unordered') return undefined;
    const partitionLane = `${record.partition}\u0000${record.topic}`;
    if (this.mode === 'partition') return partitionLane;
    if (record.key === null || record.key === undefined) return undefined;
    return `${partitionLane}\u0000${keyText(record.key)}`;
  }

  /** Offers the next fetched record. True: start it now. False: it waits; a later complete() returns it. */
  submit(record: T): boolean {
    const lane = this.#laneOf(record);
    if (lane !== undefined) {
      const busy = this.#lanes.get(lane);
      if (busy !== undefined) {
        (busy.waiting ??= new Fifo<T>()).push(record);
        this.#waiting++;
        return false;
      }
      this.#lanes.set(lane, { current: record, waiting: undefined });
    }
    this.#running.add(record);
    return true;
  }

  /** Reports a started record finished (done, dead-lettered or abandoned). Returns the records that may start now. */
  complete(record: T): readonly T[] {
    if (!this.#running.delete(record)) throw new Error('complete() called for a record that is not running');
    const laneKey = this.#laneOf(record);
    if (laneKey === undefined) return NONE;
    const lane = this.#lanes.get(laneKey)!;
    const next = lane.waiting?.shift();
    if (next === undefined) {
      this.#lanes.delete(laneKey);
      return NONE;
    }
    this.#waiting--;
    lane.current = next;
    this.#running.add(next);
    return [next];
  }

  /**
   * Drops the waiting records of a partition (rebalance) and returns them; they were never started. Its running
   * records stay running until complete(), which then starts nothing for them. `keep` spares some waiting records
   * (a release keeps those below the partition's highest finished offset): they start as usual from complete().
   */
  revoke(topic: string, partition: number, keep?: (record: T) => boolean): T[] {
    const dropped: T[] = [];
    for (const lane of this.#lanes.values()) {
      if (lane.current.topic !== topic || lane.current.partition !== partition) continue;
      const rest = lane.waiting?.clear() ?? [];
      for (const r of rest) {
        if (keep?.(r)) lane.waiting!.push(r);
        else {
          this.#waiting--;
          dropped.push(r);
        }
      }
    }
    return dropped;
  }
}
