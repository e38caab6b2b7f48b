// One `lagless run` process: the transformer, its in-process autoscaler, lag sampling, status publishing, probes and metrics.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Autoscaler, defaultScalingOptions, suggestIoConcurrency, type ScalingDecision, type ScalingOptions, type ScalingSample } from '../autoscale/index.ts';
import { describeThrown, warning } from '../errors/index.ts';
import type { ReplicaStatus } from '../control/index.ts';
import { jobPreviews } from '../dashboard/index.ts';
import type { JobDefinition } from '../job/index.ts';
import { createAdmin, describeShareGroup } from '../kafka/index.ts';
import { RateMeter } from '../observe/index.ts';
import { Transformer, type CloseSummary, type LagSample, type TransformerInit, type TransformerStats } from '../runtime/index.ts';
import { ShareTransformer } from '../share/index.ts';
import { SUPERVISED_ENV, type ReplicaReport } from './messages.ts';
import { ProcessShell } from './shell.ts';

export interface ReplicaOptions {
  transformer: TransformerInit;
  job: JobDefinition;
  /**
   * Autoscaling of the worker threads of a job with a worker module: bounds and policy knobs; undefined = a fixed
   * number of workers. The concurrency limit follows the rate the workers are sized for.
   */
  autoscale?: Omit<ScalingOptions, 'unitName'>;
  /** Backlog drain target of the concurrency limit of a job without a worker module. Default 10 s. */
  catchUpMs?: number;
  statusTopic: string;
  /** How often the status is published. 0 disables publishing. */
  statusIntervalMs: number;
  /** `token` and `maxClients` are the dashboard's. */
  http?: { port: number; host: string; token?: string; maxClients?: number };
  env?: NodeJS.ProcessEnv;
  /** Serve the group's dashboard at / of the HTTP server (when `http` is set). Default true. */
  dashboard?: boolean;
}

export interface ReplicaEvents {
  /** A scaling decision that changed the number of workers, with its reason. */
  /** `io`: the job's I/O concurrency limit after the step (`downloads`: the same, its old name, deprecated). */
  scale: [{ from: number; to: number; reason: string; io: number; downloads: number }];
  warning: [Error];
  info: [string];
}

/** Little's law bounds of the concurrency limit (the autoscaler moves it between these). */
const MIN_CONCURRENCY = 4;

/** Mean time a record spends in run() before their first worker call, ms (100 before any record finished). */
function ioLatencyMs(s: TransformerStats): number {
  return s.concurrency.runs ? s.concurrency.busyMs / s.concurrency.runs : 100;
}

export class Replica extends EventEmitter<ReplicaEvents> {
  /** The group member: a consumer-group Transformer, or a ShareTransformer (`groupType: 'share'`). */
  readonly transformer: Transformer | ShareTransformer;
  readonly job: JobDefinition;
  readonly #o: ReplicaOptions;
  #autoscaler: Autoscaler | undefined;
  #concurrencyTick: (() => void) | undefined;
  readonly #shell: ProcessShell;
  #sampler: NodeJS.Timeout | undefined;
  #reporter: NodeJS.Timeout | undefined;
  #lag: LagSample | undefined;
  #ready = false;
  readonly #meter = new RateMeter({ windowMs: 5000 });
  #rates = { in: 0, out: 0, dead: 0, arrival: 0 };
  #stopped: Promise<CloseSummary> | undefined;
  #members = 1;
  #membersTimer: NodeJS.Timeout | undefined;
  #membersAdmin: ReturnType<typeof createAdmin> | undefined;

