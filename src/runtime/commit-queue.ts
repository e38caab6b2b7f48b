// The order of commits: one at a time, in the order asked, and a full commit that waits for its turn serves every later
// full request (it takes what is committable when it starts). When commits are slower than the commit interval (a
// transaction's round trips on a loaded machine) they do not pile up, and the final commit at close() is not queued
// behind them. A partial commit (some partitions: a release) always runs on its own, after what is queued before it.

export type CommitRun = (only?: readonly number[]) => Promise<boolean>;

export class CommitQueue {
  readonly #run: CommitRun;
  /** The last commit queued: the next one starts after it settles. */
  #tail: Promise<boolean> | undefined;
  /** The full commit waiting for its turn, if any. */
  #queuedFull: Promise<boolean> | undefined;

  /** `run` commits everything committable (no argument) or the given partitions; false when it failed. */
  constructor(run: CommitRun) {
    this.#run = run;
  }

  /** Queues a commit; resolves to its result (false: it failed, or was not possible now; the next one retries). */
  request(only?: readonly number[]): Promise<boolean> {
    if (!only && this.#queuedFull) return this.#queuedFull;
    const start = () => {
      if (this.#queuedFull === next) this.#queuedFull = undefined;
      return this.#run(only);
    };
    const next: Promise<boolean> = (this.#tail ?? Promise.resolve(true)).then(start, start);
    if (!only) this.#queuedFull = next;
    this.#tail = next;
    return next;
  }

  /** Settles when every commit queued so far has (undefined: none was ever queued). Never rejects unless a run did. */
  get tail(): Promise<boolean> | undefined {
    return this.#tail;
  }
}
