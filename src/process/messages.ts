// Typed messages between a replica and its supervisor over the IPC channel.

/** Sent by a supervised replica every second. Counters are cumulative since the replica started. */
export interface ReplicaReport {
  type: 'lagless:replica-stats';
  pid: number;
  ready: boolean;
  received: number;
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

/**
 * Environment variable that makes a supervised `lagless run` a standby: it starts, checks the broker and its topics,
 * starts its worker threads, then waits outside the group until the supervisor sends an ActivateMessage.
 */
export const STANDBY_ENV = 'LAGLESS_STANDBY';

/** Sent by the supervisor to a standby replica: join the group now. */
export interface ActivateMessage {
  type: 'lagless:activate';
}

export function isActivateMessage(m: unknown): m is ActivateMessage {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'lagless:activate';
}

/**
 * In a standby replica: resolves 'activated' when the supervisor says so, 'aborted' on the signal, and 'orphaned'
 * when the IPC channel closes (the supervisor is gone: a standby never joins on its own). Without an IPC channel it
 * resolves 'activated' at once.
 */
export function waitForActivation(signal: AbortSignal): Promise<'activated' | 'aborted' | 'orphaned'> {
  if (typeof process.send !== 'function') return Promise.resolve('activated');
  if (signal.aborted) return Promise.resolve('aborted');
  return new Promise((resolve) => {
    const done = (how: 'activated' | 'aborted' | 'orphaned') => {
      process.off('message', onMessage);
      process.off('disconnect', onDisconnect);
      signal.removeEventListener('abort', onAbort);
      resolve(how);
    };
    const onMessage = (m: unknown) => {
      if (isActivateMessage(m)) done('activated');
    };
    const onDisconnect = () => done('orphaned');
    const onAbort = () => done('aborted');
    process.on('message', onMessage);
    process.once('disconnect', onDisconnect);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
