// Group members in runtime tests: a slow copying job, and waiting until two transformers have split the partitions.
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobDefinition } from '../../src/index.ts';
import type { Transformer } from '../../src/runtime/index.ts';
import { eventually } from './eventually.ts';

/**
 * Copies each record after `ms` of waiting (like a download), aborted with its signal. With the runtime's
 * concurrency limit at 8, most of a member's window waits, so a scale event always finds records not started,
 * running, and finished but not committed.
 */
export function slowJob(ms = 20): JobDefinition {
  return {
    name: 'slow',
    async run(input, { signal }) {
      await sleep(ms, undefined, { signal });
      return { key: input.key, value: input.value };
    },
    close: async () => {},
  };
}

/** Waits until `a` and `b` hold all `total` partitions between them, each some, none twice; returns who holds what. */
export function waitForSplit(a: Transformer, b: Transformer, total: number): Promise<{ sa: number[]; sb: number[] }> {
  return eventually(
    () => {
      const sa = a.stats().assigned.map((x) => x.partition);
      const sb = b.stats().assigned.map((x) => x.partition);
      return sa.length > 0 && sb.length > 0 && sa.length + sb.length === total && !sa.some((p) => sb.includes(p)) ? { sa, sb } : undefined;
    },
    { what: 'the partitions split between a and b', timeout: 60_000, every: 50 },
  );
}
