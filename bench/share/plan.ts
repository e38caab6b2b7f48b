// The share bench's pure parts: its contenders, the order they run in each round, what a replica's log says, the summary and the tables.
import { median } from '../peers/plan.ts';

export { median };

export const JOBS = ['io', 'cpu'] as const;
export type ShareBenchJob = (typeof JOBS)[number];
export const GROUP_TYPES = ['share', 'consumer'] as const;
export type GroupType = (typeof GROUP_TYPES)[number];

/** One contender: this many `lagless run` processes in one group of this type. */
export interface Contender {
  groupType: GroupType;
  replicas: number;
}

export const contenderName = (c: Contender): string => `${c.groupType}×${c.replicas}`;

/**
 * The contenders of one round (0-based), in the order they run: share and consumer with the same replicas run next to
 * each other (their ratio is the figure), the pairs rotate by one place a round and the pair's first member alternates,
 * so that a change of load on the machine, or a broker that warms up, hits both group types alike.
 */
export function roundOrder(replicas: readonly number[], round: number): Contender[] {
  const n = replicas.length;
  if (n === 0) return [];
  const k = ((round % n) + n) % n;
  const pairs = [...replicas.slice(k), ...replicas.slice(0, k)];
  const types: GroupType[] = round % 2 === 0 ? ['share', 'consumer'] : ['consumer', 'share'];
  return pairs.flatMap((r) => types.map((groupType) => ({ groupType, replicas: r })));
}

/** What one replica's JSON log lines (`--log-format json`) say about its run. */
export interface ReplicaLog {
  /** Warnings and errors by code (lines of level warn or error with a code). */
  warnings: Record<string, number>;
  /** The first warning or error line of each code, its message (to tell what it was). */
  messages: Record<string, string>;
  /** When it first got partitions (ms since the epoch), or null if it never did. */
  assignedAt: number | null;
  /** When it was given an assignment, empty or not (ms since the epoch): each rebalance it took part in. */
  assignments: number[];
  /** Outputs it wrote, from its "stopped" summary; null without one (it did not stop cleanly). */
  outputs: number | null;
}

/** Reads a replica's stderr in `--log-format json`; lines that are not JSON objects are left out. */
export function parseReplicaLog(stderr: string): ReplicaLog {
  const out: ReplicaLog = { warnings: {}, messages: {}, assignedAt: null, assignments: [], outputs: null };
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if ((e.level === 'warn' || e.level === 'error') && typeof e.code === 'string') {
      out.warnings[e.code] = (out.warnings[e.code] ?? 0) + 1;
      out.messages[e.code] ??= String(e.msg ?? '');
    }
    if (e.event === 'assignment') {
      const at = Date.parse(String(e.time));
      if (!out.assignments.includes(at)) out.assignments.push(at);
      if (out.assignedAt === null && Array.isArray(e.partitions) && e.partitions.length > 0) out.assignedAt = at;
    }
    if (e.event === 'stopped' && typeof e.outputs === 'number') out.outputs = e.outputs;
  }
  return out;
}

/** One contender's drain of the backlog in one round. */
export interface ShareRun {
  round: number;
  job: ShareBenchJob;
  partitions: number;
  groupType: GroupType;
  replicas: number;
  /** Its place in the round's order for this job and topic, 0-based. */
  position: number;
  records: number;
  /** Seconds from the first output seen to the outputs (and dead letters) seen at `records`. */
  seconds: number;
  /** records / seconds. */
  perSecond: number;
  /** Seconds from the spawn of the replicas to the first output seen. */
  firstOutputSeconds: number;
  /**
   * Seconds from the spawn to the last assignment any replica logged before the drain was done: from then on, every
   * member was in the group and no rebalance was under way. Null if none was logged.
   */
  settledSeconds: number | null;
  /**
   * msg/s from the first poll after `settledSeconds` to the last output: the rate with every member working, without
   * the joining and rebalances before it. Null when less than a fifth of the records was left by then.
   */
  steadyPerSecond: number | null;
  /** Seconds from the spawn to the last output seen (start to done: process start, joining, draining). */
  totalSeconds: number;
  /** Seconds from the spawn until each replica first had partitions (null: never; the idle members of a consumer group). */
  assignedSeconds: (number | null)[];
  /** Outputs each replica wrote (its "stopped" summary; null if it did not say). */
  replicaOutputs: (number | null)[];
  /** Records in the output topic when the drain was seen complete (more than `records`: duplicates). */
  outputs: number;
  deadLetters: number;
  /** CPU time of all the replicas (user + system, from their start) per record, ms; null where unread. */
  cpuMsPerRecord: number | null;
  /**
   * The share of the machine's CPU (all cores) that other processes used from the spawn to the last output: busy time
   * of /proc/stat less the replicas, this process and the broker when this bench started it. On a shared machine,
   * what to look at when a run stands out. Null where unread.
   */
  othersCpuShare: number | null;
  /** Warnings and errors the replicas logged, by code (summed over the replicas). */
  warnings: Record<string, number>;
  /** The replicas' exits after SIGTERM: code, or the signal's name when one had to be killed. */
  exits: (number | string | null)[];
  /** Set when the run failed (its figures are then zeros and left out of the summary). */
  error?: string;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

const spread = (xs: number[]): Spread | null => (xs.length ? { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) } : null);

