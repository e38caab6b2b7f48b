// Prometheus metrics of a Lagless process, read from the runtime's stats at scrape time (no timers, no logging).
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** What a process exposes; every field is read at scrape time. */
export interface MetricsSource {
  group: string;
  topic: string;
  stats: () => {
    received: number;
    succeeded: number;
    deadLettered: number;
    retries: number;
    /** Attempts past the per-record deadline, and worker threads that died under a task (absent for a supervisor). */
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
  };
  /** Lag of the group on the input topic, as last sampled (records). */
  lag: () => number | undefined;
  /** The autoscaler's wish: workers in this process, replicas for the group (group-wide, the same in every pod). */
  desiredWorkers: () => number | undefined;
  desiredReplicas: () => number | undefined;
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
  // Totals are exposed as gauges of monotonically increasing values: prom-client counters cannot be set from a snapshot.
  gauge('lagless_records_received_total', 'Records taken from the input topic', () => src.stats().received);
  gauge('lagless_records_succeeded_total', 'Records whose output was acknowledged', () => src.stats().succeeded);
  gauge('lagless_records_dead_lettered_total', 'Records whose dead letter was acknowledged', () => src.stats().deadLettered);
  gauge('lagless_record_retries_total', 'Retries of transient failures', () => src.stats().retries);
  gauge('lagless_record_timeouts_total', 'Attempts that ran past the per-record deadline (--record-timeout): RECORD_TIMEOUT, retried then dead-lettered', () => src.stats().timeouts);
  gauge('lagless_worker_crashes_total', 'Worker threads that died under a task (WORKER_CRASHED) and were replaced', () => src.stats().workerCrashes);
  gauge('lagless_in_flight', 'Records started and not finished', () => src.stats().inFlight);
  gauge('lagless_window', 'Records fetched and not yet committed', () => src.stats().windowSize);
  gauge('lagless_consumer_lag', 'Log-end offset minus committed offset, summed over the partitions of this member', () => src.lag());
  gauge('lagless_workers_active', 'CPU workers allowed to run now', () => src.stats().workers?.workers);
  gauge('lagless_workers_max', 'CPU workers at most', () => src.stats().workers?.maxWorkers);
  gauge('lagless_io_active', "Records in run() before their first worker call: the job's I/O (downloads, API calls)", () => src.stats().concurrency?.active);
  gauge('lagless_downloads_active', 'Deprecated: lagless_io_active (the palette job\'s downloads); kept for dashboards built on it', () => src.stats().concurrency?.active);
  gauge('lagless_concurrency_limit', 'Records allowed in run() at once before their first worker call (autoscaled by Little\'s law)', () => src.stats().concurrency?.limit);
  gauge('lagless_desired_workers', "The autoscaler's wish for CPU workers in this process", () => src.desiredWorkers());
  gauge('lagless_exactly_once', '1 when outputs and offsets commit in Kafka transactions (--guarantee exactly-once), 0 for at-least-once', () =>
    src.stats().guarantee === 'exactly-once' ? 1 : 0,
  );
  gauge('lagless_transactions_committed_total', 'exactly-once: transactions committed', () => src.stats().transactions?.transactions);
  gauge('lagless_transactions_failed_total', 'exactly-once: transactions that failed (aborted, refused for a past generation, fenced, or of unknown outcome)', () => src.stats().transactions?.failedTransactions);
  gauge('lagless_transactional_producer_resets_total', 'exactly-once: transactional producers replaced (fenced, hung, or after a commit of unknown outcome)', () => src.stats().transactions?.producerResets);
  gauge('lagless_desired_replicas', "The autoscaler's wish for replicas of the group (for KEDA's Prometheus trigger)", () => src.desiredReplicas());
  return registry;
}
