// Gathers a group's state every second (status topic, admin API, output and dead-letter tails) and keeps an hour of it in memory.
import { EventEmitter } from 'node:events';
import type { Admin } from '@platformatic/kafka';
import { describeGroupStatus, StatusTail, type GroupStatus, type MemberStatus, type ScaleEvent } from '../control/index.ts';
import type { JobDefinition, OutputPreview, OutputView } from '../job/index.ts';
import { createAdmin, type KafkaConnection } from '../kafka/index.ts';
import { RateMeter } from '../observe/index.ts';
import { ArrivalClock } from './arrival-clock.ts';
import { History, type HistoryJson } from './history.ts';
import { outputEntry, parseDeadLetterEntry, type DeadLetterEntry, type OutputEntry } from './records.ts';
import { TopicTail, type TailRecord } from './topic-tail.ts';
import pkg from '../../package.json' with { type: 'json' };

/** Previews of output records by job name: each a job's `preview` (see JobDefinition). */
export type JobPreviews = Readonly<Record<string, (output: OutputView) => OutputPreview | undefined>>;

/** The previews of the given jobs (those that have one), for {@link CollectorOptions.previews}. */
export function jobPreviews(...jobs: JobDefinition[]): JobPreviews {
  const out: Record<string, (output: OutputView) => OutputPreview | undefined> = {};
  for (const job of jobs) if (typeof job.preview === 'function') out[job.name] = (output) => job.preview!(output);
  return out;
}

export interface CollectorOptions {
  kafka: KafkaConnection;
  group: string;
  statusTopic: string;
  /** How much history is kept in memory, ms. Default one hour. */
  historyMs?: number;
  /** Sampling interval, ms. Default 1000 (one point per second). */
  sampleMs?: number;
  /** Rates are measured over this window, ms. Default 5000. */
  rateWindowMs?: number;
  /** Latest output records shown. Default 12. */
  outputListSize?: number;
  /**
   * How to show the output records of each job, by job name (the `job` of its members' status records): a job's
   * `preview`. An output of a job without one shows its key and short values. Default: none.
   */
  previews?: JobPreviews;
  /** Latest dead letters listed. Default 20. */
  deadLetterListSize?: number;
  /** Width of a bar of the dead-letter chart, ms. Default 10 s. */
  deadBucketMs?: number;
  /**
   * When true, the output and dead-letter topics are read only once `wantRecords()` was called (a page was opened):
   * a `lagless run` process does not read its own output unless someone looks. They still start with the latest
   * outputs and the last hour of dead letters. Default false.
   */
  lazyRecords?: boolean;
}

export const defaultCollectorOptions = {
  historyMs: 3_600_000,
  sampleMs: 1000,
  rateWindowMs: 5000,
  outputListSize: 12,
  previews: {},
  deadLetterListSize: 20,
  deadBucketMs: 10_000,
  lazyRecords: false,
} as const satisfies Partial<CollectorOptions>;

/** Dead letters read at most per partition when the dashboard starts (the chart covers the last hour). */
const DEAD_LETTER_BACKFILL = 2000;
/** Scale events the dashboard keeps for its timeline (status records carry only the latest MAX_SCALE_EVENTS of control). */
const SCALE_EVENTS_KEPT = 200;

export interface MemberView {
  member: string;
  role: string;
  host: string;
  pid: number | null;
  job: string;
  version: string | null;
  live: boolean;
  ageMs: number | null;
  assigned: number[];
  inFlight: number | null;
  rates: { in: number; out: number; dead: number } | null;
  /** Since the process started: attempts past the per-record deadline, and worker threads that died under a task. */
  failures: { timeouts: number; workerCrashes: number } | null;
  workers: { active: number; busy: number; max: number } | null;
  /** The job's I/O concurrency: records in run() before their first worker call, and the limit. */
  io: { active: number; max: number } | null;
  replicas: { running: number; min: number; max: number } | null;
  wish: string | null;
  /** A share-group member: records acquired, held now, delivered before, released, dead-lettered as DELIVERY_LIMIT. */
  share: { acquired: number; held: number; redelivered: number; released: number; deliveryLimit: number } | null;
}

export interface PartitionView {
  topic: string;
  partition: number;
  logEnd: number;
  committed: number | null;
  lag: number;
  behind: number;
  behindAtLeast: boolean;
  arrival: number | null;
  done: number | null;
  owner: string | null;
}

export interface ScaleEventView extends ScaleEvent {
  member: string;
}

