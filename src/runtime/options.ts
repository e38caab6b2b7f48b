// The transformer's options: what each means, their defaults, and their validation.
import { hostname } from 'node:os';
import { Guarantees, type Guarantee } from '../common/index.ts';
import { UsageError } from '../errors/index.ts';
import type { KafkaConnection } from '../kafka/index.ts';
import { OrderingModes, type OrderingMode } from '../offsets/index.ts';
import { defaultExecutorOptions } from './executor.ts';
import type { WorkerPoolOptions } from './worker-pool.ts';

export type Ordering = OrderingMode;

export { Guarantees, type Guarantee, OrderingModes };

/** The commit interval when none is given, per guarantee (exactly-once: Kafka Streams' 100 ms). */
export const defaultCommitIntervalMs: Record<Guarantee, number> = { 'at-least-once': 1000, 'exactly-once': 100 };

/**
 * How the group moves partitions between members. Both are incremental: when a member joins or leaves, only the
 * partitions that change owner move, and every other partition keeps being processed through the rebalance.
 * - `classic`: the classic group protocol with the cooperative-sticky assignor (brokers 2.4 and later). A member
 *   gives a partition up only after its release (see `releaseTimeoutMs`): the next owner starts where it stopped.
 * - `consumer`: the consumer group protocol of KIP-848 (brokers 4.0 and later; the broker sets the heartbeat interval
 *   and the session timeout, `group.consumer.*`). @platformatic/kafka acknowledges a revocation in its next heartbeat,
 *   without waiting for the member: the next owner may start before the release is committed and redo the records
 *   finished meanwhile. Exactly-once transactions carry the member epoch (src/kafka/member-epoch.ts).
 */
export const GroupProtocols = ['classic', 'consumer'] as const;
export type GroupProtocol = (typeof GroupProtocols)[number];

export interface TransformerOptions {
  /** Brokers, TLS and SASL: every client of the transformer (consumer, output producer) connects with these. */
  kafka: KafkaConnection;
  /** Input topic. */
  from: string;
  /** Output topic. */
  to: string;
  /** Dead-letter topic. */
  dlq: string;
  /** Consumer group: processes in the same group share the partitions. */
  group: string;
  /** The group protocol (see GroupProtocols). Default classic (cooperative-sticky). */
  groupProtocol: GroupProtocol;
  /**
   * When a partition leaves this member (a rebalance gives it to another member, or the member stops), its release:
   * no new record of it starts; records that produced nothing yet are left to the next owner; the records below the
   * partition's highest finished one get this long to finish, so that the commit covers everything finished and the
   * next owner redoes nothing. Then the offset is committed and the partition is given up. Below rebalanceTimeoutMs
   * (the group waits that long for the member's rejoin). Default: drainTimeoutMs, at most rebalanceTimeoutMs - 5 s.
   */
  releaseTimeoutMs: number;
  /** Client id. Default "lagless-<host>-<pid>". */
  clientId: string;
  /** unordered (default): any record may run at any time; key: one at a time per key, in offset order; partition: one at a time per partition (the seed's behaviour). */
  ordering: Ordering;
  /**
   * Records fetched and not yet committed, at most. Fetching stops when the window is full, so memory stays flat
   * whatever the backlog, and after a crash at most this many records are processed twice. Default 2000.
   */
  maxInFlight: number;
  /** Attempts per record for retryable failures (timeouts, 5xx, 429, connection errors). Default 3. */
  attempts: number;
  /**
   * The per-record deadline, ms: how long one attempt may take (not counting the time its worker calls wait for a free
   * thread). Past it, ctx.signal aborts, a worker task still running is stopped (its thread replaced), and the attempt
   * fails with RECORD_TIMEOUT, retried up to `attempts`, then dead-lettered: a record never holds its partition's
   * commits longer than the deadline times the attempts plus the backoff. Default: the job's `timeoutMs`, else 5 min.
   */
  recordTimeoutMs: number | undefined;
  /** Backoff before retry n is random in [0, min(retryMaxMs, retryBaseMs * 2^(n-1))] (full jitter), at least Retry-After. Default 500 ms. */
  retryBaseMs: number;
  /** Default 30 s. */
  retryMaxMs: number;
  /** How often done offsets are committed. Default 1000 ms. */
  commitIntervalMs: number;
  /** On shutdown, how long in-flight records may take to finish before they are abandoned (and redone later). Default 30 s. */
  drainTimeoutMs: number;
  /**
   * On shutdown, after the drain: how long the final commit and leaving the group may take before they are given up
   * (a broker that is down or frozen). close() returns within drainTimeoutMs + closeTimeoutMs. Default 5 s.
   */
  closeTimeoutMs: number;
  /** Group session timeout: how soon a crashed member's partitions move to others. Default 10 s. */
  sessionTimeoutMs: number;
  /** Default 1 s. */
  heartbeatIntervalMs: number;
  /** How long the group waits for its members to rejoin in a rebalance (the classic protocol). Default 45 s. */
  rebalanceTimeoutMs: number;
  /** Default 500 ms. */
  fetchMaxWaitMs: number;
  /** Default 4 MiB. */
  fetchMaxBytes: number;
  /**
   * Records that may be in run() at once before their first worker call (downloads, API calls), at most; the
   * autoscaler moves the limit below it by Little's law. Default 64.
   */
  maxConcurrency: number;
  /** The worker pool of a job with a `worker` module (threads now, at most, kept idle; idle timeout). Default: all cores. */
  workers: Partial<WorkerPoolOptions>;
  /**
   * at-least-once (default): an output is produced as soon as its record is done, the offsets are committed after; a
   * crash redoes at most `maxInFlight` records, whose outputs then appear twice. exactly-once: outputs, dead letters
   * and offsets are committed together in Kafka transactions (one per commit interval), so a consumer reading with
   * isolation.level=read_committed sees each input's outputs exactly once, across crashes, rebalances and broker
   * restarts. Outputs become visible at commit, so they arrive up to a commit interval later.
   */
  guarantee: Guarantee;
  /**
   * exactly-once: the producer's transactional id. Default "lagless:<group>:<host>:<scope>:<slot>" (or
   * "lagless:<group>:<LAGLESS_INSTANCE_ID>:<slot>"), the scope naming this kernel boot and network namespace and the
   * slot being the lowest one no other live process of the same identity holds (see claimTransactionalId): a member
   * restarted with the same identity gets the id of the one it replaces, which fences that one's unfinished
   * transaction at once.
   */
  transactionalId: string | undefined;
  /**
   * exactly-once: how long a transaction may stay open before the coordinator aborts it: also the longest time a
   * crashed member's unfinished transaction holds back read_committed readers and the next owner of its partitions.
   * Default 10 s (Kafka Streams' value).
   */
  transactionTimeoutMs: number;
}

