// What travels between the runtime and its worker threads: the worker module to load, and answers whose errors keep their code.
import { describeThrown, isLaglessError, JobError } from '../errors/index.ts';

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

/** Never throws, whatever was thrown: every field is read once, checked, and made plain data (it crosses threads). */
export function encodeWorkerError(err: unknown): EncodedWorkerError {
  const message = describeThrown(err);
  if (!isLaglessError(err)) return { message };
  const read = <T,>(f: () => T): T | undefined => {
    try {
      return f();
    } catch {
      return undefined;
    }
  };
  const code = read(() => err.code);
  if (typeof code !== 'string' || code === '') return { message };
  const retryable = read(() => err.retryable) === true;
  const retryAfterMs = read(() => err.retryAfterMs);
  return { message, code, retryable, ...(typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs >= 0 ? { retryAfterMs } : {}) };
}

/** The value of an answer, or the error it carries (a JobError when it had a code, else a plain Error). */
export function decodeWorkerAnswer(answer: WorkerAnswer): unknown {
  if (answer.ok) return answer.value;
  const e = answer.error;
  if (e.code === undefined) throw new Error(`the worker failed: ${e.message}`);
  throw new JobError(e.code, e.message, { retryable: e.retryable ?? false, ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}) });
}
