// When commits happen: every commit interval, soon when the window is half full, at a release, at close; one at a time
// (CommitQueue). And the checks on what was committed: our commits against the broker's (a late commit of a previous
// owner is undone, at-least-once), and the lag of the partitions held.
import { computeLag } from '../kafka/index.ts';
import type { OffsetTracker } from '../offsets/index.ts';
import { CommitQueue } from './commit-queue.ts';
import type { DeliveryStrategy } from './delivery.ts';
import type { GroupMember } from './group-member.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { TransformerOptions } from './options.ts';
import type { Partitions } from './record-processor.ts';
import type { LagSample } from './types.ts';

export interface CommitPorts {
  readonly options: TransformerOptions;
  readonly member: GroupMember;
  readonly delivery: DeliveryStrategy;
  readonly tracker: OffsetTracker;
  readonly partitions: Partitions;
  readonly life: Lifecycle;
  /** A commit succeeded with these offsets (already marked in the tracker). */
  committed(offsets: readonly { partition: number; offset: bigint }[]): void;
}

export class CommitScheduler {
  readonly #p: CommitPorts;
  readonly #queue = new CommitQueue((only) => this.#commitNow(only));
  #soon = false;
  #commitTimer: NodeJS.Timeout | undefined;
  #verifyTimer: NodeJS.Timeout | undefined;

  constructor(ports: CommitPorts) {
    this.#p = ports;
  }

  /** Starts the commit interval (and the verification of our commits, where the strategy asks for it). */
  start(): void {
    const o = this.#p.options;
    this.#commitTimer = setInterval(() => void this.commit(), o.commitIntervalMs);
    this.#commitTimer.unref();
    // One OffsetFetch every few seconds: is what the broker holds for our partitions still what we committed?
    if (this.#p.delivery.policy.verifyCommits) {
      this.#verifyTimer = setInterval(() => void this.#verify(), Math.max(5000, o.commitIntervalMs));
      this.#verifyTimer.unref();
    }
  }

  /** No more commits by the clock (close() and destroy()). */
  stop(): void {
    if (this.#commitTimer) clearInterval(this.#commitTimer);
    if (this.#verifyTimer) clearInterval(this.#verifyTimer);
  }

  /** Settles when every commit asked so far has. */
  get tail(): Promise<unknown> {
    return this.#queue.tail ?? Promise.resolve();
  }

  /**
   * Commits, for each owned partition (or the given ones), the offset after the last contiguous done record. Resolves
   * to false when the commit failed (it is retried by the next one), true otherwise.
   */
  commit(only?: number[]): Promise<boolean> {
    return this.#queue.request(only);
  }

  /** A commit at the next turn of the event loop, unless one is already asked for that way (a window half full). */
  soon(): void {
    if (this.#soon) return;
    this.#soon = true;
    setImmediate(() => {
      void this.commit().finally(() => {
        this.#soon = false;
      });
    });
  }

  /** One commit (see commit), run by the queue in its turn. */
  async #commitNow(only?: readonly number[]): Promise<boolean> {
    const { member, delivery, tracker, life, options } = this.#p;
    if (!member.consumer) return true;
    // See GroupMember (protocolsMetadata): a commit during this member's join would start one more rebalance.
    if (member.joining) return false;
    const { ok, offsets } = await delivery.commit(only, { final: life.finalCommit });
    if (offsets.length) {
      tracker.markCommitted(offsets.map((o) => ({ topic: options.from, ...o })));
      this.#p.committed(offsets.map(({ partition, offset }) => ({ partition, offset })));
    }
    return ok;
  }

  /**
   * Log-end and committed offsets of the assigned partitions, and their difference (the lag that Kafka tools and
   * KEDA report). One ListOffsets and one OffsetFetch request.
   */
  async sampleLag(): Promise<LagSample> {
    const { member, partitions: table, options } = this.#p;
    const consumer = member.consumer;
    const partitions = table.owned();
    const at = Date.now();
    const topic = options.from;
    if (!consumer || partitions.length === 0) return { at, topic, partitions: [], logEnd: 0n, lag: 0n };
    const asked = performance.now();
    const [ends, commits] = await Promise.all([
      consumer.listOffsets({ topics: [topic], partitions: { [topic]: partitions } }),
      consumer.listCommittedOffsets({ topics: [{ topic, partitions }] }),
    ]);
    const endArr = ends.get(topic) ?? [];
    const comArr = commits.get(topic) ?? [];
    this.#compare(partitions, comArr, asked);
    const logEnds = new Map(partitions.map((p) => [p, endArr[p] ?? 0n]));
    // Our own latest commit may be newer than what the broker answered a moment ago.
    const committed = new Map(
      partitions.map((p) => {
        const ours = table.get(p)?.committed;
        const fetched = comArr[p] ?? -1n;
        return [p, ours !== undefined && ours > fetched ? ours : fetched];
      }),
    );
    return { at, ...computeLag(topic, logEnds, committed) };
  }

  /** Asks the broker for the committed offsets of our partitions and restores any that went back (PartitionState.restore). */
  async #verify(): Promise<void> {
    const { member, partitions: table, options, life } = this.#p;
    const consumer = member.consumer;
    const partitions = table.owned();
    if (!consumer || partitions.length === 0 || !life.accepting) return;
    const asked = performance.now();
    try {
      const res = await consumer.listCommittedOffsets({ topics: [{ topic: options.from, partitions }] });
      this.#compare(partitions, res.get(options.from) ?? [], asked);
    } catch {
      // The broker is away: the next check (or the lag sampling) asks again.
    }
  }

  #compare(partitions: number[], fetched: bigint[], asked: number): void {
    if (this.#p.delivery.compareCommitted(partitions, fetched, asked) && this.#p.life.accepting) void this.commit();
  }
}
