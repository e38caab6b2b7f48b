// The piscina entry of the runtime's worker threads: loads the job's worker module once per thread and runs its default export per task.
import { workerData } from 'node:worker_threads';
import type { WorkerFunction } from '../job/index.ts';
import { encodeWorkerError, type WorkerAnswer, type WorkerData } from './worker-protocol.ts';

const data = workerData as WorkerData;
const mod = (await import(data.module)) as { default?: unknown };
if (typeof mod.default !== 'function') {
  throw new Error(`the worker module ${data.module} must default-export a function (task) => result, got ${typeof mod.default}`);
}
const fn = mod.default as WorkerFunction;

/**
 * Never throws: a failure comes back as data, so its code survives the trip between threads. A result that cannot be
 * copied back (a function in it, say) is such a failure: posted as it is, it would kill the thread with an error that
 * says nothing (the pool would take it for a crash, WORKER_CRASHED, and retry a record that can never succeed).
 */
export default async function runTask(task: unknown): Promise<WorkerAnswer> {
  let value: unknown;
  try {
    value = await fn(task);
  } catch (err) {
    return { ok: false, error: encodeWorkerError(err) };
  }
  if (value !== null && (typeof value === 'object' || typeof value === 'function')) {
    try {
      structuredClone(value);
    } catch (err) {
      return { ok: false, error: { code: 'JOB_FAILED', retryable: false, message: `the worker function's result cannot be copied back to the main thread (structured clone): ${encodeWorkerError(err).message}` } };
    }
  }
  return { ok: true, value };
}

/** Answers once the worker module has loaded in this thread (the runtime checks it before the first record). */
export function ping(): true {
  return true;
}
