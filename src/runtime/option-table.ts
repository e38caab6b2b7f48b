// The run options in one table (kind and bounds, default, help, the layers that take each): it drives the checks of
// the transformer's options, the checks of createTransformer's RunOptions and the flags of `lagless run`.
import { hostname } from 'node:os';
import { defaultScalingOptions } from '../autoscale/index.ts';
import { formatDuration, Guarantees, type Guarantee } from '../common/index.ts';
import { UsageError } from '../errors/index.ts';
import { OrderingModes } from '../offsets/index.ts';
import { DEFAULT_RECORD_TIMEOUT_MS, defaultExecutorOptions } from './executor.ts';

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

/**
 * What kind of group the members form.
 * - `consumer`: a consumer group. Each partition has one member at a time; the group scales up to the partition count.
 * - `share`: a share group (KIP-932, Kafka 4.2 and later). Every member fetches from every partition; the broker locks
 *   each record for the member that acquired it, and the member acknowledges it alone (accept, release). Members can
 *   outnumber the partitions. At-least-once and unordered only.
 */
export const GroupTypes = ['consumer', 'share'] as const;
export type GroupType = (typeof GroupTypes)[number];

/** Who takes an option. */
export const OptionLayers = {
  /** TransformerOptions: the runtime's Transformer (validateTransformerOptions). */
  transformer: 'TransformerOptions',
  /** RunOptions: createTransformer and `lagless run` in this process (process/job-runner.ts). */
  run: 'RunOptions',
  /** A flag of `lagless run`, `run palette` and `run noop` (src/cli/commands/run.ts). */
  cli: 'lagless run',
} as const;
export type OptionLayer = keyof typeof OptionLayers;

/** What values an option takes. Durations are milliseconds in the API and "500ms", "10s", "2m" on the command line. */
export type OptionKind =
  | { type: 'int'; min: number; max?: number }
  | { type: 'duration'; min: number; max?: number }
  | { type: 'choice'; choices: readonly string[] }
  | { type: 'string' };

/** What a default may depend on: the options it is worked out from. */
export interface DefaultInputs {
  guarantee: Guarantee;
  drainTimeoutMs: number;
  rebalanceTimeoutMs: number;
  maxInFlight: number;
}

/**
 * The fetch size by default: about one window of small records (128 bytes each), from 64 KiB to 4 MiB. A fetch much
 * larger than the window decodes records that wait, paused, for room in it: they outlive young-generation GCs and are
 * promoted (measured in issue 24: twice the GC time of a window-sized fetch).
 */
export const defaultFetchMaxBytes = (maxInFlight: number): number => Math.min(4 * 1024 * 1024, Math.max(64 * 1024, maxInFlight * 128));

export interface OptionSpec {
  kind: OptionKind;
  /** A fixed default; a function of other options; undefined when an optional option's default is not an option value. */
  default: number | string | undefined | ((o: DefaultInputs) => number);
  /** The default in words, when it is not one fixed value (--help shows "(default: <this>)"). */
  defaultHelp?: string;
  /** undefined is a valid value (the default then comes from elsewhere, see defaultHelp). */
  optional?: true;
  layers: readonly OptionLayer[];
  /** The flag of `lagless run` with its value placeholder; present exactly when `layers` has 'cli'. */
  flag?: `--${string} <${string}>`;
  /** What it does, in the words of `lagless run --help` (flags of the command line where the option has one). */
  help: string;
}

const ALL = ['transformer', 'run', 'cli'] as const;