  constructor(o: ReplicaOptions) {
    super();
    this.#o = o;
    this.job = o.job;
    this.transformer = o.transformer.groupType === 'share' ? new ShareTransformer(o.job, o.transformer) : new Transformer(o.job, o.transformer);
    this.transformer.on('warning', (e) => this.emit('warning', e));
    const t = this.transformer.options;
    this.#shell = new ProcessShell({
      kafka: t.kafka,
      group: t.group,
      member: t.clientId,
      statusTopic: o.statusTopic,
      statusIntervalMs: o.statusIntervalMs,
      http: o.http,
      dashboard: o.dashboard,
      previews: jobPreviews(o.job),
      metrics: {
        role: 'replica',
        group: t.group,
        topic: t.from,
        stats: () => this.transformer.stats(),
        lag: () => (this.#lag ? Number(this.#lag.lag) : undefined),
        desiredWorkers: () => this.lastDecision?.desired,
        desiredReplicas: () => this.#desiredReplicas(),
        // A share member samples the whole group's backlog (see ShareTransformer.sampleLag).
        ...(t.groupType === 'share' ? { shareBacklog: () => (this.#lag ? Number(this.#lag.lag) : undefined) } : {}),
      },
      status: () => this.status(),
      ready: () => this.#ready,
      onWarning: (e) => this.emit('warning', e),
      onInfo: (m) => this.emit('info', m),
    });
  }

  get ready(): boolean {
    return this.#ready;
  }
  get lag(): LagSample | undefined {
    return this.#lag;
  }
  get lastDecision(): ScalingDecision | undefined {
    return this.#autoscaler?.last?.decision;
  }
  get rates() {
    return this.#rates;
  }
  get observeUrl(): string | undefined {
    return this.#shell.url;
  }

  async start(): Promise<void> {
    const o = this.#o;
    const t = this.transformer.options;
    if (o.http) {
      // The replica wish needs the group's size: read it from the broker every few seconds (metrics only).
      const admin = createAdmin({ ...t.kafka, clientId: `${t.clientId}-group` });
      const readMembers = async () => {
        try {
          this.#members =
            t.groupType === 'share'
              ? ((await describeShareGroup(admin, t.group))?.members.length ?? this.#members)
              : ((await admin.describeGroups({ groups: [t.group] })).get(t.group)?.members.size ?? this.#members);
        } catch {
          // Keep the last count; the gauge is advisory.
        }
      };
      void readMembers();
      this.#membersTimer = setInterval(() => void readMembers(), 5000);
      this.#membersTimer.unref();
      this.#membersAdmin = admin;
    }
    await this.#shell.open();
    await this.transformer.start();
    this.#ready = true;

    const executor = this.transformer.executor;
    const maxConcurrency = executor.maxConcurrency;
    const concurrencyFor = (rate: number) =>
      suggestIoConcurrency(rate, ioLatencyMs(this.transformer.stats()), { safetyFactor: 2, min: Math.min(MIN_CONCURRENCY, maxConcurrency), max: maxConcurrency });
    const sample = (): ScalingSample => {
      const s = this.transformer.stats();
      const lag = this.#lag;
      return {
        at: performance.now(),
        logEnd: lag ? Number(lag.logEnd) : 0,
        scope: s.assigned.map((a) => a.partition).join(','),
        lag: lag ? Number(lag.lag) : 0,
        completed: s.succeeded + s.deadLettered,
        busyMs: s.workers?.busyMs ?? 0,
        tasks: s.workers?.tasks ?? 0,
        // The policy subtracts this from the lag to get the work still to do: only records already finished
        // (waiting for their commit) are done; fetched-but-unfinished records still need workers.
        inFlight: s.windowSize - s.unfinished,
        units: s.workers?.workers ?? 1,
      };
    };
    if (o.autoscale && executor.hasWorkers) {
      // Worker threads by the policy; the concurrency limit (downloads, API calls) by Little's law at the rate the
      // workers are sized for.
      const policy = { ...o.autoscale, unitName: 'workers' };
      this.#autoscaler = new Autoscaler(
        {
          policy,
          sample: async () => sample(),
          apply: (d) => {
            executor.setWorkers(d.desired);
            executor.setConcurrency(concurrencyFor(d.detail.targetRate));
          },
          onDecision: (d, m) => {
            if (!d.changed) return;
            this.#shell.scaleEvent({ unit: 'workers', from: m.current, to: d.desired, reason: d.reason });
            const io = this.transformer.stats().concurrency.limit;
            this.emit('scale', { from: m.current, to: d.desired, reason: d.reason, io, downloads: io });
          },
          onError: (e) => this.emit('warning', warning('AUTOSCALER_FAILED', `autoscaler: ${e.message}`, e)),
        },
        this.transformer.stats().workers?.workers ?? o.autoscale.minUnits,
      );
      executor.setWorkers(o.autoscale.minUnits);
    } else if (!executor.hasWorkers) {
      // No worker threads to scale: the concurrency limit follows the demand (arrivals plus the backlog drained
      // within catchUp) by Little's law, so an API sees as many calls at once as the load needs.
      const catchUpMs = o.catchUpMs ?? defaultScalingOptions.catchUpMs;
      const samples: ScalingSample[] = [];
      this.#concurrencyTick = () => {
        samples.push(sample());
        while (samples.length > 8) samples.shift();
        const m = Autoscaler.metricsFrom(samples, 5000);
        if (!m || samples.length < 2) return;
        executor.setConcurrency(concurrencyFor(m.arrivalRate + Math.max(0, m.lag - m.inFlight) / (catchUpMs / 1000)));
      };
    }

    // Lag and arrival are sampled every second; the autoscaler ticks right after.
    // One sample at a time; a failure is reported once per streak (the broker may be away for a while).
    let sampling = false;
    let failing = false;
    const tick = async () => {
      if (sampling) return;
      sampling = true;
      try {
        this.#lag = await this.transformer.sampleLag();
        this.#updateRates();
        if (failing) this.emit('info', 'sampling lag works again');
        failing = false;
        await this.#autoscaler?.tick();
        this.#concurrencyTick?.();
      } catch (err) {
        if (!failing) this.emit('warning', warning('LAG_SAMPLING_FAILED', `sampling lag failed (autoscaling holds until it works again): ${describeThrown(err)}`, err));
        failing = true;
      } finally {
        sampling = false;
      }
    };
    void tick();
    this.#sampler = setInterval(() => void tick(), 1000);
    this.#sampler.unref();

    this.#shell.publish();

    // Under a supervisor: report counters over IPC every second.
    if ((o.env ?? process.env)[SUPERVISED_ENV] && typeof process.send === 'function') {
      // A job without worker threads is bounded by this process's event loop: its busy time is the service time.
      const elu = performance.eventLoopUtilization();
      this.#reporter = setInterval(() => {
        const s = this.transformer.stats();
        const busy = s.workers
          ? { workers: s.workers.workers, cpuBusyMs: s.workers.busyMs, cpuTasks: s.workers.tasks }
          : { workers: 1, cpuBusyMs: performance.eventLoopUtilization(elu).active, cpuTasks: s.succeeded + s.deadLettered };
        const report: ReplicaReport = {
          type: 'lagless:replica-stats',
          pid: process.pid,
          ready: this.#ready,
          received: s.received,
          succeeded: s.succeeded,
          deadLettered: s.deadLettered,
          windowSize: s.windowSize,
          inFlight: s.inFlight,
          unfinished: s.unfinished,
          assigned: s.assigned.map((a) => a.partition),
          ...busy,
        };
        process.send?.(report);
      }, 1000);
      this.#reporter.unref();
    }
  }

