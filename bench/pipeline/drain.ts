// Runs a Transformer over a pre-produced topic until every record is done, timing it from the first record the job sees.
import type { JobDefinition } from '../../src/index.ts';
import { Transformer, type Ordering, type TransformerInit } from '../../src/runtime/index.ts';
import { until, type BenchEnv } from './env.ts';

/** Wraps a job to note when the first record reached it. */
export function timedJob(job: JobDefinition, mark: { first: number | undefined }): JobDefinition {
  return {
    ...job,
    run: (input, ctx) => {
      mark.first ??= performance.now();
      return job.run(input, ctx);
    },
  };
}

/** Runs a Transformer over a pre-produced topic until `expected` records are done; resolves with the timings. */
export async function drainWithTransformer(
  env: BenchEnv,
  job: JobDefinition,
  t: { from: string; to: string; dlq: string; group: string; ordering: Ordering; workers?: TransformerInit['workers'] },
  expected: number,
): Promise<{ seconds: number; steadySeconds: number; steadyCount: number; outputs: number; deadLetters: number; firstDead: string | undefined }> {
  const mark = { first: undefined as number | undefined };
  const tr = new Transformer(timedJob(job, mark), { kafka: { brokers: env.brokers }, clientId: `${t.group}-member`, ...t });
  let outputs = 0;
  let deadLetters = 0;
  let firstDead: string | undefined;
  let tenth = 0;
  let last = 0;
  const tenthAt = Math.max(1, Math.floor(expected / 10));
  const done = new Promise<void>((ok) => {
    tr.on('record', (r) => {
      if (r.kind === 'ok') outputs += 1;
      else {
        deadLetters += 1;
        firstDead ??= `${r.code}: ${r.message}`;
      }
      const n = outputs + deadLetters;
      if (n === tenthAt) tenth = performance.now();
      if (n === expected) {
        last = performance.now();
        ok();
      }
    });
  });
  try {
    await tr.start();
    await until(done, 30 * 60_000, () => `${outputs + deadLetters} of ${expected} records done (${JSON.stringify(tr.stats())})`);
  } finally {
    await tr.close().catch(() => {});
  }
  return {
    seconds: (last - mark.first!) / 1000,
    steadySeconds: (last - tenth) / 1000,
    steadyCount: expected - tenthAt,
    outputs,
    deadLetters,
    firstDead,
  };
}

