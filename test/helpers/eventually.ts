// The suite's one polling helper: waits for a state (never a fixed sleep) and fails at its own deadline, saying what it waited for and what it last saw.
import { setTimeout as sleep } from 'node:timers/promises';

export interface EventuallyOptions {
  /** What the test waits for, as the failure names it ("both replicas have partitions"); a function is asked at the failure. */
  what: string | (() => string);
  /** Fail after this many ms, even while a check is still running. Default 180 000 (a process starting on a loaded machine). */
  timeout?: number;
  /** Pause between two checks, ms. Default 200. */
  every?: number;
  /** Asked before each check: a reason (e.g. "the process exited with code 1") fails at once instead of at the deadline. */
  failIf?: () => string | undefined;
  /**
   * For long waits on work that advances (records committed, outputs written): fail when the amount the check reports
   * with `progress(n)` has not grown for this many ms, a stall. `timeout` stays the cap; a loaded machine that is
   * slow but moving then passes, and a stall fails as soon as it is one.
   */
  stall?: number;
}

/**
 * A check's answer: the value once the state is reached; undefined, null or false while it is not (a throw counts as
 * "not yet"). With the `stall` option, it reports how far the work has come with `progress`.
 */
export type Check<T> = (progress: (amount: number | bigint) => void) => T | undefined | null | false | Promise<T | undefined | null | false>;

/**
 * Calls `check` until it returns a value (not undefined, null or false) and returns that value. A check that throws
 * means "not yet": its last error is kept, so that a timeout says where the state was ("lag 12 on partition 3").
 * The deadline holds even when a check hangs (a read that waits for a message that never comes).
 */
export async function eventually<T>(check: Check<T>, opts: EventuallyOptions): Promise<T> {
  const timeout = opts.timeout ?? 180_000;
  const every = opts.every ?? 200;
  const deadline = Date.now() + timeout;
  let last: unknown;
  let most: number | bigint | undefined;
  let movedAt = Date.now();
  const progress = (amount: number | bigint) => {
    if (most === undefined || amount > most) {
      most = amount;
      movedAt = Date.now();
    }
  };
  function fail(why: string): never {
    const seen = last === undefined ? '' : `; last seen: ${last instanceof Error ? last.message : String(last)}`;
    throw new Error(`${typeof opts.what === 'function' ? opts.what() : opts.what}: ${why}${seen}`);
  }
  for (let attempt = 1; ; attempt++) {
    const reason = opts.failIf?.();
    if (reason !== undefined) fail(reason);
    if (opts.stall !== undefined && Date.now() - movedAt > opts.stall) fail(`no progress for ${opts.stall} ms (stuck at ${most ?? 'nothing'})`);
    const remaining = deadline - Date.now();
    if (remaining <= 0) fail(`not within ${timeout} ms (${attempt - 1} check(s))`);
    const ac = new AbortController();
    type Outcome = { kind: 'value'; value: T | undefined | null | false } | { kind: 'error'; error: unknown } | { kind: 'late' };
    const outcome: Outcome = await Promise.race([
      (async (): Promise<Outcome> => {
        try {
          return { kind: 'value', value: await check(progress) };
        } catch (error) {
          return { kind: 'error', error };
        }
      })(),
      sleep(remaining, undefined, { signal: ac.signal }).then(
        (): Outcome => ({ kind: 'late' }),
        (): Outcome => ({ kind: 'late' }),
      ),
    ]);
    ac.abort();
    if (outcome.kind === 'late') fail(`not within ${timeout} ms (check ${attempt} was still running at the deadline)`);
    else if (outcome.kind === 'error') last = outcome.error;
    else if (outcome.value !== undefined && outcome.value !== null && outcome.value !== false) return outcome.value;
    await sleep(Math.max(0, Math.min(every, deadline - Date.now())));
  }
}
