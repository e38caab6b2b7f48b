// `lagless run palette|noop`: one member of a consumer group that processes records in parallel until Ctrl-C.
import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { formatDuration } from '../../common/index.ts';
import { createNoopJob, createPaletteJob, DEFAULT_MAX_BUFFERED_BYTES } from '../../jobs/index.ts';
import { checkBrokers, createAdmin, describeConnection, describeTopics, ensureTopic, type KafkaConnection } from '../../kafka/index.ts';
import { LaglessError, UsageError } from '../../errors/index.ts';
import { defaultScalingOptions } from '../../autoscale/index.ts';
import { DEFAULT_STATUS_TOPIC } from '../../control/index.ts';
import { Replica, runSupervisor } from '../../process/index.ts';
import { defaultTransformerOptions, type Job, type TransformerStats } from '../../runtime/index.ts';
import type { CliContext, RegisterCommand } from '../context.ts';
import { addKafkaOptions, kafkaConnection, KAFKA_OPTIONS_HELP, type KafkaFlags } from '../connection-options.ts';
import { choiceArg, collect, durationOption, intArg, sizeOption } from '../options.ts';

interface RunOptions extends KafkaFlags {
  from: string;
  to: string;
  dlq?: string;
  group: string;
  ordering: 'unordered' | 'key' | 'partition';
  maxInFlight: number;
  attempts: number;
  retryBase: number;
  commitInterval: number;
  drainTimeout: number;
  sessionTimeout: number;
  createTopics: boolean;
  statusInterval: number;
  quiet?: boolean;
  statusTopic: string;
  statusEvery: number;
  httpPort?: number;
  httpHost: string;
  dashboard: boolean;
  // palette
  workers?: number;
  minWorkers?: number;
  maxWorkers?: number;
  idleTimeout: number;
  catchUp: number;
  replicas?: { min: number; max: number };
  maxDownloads: number;
  maxBufferedBytes: number;
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  downloadTimeout: number;
  maxBody: number;
  maxRedirects: number;
  allowPrivate?: boolean;
  allowHost?: string[];
  colors: number;
  quality: number;
  exact?: boolean;
  maxPixels?: number;
}

function addCommonOptions(cmd: Command, defaults: { to: string }): Command {
  addKafkaOptions(cmd);
  return cmd
    .option('--from <topic>', 'input topic', 'urls')
    .option('--to <topic>', 'output topic', defaults.to)
    .option('--dlq <topic>', 'dead-letter topic (default: <from>.dlq)')
    .option('--group <name>', 'consumer group: processes in one group share the partitions', 'lagless')
    .addOption(
      new Option('--ordering <mode>', 'unordered: any record any time; key: one record at a time per key, in order; partition: one record at a time per partition')
        .argParser(choiceArg(['unordered', 'key', 'partition'] as const))
        .default('unordered'),
    )
    .option('--max-in-flight <n>', 'records fetched and not yet committed, at most (also the most records redone after a crash)', intArg(1, 1_000_000), defaultTransformerOptions.maxInFlight)
    .option('--attempts <n>', 'attempts per record for transient failures (timeouts, 5xx, 429, resets)', intArg(1, 100), defaultTransformerOptions.attempts)
    .addOption(durationOption('--retry-base <duration>', 'first retry delay (exponential, full jitter; Retry-After is honoured)', defaultTransformerOptions.retryBaseMs))
    .addOption(durationOption('--commit-interval <duration>', 'how often done offsets are committed', defaultTransformerOptions.commitIntervalMs))
    .addOption(durationOption('--drain-timeout <duration>', 'on Ctrl-C/SIGTERM, time given to in-flight records and their outputs before they are abandoned (and redone later); committing, leaving the group and the last status get 10 s more at most, also with the broker down', defaultTransformerOptions.drainTimeoutMs))
    .addOption(durationOption('--session-timeout <duration>', 'group session timeout: how soon a crashed member is replaced', defaultTransformerOptions.sessionTimeoutMs))
    .option('--no-create-topics', 'fail instead of creating missing output and dead-letter topics')
    .addOption(durationOption('--status-interval <duration>', 'how often a status line is printed', 5000))
    .option('--status-topic <topic>', 'compacted topic where this process publishes its status (read by lagless status)', DEFAULT_STATUS_TOPIC)
    .addOption(durationOption('--status-every <duration>', 'how often the status is published (0 = never)', 2000))
    .option('--http-port <port>', 'serve the group\'s dashboard at /, and /healthz, /readyz and /metrics (Prometheus) on this port', intArg(0, 65535))
    .option('--http-host <address>', 'address the HTTP server binds (0.0.0.0 in a container)', '127.0.0.1')
    .option('--no-dashboard', 'serve only the probes and metrics on --http-port, not the dashboard')
    .option('-q, --quiet', 'print only warnings, errors, scale events and the final summary');
}

