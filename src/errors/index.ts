// Typed errors with stable codes: the CLI, the dead-letter records and callers match on `code`, never on text.

/**
 * Dead-letter codes of the runtime itself, whatever the job. A job adds its own codes by throwing
 * `JobError(code, ...)` (the palette job's are in src/jobs/palette.ts). Stable: add codes, never rename one.
 */
export const RecordErrorCodes = {
  INVALID_MESSAGE: { retryable: false, description: 'the input value is not what the job reads (record.json() of a value that is not JSON; for the palette job, a JSON object with a string "id" and "url")' },
  INVALID_OUTPUT: { retryable: false, description: 'the job returned something that is not an output ({ value, key?, headers?, topic? }), or named a topic it did not declare in `outputs`' },
  OUTPUT_TOO_LARGE: { retryable: false, description: 'the broker refused an output record (or a dead letter) as larger than its topic allows (max.message.bytes); the other records go on' },
  JOB_FAILED: {
    retryable: false,
    description: 'the job threw or rejected with an error without a code of its own (a plain Error, any other value: undefined, a string, an object), or an internal error of Lagless',
  },
  RECORD_TIMEOUT: {
    retryable: true,
    description: "the record's attempt ran past its deadline (`--record-timeout`, or the job's `timeoutMs`; default 5 min): ctx.signal was aborted and a worker task still running was stopped (its thread replaced); retried up to `--attempts`",
  },
  WORKER_CRASHED: {
    retryable: true,
    description: "the worker thread running the record's task died (an uncaught exception in it, process.exit() in the worker module, out of memory): the thread was replaced; retried up to `--attempts`",
  },
  DELIVERY_LIMIT: {
    retryable: false,
    description:
      'share groups (`--group-type share`): the broker delivered the record again after `--attempts` deliveries without an outcome (the members that held it crashed, were killed, or gave it up; one less when the group\'s share.delivery.count.limit is lower): it is dead-lettered without running again, so that one record cannot take down member after member, and before the broker archives it',
  },
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
  JOB_SETUP_FAILED: "the job's setup() threw or rejected (a UsageError from it is a usage error, exit 2): the process stops before taking any record",
  SHUTDOWN_INCOMPLETE: 'on stop, the broker did not answer the final commit or the group leave in time: what was not committed is redone by the next member (nothing is lost)',
  INTERNAL: 'an unexpected error',
} as const;

export type RuntimeErrorCode = keyof typeof RuntimeErrorCodes;

/**
 * Codes of warnings: the process goes on, and the message says what it does about it. Printed as
 * `warning: message [CODE]`, emitted as a LaglessError with this code (the `warning` event of a transformer, a replica
 * or a runner). Stable: add codes, never rename one.
 */
