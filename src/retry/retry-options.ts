// Whether and when to retry a failed record: the attempt budget and the retryability of LaglessError codes.
import { UsageError, isLaglessError } from '../errors/index.ts';
import { exponentialBackoff, type BackoffPolicy } from './backoff.ts';

export interface RetryOptions {
  /** Tries in total, the first included: 1 means never retry. Default 3. */
  attempts: number;
  /** Delay between tries. Default `exponentialBackoff()`: 500 ms doubling up to 30 s, full jitter. */
  backoff: BackoffPolicy;
}

export const defaultRetryOptions: Readonly<RetryOptions> = Object.freeze({
  attempts: 3,
  backoff: exponentialBackoff(),
});

/** Merges over the defaults and validates once; throws UsageError naming the field. */
export function resolveRetryOptions(options: Partial<RetryOptions> = {}): RetryOptions {
  const o = { ...defaultRetryOptions, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  if (typeof o.attempts !== 'number' || !Number.isInteger(o.attempts) || o.attempts < 1 || o.attempts > 1000) {
    throw new UsageError(`retry option attempts must be an integer from 1 to 1000, got ${JSON.stringify(o.attempts)}`);
  }
  if (typeof o.backoff !== 'function') throw new UsageError('retry option backoff must be a function (attempt, context) => ms');
  return o;
}

/**
 * True when another try may help: the error is a LaglessError marked retryable (timeouts, connection failures,
 * 5xx/408/429…) and fewer than `attempts` tries were made. `attempt` counts the tries made so far (1 after the
 * first failure). Anything else, UnrecoverableError and errors that are not LaglessErrors included, is final.
 */
export function shouldRetry(error: unknown, attempt: number, options: RetryOptions = defaultRetryOptions): boolean {
  return isLaglessError(error) && error.retryable && attempt < options.attempts;
}

/**
 * The delay before the next try, or undefined to give up (then the record goes to the dead-letter topic). Honours
 * the error's `retryAfterMs` (e.g. from HTTP Retry-After).
 */
export function retryDelay(error: unknown, attempt: number, options: RetryOptions = defaultRetryOptions, random?: () => number): number | undefined {
  if (!shouldRetry(error, attempt, options)) return undefined;
  const retryAfterMs = isLaglessError(error) ? error.retryAfterMs : undefined;
  return options.backoff(attempt, { retryAfterMs, random });
}