/** "1..3" or "2": a range of replicas. */
function replicasArg(value: string): { min: number; max: number } {
  const m = /^\s*(\d+)\s*(?:\.\.\s*(\d+))?\s*$/.exec(value);
  if (!m) throw new InvalidArgumentError(`expected MIN..MAX (e.g. 1..3) or a number, got "${value}".`);
  const min = Number(m[1]);
  const max = Number(m[2] ?? m[1]);
  if (min < 1 || max < min || max > 256) throw new InvalidArgumentError(`expected 1 <= MIN <= MAX <= 256, got "${value}".`);
  return { min, max };
}

export const register: RegisterCommand = (program, ctx) => {
  const run = new Command('run').description('Run a job as one member of a consumer group: consume, process in parallel, produce, commit what is done');

  const palette = addCommonOptions(new Command('palette'), { to: 'palettes' })
    .description('Turn {"id","url"} records into colour palettes')
    .option('--workers <n>', 'a fixed number of CPU worker threads (turns worker autoscaling off)', intArg(1, 1024))
    .option('--min-workers <n>', 'autoscaling: fewest CPU workers', intArg(1, 1024))
    .option('--max-workers <n>', 'autoscaling: most CPU workers (default: the number of cores)', intArg(1, 1024))
    .addOption(durationOption('--idle-timeout <duration>', 'autoscaling: scale down only after capacity has been idle this long', defaultScalingOptions.idleTimeoutMs))
    .addOption(durationOption('--catch-up <duration>', 'autoscaling: size capacity to drain a backlog within this time', defaultScalingOptions.catchUpMs))
    .option('--replicas <min..max>', 'run MIN..MAX replica processes in the group on this machine, scaled by lag and rates', replicasArg)
    .option('--max-downloads <n>', 'downloads in flight at most', intArg(1, 100_000), 64)
    .addOption(sizeOption('--max-buffered-bytes <size>', 'downloaded bytes waiting for a CPU worker, at most', DEFAULT_MAX_BUFFERED_BYTES))
    .addOption(durationOption('--connect-timeout <duration>', 'DNS + TCP/TLS connect timeout', 10_000))
    .addOption(durationOption('--headers-timeout <duration>', 'time to receive the response headers', 15_000))
    .addOption(durationOption('--body-timeout <duration>', 'longest pause between two body chunks', 15_000))
    .addOption(durationOption('--download-timeout <duration>', 'deadline for a whole download, redirects included', 60_000))
    .addOption(sizeOption('--max-body <size>', 'largest image accepted (TOO_LARGE above)', 20 * 1024 * 1024))
    .option('--max-redirects <n>', 'redirects followed at most', intArg(0, 50), 5)
    .option('--allow-private', 'turn the SSRF guard off: URLs may reach loopback and private addresses')
    .option('--allow-host <host[:port]>', 'let this host (or host:port) through the SSRF guard, e.g. the local image server; repeatable', collect)
    .option('--colors <n>', 'palette size (as colorthief color_count)', intArg(2, 256), 6)
    .option('--quality <n>', 'use every n-th pixel (1 = all)', intArg(1, 1_000_000), 10)
    .option('--exact', 'bit-for-bit Python colorthief 0.2.1 palettes (slower) instead of fast mode')
    .option('--max-pixels <n>', 'largest image in pixels (TOO_MANY_PIXELS above)', intArg(1, 2 ** 31 - 1))
    .addHelpText(
      'after',
      `${KAFKA_OPTIONS_HELP}

Guarantees: at-least-once. Every input record ends as an output in --to or as a dead letter in --dlq; offsets are
committed only below records that are done. After a crash, at most --max-in-flight records are processed again.

Example (with the demo image server on 127.0.0.1:8080):
  $ lagless run palette --from urls --to palettes --dlq urls.dlq --group palettes --allow-host 127.0.0.1:8080`,
    )
    .action(async (opts: RunOptions) => {
      if (opts.replicas) {
        await superviseReplicas(opts, ctx);
        return;
      }
      const cores = availableParallelism();
      const fixed = opts.workers;
      const maxWorkers = fixed ?? opts.maxWorkers ?? Math.max(cores, opts.minWorkers ?? 1);
      const minWorkers = fixed ?? opts.minWorkers ?? 1;
      if (minWorkers > maxWorkers) throw new UsageError(`option --min-workers (${minWorkers}) must not exceed --max-workers (${maxWorkers})`);
      const job = createPaletteJob({
        workers: fixed ?? minWorkers,
        maxWorkers,
        minWorkers,
        idleTimeoutMs: opts.idleTimeout,
        maxDownloads: opts.maxDownloads,
        maxBufferedBytes: opts.maxBufferedBytes,
        palette: {
          colors: opts.colors,
          quality: opts.quality,
          mode: opts.exact ? 'exact' : 'fast',
          ...(opts.maxPixels ? { maxPixels: opts.maxPixels } : {}),
        },
        download: {
          connectTimeoutMs: opts.connectTimeout,
          headersTimeoutMs: opts.headersTimeout,
          bodyTimeoutMs: opts.bodyTimeout,
          totalTimeoutMs: opts.downloadTimeout,
          maxBytes: opts.maxBody,
          maxRedirects: opts.maxRedirects,
          allowPrivate: opts.allowPrivate ?? false,
          allowHosts: opts.allowHost ?? [],
        },
      });
      const autoscale =
        minWorkers < maxWorkers
          ? { ...defaultScalingOptions, minUnits: minWorkers, maxUnits: maxWorkers, idleTimeoutMs: opts.idleTimeout, catchUpMs: opts.catchUp }
          : undefined;
      await runJob(job, opts, ctx, autoscale ? `workers ${minWorkers}..${maxWorkers} (autoscaled)` : `workers ${maxWorkers}`, autoscale);
    });

  const noop = addCommonOptions(new Command('noop'), { to: 'noop.out' })
    .description('Copy records unchanged (measures the runtime\'s own overhead)')
    .action(async (opts: RunOptions) => {
      await runJob(createNoopJob(), opts, ctx, 'passthrough');
    });

  run.addCommand(palette);
  run.addCommand(noop);
  program.addCommand(run);
};

