// Loads a user's job module (`lagless run ./my-job.ts`): a file whose default export is a job definition.
import { existsSync, statSync } from 'node:fs';
import { extname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LaglessError, UsageError } from '../errors/index.ts';
import { validateJob } from './define.ts';
import type { JobDefinition } from './types.ts';

export const JOB_FILE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'] as const;

/** True when `spec` names a file rather than a built-in job: it has a path separator or a job file extension. */
export function looksLikeJobFile(spec: string): boolean {
  return spec.includes('/') || spec.includes('\\') || (JOB_FILE_EXTENSIONS as readonly string[]).includes(extname(spec));
}

/** Imports `file` (relative to `cwd`) and returns its default export, checked to be a job definition. */
export async function loadJobFile(file: string, cwd: string = process.cwd()): Promise<{ job: JobDefinition; path: string }> {
  const path = isAbsolute(file) ? file : resolve(cwd, file);
  if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`job file ${file} does not exist (looked for ${path})`);
  if (!(JOB_FILE_EXTENSIONS as readonly string[]).includes(extname(path))) {
    throw new UsageError(`job file ${file} must end in ${JOB_FILE_EXTENSIONS.join(', ')}`);
  }
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (err) {
    if (err instanceof LaglessError) throw err;
    const e = err as Error & { code?: string };
    const hint =
      e.code === 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING'
        ? ' (Node strips TypeScript types only outside node_modules: keep job files in your project, or compile them to .js)'
        : '';
    throw new LaglessError('IO', `cannot load job file ${file}: ${e?.message ?? String(err)}${hint}`, { cause: err });
  }
  if (mod.default === undefined) throw new UsageError(`job file ${file} has no default export: end it with "export default defineJob({ name, run })"`);
  return { job: validateJob(mod.default as JobDefinition, `job file ${file}`), path };
}
