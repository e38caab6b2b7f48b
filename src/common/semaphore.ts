// A counting semaphore whose limit can change at run time (the autoscaler resizes worker and download limits).

export class Semaphore {
  #limit: number;
  #active = 0;
  #waiters: { resolve: () => void; reject: (e: unknown) => void; signal: AbortSignal | undefined; onAbort: (() => void) | undefined }[] = [];

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
    return this.#waiters.length;
  }

  /** Changes the limit; a larger limit lets waiters in at once, a smaller one takes effect as holders release. */
  setLimit(limit: number): void {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`semaphore limit must be an integer >= 0, got ${limit}`);
    this.#limit = limit;
    this.#drain();
  }

  /** Waits for a slot; rejects with the signal's reason if aborted while waiting. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#active < this.#limit && this.#waiters.length === 0) {
      this.#active += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const w = { resolve, reject, signal, onAbort: undefined as (() => void) | undefined };
      if (signal) {
        w.onAbort = () => {
          const i = this.#waiters.indexOf(w);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.#waiters.push(w);
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

  #drain(): void {
    while (this.#active < this.#limit && this.#waiters.length > 0) {
      const w = this.#waiters.shift()!;
      if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
      this.#active += 1;
      w.resolve();
    }
  }
}
