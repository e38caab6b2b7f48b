// The dead-letter record (README.md, "Record formats"): what failed (stable code), how often, where it came from, and the original value.
import { isLaglessError, isRuntimeErrorCode, JobError, type LaglessError } from '../errors/index.ts';
import type { JobRecord } from '../job/index.ts';

export interface DeadLetter {
  /** Fields the job adds (`deadLetterFields`), e.g. the palette job's id and url. */
  [field: string]: unknown;
  error: { code: string; message: string };
  attempts: number;
  source: { topic: string; partition: number; offset: number };
  original: string;
  failedAt: string;
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
  return {
    ...fields,
    error: { code: error.code, message: error.message },
    attempts,
    source: { topic: input.topic, partition: input.partition, offset: Number(input.offset) },
    original: input.text(),
    failedAt: now.toISOString(),
  };
}