/** One line of a table: a job, a topic, a number of replicas, both group types. */
export interface ShareSummary {
  job: ShareBenchJob;
  partitions: number;
  replicas: number;
  /** msg/s over the successful runs; null when none succeeded. */
  share: Spread | null;
  consumer: Spread | null;
  /** Median share msg/s over median consumer msg/s; null without both. */
  ratio: number | null;
  /** The same of steadyPerSecond (the runs that have one). */
  steady: { share: Spread | null; consumer: Spread | null; ratio: number | null };
  runs: { share: number; consumer: number };
  failed: { share: number; consumer: number };
}

export function summarize(runs: readonly ShareRun[], jobs: readonly ShareBenchJob[], partitions: readonly number[], replicas: readonly number[]): ShareSummary[] {
  const out: ShareSummary[] = [];
  for (const job of jobs) {
    for (const p of partitions) {
      for (const r of replicas) {
        const of = (g: GroupType) => runs.filter((x) => x.job === job && x.partitions === p && x.replicas === r && x.groupType === g);
        const ok = (g: GroupType) => of(g).filter((x) => x.error === undefined);
        const share = spread(ok('share').map((x) => x.perSecond));
        const consumer = spread(ok('consumer').map((x) => x.perSecond));
        const steadyOf = (g: GroupType) => spread(ok(g).flatMap((x) => (x.steadyPerSecond === null ? [] : [x.steadyPerSecond])));
        const steady = { share: steadyOf('share'), consumer: steadyOf('consumer') };
        out.push({
          job,
          partitions: p,
          replicas: r,
          share,
          consumer,
          ratio: share && consumer ? share.median / consumer.median : null,
          steady: { ...steady, ratio: steady.share && steady.consumer ? steady.share.median / steady.consumer.median : null },
          runs: { share: ok('share').length, consumer: ok('consumer').length },
          failed: { share: of('share').length - ok('share').length, consumer: of('consumer').length - ok('consumer').length },
        });
      }
    }
  }
  return out;
}

/** The range and median of the runs' othersCpuShare, or null when none was read. */
export function othersCpu(runs: readonly ShareRun[]): Spread | null {
  return spread(runs.flatMap((r) => (r.othersCpuShare === null ? [] : [r.othersCpuShare])));
}

/** Warnings of all runs, by group type and code: how many lines, in how many runs. */
export function warningTotals(runs: readonly ShareRun[]): Record<GroupType, Record<string, { lines: number; runs: number }>> {
  const out: Record<GroupType, Record<string, { lines: number; runs: number }>> = { share: {}, consumer: {} };
  for (const r of runs) {
    for (const [code, n] of Object.entries(r.warnings)) {
      const t = (out[r.groupType][code] ??= { lines: 0, runs: 0 });
      t.lines += n;
      t.runs += 1;
    }
  }
  return out;
}

const num = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));
const cellOf = (s: Spread | null, failed: number) => (s ? `${num(s.median)} (${num(s.min)}-${num(s.max)})` : failed ? `- (${failed} failed)` : '-');
export const ratioText = (x: number | null): string => (x === null ? '-' : `${x.toFixed(2)}x`);

/** One table per job and topic: replicas × {share, consumer} msg/s (median, range), share/consumer, and the same ratio of the steady rates. */
export function formatTables(summaries: readonly ShareSummary[], describeJob: (job: ShareBenchJob) => string): string[] {
  const lines: string[] = [];
  const blocks = new Map<string, ShareSummary[]>();
  for (const s of summaries) {
    const key = `${s.job}/${s.partitions}`;
    blocks.set(key, [...(blocks.get(key) ?? []), s]);
  }
  for (const block of blocks.values()) {
    const { job, partitions } = block[0]!;
    lines.push('', `${describeJob(job)}, ${partitions} partition${partitions === 1 ? '' : 's'}: msg/s, median (min-max)`);
    const header = ['replicas', 'share', 'consumer', 'share/consumer', 'steady share/consumer'];
    const rows = block.map((s) => [String(s.replicas), cellOf(s.share, s.failed.share), cellOf(s.consumer, s.failed.consumer), ratioText(s.ratio), ratioText(s.steady.ratio)]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    lines.push(line(header), ...rows.map(line));
  }
  return lines;
}
