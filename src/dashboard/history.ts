// The dashboard's memory: per-second points of named series in bounded ring buffers (the last hour by default).

/** Series oldest first, as sent to the page: `t` in Unix seconds, a null where a series had no value. */
export interface HistoryJson {
  t: number[];
  series: Record<string, (number | null)[]>;
}

/**
 * Points (a time and values of named series) in ring buffers of a fixed capacity: memory is bounded whatever runs
 * for how long. A series appears when first given a value (earlier points read as null) and is dropped once it has
 * had no value for a whole window (a partition of a deleted topic, a member gone).
 */
export class History {
  readonly capacity: number;
  readonly #t: Float64Array;
  readonly #cols = new Map<string, { values: Float64Array; lastSet: number }>();
  /** Index of the oldest point, count of points, and how many points were ever pushed. */
  #start = 0;
  #size = 0;
  #pushed = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#t = new Float64Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Time of the oldest point, or undefined. */
  get first(): number | undefined {
    return this.#size === 0 ? undefined : this.#t[this.#start];
  }

  /** Time of the newest point, or undefined. */
  get last(): number | undefined {
    return this.#size === 0 ? undefined : this.#t[(this.#start + this.#size - 1) % this.capacity];
  }

  /** Adds a point; values that are null, undefined or not finite are stored as "no value". */
  push(t: number, values: Readonly<Record<string, number | null | undefined>>): void {
    const slot = (this.#start + this.#size) % this.capacity;
    if (this.#size === this.capacity) this.#start = (this.#start + 1) % this.capacity;
    else this.#size += 1;
    this.#t[slot] = t;
    for (const col of this.#cols.values()) col.values[slot] = NaN;
    for (const [name, v] of Object.entries(values)) {
      if (v === null || v === undefined || !Number.isFinite(v)) continue;
      let col = this.#cols.get(name);
      if (!col) {
        col = { values: new Float64Array(this.capacity).fill(NaN), lastSet: this.#pushed };
        this.#cols.set(name, col);
      }
      col.values[slot] = v;
      col.lastSet = this.#pushed;
    }
    this.#pushed += 1;
    for (const [name, col] of this.#cols) if (this.#pushed - col.lastSet > this.capacity) this.#cols.delete(name);
  }

  seriesNames(): string[] {
    return [...this.#cols.keys()];
  }

  toJSON(): HistoryJson {
    const t: number[] = [];
    const series: Record<string, (number | null)[]> = {};
    for (const name of this.#cols.keys()) series[name] = [];
    for (let i = 0; i < this.#size; i++) {
      const slot = (this.#start + i) % this.capacity;
      t.push(this.#t[slot]!);
      for (const [name, col] of this.#cols) {
        const v = col.values[slot]!;
        series[name]!.push(Number.isNaN(v) ? null : v);
      }
    }
    return { t, series };
  }
}
