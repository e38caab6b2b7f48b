// Adapter between the runtime and offset tracking / ordering (to be replaced by src/offsets once it lands).
export type Ordering = 'unordered' | 'key' | 'partition';

class PartitionTrack {
  offsets: bigint[] = [];
  done: boolean[] = [];
  head = 0;
  doneHead = 0;
  next: bigint | undefined;
  pendingDone = 0;
}

/** Registered records per partition, in offset order; what may be committed. */
export class OffsetWindow {
  #parts = new Map<number, PartitionTrack>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  register(partition: number, offset: bigint): boolean {
    let t = this.#parts.get(partition);
    if (!t) this.#parts.set(partition, (t = new PartitionTrack()));
    if (t.next !== undefined && offset < t.next) return false;
    t.offsets.push(offset);
    t.done.push(false);
    t.next = offset + 1n;
    this.#size += 1;
    return true;
  }

  complete(partition: number, offset: bigint): boolean {
    const t = this.#parts.get(partition);
    if (!t) return false;
    let lo = t.head;
    let hi = t.offsets.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = t.offsets[mid]!;
      if (v === offset) {
        if (t.done[mid]) return false;
        t.done[mid] = true;
        while (t.doneHead < t.offsets.length && t.done[t.doneHead]) t.doneHead += 1;
        return true;
      }
      if (v < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  committable(partition: number): bigint | undefined {
    const t = this.#parts.get(partition);
    if (!t || t.doneHead === 0) return undefined;
    if (t.doneHead === t.offsets.length) return t.next;
    return t.offsets[t.doneHead]!;
  }

  committed(list: readonly (readonly [number, bigint])[]): void {
    for (const [partition, offset] of list) {
      const t = this.#parts.get(partition);
      if (!t) continue;
      while (t.head < t.doneHead && t.offsets[t.head]! < offset) {
        t.head += 1;
        this.#size -= 1;
      }
      if (t.head > 1024 && t.head * 2 > t.offsets.length) {
        t.offsets = t.offsets.slice(t.head);
        t.done = t.done.slice(t.head);
        t.doneHead -= t.head;
        t.head = 0;
      }
    }
  }

  drop(partition: number): number {
    const t = this.#parts.get(partition);
    if (!t) return 0;
    this.#parts.delete(partition);
    let notDone = 0;
    for (let i = t.head; i < t.offsets.length; i++) if (!t.done[i]) notDone += 1;
    this.#size -= t.offsets.length - t.head;
    return notDone;
  }
}

/** Decides when a registered record may start, by the ordering mode. */
export class OrderingGate {
  readonly #mode: Ordering;
  #queues = new Map<string, (() => void)[]>();
  #active = new Set<string>();

  constructor(mode: Ordering) {
    this.#mode = mode;
  }

  #lane(partition: number, key: string | undefined, offset: bigint): string | undefined {
    if (this.#mode === 'unordered') return undefined;
    if (this.#mode === 'partition') return `${partition}`;
    // Records without a key have no order to keep.
    return key === undefined ? `${partition}/@${offset}` : `${partition}/${key}`;
  }

  submit(partition: number, key: string | undefined, offset: bigint, start: () => void): void {
    const lane = this.#lane(partition, key, offset);
    if (lane === undefined) return start();
    if (!this.#active.has(lane)) {
      this.#active.add(lane);
      return start();
    }
    let q = this.#queues.get(lane);
    if (!q) this.#queues.set(lane, (q = []));
    q.push(start);
  }

  done(partition: number, key: string | undefined, offset: bigint): void {
    const lane = this.#lane(partition, key, offset);
    if (lane === undefined) return;
    const q = this.#queues.get(lane);
    const next = q?.shift();
    if (q && q.length === 0) this.#queues.delete(lane);
    if (next) next();
    else this.#active.delete(lane);
  }

  drop(partition: number): void {
    const prefix = `${partition}`;
    for (const lane of [...this.#queues.keys()]) if (lane === prefix || lane.startsWith(`${prefix}/`)) this.#queues.delete(lane);
    for (const lane of [...this.#active]) if (lane === prefix || lane.startsWith(`${prefix}/`)) this.#active.delete(lane);
  }
}
