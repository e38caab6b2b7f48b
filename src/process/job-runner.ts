// A job running in this process with the options of `lagless run`: checks the brokers, prepares the topics, and runs a replica (transformer, autoscaling, status, probes). The programmatic API and the CLI both use it.
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { defaultScalingOptions } from '../autoscale/index.ts';
import { DEFAULT_STATUS_TOPIC } from '../control/index.ts';
import { LaglessError, UsageError } from '../errors/index.ts';
import { validateJob, type JobDefinition } from '../job/index.ts';
import { checkBrokers, createAdmin, describeTopics, ensureTopic, type KafkaConnection } from '../kafka/index.ts';
import { defaultTransformerOptions, optionKeys, RunOptionTable, validateOptions, type CloseSummary, type GroupProtocol, type GroupType, type Guarantee, type Ordering, type RecordOutcome, type RunOptionKey, type TransformerStats } from '../runtime/index.ts';
import { Replica } from './replica.ts';

/** The options of `lagless run`, for embedding a job in your own service. Only `kafka`, `from` and `to` are required. */
export interface RunOptions {
  /** The cluster: `{ brokers: ['host:port'] }`, with `tls` and `sasl` settings for a secured one. */
  kafka: KafkaConnection;
  /** Input topic (must exist). */
  from: string;
  /** Default output topic. */
  to: string;
  /** Dead-letter topic. Default: `<from>.dlq`. */
  dlq?: string;
  /** Consumer group: processes in one group share the partitions. Default: the job's name. */
  group?: string;
  /** Client id. Default "lagless-<host>-<pid>". */
  clientId?: string;
  /** unordered (default): any record any time; key: one at a time per key, in order; partition: one at a time per partition. */
  ordering?: Ordering;
  /** Records fetched and not yet committed, at most (also the most records redone after a crash). Default 2000. */
  maxInFlight?: number;
  /** Attempts per record for retryable failures. Default 3. */
  attempts?: number;
  /** The per-record deadline, ms (RECORD_TIMEOUT past it). Default: the job's timeoutMs, else 5 minutes. */
  recordTimeoutMs?: number;
  /** First retry delay, ms (exponential, full jitter; retryAfterMs is honoured). Default 500. */
  retryBaseMs?: number;
  /** Longest retry delay, ms. Default 30 000. */
  retryMaxMs?: number;
  /** How often done offsets are committed, ms. Default 1000 (at-least-once), 100 (exactly-once: one transaction each). */
  commitIntervalMs?: number;
  /**
   * at-least-once (default): outputs leave as soon as a record is done; a crash redoes up to maxInFlight records.
   * exactly-once: outputs, dead letters and offsets commit together in Kafka transactions (read them with
   * isolation.level=read_committed).
   */
  guarantee?: Guarantee;
  /** exactly-once: how long a transaction may stay open, ms. Default 10 000. */
  transactionTimeoutMs?: number;
  /** On close(), time in-flight records get to finish before they are abandoned (and redone later), ms. Default 30 000. */
  drainTimeoutMs?: number;
  /** Group session timeout, ms. Default 10 000. */
  sessionTimeoutMs?: number;
  /** classic (cooperative-sticky, the default) or consumer (KIP-848): see GroupProtocols. */
  groupProtocol?: GroupProtocol;
  /** consumer (a consumer group, the default) or share (a share group, KIP-932): see GroupTypes. */
  groupType?: GroupType;
  /**
   * Worker threads of a job with a worker module: a fixed number, or { min, max } scaled with the load.
   * Default { min: 1, max: the number of cores }.
   */
  workers?: number | { min: number; max: number };
  /** Autoscaling: scale down only after capacity has been idle this long, ms; idle threads exit after it too. Default 60 000. */
  idleTimeoutMs?: number;
  /** Autoscaling: size capacity to drain a backlog within this time, ms. Default 10 000. */
  catchUpMs?: number;
  /** Records in run() at once before their first worker call (downloads, API calls), at most; autoscaled below it. Default 64. */
  maxConcurrency?: number;
  /** Create missing output, named output and dead-letter topics (with the input's partition count). Default true. */
  createTopics?: boolean;
  /** Compacted topic where the process publishes its status (read by `lagless status`). Default "lagless.status". */
  statusTopic?: string;
  /** How often the status is published, ms; 0 never. Default 2000. */
  statusIntervalMs?: number;
  /**
   * Serve /healthz, /readyz and /metrics (Prometheus) on this port (0: any free port). Default: no server. `token` and
   * `maxClients` are the dashboard's (see `lagless run --help`): a host other than loopback needs a token while the
   * dashboard is served.
   */
  http?: { port: number; host?: string; token?: string; maxClients?: number };
  /** Serve the group's live dashboard at / of the `http` server. Default true. */
  dashboard?: boolean;
}