export interface Summary {
  group: string;
  /** ISO time of the sample. */
  at: string;
  groupState: string | null;
  /** consumer, or share (a share group: partitions' committed is the share-partition start offset, lag the backlog). */
  groupType: 'consumer' | 'share' | null;
  arrival: number | null;
  done: number | null;
  lag: number | null;
  behind: number | null;
  behindAtLeast: boolean;
  workers: { active: number; busy: number; max: number };
  replicas: { live: number; wanted: number | null };
  inFlight: number;
  guarantees: string[];
  versions: { lagless: string[]; node: string[]; dashboard: string; dashboardNode: string };
  jobs: string[];
  topics: { input: string[]; output: string[]; dlq: string[] };
  /** Problems to show on the page (broker unreachable, no status topic, a tail failing). */
  problems: string[];
}

export interface DeadBuckets {
  bucketMs: number;
  /** Bucket start times, Unix seconds, oldest first. */
  t: number[];
  /** Dead letters per code in each bucket. */
  codes: Record<string, number[]>;
}

/** The page's state, in parts that change at different speeds (the server sends a part only when it changed). */
export interface DashboardState {
  summary: Summary;
  members: MemberView[];
  partitions: PartitionView[];
  scaleEvents: ScaleEventView[];
  /** The latest output records, newest first, and how many were read since the collector started. */
  outputs: { entries: OutputEntry[]; seen: number };
  deadLetters: { entries: DeadLetterEntry[]; seen: number };
  deadBuckets: DeadBuckets;
}

export interface Point {
  t: number;
  values: Record<string, number | null>;
}

export interface CollectorEvents {
  /** A new point and the state after it, about once per `sampleMs`. */
  tick: [Point, DashboardState];
}


const round = (v: number | null, digits = 2): number | null => (v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits);
const unique = (xs: Iterable<string | undefined>): string[] => [...new Set([...xs].filter((x): x is string => !!x))].sort();

/**
 * The dashboard's data: every `sampleMs` one point (rates, lag, seconds behind, workers, replicas, per-partition lag)
 * into a bounded history, and the current state (members, partitions, scale events, latest outputs and dead
 * letters). Reads only: it joins no group it does not own and commits nothing.
 */
export class Collector extends EventEmitter<CollectorEvents> {
  readonly options: Required<CollectorOptions>;
  readonly history: History;
  readonly #statusTail: StatusTail;
  readonly #clock: ArrivalClock;
  readonly #admin: Admin;
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  #started = false;
  #closing: Promise<void> | undefined;
  #wantRecords: boolean;
  /** Per-partition log-end and done offsets as counters: arrival and completion rates (the replicas' meter). */
  #meter: RateMeter;
  #state: DashboardState;
  #scaleEvents = new Map<string, ScaleEventView>();
  #tail: { key: string; tail: TopicTail } | undefined;
  #tailError: string | undefined;
  #latest: OutputEntry[] = [];
  #outputsSeen = 0;
  /** The preview of each output topic: the preview of the job whose members name it as their output. */
  #previews = new Map<string, (output: OutputView) => OutputPreview | undefined>();
  #dead: DeadLetterEntry[] = [];
  #deadSeen = 0;
  #deadCounts = new Map<number, Map<string, number>>();
  #outputs = new Set<string>();

  constructor(options: CollectorOptions) {
    super();
    this.options = { ...defaultCollectorOptions, ...options };
    const o = this.options;
    this.history = new History(Math.max(1, Math.round(o.historyMs / o.sampleMs)));
    this.#clock = new ArrivalClock(o.historyMs);
    this.#meter = new RateMeter({ windowMs: o.rateWindowMs });
    this.#statusTail = new StatusTail({ kafka: o.kafka, topic: o.statusTopic });
    this.#admin = createAdmin({ ...o.kafka, clientId: 'lagless-dashboard' });
    this.#wantRecords = !o.lazyRecords;
    this.#state = this.#emptyState(Date.now());
  }

  /** Starts following the status topic and sampling the group. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#statusTail.start();
    void this.#tick();
    this.#timer = setInterval(() => void this.#tick(), this.options.sampleMs);
    this.#timer.unref();
  }

  /** A page is looking: read the output and dead-letter topics from now on (see `lazyRecords`). */
  wantRecords(): void {
    this.#wantRecords = true;
  }

