// `lagless run ... --replicas MIN..MAX`: supervise replica processes, publish the supervisor's status, serve its metrics, stop them all on Ctrl-C.
import { hostname } from 'node:os';
import { defaultScalingOptions } from '../autoscale/index.ts';
import { LAGLESS_VERSION, modulePath } from '../common/index.ts';
import { StatusPublisher, STATUS_RECORD_VERSION, ensureStatusTopic, pushScaleEvent, type Guarantee, type MemberStatus, type ScaleEvent } from '../control/index.ts';
import { Collector, createDashboardHandler, isLoopbackBind } from '../dashboard/index.ts';
import { warning } from '../errors/index.ts';
import { createAdmin, type KafkaConnection } from '../kafka/index.ts';
import { createMetricsRegistry, startObserveServer, type Logger } from '../observe/index.ts';
import { Supervisor } from './supervisor.ts';

export interface RunSupervisorOptions {
  /** The CLI arguments of this process; replicas get the same minus --replicas and --http-port. */
  argv: string[];
  /** The connection; replicas resolve the same one from the same flags, files and environment (no secret is in argv). */
  kafka: KafkaConnection;
  group: string;
  topic: string;
  /** Output and dead-letter topics of the replicas (published in the status record). */
  output: string;
  dlq: string;
  guarantee?: Guarantee;
  partitions: number;
  replicas: { min: number; max: number };
  /** Replica processes kept started and warm outside the group (the supervisor's `standby`). Default 0. */
  standby?: number;
  workersPerReplica: number;
  /** Give each replica `--workers workersPerReplica` unless the command line sets --workers (jobs with worker threads). */
  fixWorkers: boolean;
  idleTimeoutMs: number;
  catchUpMs: number;
  drainTimeoutMs: number;
  statusTopic: string;
  statusIntervalMs: number;
  /** `token` and `maxClients` are the dashboard's. */
  http?: { port: number; host: string; token?: string; maxClients?: number };
  /** Serve the group's dashboard at / of the HTTP server. Default true. */
  dashboard?: boolean;
  quiet: boolean;
  signal: AbortSignal;
  /** Where its lines go (and its replicas' lines, relayed). */
  logger: Logger;
  env: NodeJS.ProcessEnv;
}

// The CLI entry next to this module: src/cli/main.ts from the sources, dist/cli/main.js in the package.
const CLI_MAIN = modulePath('../cli/main', import.meta.url);

/** The fewest replicas one scale-up may add (the policy's minUpscalingStep). */
export const REPLICA_MIN_UPSCALING_STEP = 4;

/** Removes an option and its value from argv (both "--opt value" and "--opt=value"). */
export function withoutOption(argv: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === name) {
      i += 1;
      continue;
    }
    if (a.startsWith(`${name}=`)) continue;
    out.push(a);
  }
  return out;
}

