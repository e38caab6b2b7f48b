// Structured-clone-safe shapes for palette work done on a worker thread (class instances do not survive postMessage).
import { isLaglessError, JobError, UsageError } from '../errors/index.ts';
import type { PaletteResult } from './extract.ts';
import type { PaletteOptions } from './options.ts';

/** What the transformer passes to `pool.run(task, { transferList: [task.bytes.buffer] })`. */
export interface PaletteTask {
  bytes: Uint8Array;
  options?: Partial<PaletteOptions>;
}

export interface SerializedPaletteError {
  /** a stable dead-letter code (NOT_AN_IMAGE, DECODE_FAILED, TOO_MANY_PIXELS, NO_PIXELS, JOB_FAILED, ...) */
  code: string;
  message: string;
  retryable: boolean;
}

export type PaletteWorkerResult = { ok: true; result: PaletteResult } | { ok: false; error: SerializedPaletteError };

/** Turns any thrown value into the plain error shape. Unknown errors become JOB_FAILED; bad options keep USAGE out of records. */
export function serializePaletteError(err: unknown): SerializedPaletteError {
  if (isLaglessError(err) && !(err instanceof UsageError)) {
    return { code: err.code, message: err.message, retryable: err.retryable };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'JOB_FAILED', message: `palette worker failed: ${message}`, retryable: false };
}

/** The palette from a worker's answer, or throws the JobError it carries. */
export function decodeWorkerResult(answer: PaletteWorkerResult): PaletteResult {
  if (answer.ok) return answer.result;
  const { code, message, retryable } = answer.error;
  throw new JobError(code, message, { retryable });
}
