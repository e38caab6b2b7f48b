// The dead-letter record (README.md, "Record formats"): what failed (stable code), how often, where it came from, and the original value (bounded in size).
import { describeThrown, isLaglessError, isRuntimeErrorCode, JobError, safeCause, type LaglessError } from '../errors/index.ts';
import type { JobRecord } from '../job/index.ts';

export interface DeadLetter {
  /** Fields the job adds (`deadLetterFields`), e.g. the palette job's id and url; long strings are cut. */
  [field: string]: unknown;
  error: { code: string; message: string };
  attempts: number;
  source: { topic: string; partition: number; offset: number };
  /** The input value, or its first DEAD_LETTER_LIMITS.originalBytes bytes. */
  original: string;
  /** Present when the job's deadLetterFields() threw or returned what a dead letter cannot hold: why its fields are missing. */
  fieldsError?: string;
  /** Present (true) when `original` was cut; `originalBytes` is then the size of the whole value. */
  originalTruncated?: true;
  originalBytes?: number;
  failedAt: string;
}

/**
 * A dead letter must fit in the dead-letter topic whatever the input was (a 900 kB value with a 400 kB URL, say): the
 * original and the copied fields are cut, so that a dead letter stays far below the broker's default 1 MB limit.
 */
export const DEAD_LETTER_LIMITS = { originalBytes: 64 * 1024, fieldChars: 2048, messageChars: 2048 } as const;

/** The longest prefix of `s` within `maxBytes` of UTF-8, never splitting a surrogate pair. */
function utf8Prefix(s: string, maxBytes: number): string {
  let out = s.length > maxBytes ? s.slice(0, maxBytes) : s;
  while (Buffer.byteLength(out) > maxBytes) out = out.slice(0, Math.floor(out.length * 0.9));
  const last = out.charCodeAt(out.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? out.slice(0, -1) : out;
}

function cut(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}… (${s.length} characters)` : s;
}

/** A dead-letter code as a job may give it: a non-empty string of at most this many characters. */
const MAX_CODE_CHARS = 128;

function read<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/**
 * Normalises anything a job threw into a fresh Lagless error with a dead-letter code, and never throws: a job's own
 * code is kept (with its retryability); the tool's own codes (USAGE, INTERNAL, ...), codes that are not short strings
 * and any other value (undefined, a string, a Symbol, a null-prototype object, an object whose getters or toString
 * throw, a Proxy that throws on every trap) become JOB_FAILED with a message that says what was thrown. Each field of
 * the thrown value is read once: nothing the runtime does later reads the job's object again.
 */
export function toRecordError(err: unknown): LaglessError {
  const message = describeThrown(err);
  if (isLaglessError(err)) {
    const code = read(() => err.code);
    if (typeof code === 'string' && code !== '' && code.length <= MAX_CODE_CHARS) {
      const retryable = read(() => err.retryable) === true;
      if (isRuntimeErrorCode(code)) return new JobError('JOB_FAILED', `${code}: ${message}`, { cause: safeCause(err), retryable });
      const retryAfterMs = read(() => err.retryAfterMs);
      return new JobError(code, message, {
        cause: safeCause(err),
        retryable,
        ...(typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs >= 0 ? { retryAfterMs } : {}),
      });
    }
  }
  return new JobError('JOB_FAILED', message || 'the job failed', { cause: safeCause(err) });
}

/**
 * The dead letter of `input`. `fields` are the job's (from JobExecutor.deadLetterFields: plain JSON data); long strings
 * among them are cut. `fieldsError`, when the job's fields could not be had, says why they are missing.
 */
export function deadLetter(input: JobRecord, error: LaglessError, attempts: number, fields?: Readonly<Record<string, unknown>>, now = new Date(), fieldsError?: string): DeadLetter {
  const original = input.text();
  const bytes = Buffer.byteLength(original);
  const truncated = bytes > DEAD_LETTER_LIMITS.originalBytes;
  const bounded = Object.fromEntries(Object.entries(fields ?? {}).map(([k, v]) => [k, typeof v === 'string' ? cut(v, DEAD_LETTER_LIMITS.fieldChars) : v]));
  return {
    ...bounded,
    error: { code: error.code, message: cut(error.message, DEAD_LETTER_LIMITS.messageChars) },
    attempts,
    source: { topic: input.topic, partition: input.partition, offset: Number(input.offset) },
    original: truncated ? utf8Prefix(original, DEAD_LETTER_LIMITS.originalBytes) : original,
    ...(truncated ? { originalTruncated: true as const, originalBytes: bytes } : {}),
    ...(fieldsError !== undefined ? { fieldsError: cut(fieldsError, DEAD_LETTER_LIMITS.messageChars) } : {}),
    failedAt: now.toISOString(),
  };
}

/** The smallest dead letter (no original, no job fields): the last resort when a topic refuses even a bounded one. */
export function minimalDeadLetter(d: DeadLetter): DeadLetter {
  return { error: d.error, attempts: d.attempts, source: d.source, original: '', originalTruncated: true, originalBytes: d.originalBytes ?? Buffer.byteLength(d.original), failedAt: d.failedAt };
}
