// The peers benchmark's pure parts: the contenders, the order they run in each round, the summary and the table.

export const CONTENDERS = ['noop', 'bare', 'kafkajs', 'confluent'] as const;
export type Contender = (typeof CONTENDERS)[number];

/** What each contender is, for the table's legend and the JSON. */
export const DESCRIPTIONS: Record<Contender, string> = {
  noop: 'lagless run noop (the CLI, src/cli/main.ts)',
  bare: 'bare @platformatic/kafka loop (bareLoop of bench/pipeline/overhead.ts)',
  kafkajs: 'KafkaJS eachBatch loop (kafkajs, as its docs teach)',
  confluent: 'the same eachBatch loop on @confluentinc/kafka-javascript (its KafkaJS API)',
};

/**
 * The contenders of round `round` (0-based), in the order they run: the list rotated by one place a round, so that over
 * as many rounds as contenders each one runs once in each position (with two, they alternate), and a change of load on
 * the machine, or a broker that warms up, hits them all alike.
 */
export function roundOrder<T>(contenders: readonly T[], round: number): T[] {
  const n = contenders.length;
  if (n === 0) return [];
  const k = ((round % n) + n) % n;
  return [...contenders.slice(k), ...contenders.slice(0, k)];
}

/** One contender's drain of the backlog in one round. */
export interface PeerRun {
  round: number;
  contender: Contender;
  /** Its place in the round's order, 0-based. */
  position: number;
  records: number;
  /** Seconds from its group seen stable (partitions assigned) to its commits seen at the backlog's end (see bench/peers.ts). */
  seconds: number;
  perSecond: number;
  /** Seconds from the spawn to the group seen stable (process start, module loading, joining); null if never seen. */
  joinedSeconds: number | null;
  /** Seconds from the spawn to the first output seen in its topic. */
  firstOutputSeconds: number;
  /** VmHWM of the child process when the drain was seen complete, MB (2^20 bytes). */
  peakRssMb: number;
  /** CPU time of the child process (user + system, all threads, from its start) per record, ms; null where unread. */
  cpuMsPerRecord: number | null;
  /** Records in its output topic when the drain was seen complete (at least `records`; more means duplicates). */
  outputs: number;
  /** The child's exit after SIGTERM: code, or the signal's name when it had to be killed. */
  exit: number | string | null;
  /** Set when the run failed (its figures are then zeros and left out of the summary). */
  error?: string;
}

export interface PeerSummary {
  contender: Contender;
  runs: number;
  failed: number;
  perSecond: { median: number; min: number; max: number };
  peakRssMb: { median: number; min: number; max: number };
  /** Median msg/s over the bare loop's median msg/s; null without bare runs. */
  vsBare: number | null;
  /** Median peak RSS minus the bare loop's median peak RSS, MB; null without bare runs. */
  rssMinusBareMb: number | null;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const spread = (xs: number[]) => (xs.length ? { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) } : { median: NaN, min: NaN, max: NaN });

/** Medians (and ranges) per contender over the successful runs, each compared with the bare loop's. */
export function summarize(runs: readonly PeerRun[], contenders: readonly Contender[]): PeerSummary[] {
  const ok = (c: Contender) => runs.filter((r) => r.contender === c && r.error === undefined);
  const bare = ok('bare');
  const bareRate = bare.length ? median(bare.map((r) => r.perSecond)) : null;
  const bareRss = bare.length ? median(bare.map((r) => r.peakRssMb)) : null;
  return contenders.map((c) => {
    const mine = ok(c);
    const perSecond = spread(mine.map((r) => r.perSecond));
    const peakRssMb = spread(mine.map((r) => r.peakRssMb));
    return {
      contender: c,
      runs: mine.length,
      failed: runs.filter((r) => r.contender === c && r.error !== undefined).length,
      perSecond,
      peakRssMb,
      vsBare: bareRate && mine.length ? perSecond.median / bareRate : null,
      rssMinusBareMb: bareRss !== null && mine.length ? peakRssMb.median - bareRss : null,
    };
  });
}

/** The table: one line per contender; one not available here says why. */
export function formatTable(summaries: readonly PeerSummary[], unavailable: Partial<Record<Contender, string>>): string[] {
  const header = ['contender', 'msg/s median', 'min-max', '% of bare', 'peak RSS MB', 'RSS - bare MB', 'runs'];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const s of summaries) {
    const why = unavailable[s.contender];
    if (why !== undefined) {
      notes.push(`${s.contender}: not available here: ${why}`);
      continue;
    }
    if (s.runs === 0) {
      rows.push([s.contender, '-', '-', '-', '-', '-', `0 (${s.failed} failed)`]);
      continue;
    }
    const int = (x: number) => Math.round(x).toLocaleString('en-US');
    rows.push([
      s.contender,
      int(s.perSecond.median),
      `${int(s.perSecond.min)}-${int(s.perSecond.max)}`,
      s.vsBare === null ? '-' : `${(s.vsBare * 100).toFixed(1)}%`,
      s.peakRssMb.median.toFixed(0),
      s.rssMinusBareMb === null ? '-' : `${s.rssMinusBareMb >= 0 ? '+' : ''}${s.rssMinusBareMb.toFixed(0)}`,
      s.failed ? `${s.runs} (${s.failed} failed)` : String(s.runs),
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line), ...notes];
}