export const WarningCodes = {
  OUTPUT_RETRIED: 'at-least-once: producing outputs or dead letters failed; the batch is retried (its records are not committed until it is acknowledged)',
  OUTPUT_LIMITS_UNKNOWN: "exactly-once: reading the output topics' max.message.bytes failed; the broker's default is assumed until a refusal",
  TRANSACTION_FAILED: 'exactly-once: a transaction did not commit; its records stay held and are committed in a later transaction',
  TRANSACTION_OUTCOME_UNKNOWN: "exactly-once: the answer to a commit was lost; the group's committed offsets decided whether it had committed",
  TRANSACTIONS_INIT_FAILED: 'exactly-once: starting or replacing the transactional producer failed; the next transaction tries again',
  TRANSACTIONAL_ID_CONFLICT:
    'exactly-once: transactions keep being fenced because another live process uses the same transactional id (two members given one LAGLESS_INSTANCE_ID); neither makes progress until one stops',
  STABLE_OFFSETS_WAIT: "exactly-once: a partition's committed offset is held by an open transaction (of a previous owner); records wait until it is resolved",
  SHARE_FETCH_FAILED: 'share groups: fetching acquired records from a broker failed (said at most every 10 s); the member tries again, and records it held are delivered again after their acquisition lock',
  SHARE_ACK_FAILED:
    "share groups: the broker refused acknowledgements (said at most every 10 s): the records' acquisition locks had expired, so another member may process them again (at-least-once)",
  SHARE_DELIVERY_LIMIT:
    "share groups: --attempts is not below the group's share.delivery.count.limit; records are dead-lettered as DELIVERY_LIMIT one delivery before the broker's limit, so that none is archived without a dead letter",
  GROUP_JOIN_FAILED: 'joining the group failed; the member keeps trying',
  GROUP_MEMBERSHIP_FAILED: "the client's group membership failed; the member joins again with a new consumer",
  GROUP_MEMBERSHIP_LOST: "the group coordinator ended this member's membership (KIP-848: UNKNOWN_MEMBER_ID or FENCED_MEMBER_EPOCH); the member joins again",
  GROUP_HEARTBEAT_FAILED: 'a group heartbeat failed (said at most every 10 s); the client retries',
  GROUP_HEARTBEAT_STALLED: 'no group heartbeat succeeded for longer than the session timeout; the member joins again with a new consumer',
  GROUP_REJOINED: 'the member is back in the group after failed attempts',
  CONSUMER_STREAM_FAILED: 'the consumer stream failed or could not be replaced; the member joins the group again',
  PARTITION_RETURNED: 'a partition came back while its release was running; the member joins the group again',
  RELEASE_INCOMPLETE: 'records of a released partition did not finish within the release bound; its next owner redoes them',
  COMMIT_FAILED: 'committing offsets failed (said at most every 10 s); the commit is retried',
  COMMIT_WENT_BACK: "a partition's committed offset went back (a late commit of its previous owner); this member commits its own again",
  DLQ_TOO_LARGE: 'the dead-letter topic refuses even a minimal dead letter as too large (max.message.bytes): the partition cannot commit past the record until the limit is raised',
  LISTENER_FAILED: "a listener of the transformer's events threw (said at most every 10 s); the runtime goes on",
  DRAIN_TIMEOUT: 'on stop, records still running at the drain timeout were abandoned; the next owner redoes them',
  OUTPUTS_UNACKNOWLEDGED: 'on stop, the broker did not acknowledge outputs within the drain timeout; their records are not committed and are redone by the next owner',
  STOP_DURING_REBALANCE: "stopping during a group rebalance: the final commit waits for this member's join round to end",
  FINAL_COMMIT_FAILED: 'on stop, the final commit did not succeed in time; records done since the last commit are redone by the next owner',
  LEAVE_TIMEOUT: 'on stop, leaving the group did not finish in time; the partitions move after the session timeout',
  AUTOSCALER_FAILED: 'a scaling step of the autoscaler failed; it tries again at its next tick',
  LAG_SAMPLING_FAILED: 'sampling the consumer lag failed; autoscaling holds until it works again',
  STATUS_PUBLISH_FAILED: 'publishing the status record failed; the next interval tries again',
  STANDBY_ACTIVATION_FAILED: 'activating a standby replica failed; a new replica is started instead',
  INPUT_SKIPPED: 'lagless produce: a malformed input line or record was skipped (reported with its line number; the rest is delivered, and the exit code is 1 unless --allow-skipped)',
  NO_STREAM_RULES: 'lagless produce --source x: the X stream has no rules, so it delivers nothing',
} as const;

export type WarningCode = keyof typeof WarningCodes;

/** A warning with its stable code, as the `warning` events carry it. */
export function warning(code: WarningCode, message: string, cause?: unknown): LaglessError {
  return new LaglessError(code, message, cause === undefined ? {} : { cause });
}

/** Known codes; jobs add their own (any string, by convention UPPER_SNAKE_CASE). */
export type ErrorCode = RecordErrorCode | RuntimeErrorCode | WarningCode | (string & {});

export interface LaglessErrorOptions {
  cause?: unknown;
  /** Whether another attempt can help (e.g. HTTP 503 or a timeout). Default false. */
  retryable?: boolean;
  /** For retryable errors: the earliest time to retry, in ms from now (e.g. from Retry-After). */
  retryAfterMs?: number;
  [key: string]: unknown;
}

// A brand instead of `instanceof`: a job loaded from the published package and a runtime run from the sources (or two
// copies of the package) have different classes, and their errors must still be recognised.
const LAGLESS_ERROR = Symbol.for('lagless.error');

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
    this.retryable = retryable ?? false;
    this.retryAfterMs = retryAfterMs;
    this.details = details;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    // Subclasses keep the ordinary prototype check; LaglessError itself recognises any branded error.
    if (this !== LaglessError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[LAGLESS_ERROR] === true;
  }
}
Object.defineProperty(LaglessError.prototype, LAGLESS_ERROR, { value: true });

/** A bad flag, argument or option: the CLI exits with 2. The message names the option. */
export class UsageError extends LaglessError {
  constructor(message: string, options: LaglessErrorOptions = {}) {
    super('USAGE', message, options);
    this.name = 'UsageError';
  }
}

/**
 * A job's failure with a stable code of its own: the record is retried with backoff when `retryable` (up to
 * `--attempts`, honouring `retryAfterMs`), then goes to the dead-letter topic with exactly this code.
 *
 *   throw new JobError('UPSTREAM_REJECTED', `the API refused ${id}: HTTP ${status}`);
 *   throw new JobError('UPSTREAM_BUSY', 'HTTP 503', { retryable: true, retryAfterMs: 2000 });
 */
