// Prometheus metrics of a Lagless process, read from the runtime's stats at scrape time (no timers, no logging).
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** What a process exposes, by its role; every field is read at scrape time. */
export type MetricsSource = ReplicaMetricsSource | SupervisorMetricsSource;

interface CommonMetricsSource {
  group: string;
  topic: string;
  /** Lag of the group on the input topic, as last sampled (records): this member's partitions, or the group's. */
  lag: () => number | undefined;
  /** The autoscaler's wish of replicas for the group (group-wide, the same in every pod). */
  desiredReplicas: () => number | undefined;
}

/** A process that runs the job: all the gauges. */
export interface ReplicaMetricsSource extends CommonMetricsSource {
  role: 'replica';
  stats: () => {
    received: number;
    succeeded: number;
    deadLettered: number;
    retries: number;
    /** Attempts past the per-record deadline, and worker threads that died under a task. */
    timeouts?: number;
    workerCrashes?: number;
    inFlight: number;
    windowSize: number;
    /** The worker pool of a job with a worker module. */
    workers?: { workers: number; maxWorkers: number } | undefined;
    /** Records in run() before their first worker call: the job's I/O (downloads for the palette job). */
    concurrency?: { active: number; limit: number };
    /** The guarantee in force, and for exactly-once its transactions. */
    guarantee?: string;
    transactions?: { transactions: number; failedTransactions: number; producerResets: number };
    /** A share-group member (`--group-type share`): its acknowledgements and deliveries. */
    share?: { acquired: number; redelivered: number; accepted: number; released: number; rejected: number; renewed: number; ackErrors: number; deliveryLimit: number; held: number };
  };
  /** A share-group member: the group's backlog on the input topic (records not yet acknowledged by any member). */
  shareBacklog?: () => number | undefined;
  /** The autoscaler's wish of workers in this process. */
  desiredWorkers: () => number | undefined;
}

/**
 * A supervisor of replica processes: it runs no job, so it has no record counts, workers, I/O or guarantee of its
 * own; those gauges are not registered (each replica exports them). It exports what it measures: the group's lag, the
 * records in flight and in the window summed over its replicas' reports, and its replica wish.
 */
export interface SupervisorMetricsSource extends CommonMetricsSource {
  role: 'supervisor';
  load: () => { inFlight: number; windowSize: number };
}

export function createMetricsRegistry(src: MetricsSource): Registry {
  const registry = new Registry();
  // prom-client's default names already start with process_ or nodejs_: the prefix only namespaces them (lagless_process_cpu_seconds_total).
  collectDefaultMetrics({ register: registry, prefix: 'lagless_' });
  const labels = { group: src.group, topic: src.topic };
  const gauge = (name: string, help: string, read: () => number | undefined, extra: Record<string, string> = {}) =>
    new Gauge({
      name,
      help,
      labelNames: Object.keys({ ...labels, ...extra }),
      registers: [registry],
      collect() {
        const v = read();
        if (v !== undefined && Number.isFinite(v)) this.set({ ...labels, ...extra }, v);
      },
    });
  // Both roles.
  const load = src.role === 'replica' ? src.stats : src.load;
  gauge('lagless_in_flight', 'Records started and not finished', () => load().inFlight);
  gauge('lagless_window', 'Records fetched and not yet committed', () => load().windowSize);
  gauge('lagless_consumer_lag', 'Log-end offset minus committed offset, summed over the partitions of this member (of the group for a supervisor)', () => src.lag());
  gauge('lagless_desired_replicas', "The autoscaler's wish for replicas of the group (for KEDA's Prometheus trigger)", () => src.desiredReplicas());
  if (src.role === 'supervisor') return registry;
  // A replica's. Totals are exposed as gauges of monotonically increasing values: prom-client counters cannot be set from a snapshot.
  const stats = src.stats;
  gauge('lagless_records_received_total', 'Records taken from the input topic', () => stats().received);
  gauge('lagless_records_succeeded_total', 'Records whose output was acknowledged', () => stats().succeeded);
  gauge('lagless_records_dead_lettered_total', 'Records whose dead letter was acknowledged', () => stats().deadLettered);
  gauge('lagless_record_retries_total', 'Retries of transient failures', () => stats().retries);
  gauge('lagless_record_timeouts_total', 'Attempts that ran past the per-record deadline (--record-timeout): RECORD_TIMEOUT, retried then dead-lettered', () => stats().timeouts);
  gauge('lagless_worker_crashes_total', 'Worker threads that died under a task (WORKER_CRASHED) and were replaced', () => stats().workerCrashes);
  gauge('lagless_workers_active', 'CPU workers allowed to run now', () => stats().workers?.workers);
  gauge('lagless_workers_max', 'CPU workers at most', () => stats().workers?.maxWorkers);
  gauge('lagless_io_active', "Records in run() before their first worker call: the job's I/O (downloads, API calls)", () => stats().concurrency?.active);
  gauge('lagless_downloads_active', 'Deprecated: lagless_io_active (the palette job\'s downloads); kept for dashboards built on it', () => stats().concurrency?.active);
  gauge('lagless_concurrency_limit', 'Records allowed in run() at once before their first worker call (autoscaled by Little\'s law)', () => stats().concurrency?.limit);
  gauge('lagless_desired_workers', "The autoscaler's wish for CPU workers in this process", () => src.desiredWorkers());
  gauge('lagless_exactly_once', '1 when outputs and offsets commit in Kafka transactions (--guarantee exactly-once), 0 for at-least-once', () =>
    stats().guarantee === 'exactly-once' ? 1 : 0,
  );
  gauge('lagless_transactions_committed_total', 'exactly-once: transactions committed', () => stats().transactions?.transactions);
  gauge('lagless_transactions_failed_total', 'exactly-once: transactions that failed (aborted, refused for a past generation, fenced, or of unknown outcome)', () => stats().transactions?.failedTransactions);
  // Share groups: the backlog is group-wide (the same in every member), so KEDA's Prometheus trigger can scale members
  // past the partition count on it (deploy/kubernetes/keda-scaledobject-share.yaml).
  if (src.shareBacklog) {
    const share = () => stats().share;
    gauge('lagless_share_backlog', 'Share group: records of the input topic not yet acknowledged by any member (from the share-partition start offsets to the log end), group-wide', src.shareBacklog);
    gauge('lagless_share_held', 'Share group: records this member has acquired and not yet acknowledged', () => share()?.held);
    gauge('lagless_share_acquired_total', 'Share group: records acquired by this member (first deliveries and redeliveries)', () => share()?.acquired);
    gauge('lagless_share_redelivered_total', 'Share group: records acquired with a delivery count above 1 (another member crashed, stopped, or let the lock expire)', () => share()?.redelivered);
    gauge('lagless_share_accepted_total', 'Share group: records acknowledged ACCEPT (output or dead letter acknowledged)', () => share()?.accepted);
    gauge('lagless_share_released_total', 'Share group: records acknowledged RELEASE (given up: taken by another member at once)', () => share()?.released);
    gauge('lagless_share_lock_renewals_total', 'Share group: acquisition locks renewed for records running longer than half the lock', () => share()?.renewed);
    gauge('lagless_share_ack_errors_total', 'Share group: acknowledgements the broker refused (the lock had expired)', () => share()?.ackErrors);
    gauge('lagless_share_delivery_limit_total', 'Share group: records dead-lettered as DELIVERY_LIMIT', () => share()?.deliveryLimit);
  }
  gauge('lagless_transactional_producer_resets_total', 'exactly-once: transactional producers replaced (fenced, hung, or after a commit of unknown outcome)', () => stats().transactions?.producerResets);
  return registry;
}