/** The run options. The order of the rows is free: `lagless run` places each flag itself. */
export const RunOptionTable = {
  clientId: {
    kind: { type: 'string' },
    default: `lagless-${hostname()}-${process.pid}`,
    layers: ['transformer', 'run'],
    help: 'client id of the consumer and producers',
  },
  ordering: {
    kind: { type: 'choice', choices: OrderingModes },
    default: 'unordered',
    layers: ALL,
    flag: '--ordering <mode>',
    help: 'unordered: any record any time; key: one record at a time per key, in order; partition: one record at a time per partition',
  },
  guarantee: {
    kind: { type: 'choice', choices: Guarantees },
    default: 'at-least-once',
    layers: ALL,
    flag: '--guarantee <mode>',
    help:
      'at-least-once: outputs leave as soon as a record is done (a crash redoes up to --max-in-flight records: duplicates); ' +
      'exactly-once: outputs, dead letters and offsets commit together in Kafka transactions (read them with isolation.level=read_committed)',
  },
  transactionTimeoutMs: {
    kind: { type: 'duration', min: 1000 },
    default: 10_000,
    layers: ALL,
    flag: '--transaction-timeout <duration>',
    help: 'exactly-once: how long a transaction may stay open; also the longest a crashed member holds back read_committed readers and the next owner of its partitions',
  },
  maxInFlight: {
    kind: { type: 'int', min: 1, max: 1_000_000 },
    default: 2000,
    layers: ALL,
    flag: '--max-in-flight <n>',
    help: 'records fetched and not yet committed, at most (also the most records redone after a crash)',
  },
  attempts: {
    kind: { type: 'int', min: 1, max: 100 },
    default: 3,
    layers: ALL,
    flag: '--attempts <n>',
    help: 'attempts per record for transient failures (timeouts, 5xx, 429, resets)',
  },
  recordTimeoutMs: {
    kind: { type: 'duration', min: 1 },
    default: undefined,
    defaultHelp: `the job's timeoutMs, else ${formatDuration(DEFAULT_RECORD_TIMEOUT_MS)}`,
    optional: true,
    layers: ALL,
    flag: '--record-timeout <duration>',
    help:
      'deadline of one attempt of a record (its run() and worker calls, not the wait for a free worker): past it, ctx.signal aborts, ' +
      'a worker task still running is stopped, and the attempt fails with RECORD_TIMEOUT, retried up to --attempts, then dead-lettered',
  },
  retryBaseMs: {
    kind: { type: 'duration', min: 0 },
    default: 500,
    layers: ALL,
    flag: '--retry-base <duration>',
    help: 'first retry delay (exponential, full jitter; Retry-After is honoured)',
  },
  retryMaxMs: {
    kind: { type: 'duration', min: 0 },
    default: 30_000,
    layers: ['transformer', 'run'],
    help: 'longest retry delay',
  },
  commitIntervalMs: {
    kind: { type: 'duration', min: 10 },
    default: (o) => defaultCommitIntervalMs[o.guarantee],
    defaultHelp: `${defaultCommitIntervalMs['at-least-once']}ms; ${defaultCommitIntervalMs['exactly-once']}ms with --guarantee exactly-once, one transaction each`,
    layers: ALL,
    flag: '--commit-interval <duration>',
    help: 'how often done offsets are committed (also when the window is half full; at-least-once also as soon as every record in it is done)',
  },
  drainTimeoutMs: {
    kind: { type: 'duration', min: 0 },
    default: 30_000,
    layers: ALL,
    flag: '--drain-timeout <duration>',
    help:
      'on Ctrl-C/SIGTERM, time given to in-flight records and their outputs before they are abandoned (and redone later); ' +
      'committing, leaving the group and the last status get 10 s more at most, also with the broker down',
  },
  closeTimeoutMs: {
    kind: { type: 'duration', min: 0 },
    default: 5000,
    layers: ['transformer'],
    help: 'after the drain, time the final commit and leaving the group get before they are given up',
  },
  releaseTimeoutMs: {
    kind: { type: 'duration', min: 0 },
    default: (o) => Math.max(0, Math.min(o.drainTimeoutMs, o.rebalanceTimeoutMs - 5000)),
    defaultHelp: 'drainTimeoutMs, at most rebalanceTimeoutMs - 5 s',
    layers: ['transformer'],
    help: 'time the records of a partition leaving this member get to finish before it is committed and given up',
  },
  sessionTimeoutMs: {
    kind: { type: 'duration', min: 1000 },
    default: 10_000,
    layers: ALL,
    flag: '--session-timeout <duration>',
    help: 'group session timeout: how soon a crashed member is replaced',
  },
  heartbeatIntervalMs: {
    kind: { type: 'duration', min: 100 },
    default: 1000,
    layers: ['transformer'],
    help: 'how often the member heartbeats to the group coordinator (classic groups)',
  },
  rebalanceTimeoutMs: {
    kind: { type: 'duration', min: 1000 },
    default: 45_000,
    layers: ['transformer'],
    help: 'how long the group waits for its members to rejoin in a rebalance (classic groups)',
  },
  fetchMaxWaitMs: {
    kind: { type: 'duration', min: 0 },
    default: 500,
    layers: ['transformer'],
    help: 'longest wait of a fetch for new records',
  },
  fetchMaxBytes: {
    kind: { type: 'int', min: 1024 },
    default: (o) => defaultFetchMaxBytes(o.maxInFlight),
    defaultHelp: 'maxInFlight × 128 bytes, from 64 KiB to 4 MiB',
    layers: ['transformer'],
    help: 'bytes one fetch returns at most',
  },
  groupProtocol: {
    kind: { type: 'choice', choices: GroupProtocols },
    default: 'classic',
    layers: ALL,
    flag: '--group-protocol <protocol>',
    help: 'classic: classic groups with cooperative-sticky assignment (brokers 2.4+); consumer: KIP-848 groups (brokers 4.0+). Both move only the partitions that change owner',
  },
  groupType: {
    kind: { type: 'choice', choices: GroupTypes },
    default: 'consumer',
    layers: ALL,
    flag: '--group-type <type>',
    help:
      'consumer: a consumer group (one member per partition at a time); share: a share group (KIP-932, Kafka 4.2+): every member takes records of every partition, each acknowledged on its own, so members may outnumber partitions (at-least-once, unordered)',
  },
  maxConcurrency: {
    kind: { type: 'int', min: 1, max: 100_000 },
    default: defaultExecutorOptions.maxConcurrency,
    layers: ALL,
    flag: '--max-concurrency <n>',
    help: 'records in run() before their first worker call (downloads, API calls) at once, at most; autoscaled below it',
  },
  transactionalId: {
    kind: { type: 'string' },
    default: undefined,
    defaultHelp: 'lagless:<group>:<host>:<scope>:<slot> (see claimTransactionalId)',
    optional: true,
    layers: ['transformer'],
    help: "exactly-once: the producer's transactional id",
  },
  idleTimeoutMs: {
    kind: { type: 'duration', min: 0 },
    default: defaultScalingOptions.idleTimeoutMs,
    layers: ['run', 'cli'],
    flag: '--idle-timeout <duration>',
    help: 'autoscaling: scale down only after capacity has been idle this long',
  },
  catchUpMs: {
    kind: { type: 'duration', min: 1 },
    default: defaultScalingOptions.catchUpMs,
    layers: ['run', 'cli'],
    flag: '--catch-up <duration>',
    help: 'autoscaling: size capacity to drain a backlog within this time',
  },
  statusIntervalMs: {
    kind: { type: 'duration', min: 0 },
    default: 2000,
    layers: ['run', 'cli'],
    flag: '--status-every <duration>',
    help: 'how often the status is published (0 = never)',
  },
} as const satisfies Record<string, OptionSpec>;

