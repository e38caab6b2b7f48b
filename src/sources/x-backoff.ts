// X's documented reconnect schedules for the filtered stream, as pure functions (network: linear; HTTP: exponential; 429: exponential from a minute).
import type { ReconnectKind } from './types.ts';

/**
 * The schedules from X's "Handling disconnections" guide. Defaults are X's numbers; tests shrink them
 * to exercise the same logic in milliseconds.
 */
export interface XBackoffOptions {
  /** Network errors (refused, reset, stalled, stream ended): wait step × attempt ... */
  networkStepMs?: number;
  /** ... up to this. */
  networkMaxMs?: number;
  /** HTTP errors (5xx and other retryable statuses): base × 2^(attempt-1) ... */
  httpBaseMs?: number;
  /** ... up to this. */
  httpMaxMs?: number;
  /** HTTP 429 without a usable reset header: base × 2^(attempt-1) ... */
  rateLimitBaseMs?: number;
  /** ... up to this (one 15-minute rate-limit window: waiting longer never helps). */
  rateLimitMaxMs?: number;
}

export const defaultXBackoffOptions: Required<XBackoffOptions> = {
  networkStepMs: 250,
  networkMaxMs: 16_000,
  httpBaseMs: 5_000,
  httpMaxMs: 320_000,
  rateLimitBaseMs: 60_000,
  rateLimitMaxMs: 900_000,
};

export function resolveXBackoffOptions(options: XBackoffOptions = {}): Required<XBackoffOptions> {
  const merged = { ...defaultXBackoffOptions, ...options };
  for (const [key, value] of Object.entries(merged)) {
    if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`backoff.${key}: expected a duration above 0 ms, got ${value}`);
  }
  return merged;
}

/** Network errors: linear, step × attempt, capped. `attempt` counts from 1. */
export function networkDelay(attempt: number, o: Required<XBackoffOptions> = defaultXBackoffOptions): number {
  return Math.min(o.networkStepMs * Math.max(1, attempt), o.networkMaxMs);
}

/** HTTP errors: exponential from the base, capped. */
export function httpDelay(attempt: number, o: Required<XBackoffOptions> = defaultXBackoffOptions): number {
  return Math.min(o.httpBaseMs * 2 ** Math.min(Math.max(1, attempt) - 1, 40), o.httpMaxMs);
}

/** 429 without a reset time: exponential from a minute, capped. */
export function rateLimitDelay(attempt: number, o: Required<XBackoffOptions> = defaultXBackoffOptions): number {
  return Math.min(o.rateLimitBaseMs * 2 ** Math.min(Math.max(1, attempt) - 1, 40), o.rateLimitMaxMs);
}

export interface ReconnectDecision {
  delayMs: number;
  /** How the delay was chosen, for the event the CLI prints. */
  basis: string;
}

/**
 * The delay before reconnect attempt `attempt` (from 1) of `kind`. For a 429 whose headers say the quota
 * is spent (`x-rate-limit-remaining: 0`) and give `x-rate-limit-reset` (epoch seconds), wait until the
 * reset (at least one network step, at most the rate-limit cap); a 429 with quota left is the "too many
 * connections" case, where the reset time means nothing, so the exponential schedule applies.
 */
export function reconnectDelay(
  kind: ReconnectKind,
  attempt: number,
  o: Required<XBackoffOptions> = defaultXBackoffOptions,
  rateLimit?: { remaining?: string | undefined; reset?: string | undefined; nowMs: number },
): ReconnectDecision {
  switch (kind) {
    case 'network':
      return { delayMs: networkDelay(attempt, o), basis: `linear ${o.networkStepMs}ms × ${attempt}` };
    case 'http':
      return { delayMs: httpDelay(attempt, o), basis: `exponential from ${o.httpBaseMs}ms, attempt ${attempt}` };
    case 'rate-limit': {
      const resetSec = Number(rateLimit?.reset);
      const spent = rateLimit?.remaining === undefined || rateLimit.remaining.trim() === '0';
      if (rateLimit && rateLimit.reset !== undefined && Number.isFinite(resetSec) && resetSec > 0 && spent) {
        const untilReset = resetSec * 1000 - rateLimit.nowMs;
        return {
          delayMs: Math.min(Math.max(Math.ceil(untilReset), o.networkStepMs), o.rateLimitMaxMs),
          basis: `x-rate-limit-reset ${new Date(resetSec * 1000).toISOString()}`,
        };
      }
      return { delayMs: rateLimitDelay(attempt, o), basis: `exponential from ${o.rateLimitBaseMs}ms, attempt ${attempt}` };
    }
  }
}
