// Seconds behind, from offsets alone: remembers when each partition's log end grew, so "how long ago did offset N arrive" has an answer.

export interface Behind {
  /** Seconds since the oldest unfinished record arrived (0 when nothing is behind). */
  seconds: number;
  /** True when that record arrived before the first sample kept: the true value is at least `seconds`. */
  atLeast: boolean;
}

/**
 * Per partition, the times at which its log-end offset was seen to grow. The record at offset `o` arrived between the
 * last sample whose log end was ≤ o and the first whose log end is > o; the consumer is as far behind as that record
 * is old. Needs no read of the records themselves (any job, any format), and is accurate to the sampling interval.
 */
export class ArrivalClock {
  readonly #windowMs: number;
  readonly #parts = new Map<string, { t: number[]; end: number[] }>();

  /** Samples older than `windowMs` are forgotten (older records then show as "at least" the window). */
  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** Records the log-end offset of a partition at time `t` (ms). */
  observe(key: string, t: number, logEnd: number): void {
    let p = this.#parts.get(key);
    if (!p) this.#parts.set(key, (p = { t: [], end: [] }));
    const last = p.end.at(-1);
    if (last === undefined || logEnd > last) {
      p.t.push(t);
      p.end.push(logEnd);
    } else if (logEnd < last) {
      // The topic was recreated (offsets went back): start over.
      p.t = [t];
      p.end = [logEnd];
    }
    // Keep one sample older than the window: it bounds the records that arrived before it.
    let drop = 0;
    while (drop + 1 < p.t.length && p.t[drop + 1]! < t - this.#windowMs) drop += 1;
    if (drop > 0) {
      p.t.splice(0, drop);
      p.end.splice(0, drop);
    }
  }

  /** How far behind a consumer is whose next record is `committed` (the committed offset), at time `now` (ms). */
  behind(key: string, committed: number, logEnd: number, now: number): Behind {
    if (committed >= logEnd) return { seconds: 0, atLeast: false };
    const p = this.#parts.get(key);
    if (!p || p.end.length === 0) return { seconds: 0, atLeast: true };
    // First sample whose log end is beyond the committed offset: the record arrived at or before that sample.
    let lo = 0;
    let hi = p.end.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (p.end[mid]! > committed) hi = mid;
      else lo = mid + 1;
    }
    if (lo >= p.end.length) return { seconds: 0, atLeast: false };
    return { seconds: Math.max(0, (now - p.t[lo]!) / 1000), atLeast: lo === 0 };
  }

  /** Forgets partitions not in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const k of this.#parts.keys()) if (!keep.has(k)) this.#parts.delete(k);
  }
}
