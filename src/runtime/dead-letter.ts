// The dead-letter record (README.md, "Record formats"): what failed (stable code), how often, where it came from, and the original value (bounded in size).
import { isLaglessError, isRuntimeErrorCode, JobError, type LaglessError } from '../errors/index.ts';
import type { JobRecord } from '../job/index.ts';

export interface DeadLetter {
  /** Fields the job adds (`deadLetterFields`), e.g. the palette job's id and url; long strings are cut. */
  [field: string]: unknown;
  error: { code: string; message: string };
  attempts: number;
  source: { topic: string; partition: number; offset: number };
  /** The input value, or its first DEAD_LETTER_LIMITS.originalBytes bytes. */
  original: string;
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

/**
 * Normalises anything a job threw into a Lagless error with a dead-letter code: a job's own code is kept; the
 * tool's own codes (USAGE, INTERNAL, ...) and exceptions without a code become JOB_FAILED.
 */
export function toRecordError(err: unknown): LaglessError {
  if (isLaglessError(err) && !isRuntimeErrorCode(err.code)) return err;
  if (isLaglessError(err)) return new JobError('JOB_FAILED', `${err.code}: ${err.message}`, { cause: err, retryable: err.retryable });
  const message = err instanceof Error ? err.message : String(err);
  return new JobError('JOB_FAILED', message || 'the job failed', { cause: err });
}

export function deadLetter(input: JobRecord, error: LaglessError, attempts: number, fields?: Readonly<Record<string, unknown>>, now = new Date()): DeadLetter {
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
    failedAt: now.toISOString(),
  };
}

/** The smallest dead letter (no original, no job fields): the last resort when a topic refuses even a bounded one. */
export function minimalDeadLetter(d: DeadLetter): DeadLetter {
  return { error: d.error, attempts: d.attempts, source: d.source, original: '', originalTruncated: true, originalBytes: d.originalBytes ?? Buffer.byteLength(d.original), failedAt: d.failedAt };
}
