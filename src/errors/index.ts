// Typed errors with stable codes: the CLI, the dead-letter records and callers match on `code`, never on text.

/**
 * Codes that end a record in the dead-letter topic. Stable: add codes, never rename one.
 * Each code says whether a retry can help (`retryable`).
 */
export const RecordErrorCodes = {
  INVALID_MESSAGE: { retryable: false, description: 'the input value is not a JSON object with a string "id" and "url"' },
  INVALID_URL: { retryable: false, description: 'the URL is missing, malformed, or not http/https' },
  BLOCKED_ADDRESS: { retryable: false, description: 'the host resolves to (or is) a loopback, private, link-local or otherwise non-public address' },
  DNS_FAILED: { retryable: true, description: 'the host name could not be resolved' },
  CONNECT_FAILED: { retryable: true, description: 'the TCP/TLS connection failed or was reset' },
  TIMEOUT: { retryable: true, description: 'connect, headers or body took longer than the configured timeout' },
  HTTP_STATUS: { retryable: false, description: 'the server answered with a non-2xx status (5xx, 408 and 429 are retried first)' },
  TOO_LARGE: { retryable: false, description: 'the body is larger than the configured maximum' },
  NOT_AN_IMAGE: { retryable: false, description: 'the bytes are not in an image format that can be decoded' },
  DECODE_FAILED: { retryable: false, description: 'the image is corrupt or truncated' },
  TOO_MANY_PIXELS: { retryable: false, description: 'the image has more pixels than the configured ceiling (decompression bomb guard)' },
  NO_PIXELS: { retryable: false, description: 'no usable pixel: all white or transparent' },
  JOB_FAILED: { retryable: false, description: 'the job threw an error that is not one of the codes above' },
} as const;

export type RecordErrorCode = keyof typeof RecordErrorCodes;

/** Codes for failures of the tool itself (not of one record). */
export const RuntimeErrorCodes = {
  USAGE: 'a command-line option or argument is invalid',
  BROKER_UNREACHABLE: 'no Kafka broker answered at the given address',
  KAFKA_AUTH_FAILED: 'the broker refused the SASL login: wrong user name or password, or a mechanism the listener does not accept',
  KAFKA_TLS_FAILED:
    "the TLS connection failed: the broker's certificate is not trusted or does not name the host, TLS was spoken to a plaintext listener or the reverse, or the client certificate was refused",
  MISSING_DEPENDENCY: 'a program Lagless needs (Java, Maven, openssl) is missing',
  KAFKA: 'the Kafka broker returned an error',
  IO: 'a file could not be read or written',
  SOURCE_FAILED: 'a record source failed for good (for example the X API refused the token or the request)',
  SHUTDOWN_INCOMPLETE: 'on stop, the broker did not answer the final commit or the group leave in time: what was not committed is redone by the next member (nothing is lost)',
  INTERNAL: 'an unexpected error',
} as const;

export type RuntimeErrorCode = keyof typeof RuntimeErrorCodes;

export type ErrorCode = RecordErrorCode | RuntimeErrorCode;

export interface LaglessErrorOptions {
  cause?: unknown;
  /** Overrides the default retryability of the code (e.g. HTTP 503 is an HTTP_STATUS that can be retried). */
  retryable?: boolean;
  /** For retryable errors: the earliest time to retry, in ms from now (e.g. from Retry-After). */
  retryAfterMs?: number;
  [key: string]: unknown;
}

/** The one error class of Lagless. `code` is stable; `message` is for humans. */
export class LaglessError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: LaglessErrorOptions = {}) {
    const { cause, retryable, retryAfterMs, ...details } = options;
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'LaglessError';
    this.code = code;
    this.retryable = retryable ?? (code in RecordErrorCodes ? RecordErrorCodes[code as RecordErrorCode].retryable : false);
    this.retryAfterMs = retryAfterMs;
    this.details = details;
  }
}

/** A bad flag, argument or option: the CLI exits with 2. The message names the option. */
export class UsageError extends LaglessError {
  constructor(message: string, options: LaglessErrorOptions = {}) {
    super('USAGE', message, options);
    this.name = 'UsageError';
  }
}

/**
 * Throw this from a job to skip retries and send the record straight to the dead-letter topic
 * (like BullMQ's UnrecoverableError).
 */
export class UnrecoverableError extends LaglessError {
  constructor(message: string, code: RecordErrorCode = 'JOB_FAILED', options: LaglessErrorOptions = {}) {
    super(code, message, { ...options, retryable: false });
    this.name = 'UnrecoverableError';
  }
}

export function isLaglessError(err: unknown): err is LaglessError {
  return err instanceof LaglessError;
}

export function isRecordErrorCode(code: string): code is RecordErrorCode {
  return Object.hasOwn(RecordErrorCodes, code);
}
