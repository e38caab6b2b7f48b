// Retry policy: pure backoff functions, the attempt budget, and which errors are worth another try.
export {
  exponentialBackoff,
  linearBackoff,
  defaultExponentialBackoffOptions,
  defaultLinearBackoffOptions,
  JitterModes,
} from './backoff.ts';
export type { BackoffContext, BackoffPolicy, ExponentialBackoffOptions, Jitter, LinearBackoffOptions } from './backoff.ts';
export { defaultRetryOptions, resolveRetryOptions, shouldRetry, retryDelay } from './retry-options.ts';
export type { RetryOptions } from './retry-options.ts';
export { xStreamBackoff } from './x-stream.ts';
