// The reconnect schedules X (Twitter) documents for its filtered stream, as named backoff policies.
import { exponentialBackoff, linearBackoff, type BackoffPolicy } from './backoff.ts';

/**
 * X API v2 filtered-stream reconnect schedules (X's "Handling disconnections" page, as summarised in issue 2).
 * Reset the attempt count after a connection that delivered data. No jitter: these are X's published schedules.
 */
export const xStreamBackoff: Readonly<Record<'network' | 'http' | 'rateLimit', BackoffPolicy>> = Object.freeze({
  /** TCP/IP-level errors: linear, 250 ms then +250 ms per attempt, at most 16 s. */
  network: linearBackoff({ initialMs: 250, stepMs: 250, maxMs: 16_000, jitter: 'none' }),
  /** HTTP errors: exponential, 5 s doubling, at most 320 s. */
  http: exponentialBackoff({ baseMs: 5_000, factor: 2, maxMs: 320_000, jitter: 'none' }),
  /**
   * HTTP 429: exponential, 1 min doubling. X gives no ceiling; we cap it at 15 min, the length of X's rate-limit
   * windows (60 s, 2, 4, 8 min, then 15 min). A longer Retry-After/x-rate-limit-reset hint (up to 15 min) wins.
   */
  rateLimit: exponentialBackoff({ baseMs: 60_000, factor: 2, maxMs: 900_000, jitter: 'none', maxRetryAfterMs: 900_000 }),
});
