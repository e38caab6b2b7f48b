// The lifecycle of a transformer, one explicit state instead of flags: which steps may follow which, and what each
// state lets the member do (take records, resume the stream, retry the final commit).

/**
 * - `created`: constructed, not started.
 * - `starting`: the job's setup and the first join.
 * - `running`: members take and process records.
 * - `draining`: close() began: no new record; in-flight records and their outputs get the drain timeout.
 * - `committing`: close()'s final commit (exactly-once: the last transactions, tried again without backoff) and leave.
 * - `closed`: close() ended.
 * - `destroyed`: destroy(): stopped at once, nothing more committed.
 */
export const LifecycleStates = ['created', 'starting', 'running', 'draining', 'committing', 'closed', 'destroyed'] as const;
export type LifecycleState = (typeof LifecycleStates)[number];

const next: Record<LifecycleState, readonly LifecycleState[]> = {
  created: ['starting', 'draining', 'destroyed'],
  starting: ['running', 'draining', 'destroyed'],
  running: ['draining', 'destroyed'],
  draining: ['committing', 'destroyed'],
  committing: ['closed', 'destroyed'],
  closed: ['destroyed'],
  destroyed: [],
};

export class Lifecycle {
  #state: LifecycleState = 'created';

  get state(): LifecycleState {
    return this.#state;
  }

  /** Moves to `to`; false (and no move) when `to` may not follow the current state. */
  to(to: LifecycleState): boolean {
    if (!next[this.#state].includes(to)) return false;
    this.#state = to;
    return true;
  }

  /** Records are taken and the stream may be resumed (until close() or destroy()). */
  get accepting(): boolean {
    return this.#state === 'created' || this.#state === 'starting' || this.#state === 'running';
  }

  /** close() has begun (draining, committing or closed). */
  get closing(): boolean {
    return this.#state === 'draining' || this.#state === 'committing' || this.#state === 'closed';
  }

  get destroyed(): boolean {
    return this.#state === 'destroyed';
  }

  /** The close's last commits: they do not wait for the backoff of a failed transaction. */
  get finalCommit(): boolean {
    return this.#state === 'committing' || this.#state === 'closed';
  }
}