  /** The history and the latest state, for a page that just connected. */
  snapshot(): { history: HistoryJson; state: DashboardState } {
    return { history: this.history.toJSON(), state: this.#state };
  }

  get state(): DashboardState {
    return this.#state;
  }

  async #tick(): Promise<void> {
    if (this.#ticking || this.#closing) return;
    this.#ticking = true;
    try {
      const now = Date.now();
      const statuses = this.#statusTail.statuses().filter((s) => s.group === this.options.group);
      let g: GroupStatus | undefined;
      let error: string | undefined;
      try {
        g = await describeGroupStatus(this.#admin, { kafka: this.options.kafka, group: this.options.group, statuses, now });
      } catch (err) {
        error = (err as Error).message;
      }
      if (this.#closing) return;
      this.#updateTail(statuses);
      const point = this.#sample(now, statuses, g, error);
      this.history.push(point.t, point.values);
      this.emit('tick', point, this.#state);
    } finally {
      this.#ticking = false;
    }
  }

  #sample(now: number, statuses: MemberStatus[], g: GroupStatus | undefined, error: string | undefined): Point {
    const o = this.options;
    const t = Math.round(now / 1000);
    const problems: string[] = [];
    if (error) problems.push(error);
    if (this.#statusTail.error) problems.push(this.#statusTail.error);
    if (this.#tailError) problems.push(this.#tailError);

    // Per-partition rates over the window, and seconds behind from the arrival clock.
    const counters = new Map<string, number>();
    const keys = new Set<string>();
    const partitions: PartitionView[] = [];
    for (const p of g?.partitions ?? []) {
      const key = `${p.topic}/${p.partition}`;
      keys.add(key);
      counters.set(`${key} end`, p.logEnd);
      counters.set(`${key} done`, p.logEnd - p.lag);
      this.#clock.observe(key, now, p.logEnd);
    }
    if (g) {
      this.#clock.retain(keys);
      this.#meter.add(now, counters);
    }
    const rate = (counter: string): number | null => (g ? this.#meter.rate(counter) : null);
    let arrival: number | null = null;
    let completed: number | null = null;
    let behind = 0;
    let behindAtLeast = false;
    for (const p of g?.partitions ?? []) {
      const key = `${p.topic}/${p.partition}`;
      const a = rate(`${key} end`);
      const d = rate(`${key} done`);
      if (a !== null) arrival = (arrival ?? 0) + a;
      if (d !== null) completed = (completed ?? 0) + d;
      const b = this.#clock.behind(key, p.logEnd - p.lag, p.logEnd, now);
      if (b.seconds > behind || (b.atLeast && b.seconds >= behind)) {
        behind = b.seconds;
        behindAtLeast = b.atLeast;
      }
      partitions.push({
        topic: p.topic,
        partition: p.partition,
        logEnd: p.logEnd,
        committed: p.committed,
        lag: p.lag,
        behind: round(b.seconds, 1)!,
        behindAtLeast: b.atLeast,
        arrival: round(a),
        done: round(d),
        owner: p.owner,
      });
    }

    // Members: the published statuses, and any consumer of the group that publishes none (not a Lagless process).
    const members: MemberView[] = (g?.members ?? statuses.map((s) => ({ ...s, live: false, ageMs: now - Date.parse(s.at) }))).map((m) => ({
      member: m.member,
      role: m.role,
      host: m.host,
      pid: m.pid,
      job: m.job,
      version: m.version,
      live: m.live,
      ageMs: m.ageMs,
      assigned: m.role === 'replica' ? m.assigned : [],
      inFlight: m.inFlight,
      rates: { in: round(m.rates.in)!, out: round(m.rates.out)!, dead: round(m.rates.dead)! },
      failures: m.role === 'supervisor' ? null : { timeouts: m.totals.timeouts ?? 0, workerCrashes: m.totals.workerCrashes ?? 0 },
      workers: m.role === 'supervisor' ? null : { active: m.workers.active, busy: m.workers.busy, max: m.workers.max },
      io: m.role === 'supervisor' ? null : { active: m.io.active, max: m.io.max },
      replicas: m.role === 'supervisor' ? { running: m.replicas.running, min: m.replicas.min, max: m.replicas.max } : null,
      wish: m.wish?.reason ?? null,
      share: m.role === 'replica' && m.share ? { ...m.share } : null,
    }));
    const published = new Set(members.map((m) => m.member));
    for (const b of g?.brokerMembers ?? []) {
      if (published.has(b.clientId)) continue;
      members.push({
        member: b.clientId,
        role: 'consumer',
        host: b.host,
        pid: null,
        job: '(publishes no status)',
        version: null,
        live: true,
        ageMs: null,
        assigned: b.partitions.map((p) => p.partition),
        inFlight: null,
        rates: null,
        failures: null,
        workers: null,
        io: null,
        replicas: null,
        wish: null,
        share: null,
      });
    }

    // Scale events: every status carries its latest ones; keep each once, for the length of the history.
    for (const s of statuses) {
      for (const e of s.scaleEvents ?? []) {
        const key = `${s.member}|${e.at}|${e.unit}|${e.from}|${e.to}`;
        if (!this.#scaleEvents.has(key)) this.#scaleEvents.set(key, { ...e, member: s.member });
      }
    }
    const events = [...this.#scaleEvents.values()]
      .filter((e) => Date.parse(e.at) >= now - o.historyMs)
      .sort((a, b) => a.at.localeCompare(b.at))
      .slice(-SCALE_EVENTS_KEPT);
    this.#scaleEvents = new Map(events.map((e) => [`${e.member}|${e.at}|${e.unit}|${e.from}|${e.to}`, e]));

    const live = (g?.members ?? []).filter((m) => m.live);
    const liveReplicas = live.filter((m) => m.role === 'replica');
    const supervisor = live.find((m) => m.role === 'supervisor');
    const workers = {
      active: liveReplicas.reduce((a, m) => a + m.workers.active, 0),
      busy: liveReplicas.reduce((a, m) => a + m.workers.busy, 0),
      max: liveReplicas.reduce((a, m) => a + m.workers.max, 0),
    };
    const lag = g ? g.totalLag : null;
    const summary: Summary = {
      group: o.group,
      at: new Date(now).toISOString(),
      groupState: g?.state ?? null,
      groupType: g ? (g.groupType ?? 'consumer') : null,
      arrival: round(arrival),
      done: round(completed),
      lag,
      behind: g ? round(behind, 1) : null,
      behindAtLeast,
      workers,
      replicas: { live: liveReplicas.length, wanted: supervisor?.wish?.replicas ?? null },
      inFlight: liveReplicas.reduce((a, m) => a + m.inFlight, 0),
      guarantees: unique(live.map((m) => m.guarantee ?? 'at-least-once')),
      versions: {
        lagless: unique(statuses.map((m) => m.version)),
        node: unique(statuses.map((m) => m.runtime?.node)),
        dashboard: pkg.version,
        dashboardNode: process.version,
      },
      jobs: unique(statuses.filter((m) => m.role === 'replica').map((m) => m.job)),
      topics: {
        input: unique(statuses.map((m) => m.input)),
        output: unique(statuses.map((m) => m.output)),
        dlq: unique(statuses.map((m) => m.dlq)),
      },
      problems,
    };
    this.#state = {
      summary,
      members,
      partitions,
      scaleEvents: events,
      outputs: { entries: this.#latest, seen: this.#outputsSeen },
      deadLetters: { entries: this.#dead, seen: this.#deadSeen },
      deadBuckets: this.#buckets(now),
    };

    const values: Record<string, number | null> = {
      arrival: round(arrival),
      done: round(completed),
      lag,
      behind: g ? round(behind, 1) : null,
      workers: g ? workers.active : null,
      busy: g ? workers.busy : null,
      replicas: g ? liveReplicas.length : null,
    };
    for (const p of partitions) values[`lag:${p.topic}/${p.partition}`] = p.lag;
    return { t, values };
  }

  #buckets(now: number): DeadBuckets {
    const size = this.options.deadBucketMs;
    const last = Math.floor(now / size);
    const count = Math.ceil(this.options.historyMs / size);
    for (const b of this.#deadCounts.keys()) if (b <= last - count) this.#deadCounts.delete(b);
    // From the first dead letter or the start of the history, whichever is earlier: the chart spans the same time as the others.
    const historyStart = this.history.size > 0 ? Math.floor(((this.history.first ?? 0) * 1000) / size) : last;
    const first = Math.max(last - count + 1, Math.min(last - 1, historyStart, ...this.#deadCounts.keys()));
    const t: number[] = [];
    const codes: Record<string, number[]> = {};
    for (const counts of this.#deadCounts.values()) for (const c of counts.keys()) codes[c] ??= [];
    for (let b = first; b <= last; b++) {
      t.push((b * size) / 1000);
      const counts = this.#deadCounts.get(b);
      for (const [c, list] of Object.entries(codes)) list.push(counts?.get(c) ?? 0);
    }
    return { bucketMs: size, t, codes };
  }

  /** (Re)starts the tail of the group's output and dead-letter topics when they change. */
  #updateTail(statuses: MemberStatus[]): void {
    if (!this.#wantRecords) return;
    this.#previews.clear();
    for (const s of statuses) {
      const preview = s.output !== undefined && Object.hasOwn(this.options.previews, s.job) ? this.options.previews[s.job] : undefined;
      if (preview && !this.#previews.has(s.output!)) this.#previews.set(s.output!, preview);
    }
    const outputs = unique(statuses.map((s) => s.output));
    const dlqs = unique(statuses.map((s) => s.dlq)).filter((d) => !outputs.includes(d));
    const key = `${outputs.join(',')}|${dlqs.join(',')}`;
    if (this.#tail?.key === key || outputs.length + dlqs.length === 0) return;
    const previous = this.#tail?.tail;
    void previous?.close();
    this.#latest = [];
    this.#outputsSeen = 0;
    this.#dead = [];
    this.#deadSeen = 0;
    this.#deadCounts.clear();
    this.#tailError = undefined;
    this.#outputs = new Set(outputs);
    const o = this.options;
    const tail = new TopicTail({
      kafka: o.kafka,
      topics: [...outputs, ...dlqs],
      sinceMs: Date.now() - o.historyMs,
      start: (p) =>
        this.#outputs.has(p.topic)
          ? p.logEnd - o.outputListSize
          : Math.max(p.sinceOffset ?? p.logEnd, p.logEnd - DEAD_LETTER_BACKFILL),
      onRecord: (r) => this.#onRecord(tail, r),
      onError: (err) => {
        if (this.#tail?.tail !== tail) return;
        this.#tailError = `reading ${[...outputs, ...dlqs].join(', ')} failed: ${err.message}`;
        // Try again at the next tick.
        this.#tail = undefined;
        void tail.close();
      },
    });
    this.#tail = { key, tail };
    tail.start();
  }

  #onRecord(tail: TopicTail, r: TailRecord): void {
    if (this.#tail?.tail !== tail) return;
    const meta = { topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp };
    const newestFirst = (a: { timestamp: number; offset: number }, b: { timestamp: number; offset: number }) => b.timestamp - a.timestamp || b.offset - a.offset;
    if (this.#outputs.has(r.topic)) {
      const entry = outputEntry({ topic: r.topic, key: r.key ?? undefined, value: r.value ?? '' }, meta, this.#previews.get(r.topic));
      this.#outputsSeen += 1;
      this.#latest = [entry, ...this.#latest].sort(newestFirst).slice(0, this.options.outputListSize);
    } else {
      const entry = parseDeadLetterEntry(r.value, meta, r.key);
      this.#deadSeen += 1;
      this.#dead = [entry, ...this.#dead].sort(newestFirst).slice(0, this.options.deadLetterListSize);
      const bucket = Math.floor((r.timestamp || Date.now()) / this.options.deadBucketMs);
      const counts = this.#deadCounts.get(bucket) ?? new Map<string, number>();
      counts.set(entry.code, (counts.get(entry.code) ?? 0) + 1);
      this.#deadCounts.set(bucket, counts);
    }
  }

  #emptyState(now: number): DashboardState {
    return {
      summary: {
        group: this.options.group,
        at: new Date(now).toISOString(),
        groupState: null,
        groupType: null,
        arrival: null,
        done: null,
        lag: null,
        behind: null,
        behindAtLeast: false,
        workers: { active: 0, busy: 0, max: 0 },
        replicas: { live: 0, wanted: null },
        inFlight: 0,
        guarantees: [],
        versions: { lagless: [], node: [], dashboard: pkg.version, dashboardNode: process.version },
        jobs: [],
        topics: { input: [], output: [], dlq: [] },
        problems: [],
      },
      members: [],
      partitions: [],
      scaleEvents: [],
      outputs: { entries: [], seen: 0 },
      deadLetters: { entries: [], seen: 0 },
      deadBuckets: { bucketMs: this.options.deadBucketMs, t: [], codes: {} },
    };
  }

  /**
   * Stops sampling and reading; deletes the consumer groups it made. Safe to call twice. Bounded by `timeoutMs`
   * (default 2 s): with the broker frozen or gone, closing its clients may never finish; they are left to close in the
   * background instead of holding up a process that is stopping.
   */
  close(timeoutMs = 2000): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#timer) clearInterval(this.#timer);
      const graceful = (async () => {
        await Promise.all([this.#statusTail.close(), this.#tail?.tail.close()]);
        await this.#admin.close().catch(() => {});
      })();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([graceful, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
    })();
    return this.#closing;
  }
}
