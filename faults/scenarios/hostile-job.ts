// Scenario hostile-job: members run a job that throws odd values, hangs past the deadline, emits outputs over the topic's limit and kills or hangs its worker threads, under steady load and member kills.
import { PARTITIONS, runPipelineScenario } from '../lib/pipeline.ts';
import type { Scenario } from '../lib/scenario.ts';

const JOB = new URL('../jobs/hostile-job.ts', import.meta.url).pathname;
/** The output topic's max.message.bytes: the job's "big" outputs are twice this. */
const OUTPUT_LIMIT = 64 * 1024;

/** What record n does, and the dead-letter code it must end with (undefined: an output). */
export function hostileKind(n: number): { kind: string; code: string | undefined } {
  switch (n % 20) {
    case 1:
      return { kind: 'throw', code: 'JOB_FAILED' };
    case 4:
      return { kind: 'reject', code: 'JOB_FAILED' };
    case 7:
      return { kind: 'hang', code: 'RECORD_TIMEOUT' };
    case 11:
      return { kind: 'big', code: 'OUTPUT_TOO_LARGE' };
    case 14:
      return { kind: 'crash', code: 'WORKER_CRASHED' };
    case 17:
      return { kind: 'spin', code: 'RECORD_TIMEOUT' };
    default:
      return { kind: 'ok', code: undefined };
  }
}

export const hostileJob: Scenario = {
  name: 'hostile-job',
  title: 'a hostile job: odd throws, hangs, oversized outputs, dying and stuck worker threads',
  description:
    'Two members run a job file of a careless user (`--record-timeout 2s --attempts 2`): of every 20 records, one throws an odd value (a null-prototype object, an object whose toString throws, undefined, a Symbol, a Proxy that throws on every trap, a BigInt), one rejects with one, one never settles, one returns an output twice the output topic\'s max.message.bytes, one calls process.exit() in its worker thread, one loops forever in it; its deadLetterFields() returns a BigInt. At seeded moments a member is killed with kill -9 and restarted. Each record must end with the code its kind calls for, and no member may exit by itself.',
  defaults: { trials: 3, durationMs: 120_000 },
  slots: 2,
  run: (h, p, rng) =>
    runPipelineScenario(
      h,
      hostileJob,
      p,
      {
        slots: [1, 2],
        rate: p.rate,
        job: { file: JOB, args: ['--record-timeout', '2s', '--attempts', '2', '--retry-base', '100ms'] },
        outputConfigs: { 'max.message.bytes': String(OUTPUT_LIMIT) },
        value: (id, n) => JSON.stringify({ id, n, kind: hostileKind(n).kind }),
      },
      async (run) => {
        const window = p.durationMs / Math.max(1, p.trials);
        for (let i = 0; i < p.trials; i += 1) {
          await run.until(window * (i + rng.between(0.2, 0.6)));
          const slot = rng.int(1, 2);
          const victim = run.member(slot);
          run.event('kill -9', victim.name, { note: 'at a random moment' });
          await victim.kill();
          run.startMember(slot);
        }
        await run.until(p.durationMs);
        run.afterAccounting = (outcome) => {
          const wrong: string[] = [];
          const kinds = new Map<string, number>();
          for (const [id, code] of outcome) {
            const n = Number(/-(\d+)$/.exec(id)?.[1]);
            const want = hostileKind(n);
            kinds.set(want.kind, (kinds.get(want.kind) ?? 0) + 1);
            if (code !== want.code) wrong.push(`${id} (${want.kind}): ${code ?? 'an output'}, want ${want.code ?? 'an output'}`);
          }
          run.check('each record ends as its kind calls for (output, JOB_FAILED, RECORD_TIMEOUT, OUTPUT_TOO_LARGE, WORKER_CRASHED)', wrong.length === 0, wrong.slice(0, 10).join('; '));
          run.check('every hostile kind was exercised', ['throw', 'reject', 'hang', 'big', 'crash', 'spin', 'ok'].every((k) => (kinds.get(k) ?? 0) > 0), JSON.stringify(Object.fromEntries(kinds)));
          run.notes.push(`records by kind: ${[...kinds].map(([k, c]) => `${k} ${c}`).join(', ')} (over ${PARTITIONS} partitions)`);
        };
      },
    ),
};
