// The status every Lagless process publishes to the compacted status topic, and how to tell live members from stale ones.
import { Guarantees, type Guarantee } from '../common/index.ts';

/** Default compacted topic holding the latest status of every process, keyed by "<group>/<member>". */
export const DEFAULT_STATUS_TOPIC = 'lagless.status';

/** The version of the status record this Lagless publishes; {@link parseStatus} also reads version 1. */
export const STATUS_RECORD_VERSION = 2;

export interface MemberStatus {
  /** 2 since `downloads` became `io`; version-1 records are read into this shape by {@link parseStatus}. */
  v: typeof STATUS_RECORD_VERSION;
  group: string;
  /** The Kafka client id of the process (unique per process). */
  member: string;
  /** A replica processes records; a supervisor starts and stops replicas. */
  role: 'replica' | 'supervisor';
  host: string;
  pid: number;
  version: string;
  job: string;
  input: string;
  startedAt: string;
  /** When this status was published. */
  at: string;
  /** How often it is published, ms: a status older than 3 intervals is stale. */
  intervalMs: number;
  workers: { active: number; max: number; busy: number };
  /**
   * The job's I/O concurrency: records in run() before their first worker call (downloads, API calls), and the limit the
   * autoscaler set. Named `downloads` in version-1 records.
   */
  io: { active: number; max: number };
  inFlight: number;
  window: number;
  /** Records per second over the last interval. */
  rates: { in: number; out: number; dead: number; arrival: number };
  /** Counts since start; `timeouts` (attempts past the per-record deadline) and `workerCrashes` are absent in older records. */
  totals: { ok: number; dead: number; retries: number; timeouts?: number; workerCrashes?: number };
  assigned: number[];
  lag: number;
  /** The autoscaler's current wish for this process (workers) and, for a supervisor, for the group (replicas). */
  wish?: { workers?: number; replicas?: number; reason: string };
  /** A supervisor's replicas: `pids` are the group's replica processes; `standby` (absent in older records) the warm ones outside it. */
  replicas?: { running: number; min: number; max: number; pids: number[]; standby?: number[] };
  // Fields added later, all optional: readers must accept records without them (older processes publish none).
  /** Output topic of the job (absent for a supervisor's own record before replicas report, and in older records). */
  output?: string;
  /** Dead-letter topic. */
  dlq?: string;
  /** The delivery guarantee in force; absent means at-least-once. */
  guarantee?: Guarantee;
  /** Versions of the runtime under Lagless. */
  runtime?: { node: string };
  /** The latest scale events of this process, oldest first (at most MAX_SCALE_EVENTS). */
  scaleEvents?: ScaleEvent[];
}

export { Guarantees as GUARANTEES, type Guarantee };

/** One change in the number of worker threads (of a replica) or replicas (of a supervisor), with the policy's reason. */
export interface ScaleEvent {
  /** ISO-8601 time of the decision. */
  at: string;
  unit: 'workers' | 'replicas';
  from: number;
  to: number;
  reason: string;
}

/** How many scale events a status record carries: enough for a reader polling every few seconds to miss none. */
export const MAX_SCALE_EVENTS = 20;

/** Appends an event to a bounded list of recent scale events (in place), dropping the oldest. */
export function pushScaleEvent(events: ScaleEvent[], event: ScaleEvent): void {
  events.push(event);
  if (events.length > MAX_SCALE_EVENTS) events.splice(0, events.length - MAX_SCALE_EVENTS);
}

export function statusKey(group: string, member: string): string {
  return `${group}/${member}`;
}

/** A status is live when it was published within three of its intervals. */
export function isLive(s: MemberStatus, now = Date.now()): boolean {
  return now - Date.parse(s.at) <= 3 * s.intervalMs + 1000;
}

/**
 * A status record's value (JSON), or undefined when it is none (a tombstone, not JSON, another version, no group or
 * member). A version-1 record (published by Lagless before the I/O concurrency was named `io`) is read into the current
 * shape: its `downloads` becomes `io`.
 */
export function parseStatus(value: string | undefined | null): MemberStatus | undefined {
  if (!value) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    return undefined;
  }
  return decodeStatus(v);
}

/** The status in a parsed record value, read as {@link parseStatus} says. */
export function decodeStatus(v: unknown): MemberStatus | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.group !== 'string' || typeof o.member !== 'string') return undefined;
  if (o.v === STATUS_RECORD_VERSION) return o as unknown as MemberStatus;
  if (o.v === 1) {
    const { downloads, ...rest } = o;
    return { ...rest, v: STATUS_RECORD_VERSION, io: ioOf(downloads) } as unknown as MemberStatus;
  }
  return undefined;
}

const ioOf = (d: unknown): MemberStatus['io'] => {
  const o = d && typeof d === 'object' ? (d as Record<string, unknown>) : {};
  const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
  return { active: n(o.active), max: n(o.max) };
};
