// The services around one process of `lagless run`, assembled the same way for a replica and for the supervisor:
// metrics, the probes and the dashboard on one HTTP server, and the status publisher. The role gives what only it knows.
import { hostname } from 'node:os';
import { LAGLESS_VERSION } from '../common/index.ts';
import { StatusPublisher, STATUS_RECORD_VERSION, ensureStatusTopic, pushScaleEvent, type MemberStatus, type ScaleEvent } from '../control/index.ts';
import { Collector, createDashboardHandler, isLoopbackBind, type CollectorOptions } from '../dashboard/index.ts';
import { warning } from '../errors/index.ts';
import { createAdmin, type KafkaConnection } from '../kafka/index.ts';
import { createMetricsRegistry, startObserveServer, type MetricsSource, type ObserveServer } from '../observe/index.ts';

/** The fields of a status record the shell knows, whatever the role: who publishes it, when, and its recent scale events. */
export type StatusEnvelope = Pick<MemberStatus, 'v' | 'group' | 'member' | 'host' | 'pid' | 'version' | 'startedAt' | 'at' | 'intervalMs' | 'runtime' | 'scaleEvents'>;

export interface ProcessShellOptions {
  kafka: KafkaConnection;
  group: string;
  /** The member name in the status record, and the client id of the status producer. */
  member: string;
  statusTopic: string;
  /** How often the status is published. 0 disables publishing (and the status topic is left alone). */
  statusIntervalMs: number;
  /** The HTTP server: probes, /metrics and the dashboard. `token` and `maxClients` are the dashboard's. */
  http?: { port: number; host: string; token?: string; maxClients?: number } | undefined;
  /** Serve the group's dashboard at / of the HTTP server (when `http` is set). Default true. */
  dashboard?: boolean | undefined;
  /** How the dashboard shows the outputs of jobs, by job name (see JobDefinition.preview). */
  previews?: CollectorOptions['previews'];
  /** The role's gauges: a replica's transformer stats, or a supervisor's aggregate over its replicas. */
  metrics: MetricsSource;
  /** The status record, read at every interval: the envelope() and the role's own fields. */
  status: () => MemberStatus;
  /** Readiness (/readyz). */
  ready: () => boolean;
  onWarning: (err: Error) => void;
  onInfo: (message: string) => void;
}

export class ProcessShell {
  readonly #o: ProcessShellOptions;
  readonly #startedAt = new Date().toISOString();
  readonly #scaleEvents: ScaleEvent[] = [];
  #server: ObserveServer | undefined;
  #dashboard: Collector | undefined;
  #publisher: StatusPublisher | undefined;
  #closed: Promise<void> | undefined;

  constructor(o: ProcessShellOptions) {
    this.#o = o;
  }

  /** The URL of the HTTP server, once open. */
  get url(): string | undefined {
    return this.#server?.url;
  }

  /**
   * Serves the probes, /metrics and the dashboard (liveness never depends on Kafka: the server answers before the
   * process joins or starts anything), and creates the status topic if publishing is on. Rejects when either fails.
   */
  async open(): Promise<void> {
    const o = this.#o;
    if (o.http) {
      const registry = createMetricsRegistry(o.metrics);
      // The group's dashboard at /: it reads the output and dead-letter topics only once a page is opened.
      let extra;
      if (o.dashboard ?? true) {
        this.#dashboard = new Collector({ kafka: o.kafka, group: o.group, statusTopic: o.statusTopic, lazyRecords: true, ...(o.previews ? { previews: o.previews } : {}) });
        extra = createDashboardHandler({ collector: this.#dashboard, loopbackHostsOnly: isLoopbackBind(o.http.host), token: o.http.token, maxClients: o.http.maxClients });
      }
      this.#server = await startObserveServer({ port: o.http.port, host: o.http.host, registry, ready: o.ready, ...(extra ? { extra } : {}) });
      this.#dashboard?.start();
      o.onInfo(`serving /healthz, /readyz and /metrics on ${this.#server.url}`);
      if (extra) o.onInfo(`the dashboard of group ${o.group} is at ${this.#server.url}/`);
    }
    if (o.statusIntervalMs > 0) {
      const admin = createAdmin(o.kafka);
      try {
        await ensureStatusTopic(admin, o.statusTopic, o.kafka);
      } finally {
        await admin.close().catch(() => {});
      }
    }
  }

  /** Starts publishing the status every interval (once the role has started: the first status says what it runs). */
  publish(): void {
    const o = this.#o;
    if (o.statusIntervalMs <= 0 || this.#publisher || this.#closed) return;
    this.#publisher = new StatusPublisher({
      kafka: o.kafka,
      topic: o.statusTopic,
      clientId: o.member,
      intervalMs: o.statusIntervalMs,
      snapshot: o.status,
      onError: (e) => o.onWarning(warning('STATUS_PUBLISH_FAILED', `publishing status failed: ${e.message}`, e)),
    });
    this.#publisher.start();
  }

  /** Keeps a scale event of this process for its status record (the latest MAX_SCALE_EVENTS). */
  scaleEvent(e: Omit<ScaleEvent, 'at'>): void {
    pushScaleEvent(this.#scaleEvents, { at: new Date().toISOString(), ...e });
  }

  /** The fields of this process's status record now that do not depend on its role. */
  envelope(): StatusEnvelope {
    const o = this.#o;
    return {
      v: STATUS_RECORD_VERSION,
      group: o.group,
      member: o.member,
      host: hostname(),
      pid: process.pid,
      version: LAGLESS_VERSION,
      startedAt: this.#startedAt,
      at: new Date().toISOString(),
      intervalMs: o.statusIntervalMs,
      runtime: { node: process.version },
      scaleEvents: [...this.#scaleEvents],
    };
  }

  /** Stops publishing (the tombstone takes the process out of `lagless status`), then closes the server and the dashboard. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#publisher?.close();
      await this.#server?.close();
      await this.#dashboard?.close();
    })();
    return this.#closed;
  }
}
