// defineJob: types a job definition and checks its shape once, with messages that name the field.
import { UsageError } from '../errors/index.ts';
import type { JobDefinition } from './types.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Declares a job. It returns the definition unchanged after checking its shape (a bad field throws UsageError naming
 * it), so a job module fails when it loads, not at its first record.
 *
 *   export default defineJob({ name: 'upper', run: (record) => ({ value: record.text().toUpperCase() }) });
 */
export function defineJob(job: JobDefinition): JobDefinition {
  return validateJob(job, 'defineJob');
}

/** Checks that `job` is a job definition; `where` names it in messages (a file, or "defineJob"). */
export function validateJob<T extends JobDefinition>(job: T, where: string): T {
  const fail = (msg: string): never => {
    throw new UsageError(`${where}: ${msg}`);
  };
  if (!job || typeof job !== 'object') fail(`a job is an object with "name" and "run", got ${job === null ? 'null' : typeof job}`);
  if (typeof job.name !== 'string' || !NAME.test(job.name)) fail(`"name" must be letters, digits, ".", "_" or "-", got ${JSON.stringify(job.name)}`);
  if (typeof job.run !== 'function') fail(`"run" must be a function (record, ctx) => output(s), got ${typeof job.run}`);
  for (const f of ['setup', 'close', 'deadLetterFields', 'stats', 'preview'] as const) {
    if (job[f] !== undefined && typeof job[f] !== 'function') fail(`"${f}" must be a function when given, got ${typeof job[f]}`);
  }
  if (job.worker !== undefined && !(job.worker instanceof URL) && (typeof job.worker !== 'string' || job.worker === '')) {
    fail(`"worker" must be a URL or a path, got ${typeof job.worker}`);
  }
  if (job.timeoutMs !== undefined && (typeof job.timeoutMs !== 'number' || !Number.isInteger(job.timeoutMs) || job.timeoutMs < 1)) {
    fail(`"timeoutMs" must be an integer number of milliseconds >= 1 when given, got ${JSON.stringify(job.timeoutMs)}`);
  }
  if (job.outputs !== undefined) {
    if (!Array.isArray(job.outputs)) fail(`"outputs" must be an array of topic names, got ${typeof job.outputs}`);
    for (const t of job.outputs) if (typeof t !== 'string' || t === '') fail(`"outputs" must hold topic names, got ${JSON.stringify(t)}`);
  }
  return job;
}
