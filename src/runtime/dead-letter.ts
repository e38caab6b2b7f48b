// The dead-letter record (README.md, "Record formats"): what failed (stable code), how often, where it came from, and the original value.
import { LaglessError, type RecordErrorCode, isRecordErrorCode } from '../errors/index.ts';
import type { JobInput } from './job.ts';

export interface DeadLetter {
  id?: string;
  url?: string;
  error: { code: string; message: string };
  attempts: number;
  source: { topic: string; partition: number; offset: number };
  original: string;
  failedAt: string;
}

/** Normalises anything a job threw into a LaglessError with a record error code (unknown errors become JOB_FAILED). */
export function toRecordError(err: unknown): LaglessError {
  if (err instanceof LaglessError && isRecordErrorCode(err.code)) return err;
  if (err instanceof LaglessError) return new LaglessError('JOB_FAILED', `${err.code}: ${err.message}`, { cause: err, retryable: err.retryable });
  const message = err instanceof Error ? err.message : String(err);
  return new LaglessError('JOB_FAILED', message || 'the job failed', { cause: err });
}

/** Best effort: the input's id and url when its value is a JSON object that has them as strings. */
function idAndUrl(value: string): { id?: string; url?: string } {
  try {
    const v = JSON.parse(value) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      return { ...(typeof o.id === 'string' ? { id: o.id } : {}), ...(typeof o.url === 'string' ? { url: o.url } : {}) };
    }
  } catch {
    // Not JSON: the dead letter carries the original string only.
  }
  return {};
}

export function deadLetter(input: JobInput, error: LaglessError, attempts: number, now = new Date()): DeadLetter {
  const code: RecordErrorCode | string = error.code;
  return {
    ...idAndUrl(input.value),
    error: { code, message: error.message },
    attempts,
    source: { topic: input.topic, partition: input.partition, offset: Number(input.offset) },
    original: input.value,
    failedAt: now.toISOString(),
  };
}
