// One way to turn cumulative counters into rates: per second over a sliding window, from the newest sample back to
// the last one at or before the window's start. The replica's status, the CLI's status line and the dashboard use it,
// so the same counter over the same window reads the same everywhere.

export interface RateMeterOptions {
  /** The window rates are measured over, ms (5 s: smooth enough to read, recent enough to follow a step). */
  windowMs: number;
  /** Below this span between the two samples a rate is unknown (null), ms. Default 500. */
  minSpanMs?: number;
}

interface Sample {
  at: number;
  counters: ReadonlyMap<string, number>;
}

export class RateMeter {
  readonly #o: Required<RateMeterOptions>;
  readonly #samples: Sample[] = [];

  constructor(o: RateMeterOptions) {
    this.#o = { minSpanMs: 500, ...o };
  }

  /** Cumulative counters read at `at` (ms, any monotonic clock). */
  add(at: number, counters: Readonly<Record<string, number>> | ReadonlyMap<string, number>): void {
    this.#samples.push({ at, counters: counters instanceof Map ? counters : new Map(Object.entries(counters)) });
    // Keep the newest sample at or before the window's start (the base of every rate), and what came after it.
    while (this.#samples.length > 2 && this.#samples[1]!.at <= at - this.#o.windowMs) this.#samples.shift();
  }

  /** Per second over the window; null when unknown (too short a span, the counter missing, or gone back: a reset). */
  rate(key: string): number | null {
    const base = this.#samples[0];
    const cur = this.#samples.at(-1);
    if (!base || !cur || cur.at - base.at < this.#o.minSpanMs) return null;
    const a = base.counters.get(key);
    const b = cur.counters.get(key);
    if (a === undefined || b === undefined || b < a) return null;
    return ((b - a) * 1000) / (cur.at - base.at);
  }

  /** The rate of each key, 0 where unknown. */
  rates<K extends string>(keys: readonly K[]): Record<K, number> {
    return Object.fromEntries(keys.map((k) => [k, this.rate(k) ?? 0])) as Record<K, number>;
  }
}
