// The fault runner's accounting, pure: every input id in outputs ∪ dead letters, duplicates, dead-letter codes, the longest time a partition made no progress while work waited, and recovery after each fault.
import { RecordErrorCodes } from '../../src/errors/index.ts';
import { PaletteJobErrorCodes } from '../../src/jobs/index.ts';

/** The stable codes a dead letter of the palette job can carry: the runtime's and the job's own. */
const STABLE_CODES: ReadonlySet<string> = new Set([...Object.keys(RecordErrorCodes), ...Object.keys(PaletteJobErrorCodes)]);
import type { TopicRecord } from './kafka-io.ts';

/** Ids are "<letters and dashes>-<n>"; an output key may carry more after the number (fuzzed ids): this is the input id. */
export function baseId(key: string | null): string | undefined {
  if (key === null) return undefined;
  return /^[A-Za-z-]*?-\d+/.exec(key)?.[0];
}

export interface Arrival {
  id: string;
  partition: number;
  /** When the input record was acknowledged by the broker (ms). */
  at: number;
}

export interface AccountingInput {
  /** The input topic read back. */
  inputs: readonly TopicRecord[];
  outputs: readonly TopicRecord[];
  deadLetters: readonly TopicRecord[];
  arrivals: readonly Arrival[];
  /** Earliest acknowledgement of an output or dead letter per input id (from the members' ack logs). */
  completions: ReadonlyMap<string, number>;
  /** Moments of fault injection and repair (ms). */
  faults: readonly number[];
}

export interface Stall {
  ms: number;
  partition: number;
  /** When the stall began (work waiting, nothing completing) and ended (ms). */
  from: number;
  to: number;
}

export interface Accounting {
  /** Distinct input ids. */
  records: number;
  /** Input records beyond the first per id (the load generator's retried requests). */
  inputDuplicates: number;
  /** Ids with neither an output nor a dead letter. */
  lost: string[];
  /** Outputs and dead letters beyond the input copies of their id: work redone after a fault. */
  duplicates: number;
  /** Ids with both an output and a dead letter. */
  both: string[];
  /** Output or dead-letter records whose key is no input id. */
  unknown: number;
  /** The first few of them, for the report. */
  unknownSamples: string[];
  outputs: number;
  deadLetters: number;
  /** Dead letters per error code. */
  codes: Record<string, number>;
  /** Codes that are neither the runtime's (src/errors) nor the palette job's (src/jobs/palette.ts). */
  unknownCodes: string[];
  longestStall: Stall;
  /** Per fault: from the fault until every record that arrived before it was done (ms). */
  recoveries: number[];
}

function count<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/**
 * Longest time without progress on one partition while work was waiting: for each completion c[k] of the partition
 * (sorted), the interval since max(c[k-1], the arrival of the earliest record still unfinished after c[k-1]).
 */
export function longestStall(records: readonly { partition: number; arrivedAt: number; completedAt: number }[]): Stall {
  const byPartition = new Map<number, { arrivedAt: number; completedAt: number }[]>();
  for (const r of records) {
    const list = byPartition.get(r.partition) ?? [];
    list.push(r);
    byPartition.set(r.partition, list);
  }
  let worst: Stall = { ms: 0, partition: -1, from: 0, to: 0 };
  for (const [partition, list] of byPartition) {
    list.sort((a, b) => a.completedAt - b.completedAt);
    const suffixMinArrival = new Array<number>(list.length);
    let min = Infinity;
    for (let k = list.length - 1; k >= 0; k -= 1) {
      min = Math.min(min, list[k]!.arrivedAt);
      suffixMinArrival[k] = min;
    }
    for (let k = 0; k < list.length; k += 1) {
      const from = Math.max(k === 0 ? -Infinity : list[k - 1]!.completedAt, suffixMinArrival[k]!);
      const ms = list[k]!.completedAt - from;
      if (ms > worst.ms) worst = { ms, partition, from, to: list[k]!.completedAt };
    }
  }
  return worst;
}

export function account(a: AccountingInput): Accounting {
  const copies = new Map<string, number>();
  for (const r of a.inputs) {
    const id = r.key ?? '';
    count(copies, id);
  }
  const outs = new Map<string, number>();
  const deads = new Map<string, number>();
  let unknown = 0;
  const unknownSamples: string[] = [];
  const stray = (kind: string, r: TopicRecord) => {
    unknown += 1;
    if (unknownSamples.length < 10) unknownSamples.push(`${kind} key ${JSON.stringify(r.key)} at ${r.partition}/${r.offset}`);
  };
  const codes: Record<string, number> = {};
  for (const r of a.outputs) {
    const id = baseId(r.key);
    if (id !== undefined && copies.has(id)) count(outs, id);
    else stray('output', r);
  }
  for (const r of a.deadLetters) {
    const id = r.key ?? '';
    if (copies.has(id)) count(deads, id);
    else stray('dead letter', r);
    let code = '(unparsable dead letter)';
    try {
      code = String((JSON.parse(r.value) as { error?: { code?: unknown } }).error?.code);
    } catch {}
    codes[code] = (codes[code] ?? 0) + 1;
  }
  const lost: string[] = [];
  const both: string[] = [];
  let duplicates = 0;
  let inputDuplicates = 0;
  for (const [id, n] of copies) {
    const o = outs.get(id) ?? 0;
    const d = deads.get(id) ?? 0;
    if (o + d === 0) lost.push(id);
    if (o > 0 && d > 0) both.push(id);
    duplicates += Math.max(0, o + d - n);
    inputDuplicates += n - 1;
  }

  const arrival = new Map<string, Arrival>();
  for (const r of a.arrivals) if (!arrival.has(r.id)) arrival.set(r.id, r);
  const timeline: { partition: number; arrivedAt: number; completedAt: number }[] = [];
  for (const [id, r] of arrival) {
    const c = a.completions.get(id);
    if (c !== undefined) timeline.push({ partition: r.partition, arrivedAt: r.at, completedAt: Math.max(c, r.at) });
  }
  const recoveries = a.faults.map((f) => {
    let worst = 0;
    for (const r of timeline) if (r.arrivedAt <= f) worst = Math.max(worst, r.completedAt - f);
    return worst;
  });
  return {
    records: copies.size,
    inputDuplicates,
    lost,
    duplicates,
    both,
    unknown,
    unknownSamples,
    outputs: a.outputs.length,
    deadLetters: a.deadLetters.length,
    codes,
    unknownCodes: Object.keys(codes).filter((c) => !STABLE_CODES.has(c)),
    longestStall: longestStall(timeline),
    recoveries,
  };
}
