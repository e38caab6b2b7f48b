// The status every Lagless process publishes to the compacted status topic, and how to tell live members from stale ones.
import { Guarantees, type Guarantee } from '../common/index.ts';

/** Default compacted topic holding the latest status of every process, keyed by "<group>/<member>". */
export const DEFAULT_STATUS_TOPIC = 'lagless.status';

export interface MemberStatus {
  v: 1;
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
  downloads: { active: number; max: number };
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

export function parseStatus(value: string | undefined | null): MemberStatus | undefined {
  if (!value) return undefined;
  try {
    const v = JSON.parse(value) as MemberStatus;
    return v && v.v === 1 && typeof v.group === 'string' && typeof v.member === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
