// A counting semaphore whose limit can change at run time (the autoscaler resizes worker and download limits).
//
// Thousands of records can wait on it at once, most with the same AbortSignal (their partition's): each signal gets
// ONE abort listener for all its waiters (an EventTarget walks its listeners on every add, so a listener per waiter
// made acquiring quadratic in the records waiting), and the queue is a linked list (no array shifts).

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | undefined;
  prev: Waiter | undefined;
  next: Waiter | undefined;
}

export class Semaphore {
  #limit: number;
  #active = 0;
  #head: Waiter | undefined;
  #tail: Waiter | undefined;
  #waiting = 0;
  /** The waiters of each signal, and the one listener that rejects them all when it aborts. */
  #bySignal = new Map<AbortSignal, { waiters: Set<Waiter>; onAbort: () => void }>();

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`semaphore limit must be an integer >= 0, got ${limit}`);
    this.#limit = limit;
  }

  get limit(): number {
    return this.#limit;
  }
  get active(): number {
    return this.#active;
  }
  get waiting(): number {
    return this.#waiting;
  }

  /** Changes the limit; a larger limit lets waiters in at once, a smaller one takes effect as holders release. */
  setLimit(limit: number): void {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`semaphore limit must be an integer >= 0, got ${limit}`);
    this.#limit = limit;
    this.#drain();
  }

  /** Takes a slot now if one is free and nobody waits (no promise): true when taken. */
  tryAcquire(): boolean {
    if (this.#active < this.#limit && this.#waiting === 0) {
      this.#active += 1;
      return true;
    }
    return false;
  }

  /** Waits for a slot (first come, first served); rejects with the signal's reason if aborted while waiting. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#active < this.#limit && this.#waiting === 0) {
      this.#active += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject, signal, prev: this.#tail, next: undefined };
      if (this.#tail) this.#tail.next = w;
      else this.#head = w;
      this.#tail = w;
      this.#waiting += 1;
      if (signal) this.#watch(signal).waiters.add(w);
    });
  }

  release(): void {
    this.#active -= 1;
    this.#drain();
  }

  /** Runs fn holding a slot. */
  async use<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  #watch(signal: AbortSignal): { waiters: Set<Waiter>; onAbort: () => void } {
    let entry = this.#bySignal.get(signal);
    if (!entry) {
      const waiters = new Set<Waiter>();
      const onAbort = () => {
        this.#bySignal.delete(signal);
        for (const w of waiters) {
          this.#unlink(w);
          w.reject(signal.reason);
        }
      };
      entry = { waiters, onAbort };
      this.#bySignal.set(signal, entry);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    return entry;
  }

  #unlink(w: Waiter): void {
    if (w.prev) w.prev.next = w.next;
    else this.#head = w.next;
    if (w.next) w.next.prev = w.prev;
    else this.#tail = w.prev;
    w.prev = w.next = undefined;
    this.#waiting -= 1;
  }

  #drain(): void {
    while (this.#active < this.#limit && this.#head) {
      const w = this.#head;
      this.#unlink(w);
      if (w.signal) {
        const entry = this.#bySignal.get(w.signal);
        if (entry) {
          entry.waiters.delete(w);
          if (entry.waiters.size === 0) {
            this.#bySignal.delete(w.signal);
            w.signal.removeEventListener('abort', entry.onAbort);
          }
        }
      }
      this.#active += 1;
      w.resolve();
    }
  }
}
