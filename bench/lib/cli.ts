// What the benchmarks' command lines share: progress lines on stderr with the time of day, and the end of a run
// (a RangeError from the options is a usage error, exit 2; the table goes to stdout, the JSON file is named on stderr).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);

/** Writes a bench result as JSON to `out`, or to bench/results/<kind>-<date>.json; returns the file. */
export function writeBenchResult(kind: string, r: { date: string }, out: string | undefined): string {
  const file = out ? resolve(out) : join(ROOT, `bench/results/${kind}-${r.date.replace(/[:.]/g, '-')}.json`);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, JSON.stringify(r, null, 1) + '\n');
  return file;
}

/** A progress line on stderr, stamped HH:MM:SS. */
export const benchLog = (line: string): void => {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
};

/** Runs a bench, prints its table and writes its result with `write` (which returns the file it wrote). */
export async function finishBench<R extends { table: string[] }>(run: () => Promise<R>, write: (result: R) => string): Promise<void> {
  let result: R;
  try {
    result = await run();
  } catch (err) {
    if (err instanceof RangeError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  process.stdout.write(result.table.join('\n') + '\n');
  process.stderr.write(`wrote ${write(result)}\n`);
}
