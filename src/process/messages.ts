// Typed messages from a replica to its supervisor over the IPC channel.

/** Sent by a supervised replica every second. Counters are cumulative since the replica started. */
export interface ReplicaReport {
  type: 'lagless:replica-stats';
  pid: number;
  ready: boolean;
  succeeded: number;
  deadLettered: number;
  windowSize: number;
  inFlight: number;
  unfinished: number;
  assigned: number[];
  /** CPU workers active in the replica, and their cumulative busy time and tasks. */
  workers: number;
  cpuBusyMs: number;
  cpuTasks: number;
}

export function isReplicaReport(m: unknown): m is ReplicaReport {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'lagless:replica-stats';
}

/** Environment variable that tells `lagless run` it is a replica of a supervisor (and must report over IPC). */
export const SUPERVISED_ENV = 'LAGLESS_SUPERVISED';