export interface JobTransformerEvents {
  /** Something went wrong and is being handled (retried, reconnected). */
  warning: [Error];
  /** A rare informative line (e.g. the URL of the HTTP server). */
  info: [string];
  /** The worker autoscaler changed the number of workers. */
  /** `io`: the job's I/O concurrency limit after the step (`downloads`: the same, its old name, deprecated). */
  scale: [{ from: number; to: number; reason: string; io: number; downloads: number }];
  rebalance: [{ assigned: number[]; revoked: number[]; generation: number }];
  /** A record is done: its outputs or its dead letter are acknowledged. */
  record: [RecordOutcome];
}

/** A job running in this process as one member of its consumer group. */
export interface JobTransformer {
  readonly job: JobDefinition;
  /** Checks the brokers, prepares the topics, sets the job up, joins the group. Resolves once processing has started. */
  start(): Promise<void>;
  /**
   * Graceful: no new records, in-flight ones finish (up to drainTimeoutMs), done offsets committed, group left, job
   * closed. Resolves to what it had to give up (all of it is redone by the next owner: nothing is lost); the same
   * summary for every call.
   */
  close(): Promise<CloseSummary>;
  stats(): TransformerStats;
  on<E extends keyof JobTransformerEvents>(event: E, listener: (...args: JobTransformerEvents[E]) => void): this;
  off<E extends keyof JobTransformerEvents>(event: E, listener: (...args: JobTransformerEvents[E]) => void): this;
}

/** The dead-letter topic when none is given: `<from>.dlq`. */
export function defaultDlq(from: string): string {
  return `${from}.dlq`;
}

/** The consumer group when none is given: the job's name. */
export function defaultGroup(job: Pick<JobDefinition, 'name'>): string {
  return job.name;
}

/** The options of the table RunOptions has (the type checks that each is a field of RunOptions). */
const RUN_KEYS: readonly (keyof RunOptions & RunOptionKey)[] = optionKeys('run');

