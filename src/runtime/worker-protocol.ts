// What travels between the runtime and its worker threads: the worker module to load, and answers whose errors keep their code.
import { isLaglessError, JobError } from '../errors/index.ts';

export interface WorkerData {
  /** URL of the job's worker module. */
  module: string;
}

export interface EncodedWorkerError {
  message: string;
  /** Present for Lagless errors (JobError and others): kept on the way back. */
  code?: string;
  retryable?: boolean;
  retryAfterMs?: number;
}

export type WorkerAnswer = { ok: true; value: unknown } | { ok: false; error: EncodedWorkerError };

export function encodeWorkerError(err: unknown): EncodedWorkerError {
  if (isLaglessError(err)) {
    return { message: err.message, code: err.code, retryable: err.retryable, ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}) };
  }
  return { message: err instanceof Error ? err.message : String(err) };
}

/** The value of an answer, or the error it carries (a JobError when it had a code, else a plain Error). */
export function decodeWorkerAnswer(answer: WorkerAnswer): unknown {
  if (answer.ok) return answer.value;
  const e = answer.error;
  if (e.code === undefined) throw new Error(`the worker failed: ${e.message}`);
  throw new JobError(e.code, e.message, { retryable: e.retryable ?? false, ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}) });
}
