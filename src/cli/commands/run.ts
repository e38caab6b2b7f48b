// `lagless run ./my-job.ts|palette|noop`: one member of a consumer group that runs a job on records in parallel until Ctrl-C.
import { availableParallelism, hostname } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { formatDuration } from '../../common/index.ts';
import { DEFAULT_STATUS_TOPIC } from '../../control/index.ts';
import { defaultDashboardAccessOptions, jobPreviews } from '../../dashboard/index.ts';
import { LaglessError, UsageError } from '../../errors/index.ts';
import { loadJobFile, type JobDefinition } from '../../job/index.ts';
import { createNoopJob, createPaletteJob, DEFAULT_MAX_BUFFERED_BYTES } from '../../jobs/index.ts';
import { checkBrokers, describeConnection, type KafkaConnection } from '../../kafka/index.ts';
import { Logger, LogFormats, LogLevels, type LogFormat, type LogLevel } from '../../observe/index.ts';
import { defaultDlq, defaultGroup, JobRunner, prepareTopics, runSupervisor, STANDBY_ENV, SUPERVISED_ENV, waitForActivation, type RunOptions } from '../../process/index.ts';
import { defaultTransformerOptions, type Guarantee, type GroupProtocol, type GroupType, type OptionKeyOf, type Ordering, type TransformerStats } from '../../runtime/index.ts';
import type { CliContext, RegisterCommand } from '../context.ts';
import { addKafkaOptions, kafkaConnection, KAFKA_OPTIONS_HELP, type KafkaFlags } from '../connection-options.ts';
import { DASHBOARD_TOKEN_ENV, dashboardToken } from '../dashboard-token.ts';
import { choiceArg, collect, durationOption, intArg, sizeOption, tableFlagValues, tableOption } from '../options.ts';

/** The flags every job takes. */
interface CommonFlags extends KafkaFlags {
  from: string;
  to: string;
  dlq?: string;
  group?: string;
  ordering: Ordering;
  guarantee: Guarantee;
  transactionTimeout: number;
  maxInFlight: number;
  attempts: number;
  recordTimeout?: number;
  retryBase: number;
  commitInterval?: number;
  drainTimeout: number;
  sessionTimeout: number;
  groupProtocol: GroupProtocol;
  groupType: GroupType;
  createTopics: boolean;
  statusInterval: number;
  quiet?: boolean;
  logFormat: LogFormat;
  logLevel?: LogLevel;
  statusTopic: string;
  statusEvery: number;
  httpPort?: number;
  httpHost: string;
  dashboard: boolean;
  dashboardMaxClients: number;
  workers?: number;
  minWorkers?: number;
  maxWorkers?: number;
  idleTimeout: number;
  catchUp: number;
  replicas?: { min: number; max: number };
  standby: number;
  maxConcurrency?: number;
}

