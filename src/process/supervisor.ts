// Runs replicas of `lagless run` in one consumer group on this machine and scales their number with the autoscaling policy.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from '@platformatic/kafka';
import { Autoscaler, type ScalingOptions, type ScalingSample } from '../autoscale/index.ts';
import type { ScalingDecision, ScalingMetrics } from '../autoscale/index.ts';
import { createAdmin, describeTopics, readGroupLag, type KafkaConnection } from '../kafka/index.ts';
import { warning } from '../errors/index.ts';
import type { GroupType } from '../runtime/index.ts';
import { readShareBacklog } from '../share/index.ts';
import { isReplicaReport, STANDBY_ENV, SUPERVISED_ENV, type ActivateMessage, type ReplicaReport } from './messages.ts';

export interface SupervisorOptions {
  kafka: KafkaConnection;
  group: string;
  /** consumer (lag = log end - committed offsets) or share (lag = the share group's backlog). Default consumer. */
  groupType?: GroupType;
  /** Input topic (for group-wide arrival rate and lag). */
  topic: string;
  minReplicas: number;
  maxReplicas: number;
  /** Command that starts one replica: [executable, ...args]. */
  command: string[];
  /** CPU workers per replica (for the service rate of one replica). */
  workersPerReplica: number;
  policy: Omit<ScalingOptions, 'minUnits' | 'maxUnits' | 'unitName'>;
  /** How long a stopping replica may take before it is killed. */
  stopTimeoutMs: number;
  /**
   * Replica processes kept started and warm (broker checked, worker threads up) but outside the group, up to the
   * maximum: a scale-up activates one instead of starting a process, so it only has to join. A standby is started
   * again once no replica is starting. Default 0.
   */
  standby?: number;
  tickMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface ReplicaInfo {
  id: number;
  pid: number | undefined;
  startedAt: number;
  stopping: boolean;
  /** Started and waiting outside the group (not counted as running). */
  standby: boolean;
  last: ReplicaReport | undefined;
}

export interface SupervisorEvents {
  /** A scale event (decision.changed) with its reason. */
  scale: [{ from: number; to: number; reason: string }];
  decision: [ScalingDecision, ScalingMetrics];
  'replica-start': [{ id: number; pid: number | undefined; standby: boolean }];
  /** A standby replica was asked to join the group. */
  'replica-activate': [{ id: number; pid: number | undefined }];
  'replica-exit': [{ id: number; pid: number | undefined; code: number | null; signal: NodeJS.Signals | null; expected: boolean }];
  /** A line of a replica's stderr. */
  output: [{ id: number; line: string }];
  warning: [Error];
}

interface Replica extends ReplicaInfo {
  child: ChildProcess;
  exited: Promise<void>;
  /** Counters of this replica already folded into the supervisor's totals. */
  base: { completed: number; busyMs: number; tasks: number };
}

/**
 * Starts `minReplicas` replicas, then every tick measures the group (arrival from log-end offsets, lag from committed
 * offsets, service rate from the replicas' reports) and adds or stops replicas by the policy. A replica that exits
 * without being asked is replaced. Each start and stop is a real rebalance of the consumer group.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly options: SupervisorOptions;
  #replicas = new Map<number, Replica>();
  #nextId = 1;
  #admin: Admin;
  #autoscaler: Autoscaler;
  #stopping = false;
  // Totals of replicas that have exited, so that group-wide counters stay monotonic.
  #retired = { completed: 0, busyMs: 0, tasks: 0 };
  #desired: number;
  #partitions = 0;
  #standbyTimer: NodeJS.Timeout | undefined;
  restarts = 0;

  constructor(options: SupervisorOptions) {
    super();
    this.options = options;
    this.#desired = options.minReplicas;
    this.#admin = createAdmin({ ...options.kafka, clientId: `lagless-supervisor-${process.pid}` });
    this.#autoscaler = new Autoscaler(
      {
        policy: { ...options.policy, minUnits: options.minReplicas, maxUnits: options.maxReplicas, unitName: 'replicas' },
        sample: () => this.#sample(),
        apply: (d) => this.#scaleTo(d.desired),
        onDecision: (d, m) => {
          if (d.changed) this.emit('scale', { from: m.current, to: d.desired, reason: d.reason });
          this.emit('decision', d, m);
        },
        onError: (e) => this.emit('warning', warning('AUTOSCALER_FAILED', `autoscaler: ${e.message}`, e)),
      },
      options.minReplicas,
    );
  }

  get desired(): number {
    return this.#desired;
  }

  get lastDecision() {
    return this.#autoscaler.last;
  }

  replicas(): ReplicaInfo[] {
    return [...this.#replicas.values()].map(({ id, pid, startedAt, stopping, standby, last }) => ({ id, pid, startedAt, stopping, standby, last }));
  }

  async start(): Promise<void> {
    this.#partitions = (await describeTopics(this.#admin, [this.options.topic])).get(this.options.topic) ?? 0;
    for (let i = 0; i < this.options.minReplicas; i++) this.#spawn();
    this.#autoscaler.start(this.options.tickMs ?? 1000);
    this.#standbyTimer = setInterval(() => this.#refillStandby(), this.options.tickMs ?? 1000);
    this.#standbyTimer.unref();
  }

  #spawn(standby = false): Replica {
    const id = this.#nextId++;
    const [cmd, ...args] = this.options.command;
    const child = spawn(cmd!, args, {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // Own process group: Ctrl-C in the terminal reaches only the supervisor, which stops replicas one signal each.
      detached: true,
      env: { ...(this.options.env ?? process.env), [SUPERVISED_ENV]: String(id), [STANDBY_ENV]: standby ? '1' : '0' },
    });
    const r: Replica = {
      id,
      pid: child.pid,
      startedAt: Date.now(),
      stopping: false,
      standby,
      last: undefined,
      child,
      exited: new Promise<void>((resolve) => child.once('exit', () => resolve())),
      base: { completed: 0, busyMs: 0, tasks: 0 },
    };
    let buf = '';
    child.stderr?.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.emit('output', { id, line: buf.slice(0, i) });
        buf = buf.slice(i + 1);
      }
    });
    child.on('message', (m) => {
      if (isReplicaReport(m)) r.last = m;
    });
    child.once('exit', (code, signal) => {
      const expected = r.stopping || this.#stopping;
      this.#retire(r);
      this.#replicas.delete(id);
      this.emit('replica-exit', { id, pid: r.pid, code, signal, expected });
      if (!expected && !r.standby) {
        // Replace a replica that died (kill -9, crash): its partitions are redone from their commits by the group.
        this.restarts += 1;
        void sleep(Math.min(5000, 250 * this.restarts)).then(() => {
          if (!this.#stopping && this.#running() < this.#desired) this.#start();
        });
      }
      // A standby that died is started again by #refillStandby once nothing is starting.
    });
    this.#replicas.set(id, r);
    this.emit('replica-start', { id, pid: child.pid, standby });
    return r;
  }

  #retire(r: Replica): void {
    const last = r.last;
    if (!last) return;
    this.#retired.completed += last.succeeded + last.deadLettered;
    this.#retired.busyMs += last.cpuBusyMs / Math.max(1, this.options.workersPerReplica);
    this.#retired.tasks += last.cpuTasks;
  }

  #running(): number {
    return [...this.#replicas.values()].filter((r) => !r.stopping && !r.standby).length;
  }

  /** One more replica in the group: a standby if one is waiting (it only has to join), else a new process. */
  #start(): void {
    const standby = [...this.#replicas.values()].find((r) => r.standby && !r.stopping);
    if (!standby) {
      this.#spawn();
      return;
    }
    standby.standby = false;
    standby.startedAt = Date.now();
    const message: ActivateMessage = { type: 'lagless:activate' };
    standby.child.send(message, (err) => {
      if (err) this.emit('warning', warning('STANDBY_ACTIVATION_FAILED', `activating standby replica ${standby.id} failed: ${err.message}`, err));
    });
    this.emit('replica-activate', { id: standby.id, pid: standby.pid });
  }

