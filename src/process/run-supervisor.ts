// `lagless run ... --replicas MIN..MAX`: supervise replica processes, publish the supervisor's status, serve its metrics, stop them all on Ctrl-C.
import { hostname } from 'node:os';
import { defaultScalingOptions } from '../autoscale/index.ts';
import { modulePath } from '../common/index.ts';
import type { Guarantee, SupervisorStatus } from '../control/index.ts';
import type { JobPreviews } from '../dashboard/index.ts';
import type { KafkaConnection } from '../kafka/index.ts';
import type { GroupType } from '../runtime/index.ts';
import { RateMeter, type Logger } from '../observe/index.ts';
import { ProcessShell } from './shell.ts';
import { Supervisor, type ReplicaInfo } from './supervisor.ts';

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
  /** A share group's replicas all take records of every partition: their number is not capped by the partitions. */
  groupType?: GroupType;
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
  /** How the dashboard shows the job's outputs (see JobDefinition.preview), by job name. */
  previews?: JobPreviews;
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
  if (max > o.partitions && o.groupType !== 'share') {
    o.logger.notice(`note: --replicas max ${max} is more than the ${o.partitions} partitions of ${o.topic}; replicas beyond ${o.partitions} would get no partition, so the max is ${o.partitions}`);
    max = o.partitions;
  }
  const min = Math.min(o.replicas.min, max);
  let args = withoutOption(withoutOption(withoutOption(o.argv, '--replicas'), '--http-port'), '--standby');
  if (o.fixWorkers && !args.includes('--workers') && !args.some((a) => a.startsWith('--workers='))) args = [...args, '--workers', String(o.workersPerReplica)];
  const supervisor = new Supervisor({
    kafka: o.kafka,
    group: o.group,
    groupType: o.groupType ?? 'consumer',
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
  supervisor.on('warning', (e) => o.logger.warning(e));

  // The supervisor runs no job: its status and metrics are the group's lag and arrival (measured by its autoscaler)
  // and sums over its replicas' reports, never zeros standing in for fields it does not have.
  const inGroup = () => supervisor.replicas().filter((r) => !r.standby);
  const load = () => inGroup().reduce((a, r) => ({ inFlight: a.inFlight + (r.last?.inFlight ?? 0), windowSize: a.windowSize + (r.last?.windowSize ?? 0) }), { inFlight: 0, windowSize: 0 });
  // Rates from each replica's counters (a replaced replica's are new keys: it counts once its rate is known).
  const meter = new RateMeter({ windowMs: 5000 });
  const counters = (reps: ReplicaInfo[]) => Object.fromEntries(reps.flatMap((r) => (r.last ? [[`${r.id} in`, r.last.received], [`${r.id} out`, r.last.succeeded], [`${r.id} dead`, r.last.deadLettered]] : [])));
  supervisor.on('decision', () => meter.add(performance.now(), counters(supervisor.replicas())));
  const replicaRate = (reps: ReplicaInfo[], key: string) => reps.reduce((a, r) => a + (meter.rate(`${r.id} ${key}`) ?? 0), 0);
  const member = `lagless-supervisor-${hostname()}-${process.pid}`;
  const shell: ProcessShell = new ProcessShell({
    kafka: o.kafka,
    group: o.group,
    member,
    statusTopic: o.statusTopic,
    statusIntervalMs: o.statusIntervalMs,
    http: o.http,
    dashboard: o.dashboard,
    ...(o.previews ? { previews: o.previews } : {}),
    metrics: { role: 'supervisor', group: o.group, topic: o.topic, lag: () => supervisor.lastDecision?.metrics.lag, desiredReplicas: () => supervisor.desired, load },
    status: (): SupervisorStatus => {
      const reps = supervisor.replicas();
      const running = inGroup();
      const last = supervisor.lastDecision;
      const { inFlight, windowSize } = load();
      return {
        ...shell.envelope(),
        role: 'supervisor',
        job: 'supervisor',
        input: o.topic,
        inFlight,
        window: windowSize,
        rates: { in: replicaRate(running, 'in'), out: replicaRate(running, 'out'), dead: replicaRate(running, 'dead'), arrival: last?.metrics.arrivalRate ?? 0 },
        lag: last?.metrics.lag ?? 0,
        wish: { replicas: supervisor.desired, reason: last?.decision.reason ?? `start ${min} replica(s)` },
        replicas: { running: running.filter((r) => !r.stopping).length, min, max, pids: running.map((r) => r.pid ?? 0), standby: reps.filter((r) => r.standby).map((r) => r.pid ?? 0) },
        output: o.output,
        dlq: o.dlq,
        guarantee: o.guarantee ?? 'at-least-once',
      };
    },
    ready: () => supervisor.replicas().some((r) => r.last?.ready),
    onWarning: (e) => o.logger.warning(e),
    onInfo: (m) => o.logger.notice(m),
  });
  supervisor.on('scale', (e) => {
    shell.scaleEvent({ unit: 'replicas', from: e.from, to: e.to, reason: e.reason });
    o.logger.notice(`${e.reason}`, { event: 'scale', unit: 'replicas', from: e.from, to: e.to });
  });
  await shell.open();

  o.logger.notice(`supervising ${min}..${max} replicas of group ${o.group} on ${o.topic} (${o.partitions} partitions), ${o.workersPerReplica} worker(s) each${o.standby ? `, ${o.standby} standby` : ''}`);
  await supervisor.start();
  shell.publish();
  await new Promise<void>((resolve) => {
    if (o.signal.aborted) resolve();
    else o.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  o.logger.notice(`stopping ${supervisor.replicas().length} replica(s): each drains, commits and leaves the group`);
  await supervisor.stop();
  await shell.close();
  o.logger.notice(`stopped; ${supervisor.restarts} replica(s) were replaced after an unexpected exit`);
}