/** The palette job's own flags. */
interface PaletteFlags extends CommonFlags {
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

const MAX_CONCURRENCY = defaultTransformerOptions.maxConcurrency;

/**
 * The flags of every job. `defaults` gives built-in jobs their topic and group defaults (a job file has none: --from
 * and --to are required, the group is the job's name). The palette job names its concurrency --max-downloads.
 */
function addCommonOptions(cmd: Command, defaults: { from?: string; to?: string; group?: string; concurrencyFlag: boolean }): Command {
  addKafkaOptions(cmd);
  if (defaults.from) cmd.option('--from <topic>', 'input topic', defaults.from);
  else cmd.option('--from <topic>', 'input topic (required with a job file)');
  if (defaults.to) cmd.option('--to <topic>', 'output topic', defaults.to);
  else cmd.option('--to <topic>', "output topic (required with a job file; the job's other output topics are its outputs)");
  cmd
    .option('--dlq <topic>', 'dead-letter topic (default: <from>.dlq)')
    .option('--group <name>', `consumer group: processes in one group share the partitions${defaults.group ? '' : " (default: the job's name)"}`, defaults.group)
    .addOption(tableOption('ordering'))
    .addOption(tableOption('guarantee'))
    .addOption(tableOption('transactionTimeoutMs'))
    .addOption(tableOption('maxInFlight'))
    .addOption(tableOption('attempts'))
    .addOption(tableOption('recordTimeoutMs'))
    .addOption(tableOption('retryBaseMs'))
    .addOption(tableOption('commitIntervalMs'))
    .addOption(tableOption('drainTimeoutMs'))
    .addOption(tableOption('sessionTimeoutMs'))
    .addOption(tableOption('groupProtocol'))
    .addOption(tableOption('groupType'))
    .option('--no-create-topics', 'fail instead of creating missing output and dead-letter topics')
    .addOption(durationOption('--status-interval <duration>', 'how often a status line is printed', 5000))
    .option('--status-topic <topic>', 'compacted topic where this process publishes its status (read by lagless status)', DEFAULT_STATUS_TOPIC)
    .addOption(tableOption('statusIntervalMs'))
    .option('--http-port <port>', 'serve the group\'s dashboard at /, and /healthz, /readyz and /metrics (Prometheus) on this port', intArg(0, 65535))
    .option('--http-host <address>', `address the HTTP server binds (0.0.0.0 in a container); beyond loopback the dashboard needs ${DASHBOARD_TOKEN_ENV} (probes and metrics do not)`, '127.0.0.1')
    .option('--no-dashboard', 'serve only the probes and metrics on --http-port, not the dashboard')
    .option('--dashboard-max-clients <n>', 'live dashboard pages (event streams) at once; one more gets HTTP 503 with Retry-After', intArg(1, 10_000), defaultDashboardAccessOptions.maxClients)
    .option('-q, --quiet', 'print only warnings, errors, scale events and the final summary (--log-level notice)')
    .addOption(new Option('--log-format <format>', 'text: lines for people; json: one object per line (time, level, msg, code, group, member, fields) for log collectors').argParser(choiceArg(LogFormats)).default('text'))
    .addOption(new Option('--log-level <level>', 'the least severe lines printed: debug, info, notice (scale events, banner, summary), warn, error').argParser(choiceArg(LogLevels)))
    .option('--workers <n>', 'a fixed number of CPU worker threads (turns worker autoscaling off)', intArg(1, 1024))
    .option('--min-workers <n>', 'autoscaling: fewest CPU workers', intArg(1, 1024))
    .option('--max-workers <n>', 'autoscaling: most CPU workers (default: the number of cores)', intArg(1, 1024))
    .addOption(tableOption('idleTimeoutMs'))
    .addOption(tableOption('catchUpMs'))
    .option('--replicas <min..max>', 'run MIN..MAX replica processes in the group on this machine, scaled by lag and rates', replicasArg)
    .option('--standby <n>', 'with --replicas: keep N more replica processes started and warm outside the group, so that a scale-up only has to join', intArg(0, 1024), 0);
  if (defaults.concurrencyFlag) {
    cmd.addOption(tableOption('maxConcurrency'));
  }
  return cmd;
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

const GUARANTEES = `${KAFKA_OPTIONS_HELP}

Guarantees: every input record ends as its outputs or as a dead letter in --dlq; offsets are committed only below
records that are done. --guarantee at-least-once (default): after a crash, at most --max-in-flight records are
processed again and their outputs appear twice. --guarantee exactly-once: outputs, dead letters and offsets commit
together in one Kafka transaction per --commit-interval, so a reader with isolation.level=read_committed sees each
input's outputs exactly once, across crashes, rebalances and broker restarts; outputs arrive up to a commit interval
later.`;

export const register: RegisterCommand = (program, ctx) => {
  // Options after "run palette" belong to palette, not to run: run's own options (for job files) come after the file.
  program.enablePositionalOptions();
  const run = addCommonOptions(new Command('run'), { concurrencyFlag: true })
    .enablePositionalOptions()
    .description('Run a job as one member of a consumer group: consume, process in parallel, produce, commit what is done')
    .usage('<job-file> --from <topic> --to <topic> [options]   |   run palette|noop [options]')
    .argument('[job-file]', 'a module (.ts, .mts, .js, .mjs) whose default export is defineJob({ name, run, ... })')
    .addHelpText(
      'after',
      `${GUARANTEES}

A job file (see README "Write your own job"):
  import { defineJob } from 'lagless';
  export default defineJob({ name: 'upper', run: (record) => ({ value: record.text().toUpperCase() }) });

Example:
  $ lagless run ./upper.ts --from words --to words.upper`,
    )
    .action(async (file: string | undefined, flags: CommonFlags, cmd: Command) => {
      if (!file) {
        cmd.help({ error: true });
        return;
      }
      for (const f of ['from', 'to'] as const) if (!flags[f]) throw new UsageError(`option --${f} <topic> is required to run a job file`);
      const { job } = await loadJobFile(file);
      await runJob(job, flags, ctx, cmd, { maxConcurrency: flags.maxConcurrency ?? MAX_CONCURRENCY, ioWord: 'I/O at once' });
    });

  const palette = addCommonOptions(new Command('palette'), { from: 'urls', to: 'palettes', group: 'lagless', concurrencyFlag: false })
    .description('Turn {"id","url"} records into colour palettes')
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
      `${GUARANTEES}

Example (with the demo image server on 127.0.0.1:8080):
  $ lagless run palette --from urls --to palettes --dlq urls.dlq --group palettes --allow-host 127.0.0.1:8080`,
    )
    .action(async (opts: PaletteFlags, cmd: Command) => {
      const job = createPaletteJob({
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
      await runJob(job, opts, ctx, cmd, { maxConcurrency: opts.maxDownloads, ioWord: 'downloads in flight' });
    });

  const noop = addCommonOptions(new Command('noop'), { from: 'urls', to: 'noop.out', group: 'lagless', concurrencyFlag: true })
    .description('Copy records unchanged (measures the runtime\'s own overhead)')
    .action(async (opts: CommonFlags, cmd: Command) => {
      await runJob(createNoopJob(), opts, ctx, cmd, { maxConcurrency: opts.maxConcurrency ?? MAX_CONCURRENCY, ioWord: 'I/O at once' });
    });

  run.addCommand(palette);
  run.addCommand(noop);
  program.addCommand(run);
};

/** The worker bounds the flags ask for: --workers fixes them, else --min-workers..--max-workers (default 1..cores). */
function workerFlags(f: CommonFlags): { min: number; max: number } {
  if (f.workers !== undefined) return { min: f.workers, max: f.workers };
  const min = f.minWorkers ?? 1;
  const max = f.maxWorkers ?? Math.max(availableParallelism(), min);
  if (min > max) throw new UsageError(`option --min-workers (${min}) must not exceed --max-workers (${max})`);
  return { min, max };
}

interface JobPresentation {
  /** The job's concurrency limit (--max-concurrency, or the palette job's --max-downloads). */
  maxConcurrency: number;
  /** What the concurrency counts, in scale lines: "downloads in flight" for the palette job. */
  ioWord: string;
}

async function runJob(job: JobDefinition, flags: CommonFlags, ctx: CliContext, cmd: Command, p: JobPresentation): Promise<void> {
  if (job.worker === undefined) {
    for (const f of ['workers', 'minWorkers', 'maxWorkers'] as const) {
      if (cmd.getOptionValueSource(f) === 'cli') {
        throw new UsageError(`option --${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: job "${job.name}" has no worker module (its "worker" field), so it has no worker threads to size`);
      }
    }
  }
  if (!flags.replicas && cmd.getOptionValueSource('standby') === 'cli') throw new UsageError('option --standby needs --replicas: standby processes belong to a supervisor of replicas');
  const http = httpOptions(flags, ctx);
  const kafka = kafkaConnection(flags, ctx);
  const workers = workerFlags(flags);
  if (flags.replicas) {
    await superviseReplicas(job, flags, kafka, ctx, http);
    return;
  }
  const options: RunOptions = {
    kafka,
    from: flags.from,
    to: flags.to,
    ...(flags.dlq !== undefined ? { dlq: flags.dlq } : {}),
    group: flags.group ?? defaultGroup(job),
    // --ordering, --max-in-flight, --commit-interval and the other flags of the option table, checked by its parsers.
    ...(tableFlagValues(cmd) as Pick<RunOptions, OptionKeyOf<'cli'>>),
    workers,
    maxConcurrency: p.maxConcurrency,
    createTopics: flags.createTopics,
    statusTopic: flags.statusTopic,
    ...(http ? { http } : {}),
    dashboard: flags.dashboard,
  };
  const logger = processLogger(ctx, flags).child({ group: options.group ?? defaultGroup(job), member: `${hostname()}-${process.pid}` });
  const runner = new JobRunner(job, options);
  const summary = job.worker === undefined ? `${p.ioWord} up to ${p.maxConcurrency}` : runner.autoscaled ? `workers ${workers.min}..${workers.max} (autoscaled)` : `workers ${workers.max}`;
  try {
    const partitions = await runner.prepare();
    const extra = runner.outputTopics.filter((t) => t !== runner.to);
    logger.info(
      `lagless run ${job.name}: ${runner.from} (${partitions} partitions) -> ${runner.to}${extra.length ? ` (and ${extra.join(', ')})` : ''}, ` +
        `dead letters -> ${runner.dlq}; group ${runner.group}; ordering ${flags.ordering}; ${flags.guarantee}; ${summary}`,
      { event: 'start', job: job.name, input: runner.from, partitions, outputs: runner.outputTopics, dlq: runner.dlq, ordering: flags.ordering, guarantee: flags.guarantee },
    );
    logger.info(`kafka: ${describeConnection(kafka)}`);
  } catch (err) {
    await runner.discard();
    throw err;
  }
  // A standby of a supervisor waits here, started and warm but outside the group, until it is needed.
  const standby = ctx.env[STANDBY_ENV] === '1' && ctx.env[SUPERVISED_ENV] !== undefined;
  if (standby) logger.info('standby: started and warm; joins the group when the supervisor asks');
  const woken = standby ? await waitForActivation(ctx.signal) : 'activated';
  if (ctx.signal.aborted || woken !== 'activated') {
    // Stopped while starting: nothing was fetched, so nothing is left to finish, and joining the group only to leave it
    // would move its partitions twice.
    await runner.discard();
    logger.notice(woken === 'orphaned' ? 'standby: the supervisor is gone; stopped without joining the group' : 'stopped before joining the group: nothing to finish', { event: 'stopped' });
    return;
  }
  if (standby) logger.info('standby: activated, joining the group');
  runner.on('warning', (e) => logger.warning(e));
  // Rare and useful even with --quiet (e.g. the URL of the HTTP server when --http-port 0 picked the port).
  runner.on('info', (m) => logger.notice(m));
  runner.on('scale', (e) => logger.notice(`${e.reason} (${p.ioWord} up to ${e.io})`, { event: 'scale', unit: 'workers', from: e.from, to: e.to, io: e.io }));
  runner.on('rebalance', (r) => {
    logger.info(`assignment (generation ${r.generation}): partitions [${r.assigned.join(',')}]${r.revoked.length ? `, revoked [${r.revoked.join(',')}]` : ''}`, {
      event: 'assignment',
      generation: r.generation,
      partitions: r.assigned,
      revoked: r.revoked,
    });
  });
  const started = performance.now();
  await runner.start();
  const txnId = runner.stats().transactions?.transactionalId;
  if (txnId) logger.info(`exactly-once: transactional id ${txnId}, transaction timeout ${formatDuration(flags.transactionTimeout)}, one transaction per ${formatDuration(runner.commitIntervalMs)}`);
  const timer = setInterval(() => {
    const s = runner.stats();
    const lag = runner.lag;
    const rates = runner.rates;
    if (logger.enabled('info')) logger.info(statusLine(s, rates, lag === undefined ? undefined : Number(lag)), { ...statusFields(s, lag), rates });
  }, flags.statusInterval);
  timer.unref();

  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  clearInterval(timer);
  logger.notice(`stopping: finishing ${runner.stats().inFlight} record(s) in flight (up to ${formatDuration(flags.drainTimeout)}; a second Ctrl-C exits at once, and nothing is lost)`);
  const closed = await runner.close();
  const s = runner.stats();
  const elapsed = performance.now() - started;
  logger.notice(
    `stopped after ${formatDuration(elapsed)}: ${s.succeeded} output(s), ${s.deadLettered} dead letter(s), ${s.retries} retr${s.retries === 1 ? 'y' : 'ies'}, ` +
      `${s.timeouts ? `${s.timeouts} attempt(s) past the record timeout, ` : ''}${s.workerCrashes ? `${s.workerCrashes} worker crash(es), ` : ''}` +
      `${s.abandoned} abandoned (redone by the next owner), ${s.handedOver} handed over unstarted, ${s.duplicatesSkipped} refetched record(s) skipped` +
      `${closed.unacknowledged ? `, ${closed.unacknowledged} output(s) not acknowledged by the broker` : ''}${closed.committed ? '' : ', final commit failed'}${closed.leftGroup ? '' : ', group not left'}`,
    {
      event: 'stopped',
      elapsedMs: Math.round(elapsed),
      outputs: s.succeeded,
      deadLetters: s.deadLettered,
      retries: s.retries,
      timeouts: s.timeouts,
      workerCrashes: s.workerCrashes,
      abandoned: s.abandoned,
      handedOver: s.handedOver,
      duplicatesSkipped: s.duplicatesSkipped,
      unacknowledged: closed.unacknowledged,
      committed: closed.committed,
      leftGroup: closed.leftGroup,
    },
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

type HttpOptions = { port: number; host: string; token?: string; maxClients: number };

/** --http-port and its company; the dashboard's token (LAGLESS_DASHBOARD_TOKEN) is checked here, before anything connects. */
function httpOptions(flags: CommonFlags, ctx: CliContext): HttpOptions | undefined {
  if (flags.httpPort === undefined) return undefined;
  const token = flags.dashboard ? dashboardToken(ctx.env, flags.httpHost, '--http-host', ', or serve only the probes and metrics (--no-dashboard)') : undefined;
  return { port: flags.httpPort, host: flags.httpHost, ...(token ? { token } : {}), maxClients: flags.dashboardMaxClients };
}

/** --replicas MIN..MAX: this process supervises replica processes that run the same command without --replicas. */
async function superviseReplicas(job: JobDefinition, flags: CommonFlags, kafka: KafkaConnection, ctx: CliContext, http: HttpOptions | undefined): Promise<void> {
  const dlq = flags.dlq ?? defaultDlq(flags.from);
  await checkBrokers(kafka);
  const partitions = await prepareTopics(kafka, flags.from, [flags.to, ...(job.outputs ?? []), dlq], flags.createTopics);
  const hasWorkers = job.worker !== undefined;
  await runSupervisor({
    // Replicas get the same arguments and environment, so they resolve the same connection; no secret is ever a flag.
    argv: process.argv.slice(2),
    kafka,
    group: flags.group ?? defaultGroup(job),
    topic: flags.from,
    output: flags.to,
    dlq,
    partitions,
    replicas: flags.replicas!,
    standby: flags.standby,
    // Replicas of a job with workers get a fixed number each (the supervisor scales replicas, not threads); a job
    // without worker threads is bounded by each replica's event loop.
    workersPerReplica: hasWorkers ? (flags.workers ?? 1) : 1,
    fixWorkers: hasWorkers,
    idleTimeoutMs: flags.idleTimeout,
    catchUpMs: flags.catchUp,
    drainTimeoutMs: flags.drainTimeout,
    guarantee: flags.guarantee,
    groupType: flags.groupType,
    statusTopic: flags.statusTopic,
    statusIntervalMs: flags.statusEvery,
    ...(http ? { http } : {}),
    dashboard: flags.dashboard,
    previews: jobPreviews(job),
    quiet: flags.quiet ?? false,
    signal: ctx.signal,
    logger: processLogger(ctx, flags).child({ group: flags.group ?? defaultGroup(job), member: `${hostname()}-${process.pid}`, role: 'supervisor' }),
    env: ctx.env,
  });
}

/** The process's logger, from --log-format, --log-level and --quiet (= --log-level notice unless a level is given). */
function processLogger(ctx: CliContext, flags: Pick<CommonFlags, 'logFormat' | 'logLevel' | 'quiet'>): Logger {
  return new Logger({ format: flags.logFormat, level: flags.logLevel ?? (flags.quiet ? 'notice' : 'info'), write: (line) => ctx.stderr.write(line) });
}

/** The status line's figures as fields of a JSON line. */
function statusFields(s: TransformerStats, lag: bigint | undefined): Record<string, unknown> {
  return {
    event: 'status',
    received: s.received,
    outputs: s.succeeded,
    deadLetters: s.deadLettered,
    retries: s.retries,
    inFlight: s.inFlight,
    window: s.windowSize,
    paused: s.paused,
    partitions: s.assigned.map((a) => a.partition),
    ...(lag === undefined ? {} : { lag }),
    ...(s.workers ? { workers: { active: s.workers.active, max: s.workers.workers, queued: s.workers.queued } } : {}),
    io: { active: s.concurrency.active, limit: s.concurrency.limit, queued: s.concurrency.queued },
  };
}

/** The status line: rates from the replica's meter (the same figures its status record and the dashboard show). */
function statusLine(s: TransformerStats, rates: { in: number; out: number; dead: number }, lag: number | undefined): string {
  const w = s.workers;
  const c = s.concurrency;
  const jobPart = `${w ? ` | cpu ${w.active}/${w.workers} (queued ${w.queued})` : ''} | io ${c.active}/${c.limit} (queued ${c.queued})`;
  return (
    `in ${rates.in.toFixed(1)}/s, out ${rates.out.toFixed(1)}/s, dead ${rates.dead.toFixed(1)}/s` +
    `${lag !== undefined ? ` | lag ${lag}` : ''} | in flight ${s.inFlight}, window ${s.windowSize}${s.paused ? ' (full: intake paused)' : ''}${jobPart}` +
    ` | total ok ${s.succeeded}, dead ${s.deadLettered}, retries ${s.retries}${s.timeouts ? `, timeouts ${s.timeouts}` : ''}${s.workerCrashes ? `, worker crashes ${s.workerCrashes}` : ''}` +
    (s.transactions ? ` | transactions ${s.transactions.transactions} (failed ${s.transactions.failedTransactions})` : '')
  );
}