async function prepareTopics(kafka: KafkaConnection, from: string, outputs: string[], create: boolean): Promise<number> {
  const admin = createAdmin(kafka);
  try {
    const counts = await describeTopics(admin, [from, ...outputs]);
    const partitions = counts.get(from);
    if (partitions === undefined) {
      throw new LaglessError('KAFKA', `the input topic "${from}" does not exist. Create it with: lagless topics create ${from} --partitions 8`);
    }
    for (const t of outputs) {
      if (counts.has(t)) continue;
      if (!create) throw new LaglessError('KAFKA', `the topic "${t}" does not exist (and --no-create-topics was given)`);
      await ensureTopic(admin, { name: t, partitions }, kafka);
    }
    return partitions;
  } finally {
    await admin.close().catch(() => {});
  }
}

function rate(n: number, ms: number): string {
  return ms > 0 ? ((n * 1000) / ms).toFixed(1) : '0.0';
}

async function runJob(job: Job, opts: RunOptions, ctx: CliContext, jobSummary: string, autoscale?: ConstructorParameters<typeof Replica>[0]['autoscale']): Promise<void> {
  const kafka = kafkaConnection(opts, ctx);
  const dlq = opts.dlq ?? `${opts.from}.dlq`;
  const log = (line: string) => ctx.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  try {
    await checkBrokers(kafka);
    const partitions = await prepareTopics(kafka, opts.from, [opts.to, dlq], opts.createTopics);
    if (!opts.quiet) {
      log(`lagless run ${job.name}: ${opts.from} (${partitions} partitions) -> ${opts.to}, dead letters -> ${dlq}; group ${opts.group}; ordering ${opts.ordering}; ${jobSummary}`);
      log(`kafka: ${describeConnection(kafka)}`);
    }
  } catch (err) {
    await job.close().catch(() => {});
    throw err;
  }
  const replica = new Replica({
    job,
    transformer: {
      kafka,
      from: opts.from,
      to: opts.to,
      dlq,
      group: opts.group,
      ordering: opts.ordering,
      maxInFlight: opts.maxInFlight,
      attempts: opts.attempts,
      retryBaseMs: opts.retryBase,
      commitIntervalMs: opts.commitInterval,
      drainTimeoutMs: opts.drainTimeout,
      sessionTimeoutMs: opts.sessionTimeout,
    },
    ...(autoscale ? { autoscale, maxDownloads: opts.maxDownloads } : {}),
    statusTopic: opts.statusTopic,
    statusIntervalMs: opts.statusEvery,
    ...(opts.httpPort !== undefined ? { http: { port: opts.httpPort, host: opts.httpHost } } : {}),
    dashboard: opts.dashboard,
    env: ctx.env,
  });
  const transformer = replica.transformer;
  replica.on('warning', (e) => log(`warning: ${e.message}`));
  // Rare and useful even with --quiet (e.g. the URL of the HTTP server when --http-port 0 picked the port).
  replica.on('info', (m) => log(m));
  replica.on('scale', (e) => log(`${e.reason} (downloads in flight up to ${e.downloads})`));
  transformer.on('rebalance', (r) => {
    if (!opts.quiet) log(`assignment (generation ${r.generation}): partitions [${r.assigned.join(',')}]${r.revoked.length ? `, revoked [${r.revoked.join(',')}]` : ''}`);
  });
  const started = performance.now();
  await replica.start();
  let last = { t: started, s: transformer.stats() };
  const timer = setInterval(() => {
    const now = performance.now();
    const s = transformer.stats();
    if (!opts.quiet) log(statusLine(s, last.s, now - last.t, replica.lag ? Number(replica.lag.lag) : undefined));
    last = { t: now, s };
  }, opts.statusInterval);
  timer.unref();

  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  clearInterval(timer);
  log(`stopping: finishing ${transformer.stats().inFlight} record(s) in flight (up to ${formatDuration(opts.drainTimeout)}; a second Ctrl-C exits at once, and nothing is lost)`);
  await replica.stop();
  // close() keeps its promise: the same summary, after the replica's own shutdown.
  const closed = await transformer.close();
  const s = transformer.stats();
  const elapsed = performance.now() - started;
  log(
    `stopped after ${formatDuration(elapsed)}: ${s.succeeded} output(s), ${s.deadLettered} dead letter(s), ${s.retries} retr${s.retries === 1 ? 'y' : 'ies'}, ` +
      `${s.abandoned} abandoned (redone by the next owner), ${s.duplicatesSkipped} refetched record(s) skipped` +
      `${closed.unacknowledged ? `, ${closed.unacknowledged} output(s) not acknowledged by the broker` : ''}${closed.committed ? '' : ', final commit failed'}${closed.leftGroup ? '' : ', group not left'}`,
  );
  // Records abandoned and outputs not acknowledged at the drain deadline are a drain timeout, redone by the next owner
  // (as with a slow job). A final commit or a group leave that got no answer means the broker is away: exit 1.
  if (!closed.committed || !closed.leftGroup) {
    throw new LaglessError(
      'SHUTDOWN_INCOMPLETE',
      `the broker did not answer while stopping (${closed.committed ? '' : 'final commit failed, '}${closed.leftGroup ? 'group left' : 'group not left'}; ` +
        `${closed.unacknowledged} output(s) not acknowledged, ${closed.abandoned} record(s) abandoned). Nothing done since the last commit is lost: ` +
        'the next member of the group redoes it.',
    );
  }
}