  #updateRates(): void {
    const stats = this.transformer.stats();
    // The same meter as the dashboard's: rates over the last five seconds, updated every sample.
    this.#meter.add(performance.now(), { in: stats.received, out: stats.succeeded, dead: stats.deadLettered, arrival: Number(this.#lag?.logEnd ?? 0n) });
    this.#rates = this.#meter.rates(['in', 'out', 'dead', 'arrival']);
  }

  /**
   * This pod's estimate of the replicas the group needs, for KEDA's Prometheus trigger (which takes the max over
   * pods): the group's members times the share of its worker ceiling this process wants (the policy's unclamped need),
   * assuming the replicas are alike. Undefined until the autoscaler has decided once.
   */
  #desiredReplicas(): number | undefined {
    const d = this.lastDecision;
    const max = this.transformer.stats().workers?.maxWorkers;
    if (!d || !max) return undefined;
    return Math.max(1, Math.ceil((this.#members * d.detail.needUp) / max));
  }

  status(): ReplicaStatus {
    const t = this.transformer.options;
    const s = this.transformer.stats();
    const share = this.transformer instanceof ShareTransformer ? this.transformer.stats().share : undefined;
    const d = this.lastDecision;
    return {
      ...this.#shell.envelope(),
      role: 'replica',
      job: this.job.name,
      input: t.from,
      workers: { active: s.workers?.workers ?? 0, max: s.workers?.maxWorkers ?? 0, busy: s.workers?.active ?? 0 },
      io: { active: s.concurrency.active, max: s.concurrency.limit },
      inFlight: s.inFlight,
      window: s.windowSize,
      rates: this.#rates,
      totals: { ok: s.succeeded, dead: s.deadLettered, retries: s.retries, timeouts: s.timeouts, workerCrashes: s.workerCrashes },
      assigned: s.assigned.map((a) => a.partition),
      lag: this.#lag ? Number(this.#lag.lag) : 0,
      ...(d ? { wish: { workers: d.desired, reason: d.reason } } : {}),
      output: t.to,
      dlq: t.dlq,
      guarantee: t.guarantee,
      ...(share ? { share: { acquired: share.acquired, held: share.held, redelivered: share.redelivered, released: share.released, deliveryLimit: share.deliveryLimit } } : {}),
    };
  }

  /** Graceful stop: autoscaler and sampling off, transformer drained and closed, tombstone published, server closed. */
  stop(): Promise<CloseSummary> {
    this.#stopped ??= (async () => {
      if (this.#sampler) clearInterval(this.#sampler);
      if (this.#reporter) clearInterval(this.#reporter);
      this.#autoscaler?.stop();
      const summary = await this.transformer.close();
      this.#ready = false;
      if (this.#membersTimer) clearInterval(this.#membersTimer);
      // Bounded: with the broker frozen, closing its connections may not finish (the process exits anyway).
      if (this.#membersAdmin) await Promise.race([this.#membersAdmin.close().catch(() => {}), sleep(2000, undefined, { ref: false })]);
      await this.#shell.close();
      return summary;
    })();
    return this.#stopped;
  }
}
