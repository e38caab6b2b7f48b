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

/** Never throws: a failure comes back as data, so its code survives the trip between threads. */
export default async function runTask(task: unknown): Promise<WorkerAnswer> {
  try {
    return { ok: true, value: await fn(task) };
  } catch (err) {
    return { ok: false, error: encodeWorkerError(err) };
  }
}

/** Answers once the worker module has loaded in this thread (the runtime checks it before the first record). */
export function ping(): true {
  return true;
}