  /**
   * Keeps `standby` processes waiting, within the maximum, but starts one only while no replica is starting: a new
   * process takes the cores for a second or two, which a replica joining during a scale-up needs more.
   */
  #refillStandby(): void {
    const want = this.options.standby ?? 0;
    if (this.#stopping || want <= 0) return;
    const all = [...this.#replicas.values()].filter((r) => !r.stopping);
    const waiting = all.filter((r) => r.standby).length;
    const starting = all.some((r) => !r.standby && !r.last?.ready);
    const room = this.options.maxReplicas - this.#running();
    if (!starting && waiting < Math.min(want, room)) this.#spawn(true);
  }

  async #scaleTo(n: number): Promise<void> {
    this.#desired = n;
    if (this.#stopping) return;
    while (this.#running() < n) this.#start();
    const running = [...this.#replicas.values()].filter((r) => !r.stopping && !r.standby).sort((a, b) => b.id - a.id);
    for (const r of running.slice(0, Math.max(0, running.length - n))) void this.#stopReplica(r);
    // More standbys than the room left below the maximum are not needed.
    const room = Math.max(0, this.options.maxReplicas - this.#running());
    const waiting = [...this.#replicas.values()].filter((r) => r.standby && !r.stopping);
    for (const r of waiting.slice(room)) void this.#stopReplica(r);
  }

  async #stopReplica(r: Replica): Promise<void> {
    r.stopping = true;
    r.child.kill('SIGTERM');
    const killed = await Promise.race([r.exited.then(() => false), sleep(this.options.stopTimeoutMs, true)]);
    if (killed) r.child.kill('SIGKILL');
    await r.exited;
  }

  async #sample(): Promise<ScalingSample> {
    const topic = this.options.topic;
    const measured = this.options.groupType === 'share' ? await readShareBacklog(this.#admin, this.options.group, topic) : (await readGroupLag(this.#admin, this.options.group, new Map([[topic, this.#partitions]]))).get(topic);
    const logEnd = Number(measured?.logEnd ?? 0n);
    const lag = Number(measured?.lag ?? 0n);
    let completed = this.#retired.completed;
    let busyMs = this.#retired.busyMs;
    let tasks = this.#retired.tasks;
    let inFlight = 0;
    let ready = 0;
    for (const r of this.#replicas.values()) {
      const s = r.last;
      if (!s) continue;
      completed += s.succeeded + s.deadLettered;
      busyMs += s.cpuBusyMs / Math.max(1, this.options.workersPerReplica);
      tasks += s.cpuTasks;
      inFlight += s.windowSize - s.unfinished;
      if (s.ready && !r.stopping) ready += 1;
    }
    return { at: performance.now(), logEnd, scope: topic, lag, completed, busyMs, tasks, inFlight, units: Math.max(ready, 0) };
  }

  /** Group-wide numbers for status and metrics. */
  get partitions(): number {
    return this.#partitions;
  }

  /** Stops every replica gracefully (each drains, commits and leaves the group), then the supervisor's clients. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#autoscaler.stop();
    if (this.#standbyTimer) clearInterval(this.#standbyTimer);
    await Promise.all([...this.#replicas.values()].map((r) => this.#stopReplica(r)));
    await this.#admin.close().catch(() => {});
  }
}