export class JobError extends LaglessError {
  constructor(code: string, message: string, options: JobErrorOptions = {}) {
    super(typeof code === 'string' && code !== '' ? code : 'JOB_FAILED', message, options);
    this.name = 'JobError';
  }
}

export interface JobErrorOptions {
  /** Whether another attempt can help. Default false: the record goes to the dead-letter topic at once. */
  retryable?: boolean;
  /** For retryable errors: wait at least this long before the next attempt, ms. */
  retryAfterMs?: number;
  cause?: unknown;
  /** Anything else is kept in `details` (not written to the dead letter). */
  [key: string]: unknown;
}

/**
 * Skips retries and sends the record straight to the dead-letter topic (like BullMQ's UnrecoverableError).
 */
export class UnrecoverableError extends JobError {
  constructor(message: string, code = 'JOB_FAILED', options: LaglessErrorOptions = {}) {
    super(code, message, { ...options, retryable: false });
    this.name = 'UnrecoverableError';
  }
}

/** True for any Lagless error, including one from another copy of the package. Never throws (a Proxy: false). */
export function isLaglessError(err: unknown): err is LaglessError {
  try {
    return err instanceof LaglessError;
  } catch {
    return false;
  }
}

const DESCRIBE_LIMIT = 2048;

function clip(s: string): string {
  return s.length > DESCRIBE_LIMIT ? `${s.slice(0, DESCRIBE_LIMIT)}… (${s.length} characters)` : s;
}

/** Runs `f`; its throw gives `fallback` (user values: any property read or conversion may throw). */
function attempt<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}

/**
 * A message for anything thrown, that never throws itself: an Error's message; for any other value (undefined, a
 * Symbol, a null-prototype object, an object whose toString or getters throw, a Proxy that throws on every trap) a
 * short description of what it was. User code may throw anything; a host must be able to say what it was.
 */
export function describeThrown(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
      return 'undefined was thrown';
    case 'string':
      return clip(value);
    case 'number':
    case 'boolean':
      return `${String(value)} was thrown`;
    case 'bigint':
      return `${value.toString()}n was thrown`;
    case 'symbol':
      return `${attempt(() => value.toString(), 'a Symbol')} was thrown`;
    case 'function':
      return `a function${attempt(() => (typeof value.name === 'string' && value.name ? ` (${value.name})` : ''), '')} was thrown`;
  }
  if (value === null) return 'null was thrown';
  // An object: its own message first (an Error, or anything shaped like one), then what it looks like.
  const message = attempt(() => (value as { message?: unknown }).message, undefined);
  if (typeof message === 'string' && message !== '') return clip(message);
  const json = attempt(() => JSON.stringify(value), undefined);
  if (typeof json === 'string' && json !== '{}') return `a non-Error value was thrown: ${clip(json)}`;
  const tag = attempt(() => Object.prototype.toString.call(value), undefined);
  if (tag === '[object Object]' && attempt(() => Object.getPrototypeOf(value) === null, false)) return 'a null-prototype object was thrown';
  if (typeof tag === 'string') return `a non-Error value was thrown: ${tag}`;
  return 'a value that cannot be described was thrown (reading it threw)';
}

/** `err.cause` for an Error whose every read may throw: the value itself when it is a real Error, else nothing. */
export function safeCause(err: unknown): unknown {
  return attempt(() => (err instanceof Error ? err : undefined), undefined);
}

export function isRecordErrorCode(code: string): code is RecordErrorCode {
  return Object.hasOwn(RecordErrorCodes, code);
}

export function isRuntimeErrorCode(code: string): code is RuntimeErrorCode {
  return Object.hasOwn(RuntimeErrorCodes, code);
}

/** A table of the error codes one module owns (the downloader, the palette engine, a job): retryable or not, and what each means. */
export type ErrorCodeTable = Readonly<Record<string, { readonly retryable: boolean; readonly description: string }>>;

/**
 * Makes JobErrors with the codes of `table`, retryable by default as the table says (options may override it):
 *
 *   const ApiErrors = { API_BUSY: { retryable: true, description: 'the API answered 503' } } as const;
 *   const apiError = errorFactory(ApiErrors);
 *   throw apiError('API_BUSY', 'HTTP 503');
 */
export function errorFactory<T extends ErrorCodeTable>(table: T): (code: keyof T & string, message: string, options?: LaglessErrorOptions) => JobError {
  return (code, message, options = {}) => new JobError(code, message, { retryable: table[code]!.retryable, ...options });
}
