// One object per partition this member holds: what the transformer knows of it (its abort signal, the highest finished
// offset, the leader epoch of its records, our last commit, the exactly-once gate, its release). A partition leaves the
// table in one step (drop), so nothing of an old ownership survives into the next one.

export interface PartitionState<M, R> {
  readonly partition: number;
  /** Set while the partition is being released (a rebalance took it): no new record of it starts. */
  release: R | undefined;
  /** One controller per partition (not per record): revocation and shutdown abort whole partitions anyway. */
  abort: AbortController | undefined;
  /** The highest offset finished here (what a release must cover). */
  highestDone: bigint | undefined;
  /** The leader epoch of its last record, sent with its commits (-1: unknown). */
  leaderEpoch: number;
  /** Our last commit of it, and when it succeeded (performance.now(); consumer commits only). */
  committed: bigint | undefined;
  committedAt: number | undefined;
  /** The broker reported its committed offset below ours (a late commit of a previous owner): commit ours again. */
  restore: boolean;
  /** exactly-once: its records wait here until its stable committed offset is known. */
  gate: M[] | undefined;
}

export class PartitionTable<M, R> {
  readonly #states = new Map<number, PartitionState<M, R>>();
  #gated = 0;

  /** Assigned to this member and taking records (not being released), ascending. */
  owned(): number[] {
    return [...this.#states.values()].filter((s) => s.release === undefined).map((s) => s.partition).sort((a, b) => a - b);
  }

  /** Owned, or being released, ascending: everything this member still holds. */
  held(): number[] {
    return [...this.#states.keys()].sort((a, b) => a - b);
  }

  isOwned(partition: number): boolean {
    const s = this.#states.get(partition);
    return s !== undefined && s.release === undefined;
  }

  /** Its state while held (owned or being released). */
  get(partition: number): PartitionState<M, R> | undefined {
    return this.#states.get(partition);
  }

  /** The partitions being released: `has` for the assignment diff. */
  readonly releasing = {
    has: (partition: number): boolean => this.#states.get(partition)?.release !== undefined,
  };

  /** The releases in progress. */
  releases(): R[] {
    return [...this.#states.values()].flatMap((s) => (s.release === undefined ? [] : [s.release]));
  }

  /** A partition newly assigned (a fresh state; one still held is replaced: its old state is dropped first). */
  assign(partition: number): PartitionState<M, R> {
    this.drop(partition);
    const s: PartitionState<M, R> = { partition, release: undefined, abort: undefined, highestDone: undefined, leaderEpoch: -1, committed: undefined, committedAt: undefined, restore: false, gate: undefined };
    this.#states.set(partition, s);
    return s;
  }

  /** Starts the release of an owned partition: it stays held (its commits still go out) but is no longer owned. */
  startRelease(partition: number, release: R): void {
    const s = this.#states.get(partition);
    if (s) s.release = release;
  }

  /** Forgets a partition at once (its gate's records too). Returns what it was, if held. */
  drop(partition: number): PartitionState<M, R> | undefined {
    const s = this.#states.get(partition);
    if (!s) return undefined;
    this.#states.delete(partition);
    if (s.gate) this.#gated -= s.gate.length;
    return s;
  }

  /** A record of the partition finished at `offset` (ignored once the partition is no longer held). */
  noteDone(partition: number, offset: bigint): void {
    const s = this.#states.get(partition);
    if (s && (s.highestDone === undefined || offset > s.highestDone)) s.highestDone = offset;
  }

  /** exactly-once: from now on the partition's records wait (see `hold`) until `openGate`. */
  closeGate(partition: number): void {
    const s = this.#states.get(partition);
    if (s && !s.gate) s.gate = [];
  }

  /** Keeps a record while the partition's gate is closed; false when it is open (the record goes on). */
  hold(partition: number, message: M): boolean {
    const gate = this.#states.get(partition)?.gate;
    if (!gate) return false;
    gate.push(message);
    this.#gated += 1;
    return true;
  }

  /** Opens the gate of an owned partition: the records it held, in order (undefined: no gate, or not owned). */
  openGate(partition: number): M[] | undefined {
    const s = this.#states.get(partition);
    if (!s?.gate || s.release !== undefined) return undefined;
    const held = s.gate;
    s.gate = undefined;
    this.#gated -= held.length;
    return held;
  }

  /** Records held by closed gates (they count against the window). */
  get gated(): number {
    return this.#gated;
  }
}