function checkInt(field: string, v: unknown, min: number): void {
  if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min)) throw new UsageError(`option ${field} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
}

/** Worker bounds from `workers`: fixed (min = max) or autoscaled. */
export function workerBounds(workers: RunOptions['workers']): { min: number; max: number } {
  if (workers === undefined) return { min: 1, max: availableParallelism() };
  if (typeof workers === 'number') {
    checkInt('workers', workers, 1);
    return { min: workers, max: workers };
  }
  if (typeof workers !== 'object' || workers === null) throw new UsageError(`option workers must be a number or { min, max }, got ${JSON.stringify(workers)}`);
  checkInt('workers.min', workers.min, 1);
  checkInt('workers.max', workers.max, 1);
  if (workers.min > workers.max) throw new UsageError(`option workers.min (${workers.min}) must not exceed workers.max (${workers.max})`);
  return { min: workers.min, max: workers.max };
}

/** Creates the output and dead-letter topics the job writes to (unless `create` is false); returns the input's partition count. */
export async function prepareTopics(kafka: KafkaConnection, from: string, outputs: string[], create: boolean): Promise<number> {
  const admin = createAdmin(kafka);
  try {
    const counts = await describeTopics(admin, [from, ...outputs]);
    const partitions = counts.get(from);
    if (partitions === undefined) {
      throw new LaglessError('KAFKA', `the input topic "${from}" does not exist. Create it with: lagless topics create ${from} --partitions 8`);
    }
    for (const t of new Set(outputs)) {
      if (counts.has(t)) continue;
      if (!create) throw new LaglessError('KAFKA', `the topic "${t}" does not exist (and --no-create-topics was given)`);
      await ensureTopic(admin, { name: t, partitions }, kafka);
    }
    return partitions;
  } finally {
    await admin.close().catch(() => {});
  }
}

/** The `lagless run` process for one job. */
export class JobRunner extends EventEmitter<JobTransformerEvents> implements JobTransformer {
  readonly job: JobDefinition;
  readonly replica: Replica;
  readonly kafka: KafkaConnection;
  readonly from: string;
  readonly to: string;
  readonly dlq: string;
  readonly group: string;
  readonly workers: { min: number; max: number };
  /** The topics outputs may go to: `to` and the job's `outputs`. */
  readonly outputTopics: string[];
  readonly #createTopics: boolean;
  #partitions: number | undefined;
  #started = false;

  constructor(job: JobDefinition, o: RunOptions) {
    super();
    this.job = validateJob(job, 'createTransformer');
    if (!o || typeof o !== 'object') throw new UsageError('createTransformer: options { kafka: { brokers }, from, to } are required');
    const brokers = o.kafka?.brokers;
    if (!Array.isArray(brokers) || brokers.length === 0 || brokers.some((b) => typeof b !== 'string' || b === '')) {
      throw new UsageError(`option kafka.brokers must list at least one "host:port", got ${JSON.stringify(brokers)}`);
    }
    for (const f of ['from', 'to'] as const) if (typeof o[f] !== 'string' || o[f] === '') throw new UsageError(`option ${f} must be a topic name, got ${JSON.stringify(o[f])}`);
    validateOptions(RUN_KEYS, o, 'option', false);
    if (o.http !== undefined) checkInt('http.port', o.http?.port, 0);
    this.kafka = o.kafka;
    this.from = o.from;
    this.to = o.to;
    this.dlq = o.dlq ?? defaultDlq(o.from);
    this.group = o.group ?? defaultGroup(job);
    this.outputTopics = [...new Set([o.to, ...(job.outputs ?? [])])];
    if (this.outputTopics.includes(o.from)) throw new UsageError(`the job's outputs must not include the input topic "${o.from}"`);
    this.#createTopics = o.createTopics ?? true;
    this.workers = workerBounds(o.workers);
    const idleTimeoutMs = o.idleTimeoutMs ?? RunOptionTable.idleTimeoutMs.default;
    const catchUpMs = o.catchUpMs ?? RunOptionTable.catchUpMs.default;
    const { min, max } = this.workers;
    const autoscale = job.worker !== undefined && min < max ? { ...defaultScalingOptions, minUnits: min, maxUnits: max, idleTimeoutMs, catchUpMs } : undefined;
    this.replica = new Replica({
      job,
      transformer: {
        kafka: this.kafka,
        from: this.from,
        to: this.to,
        dlq: this.dlq,
        group: this.group,
        ...(o.clientId !== undefined ? { clientId: o.clientId } : {}),
        ...(o.ordering !== undefined ? { ordering: o.ordering } : {}),
        ...(o.maxInFlight !== undefined ? { maxInFlight: o.maxInFlight } : {}),
        ...(o.attempts !== undefined ? { attempts: o.attempts } : {}),
        ...(o.recordTimeoutMs !== undefined ? { recordTimeoutMs: o.recordTimeoutMs } : {}),
        ...(o.retryBaseMs !== undefined ? { retryBaseMs: o.retryBaseMs } : {}),
        ...(o.retryMaxMs !== undefined ? { retryMaxMs: o.retryMaxMs } : {}),
        ...(o.commitIntervalMs !== undefined ? { commitIntervalMs: o.commitIntervalMs } : {}),
        ...(o.guarantee !== undefined ? { guarantee: o.guarantee } : {}),
        ...(o.transactionTimeoutMs !== undefined ? { transactionTimeoutMs: o.transactionTimeoutMs } : {}),
        ...(o.drainTimeoutMs !== undefined ? { drainTimeoutMs: o.drainTimeoutMs } : {}),
        ...(o.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: o.sessionTimeoutMs } : {}),
        ...(o.groupProtocol !== undefined ? { groupProtocol: o.groupProtocol } : {}),
        ...(o.groupType !== undefined ? { groupType: o.groupType } : {}),
        maxConcurrency: o.maxConcurrency ?? defaultTransformerOptions.maxConcurrency,
        // Autoscaled pools start at the minimum; the autoscaler adds workers as the load needs them.
        workers: { workers: min, maxWorkers: max, minWorkers: min, idleTimeoutMs },
      },
      ...(autoscale ? { autoscale } : {}),
      catchUpMs,
      statusTopic: o.statusTopic ?? DEFAULT_STATUS_TOPIC,
      statusIntervalMs: o.statusIntervalMs ?? RunOptionTable.statusIntervalMs.default,
      ...(o.http ? { http: { ...o.http, host: o.http.host ?? '127.0.0.1' } } : {}),
      ...(o.dashboard !== undefined ? { dashboard: o.dashboard } : {}),
    });
    this.replica.on('warning', (e) => this.emit('warning', e));
    this.replica.on('info', (m) => this.emit('info', m));
    this.replica.on('scale', (e) => this.emit('scale', e));
    this.replica.transformer.on('rebalance', (r) => this.emit('rebalance', r));
    // Record events cost an object per record: forwarded only once someone listens for them here.
    let forwarding = false;
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event !== 'record' || forwarding) return;
      forwarding = true;
      this.replica.transformer.on('record', (r) => this.emit('record', r));
    });
  }

  /** Whether the worker autoscaler runs (a worker module and min < max). */
  get autoscaled(): boolean {
    return this.job.worker !== undefined && this.workers.min < this.workers.max;
  }

  /** Checks the brokers and creates missing output and dead-letter topics; the input's partition count. */
  async prepare(): Promise<number> {
    if (this.#partitions === undefined) {
      await checkBrokers(this.kafka);
      this.#partitions = await prepareTopics(this.kafka, this.from, [...this.outputTopics, this.dlq], this.#createTopics);
    }
    return this.#partitions;
  }

  async start(): Promise<void> {
    if (this.#started) throw new LaglessError('INTERNAL', 'the transformer was already started');
    this.#started = true;
    try {
      await this.prepare();
    } catch (err) {
      await this.discard();
      throw err;
    }
    await this.replica.start();
  }

  close(): Promise<CloseSummary> {
    return this.replica.stop();
  }

  /** Releases what the runner holds when it is never started (the job's worker pool): stopped before joining. */
  async discard(): Promise<void> {
    await this.replica.transformer.executor.close().catch(() => {});
  }

  stats(): TransformerStats {
    return this.replica.transformer.stats();
  }

  /** The commit interval in force (the guarantee's default when none was given), ms. */
  get commitIntervalMs(): number {
    return this.replica.transformer.options.commitIntervalMs;
  }

  /** Records per second over the last five seconds: taken in, output, dead-lettered, and arriving at the input (its log end). */
  get rates(): { in: number; out: number; dead: number; arrival: number } {
    return this.replica.rates;
  }

  /** The lag of this member's partitions at the last sample, if any. */
  get lag(): bigint | undefined {
    return this.replica.lag?.lag;
  }
}