export async function runSupervisor(o: RunSupervisorOptions): Promise<void> {
  let max = o.replicas.max;
  if (max > o.partitions) {
    o.logger.notice(`note: --replicas max ${max} is more than the ${o.partitions} partitions of ${o.topic}; replicas beyond ${o.partitions} would get no partition, so the max is ${o.partitions}`);
    max = o.partitions;
  }
  const min = Math.min(o.replicas.min, max);
  let args = withoutOption(withoutOption(withoutOption(o.argv, '--replicas'), '--http-port'), '--standby');
  if (o.fixWorkers && !args.includes('--workers') && !args.some((a) => a.startsWith('--workers='))) args = [...args, '--workers', String(o.workersPerReplica)];
  const supervisor = new Supervisor({
    kafka: o.kafka,
    group: o.group,
    topic: o.topic,
    minReplicas: min,
    maxReplicas: max,
    // Replicas run with this process's Node flags (e.g. the binary's memory settings) and environment.
    command: [process.execPath, ...process.execArgv, CLI_MAIN, ...args],
    workersPerReplica: o.workersPerReplica,
    // A replica takes seconds to start and join: a step may ask for several at once (like HPA's 4 pods per period),
    // and the next decision does not wait for the previous replica to be ready.
    policy: { ...defaultScalingOptions, idleTimeoutMs: o.idleTimeoutMs, catchUpMs: o.catchUpMs, minUpscalingStep: REPLICA_MIN_UPSCALING_STEP },
    stopTimeoutMs: o.drainTimeoutMs + 15_000,
    standby: o.standby ?? 0,
    env: o.env,
  });
  supervisor.on('output', ({ id, line }) => o.logger.relay(line, { replica: id }, `replica ${id}`));
  supervisor.on('replica-start', ({ id, pid, standby }) => o.logger.notice(`replica ${id} started (pid ${pid})${standby ? ' as a standby: warm, outside the group' : ''}`));
  supervisor.on('replica-activate', ({ id, pid }) => o.logger.notice(`replica ${id} (pid ${pid}) activated: joins the group`));
  supervisor.on('replica-exit', ({ id, pid, code, signal, expected }) =>
    o.logger.notice(`replica ${id} (pid ${pid}) exited${signal ? ` on ${signal}` : ` with code ${code}`}${expected ? '' : ': unexpected, starting a replacement'}`),
  );
  const scaleEvents: ScaleEvent[] = [];
  supervisor.on('scale', (e) => {
    pushScaleEvent(scaleEvents, { at: new Date().toISOString(), unit: 'replicas', from: e.from, to: e.to, reason: e.reason });
    o.logger.notice(`${e.reason}`, { event: 'scale', unit: 'replicas', from: e.from, to: e.to });
  });
  supervisor.on('warning', (e) => o.logger.warning(e));

  const startedAt = new Date().toISOString();
  const member = `lagless-supervisor-${hostname()}-${process.pid}`;
  const status = (): MemberStatus => {
    const reps = supervisor.replicas();
    const last = supervisor.lastDecision;
    return {
      v: STATUS_RECORD_VERSION,
      group: o.group,
      member,
      role: 'supervisor',
      host: hostname(),
      pid: process.pid,
      version: LAGLESS_VERSION,
      job: 'supervisor',
      input: o.topic,
      startedAt,
      at: new Date().toISOString(),
      intervalMs: o.statusIntervalMs,
      workers: { active: 0, max: 0, busy: 0 },
      io: { active: 0, max: 0 },
      inFlight: reps.reduce((a, r) => a + (r.last?.inFlight ?? 0), 0),
      window: reps.reduce((a, r) => a + (r.last?.windowSize ?? 0), 0),
      rates: { in: 0, out: last?.metrics.completionRate ?? 0, dead: 0, arrival: last?.metrics.arrivalRate ?? 0 },
      totals: { ok: 0, dead: 0, retries: 0 },
      assigned: [],
      lag: last?.metrics.lag ?? 0,
      wish: { replicas: supervisor.desired, reason: last?.decision.reason ?? `start ${min} replica(s)` },
      replicas: { running: reps.filter((r) => !r.stopping && !r.standby).length, min, max, pids: reps.filter((r) => !r.standby).map((r) => r.pid ?? 0), standby: reps.filter((r) => r.standby).map((r) => r.pid ?? 0) },
      output: o.output,
      dlq: o.dlq,
      guarantee: o.guarantee ?? 'at-least-once',
      runtime: { node: process.version },
      scaleEvents: [...scaleEvents],
    };
  };

  let server: Awaited<ReturnType<typeof startObserveServer>> | undefined;
  let dashboard: Collector | undefined;
  if (o.http) {
    const registry = createMetricsRegistry({
      group: o.group,
      topic: o.topic,
      stats: () => ({ received: 0, succeeded: 0, deadLettered: 0, retries: 0, inFlight: status().inFlight, windowSize: status().window }),
      lag: () => supervisor.lastDecision?.metrics.lag,
      desiredWorkers: () => undefined,
      desiredReplicas: () => supervisor.desired,
    });
    let extra;
    if (o.dashboard ?? true) {
      dashboard = new Collector({ kafka: o.kafka, group: o.group, statusTopic: o.statusTopic, lazyRecords: true });
      extra = createDashboardHandler({ collector: dashboard, loopbackHostsOnly: isLoopbackBind(o.http.host), token: o.http.token, maxClients: o.http.maxClients });
    }
    server = await startObserveServer({ port: o.http.port, host: o.http.host, registry, ready: () => supervisor.replicas().some((r) => r.last?.ready), ...(extra ? { extra } : {}) });
    dashboard?.start();
    o.logger.notice(`serving /healthz, /readyz and /metrics on ${server.url}`);
    if (extra) o.logger.notice(`the dashboard of group ${o.group} is at ${server.url}/`);
  }
  let publisher: StatusPublisher | undefined;
  if (o.statusIntervalMs > 0) {
    const admin = createAdmin(o.kafka);
    await ensureStatusTopic(admin, o.statusTopic, o.kafka).finally(() => admin.close().catch(() => {}));
    publisher = new StatusPublisher({ kafka: o.kafka, topic: o.statusTopic, clientId: member, intervalMs: o.statusIntervalMs, snapshot: status, onError: (e) => o.logger.warning(warning('STATUS_PUBLISH_FAILED', `publishing status failed: ${e.message}`, e)) });
  }

  o.logger.notice(`supervising ${min}..${max} replicas of group ${o.group} on ${o.topic} (${o.partitions} partitions), ${o.workersPerReplica} worker(s) each${o.standby ? `, ${o.standby} standby` : ''}`);
  await supervisor.start();
  publisher?.start();
  await new Promise<void>((resolve) => {
    if (o.signal.aborted) resolve();
    else o.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  o.logger.notice(`stopping ${supervisor.replicas().length} replica(s): each drains, commits and leaves the group`);
  await supervisor.stop();
  await publisher?.close();
  await server?.close();
  await dashboard?.close();
  o.logger.notice(`stopped; ${supervisor.restarts} replica(s) were replaced after an unexpected exit`);
}