export type RunOptionKey = keyof typeof RunOptionTable;

/** The options a layer takes. */
export type OptionKeyOf<L extends OptionLayer> = {
  [K in RunOptionKey]: L extends (typeof RunOptionTable)[K]['layers'][number] ? K : never;
}[RunOptionKey];

/** The rows of the table, typed for reading. */
export function optionRows(): [RunOptionKey, OptionSpec][] {
  return Object.entries(RunOptionTable) as [RunOptionKey, OptionSpec][];
}

/** The options a layer takes, in table order. */
export function optionKeys<L extends OptionLayer>(layer: L): OptionKeyOf<L>[] {
  return optionRows()
    .filter(([, spec]) => spec.layers.includes(layer))
    .map(([key]) => key as OptionKeyOf<L>);
}

/** What a valid value is, in words: "an integer >= 1 and <= 100", "one of classic, consumer". */
export function expectation(kind: OptionKind): string {
  switch (kind.type) {
    case 'int':
    case 'duration':
      return `an integer >= ${kind.min}${kind.max === undefined ? '' : ` and <= ${kind.max}`}${kind.type === 'duration' ? ' (milliseconds)' : ''}`;
    case 'choice':
      return `one of ${kind.choices.join(', ')}`;
    case 'string':
      return 'a non-empty string';
  }
}

/** Whether `value` is one the kind takes (undefined is not: see `optional`). */
export function acceptsValue(kind: OptionKind, value: unknown): boolean {
  switch (kind.type) {
    case 'int':
    case 'duration':
      return typeof value === 'number' && Number.isInteger(value) && value >= kind.min && value <= (kind.max ?? Number.MAX_SAFE_INTEGER);
    case 'choice':
      return typeof value === 'string' && kind.choices.includes(value);
    case 'string':
      return typeof value === 'string' && value !== '';
  }
}

function describeValue(v: unknown): string {
  try {
    return typeof v === 'string' ? `"${v}"` : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
  } catch {
    return 'a value that cannot be described';
  }
}

/**
 * Checks the options `keys` of `o` against the table: a UsageError names the first bad one ("<what> maxInFlight must be
 * an integer >= 1 and <= 1000000, got 0"). With `complete` (the transformer's options, defaults merged in) every option
 * but an optional one must be there; else one left undefined takes its default.
 */
export function validateOptions(keys: readonly RunOptionKey[], o: object, what: string, complete: boolean): void {
  for (const key of keys) {
    const spec: OptionSpec = RunOptionTable[key];
    const value = (o as Record<string, unknown>)[key];
    if (value === undefined && (spec.optional || !complete)) continue;
    if (!acceptsValue(spec.kind, value)) {
      throw new UsageError(`${what} ${key} must be ${expectation(spec.kind)}${spec.optional ? ' when given' : ''}, got ${describeValue(value)}`);
    }
  }
}

/** The fixed defaults of a layer's options (those worked out from other options, or from elsewhere, are left out). */
export function fixedDefaults(layer: OptionLayer): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const [key, spec] of optionRows()) {
    if (spec.layers.includes(layer) && (typeof spec.default === 'number' || typeof spec.default === 'string')) out[key] = spec.default;
  }
  return out;
}
