// The status every Lagless process publishes to the compacted status topic, and how to tell live members from stale ones.
import { Guarantees, type Guarantee } from '../common/index.ts';

/** Default compacted topic holding the latest status of every process, keyed by "<group>/<member>". */
export const DEFAULT_STATUS_TOPIC = 'lagless.status';

/** The version of the status record this Lagless publishes; {@link parseStatus} also reads version 1. */
export const STATUS_RECORD_VERSION = 2;

/** The status of a process, by its role: a replica processes records; a supervisor starts and stops replicas. */
export type MemberStatus = ReplicaStatus | SupervisorStatus;
export const StatusRoles = ['replica', 'supervisor'] as const;
export type StatusRole = MemberStatus['role'];

/** What every process publishes, whatever its role. */
interface StatusCommon {
  /** 2 since `downloads` became `io`; version-1 records are read into this shape by {@link parseStatus}. */
  v: typeof STATUS_RECORD_VERSION;
  group: string;
  /** The Kafka client id of the process (unique per process). */
  member: string;
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
  /** Records started and not finished, and fetched and not committed (a supervisor's: summed over its replicas). */
  inFlight: number;
  window: number;
  /** Records per second over the last few seconds (a supervisor's: summed over its replicas). */
  rates: { in: number; out: number; dead: number; arrival: number };
  /** Lag of this member's partitions (a supervisor's: of the group). */
  lag: number;
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

/** A process that runs the job: its workers, I/O, totals and partitions. */
export interface ReplicaStatus extends StatusCommon {
  role: 'replica';
  workers: { active: number; max: number; busy: number };
  /**
   * The job's I/O concurrency: records in run() before their first worker call (downloads, API calls), and the limit the
   * autoscaler set. Named `downloads` in version-1 records.
   */
  io: { active: number; max: number };
  /** Counts since start; `timeouts` (attempts past the per-record deadline) and `workerCrashes` are absent in older records. */
  totals: { ok: number; dead: number; retries: number; timeouts?: number; workerCrashes?: number };
  assigned: number[];
  /** The autoscaler's current wish for the workers of this process. */
  wish?: { workers?: number; reason: string };
  /**
   * A share-group member (`--group-type share`), since it started: records acquired, of them delivered before (another
   * member crashed, stopped or let the lock expire), released, dead-lettered as DELIVERY_LIMIT; held: acquired now and
   * not yet acknowledged. Absent for a consumer-group member.
   */
  share?: { acquired: number; held: number; redelivered: number; released: number; deliveryLimit: number };
}

/**
 * A supervisor of replica processes. It runs no job itself: no workers, I/O, totals or partitions of its own (records
 * of older versions carry them as zeros; readers ignore them).
 */
export interface SupervisorStatus extends StatusCommon {
  role: 'supervisor';
  /** `pids` are the group's replica processes; `standby` (absent in older records) the warm ones outside it. */
  replicas: { running: number; min: number; max: number; pids: number[]; standby?: number[] };
  /** The autoscaler's current wish for the replicas of the group. */
  wish?: { replicas?: number; reason: string };
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

export function isReplica<S extends MemberStatus>(s: S): s is Extract<S, { role: 'replica' }> {
  return s.role === 'replica';
}

export function isSupervisor<S extends MemberStatus>(s: S): s is Extract<S, { role: 'supervisor' }> {
  return s.role === 'supervisor';
}

/**
 * A status record's value (JSON), or undefined when it is none (a tombstone, not JSON, another version, no group or
 * member, a role this version does not know). A version-1 record (published by Lagless before the I/O concurrency was
 * named `io`) is read into the current shape: its `downloads` becomes `io`. Every version has published `role`; a
 * record without one is read by its shape (a supervisor's carries `replicas`).
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
  const role = o.role ?? (o.replicas ? 'supervisor' : 'replica');
  if (!StatusRoles.includes(role as StatusRole)) return undefined;
  if (o.v === STATUS_RECORD_VERSION) return { ...o, role } as unknown as MemberStatus;
  if (o.v === 1) {
    const { downloads, ...rest } = o;
    // A supervisor of version 1 published zeros for a replica's fields: they are not carried over.
    return (role === 'replica' ? { ...rest, role, v: STATUS_RECORD_VERSION, io: ioOf(downloads) } : { ...rest, role, v: STATUS_RECORD_VERSION }) as unknown as MemberStatus;
  }
  return undefined;
}

const ioOf = (d: unknown): ReplicaStatus['io'] => {
  const o = d && typeof d === 'object' ? (d as Record<string, unknown>) : {};
  const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
  return { active: n(o.active), max: n(o.max) };
};
