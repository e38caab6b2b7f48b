// The transformer's options: what each means, their defaults, and their validation (both from the option table).
import type { Guarantee } from '../common/index.ts';
import { UsageError } from '../errors/index.ts';
import type { KafkaConnection } from '../kafka/index.ts';
import type { OrderingMode } from '../offsets/index.ts';
import { defaultCommitIntervalMs, fixedDefaults, GroupProtocols, GroupTypes, optionKeys, optionRows, RunOptionTable, validateOptions, type GroupProtocol, type GroupType, type RunOptionKey } from './option-table.ts';
import type { WorkerPoolOptions } from './worker-pool.ts';

export type Ordering = OrderingMode;

export { Guarantees, type Guarantee } from '../common/index.ts';
export { OrderingModes } from '../offsets/index.ts';
export { defaultCommitIntervalMs, GroupProtocols, GroupTypes, type GroupProtocol, type GroupType };

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
  /** A consumer group (default) or a share group (see GroupTypes). */
  groupType: GroupType;
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
  /**
   * Default: maxInFlight × 128 bytes, from 64 KiB to 4 MiB (256,000 bytes for the default window): about one window of
   * small records per fetch. A larger fetch decodes records that then wait, paused, for room in the window: more
   * memory, and more of them survive young-generation GCs.
   */
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

/** The options of the transformer that have a default (releaseTimeoutMs has one worked out from two others). */
type DefaultedOptions = Omit<TransformerOptions, 'kafka' | 'from' | 'to' | 'dlq' | 'group' | 'releaseTimeoutMs'>;

const fixed = fixedDefaults('transformer') as Omit<DefaultedOptions, 'commitIntervalMs' | 'fetchMaxBytes' | 'recordTimeoutMs' | 'transactionalId' | 'workers'>;

/** The defaults, from the option table (commitIntervalMs: the default guarantee's). */
export const defaultTransformerOptions: Readonly<DefaultedOptions> = {
  ...fixed,
  commitIntervalMs: RunOptionTable.commitIntervalMs.default(fixed),
  fetchMaxBytes: RunOptionTable.fetchMaxBytes.default(fixed),
  recordTimeoutMs: undefined,
  transactionalId: undefined,
  workers: {},
};

export type TransformerInit = Pick<TransformerOptions, 'kafka' | 'from' | 'to' | 'dlq' | 'group'> & Partial<TransformerOptions>;


/** The options of the table the transformer takes (the type checks that each is a field of TransformerOptions). */
const TRANSFORMER_KEYS: readonly (keyof TransformerOptions & RunOptionKey)[] = optionKeys('transformer');

export function validateTransformerOptions(o: TransformerOptions): TransformerOptions {
  const fail = (field: string, msg: string) => {
    throw new UsageError(`transformer option ${field} ${msg}`);
  };
  if (!o.kafka || !Array.isArray(o.kafka.brokers) || o.kafka.brokers.length === 0) fail('kafka.brokers', 'must list at least one host:port');
  for (const f of ['from', 'to', 'dlq', 'group'] as const) if (typeof o[f] !== 'string' || o[f] === '') fail(f, 'must be a non-empty string');
  if (o.from === o.to || o.from === o.dlq) fail('to/dlq', `must differ from the input topic "${o.from}"`);
  validateOptions(TRANSFORMER_KEYS, o, 'transformer option', true);
  // A classic member holds its rejoin during a release; the group waits for that rejoin at most rebalanceTimeoutMs.
  if (o.groupType === 'share') {
    // A share group acknowledges records one by one and has no offsets to commit in a transaction, and any member may
    // take any record of a partition: neither exactly-once nor an order can be kept.
    if (o.guarantee !== 'at-least-once') throw new UsageError('option --group-type share (groupType) takes --guarantee at-least-once only: a share group acknowledges each record on its own and has no offsets a transaction could commit with the outputs');
    if (o.ordering !== 'unordered') throw new UsageError(`option --group-type share (groupType) takes --ordering unordered only: the records of one partition (and of one key) go to any member at any time, so no order can be kept (got --ordering ${o.ordering})`);
  }
  if (o.releaseTimeoutMs >= o.rebalanceTimeoutMs) fail('releaseTimeoutMs', `must be below rebalanceTimeoutMs (${o.rebalanceTimeoutMs}), got ${o.releaseTimeoutMs}`);
  return o;
}

/**
 * The options in force for `init`: what it gives over the table's defaults, those worked out from other options
 * included (the commit interval of the guarantee, the release timeout), validated.
 */
export function resolveTransformerOptions(init: TransformerInit): TransformerOptions {
  const given = { ...defaultTransformerOptions, ...init } as TransformerOptions;
  const inputs = { guarantee: given.guarantee, drainTimeoutMs: given.drainTimeoutMs, rebalanceTimeoutMs: given.rebalanceTimeoutMs, maxInFlight: given.maxInFlight };
  const derived: Record<string, number> = {};
  for (const [key, spec] of optionRows()) {
    if (typeof spec.default === 'function' && spec.layers.includes('transformer') && (init as Record<string, unknown>)[key] === undefined) derived[key] = spec.default(inputs);
  }
  return validateTransformerOptions({ ...given, ...derived });
}