export const defaultTransformerOptions = {
  clientId: `lagless-${hostname()}-${process.pid}`,
  ordering: 'unordered',
  groupProtocol: 'classic',
  maxInFlight: 2000,
  attempts: 3,
  recordTimeoutMs: undefined,
  retryBaseMs: 500,
  retryMaxMs: 30_000,
  commitIntervalMs: 1000,
  drainTimeoutMs: 30_000,
  closeTimeoutMs: 5000,
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 1000,
  rebalanceTimeoutMs: 45_000,
  fetchMaxWaitMs: 500,
  fetchMaxBytes: 4 * 1024 * 1024,
  maxConcurrency: defaultExecutorOptions.maxConcurrency,
  workers: {},
  guarantee: 'at-least-once',
  transactionalId: undefined,
  transactionTimeoutMs: 10_000,
} as const satisfies Partial<TransformerOptions>;

export type TransformerInit = Pick<TransformerOptions, 'kafka' | 'from' | 'to' | 'dlq' | 'group'> & Partial<TransformerOptions>;


export function validateTransformerOptions(o: TransformerOptions): TransformerOptions {
  const fail = (field: string, msg: string) => {
    throw new UsageError(`transformer option ${field} ${msg}`);
  };
  if (!o.kafka || !Array.isArray(o.kafka.brokers) || o.kafka.brokers.length === 0) fail('kafka.brokers', 'must list at least one host:port');
  for (const f of ['from', 'to', 'dlq', 'group'] as const) if (typeof o[f] !== 'string' || o[f] === '') fail(f, 'must be a non-empty string');
  if (o.from === o.to || o.from === o.dlq) fail('to/dlq', `must differ from the input topic "${o.from}"`);
  if (!(OrderingModes as readonly string[]).includes(o.ordering)) fail('ordering', `must be ${OrderingModes.join(', ')}, got "${o.ordering}"`);
  if (!(Guarantees as readonly string[]).includes(o.guarantee)) fail('guarantee', `must be at-least-once or exactly-once, got "${String(o.guarantee)}"`);
  if (o.recordTimeoutMs !== undefined && (typeof o.recordTimeoutMs !== 'number' || !Number.isInteger(o.recordTimeoutMs) || o.recordTimeoutMs < 1)) {
    fail('recordTimeoutMs', `must be an integer >= 1 when given, got ${String(o.recordTimeoutMs)}`);
  }
  if (o.transactionalId !== undefined && (typeof o.transactionalId !== 'string' || o.transactionalId === '')) fail('transactionalId', 'must be a non-empty string');
  if (!(GroupProtocols as readonly string[]).includes(o.groupProtocol)) fail('groupProtocol', `must be ${GroupProtocols.join(' or ')}, got "${o.groupProtocol}"`);
  const ints: [keyof TransformerOptions, number][] = [
    ['maxInFlight', 1],
    ['attempts', 1],
    ['retryBaseMs', 0],
    ['retryMaxMs', 0],
    ['commitIntervalMs', 10],
    ['drainTimeoutMs', 0],
    ['closeTimeoutMs', 0],
    ['releaseTimeoutMs', 0],
    ['sessionTimeoutMs', 1000],
    ['heartbeatIntervalMs', 100],
    ['rebalanceTimeoutMs', 1000],
    ['fetchMaxWaitMs', 0],
    ['fetchMaxBytes', 1024],
    ['maxConcurrency', 1],
    ['transactionTimeoutMs', 1000],
  ];
  for (const [k, min] of ints) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(k, `must be an integer >= ${min}, got ${String(v)}`);
  }
  // A classic member holds its rejoin during a release; the group waits for that rejoin at most rebalanceTimeoutMs.
  if (o.releaseTimeoutMs >= o.rebalanceTimeoutMs) fail('releaseTimeoutMs', `must be below rebalanceTimeoutMs (${o.rebalanceTimeoutMs}), got ${o.releaseTimeoutMs}`);
  return o;
}
