// Backoff policies: pure functions from the attempt number (and an optional Retry-After hint) to a delay in ms.
import { UsageError } from '../errors/index.ts';

export const JitterModes = ['full', 'equal', 'none'] as const;
/** `full`: uniform in [0, d). `equal`: uniform in [d/2, d). `none`: exactly d. (d is the delay before jitter.) */
export type Jitter = (typeof JitterModes)[number];

/** Per-call inputs of a backoff policy. */
export interface BackoffContext {
  /** The server's requested wait (e.g. from Retry-After): the delay is at least this, up to `maxRetryAfterMs`. */
  retryAfterMs?: number | undefined;
  /** A source of uniform numbers in [0, 1) for jitter. Default Math.random. */
  random?: (() => number) | undefined;
}

/**
 * A backoff policy: `attempt` is the number of tries that failed so far (1 after the first failure); returns the
 * delay in whole ms before the next try.
 */
export type BackoffPolicy = (attempt: number, context?: BackoffContext) => number;

export interface ExponentialBackoffOptions {
  /** Delay after the first failure, before jitter. Default 500 ms. */
  baseMs: number;
  /** Largest delay before jitter (Retry-After hints may exceed it, see maxRetryAfterMs). Default 30 000 ms. */
  maxMs: number;
  /** Growth per attempt, at least 1. Default 2. */
  factor: number;
  /** Randomisation, so that many records failing together do not retry together. Default 'full'. */
  jitter: Jitter;
  /** Longest Retry-After hint honoured; longer hints are cut to this. Default 300 000 ms (5 min). */
  maxRetryAfterMs: number;
}

export const defaultExponentialBackoffOptions: Readonly<ExponentialBackoffOptions> = Object.freeze({
  baseMs: 500,
  maxMs: 30_000,
  factor: 2,
  jitter: 'full',
  maxRetryAfterMs: 300_000,
});

export interface LinearBackoffOptions {
  /** Delay after the first failure. Default 250 ms. */
  initialMs: number;
  /** Added per further attempt. Default 250 ms. */
  stepMs: number;
  /** Largest delay (Retry-After hints may exceed it, see maxRetryAfterMs). Default 16 000 ms. */
  maxMs: number;
  /** Randomisation. Default 'none'. */
  jitter: Jitter;
  /** Longest Retry-After hint honoured. Default 300 000 ms (5 min). */
  maxRetryAfterMs: number;
}

export const defaultLinearBackoffOptions: Readonly<LinearBackoffOptions> = Object.freeze({
  initialMs: 250,
  stepMs: 250,
  maxMs: 16_000,
  jitter: 'none',
  maxRetryAfterMs: 300_000,
});

function checkMs(policy: string, field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new UsageError(`${policy}: ${field} must be a number of milliseconds >= 0, got ${JSON.stringify(value)}`);
  }
}

function checkJitter(policy: string, value: unknown): void {
  if (!JitterModes.includes(value as Jitter)) {
    throw new UsageError(`${policy}: jitter must be one of ${JitterModes.join(', ')}, got ${JSON.stringify(value)}`);
  }
}

function checkAttempt(attempt: number): void {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be an integer >= 1, got ${attempt}`);
}

/** Applies jitter and the Retry-After hint to a raw delay. */
function finish(raw: number, jitter: Jitter, maxRetryAfterMs: number, context: BackoffContext | undefined): number {
  const random = context?.random ?? Math.random;
  let delay = raw;
  if (jitter === 'full') delay = random() * raw;
  else if (jitter === 'equal') delay = raw / 2 + (random() * raw) / 2;
  const hint = context?.retryAfterMs;
  if (hint !== undefined && Number.isFinite(hint) && hint > 0) delay = Math.max(delay, Math.min(hint, maxRetryAfterMs));
  return Math.floor(delay);
}

/** Exponential backoff: `min(maxMs, baseMs × factor^(attempt−1))`, then jitter, then at least the Retry-After hint. */
export function exponentialBackoff(options: Partial<ExponentialBackoffOptions> = {}): BackoffPolicy {
  const o = { ...defaultExponentialBackoffOptions, ...options };
  const name = 'exponentialBackoff';
  checkMs(name, 'baseMs', o.baseMs);
  checkMs(name, 'maxMs', o.maxMs);
  checkMs(name, 'maxRetryAfterMs', o.maxRetryAfterMs);
  if (typeof o.factor !== 'number' || !Number.isFinite(o.factor) || o.factor < 1) {
    throw new UsageError(`${name}: factor must be a number >= 1, got ${JSON.stringify(o.factor)}`);
  }
  checkJitter(name, o.jitter);
  return (attempt, context) => {
    checkAttempt(attempt);
    // baseMs 0 would make 0 × Infinity = NaN for huge attempts.
    const raw = o.baseMs === 0 ? 0 : Math.min(o.maxMs, o.baseMs * o.factor ** (attempt - 1));
    return finish(raw, o.jitter, o.maxRetryAfterMs, context);
  };
}

/** Linear backoff: `min(maxMs, initialMs + stepMs × (attempt−1))`, then jitter, then at least the Retry-After hint. */
export function linearBackoff(options: Partial<LinearBackoffOptions> = {}): BackoffPolicy {
  const o = { ...defaultLinearBackoffOptions, ...options };
  const name = 'linearBackoff';
  checkMs(name, 'initialMs', o.initialMs);
  checkMs(name, 'stepMs', o.stepMs);
  checkMs(name, 'maxMs', o.maxMs);
  checkMs(name, 'maxRetryAfterMs', o.maxRetryAfterMs);
  checkJitter(name, o.jitter);
  return (attempt, context) => {
    checkAttempt(attempt);
    const raw = Math.min(o.maxMs, o.initialMs + o.stepMs * (attempt - 1));
    return finish(raw, o.jitter, o.maxRetryAfterMs, context);
  };
}
