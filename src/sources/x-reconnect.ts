// Chooses the wait before reconnecting to the X stream: X's documented schedules (src/retry) plus the rate-limit reset header.
import { xStreamBackoff, type BackoffPolicy } from '../retry/index.ts';
import type { ReconnectKind } from './types.ts';

/** One backoff policy per kind of disconnect; the defaults are X's published schedules (`xStreamBackoff`). */
export interface XReconnectPolicies {
  /** Network errors (refused, reset, stalled, stream ended): linear 250 ms, +250 ms, at most 16 s. */
  network: BackoffPolicy;
  /** HTTP errors (5xx and other retryable statuses): exponential 5 s, doubling, at most 320 s. */
  http: BackoffPolicy;
  /** HTTP 429: exponential 1 min, doubling, at most 15 min; a later x-rate-limit-reset wins. */
  rateLimit: BackoffPolicy;
}

export const defaultXReconnectPolicies: Readonly<XReconnectPolicies> = xStreamBackoff;

export interface ReconnectDecision {
  delayMs: number;
  /** How the delay was chosen, for the line the CLI prints. */
  basis: string;
}

/** The rate-limit headers of a 429 answer. */
export interface RateLimitHeaders {
  remaining?: string | undefined;
  /** Epoch seconds. */
  reset?: string | undefined;
}

/**
 * The delay before reconnect attempt `attempt` (from 1) after a disconnect of `kind`. For a 429 whose quota is
 * spent (`x-rate-limit-remaining: 0`, or absent), `x-rate-limit-reset` is a floor: never reconnect before the
 * window resets. With quota left, a 429 means "too many connections" and the reset time says nothing about it.
 */
export function reconnectDelay(
  kind: ReconnectKind,
  attempt: number,
  policies: XReconnectPolicies = defaultXReconnectPolicies,
  rateLimit?: RateLimitHeaders & { nowMs: number },
): ReconnectDecision {
  switch (kind) {
    case 'network':
      return { delayMs: policies.network(attempt), basis: `attempt ${attempt}` };
    case 'http':
      return { delayMs: policies.http(attempt), basis: `attempt ${attempt}` };
    case 'rate-limit': {
      const schedule = policies.rateLimit(attempt);
      const resetSec = Number(rateLimit?.reset);
      const spent = rateLimit?.remaining === undefined || rateLimit.remaining.trim() === '0';
      if (rateLimit && rateLimit.reset !== undefined && rateLimit.reset.trim() !== '' && Number.isFinite(resetSec) && spent) {
        const untilReset = Math.ceil(resetSec * 1000 - rateLimit.nowMs);
        const delayMs = untilReset > 0 ? policies.rateLimit(attempt, { retryAfterMs: untilReset }) : schedule;
        if (delayMs > schedule) return { delayMs, basis: `attempt ${attempt}, until x-rate-limit-reset ${new Date(resetSec * 1000).toISOString()}` };
      }
      return { delayMs: schedule, basis: `attempt ${attempt}` };
    }
  }
}