/** --replicas MIN..MAX: this process supervises replica processes that run the same command without --replicas. */
async function superviseReplicas(opts: RunOptions, ctx: CliContext): Promise<void> {
  const kafka = kafkaConnection(opts, ctx);
  const dlq = opts.dlq ?? `${opts.from}.dlq`;
  await checkBrokers(kafka);
  const partitions = await prepareTopics(kafka, opts.from, [opts.to, dlq], opts.createTopics);
  await runSupervisor({
    // Replicas get the same arguments and environment, so they resolve the same connection; no secret is ever a flag.
    argv: process.argv.slice(2),
    kafka,
    group: opts.group,
    topic: opts.from,
    output: opts.to,
    dlq,
    partitions,
    replicas: opts.replicas!,
    workersPerReplica: opts.workers ?? 1,
    idleTimeoutMs: opts.idleTimeout,
    catchUpMs: opts.catchUp,
    drainTimeoutMs: opts.drainTimeout,
    statusTopic: opts.statusTopic,
    statusIntervalMs: opts.statusEvery,
    ...(opts.httpPort !== undefined ? { http: { port: opts.httpPort, host: opts.httpHost } } : {}),
    dashboard: opts.dashboard,
    quiet: opts.quiet ?? false,
    signal: ctx.signal,
    log: (line) => ctx.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`),
    env: ctx.env,
  });
}

function statusLine(s: TransformerStats, prev: TransformerStats, ms: number, lag: number | undefined): string {
  const j = s.job;
  const jobPart =
    j.workers !== undefined
      ? ` | cpu ${j.cpuActive}/${j.workers} (queued ${j.cpuQueued}) | downloads ${j.downloadsActive} (queued ${j.downloadsQueued})`
      : '';
  return (
    `in ${rate(s.received - prev.received, ms)}/s, out ${rate(s.succeeded - prev.succeeded, ms)}/s, dead ${rate(s.deadLettered - prev.deadLettered, ms)}/s` +
    `${lag !== undefined ? ` | lag ${lag}` : ''} | in flight ${s.inFlight}, window ${s.windowSize}${s.paused ? ' (full: intake paused)' : ''}${jobPart}` +
    ` | total ok ${s.succeeded}, dead ${s.deadLettered}, retries ${s.retries}`
  );
}
