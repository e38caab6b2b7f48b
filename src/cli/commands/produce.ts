// `lagless produce`: writes {"id","url"} records keyed by id to a topic from a file, a synthetic load, or the X filtered stream.
import { Command, InvalidArgumentError, Option } from 'commander';
import { formatDuration } from '../../common/index.ts';
import { LaglessError, UsageError } from '../../errors/index.ts';
import { DEFAULT_IMAGES_DIR, startImageServer, loadImages, type ImageServer } from '../../image-server/index.ts';
import { checkBrokers, createAdmin, createProducer, describeTopics, toLaglessError, validateTopicName, type KafkaConnection } from '../../kafka/index.ts';
import {
  addRules,
  deleteRules,
  listRules,
  openFileSource,
  parseProfile,
  RecordPipe,
  SourceKinds,
  syntheticSource,
  xSource,
  DEFAULT_X_API_BASE,
  type RecordSource,
  type SourceEvent,
  type SourceKind,
  type SyntheticProfile,
  type SyntheticSourceStats,
  type XSourceStats,
  type XApiOptions,
} from '../../sources/index.ts';
import type { CliContext, RegisterCommand } from '../context.ts';
import { addKafkaOptions, kafkaConnection, KAFKA_OPTIONS_HELP, type KafkaFlags } from '../connection-options.ts';
import { durationArg, durationOption, intArg } from '../options.ts';
import { formatCount, formatRate, startProgress, type Progress } from '../progress.ts';

/** Skipped-input warnings printed one by one; the rest are counted in the summary. */
const MAX_PRINTED_SKIPS = 20;

interface ProduceFlags extends KafkaFlags {
  topic?: string;
  source: SourceKind;
  quiet?: boolean;
  json?: boolean;
  allowSkipped?: boolean;
  flushTimeout: number;
  batchSize: number;
  // file
  file?: string;
  // synthetic
  rate?: number | 'max';
  profile?: string;
  count?: number;
  duration?: number;
  latency: number;
  jitter: number;
  images?: string;
  port: number;
  host: string;
  publicUrl?: string;
  keepServing?: number | true;
  imageBase?: string;
  // x
  rule: string[];
  tag?: string;
  listRules?: boolean;
  deleteRules?: string;
  xApiBase: string;
  stallTimeout: number;
}

/** Which source each source-specific option belongs to (attribute names as commander stores them). */
const OPTION_SOURCES: Record<string, { flag: string; source: SourceKind }> = {
  file: { flag: '--file', source: 'file' },
  rate: { flag: '--rate', source: 'synthetic' },
  profile: { flag: '--profile', source: 'synthetic' },
  count: { flag: '--count', source: 'synthetic' },
  duration: { flag: '--duration', source: 'synthetic' },
  latency: { flag: '--latency', source: 'synthetic' },
  jitter: { flag: '--jitter', source: 'synthetic' },
  images: { flag: '--images', source: 'synthetic' },
  port: { flag: '--port', source: 'synthetic' },
  host: { flag: '--host', source: 'synthetic' },
  publicUrl: { flag: '--public-url', source: 'synthetic' },
  keepServing: { flag: '--keep-serving', source: 'synthetic' },
  imageBase: { flag: '--image-base', source: 'synthetic' },
  rule: { flag: '--rule', source: 'x' },
  tag: { flag: '--tag', source: 'x' },
  listRules: { flag: '--list-rules', source: 'x' },
  deleteRules: { flag: '--delete-rules', source: 'x' },
  xApiBase: { flag: '--x-api-base', source: 'x' },
  stallTimeout: { flag: '--stall-timeout', source: 'x' },
};

function rateArg(value: string): number | 'max' {
  if (value.trim().toLowerCase() === 'max') return 'max';
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 10_000_000) {
    throw new InvalidArgumentError(`expected records per second above 0 (up to 10000000), or "max", got "${value}".`);
  }
  return n;
}

function urlArg(value: string): string {
  if (!/^https?:\/\/[^/]+/.test(value) || !URL.canParse(value)) throw new InvalidArgumentError(`expected an http(s) URL, got "${value}".`);
  return value.replace(/\/+$/, '');
}

const HELP = `
Records are UTF-8 JSON values {"id": string, "url": string} keyed by id, written with an idempotent
producer (acks=all). Progress goes to stderr (a refreshing line on a terminal, a line every 5 s
otherwise); the summary goes to stdout (--json for one JSON object).

Sources:
  file       --file F|-           JSON lines {"id","url"} or one http(s) URL per line (id = "u" + 24 hex
                                  digits of the URL's SHA-256). Blank lines are ignored; a malformed
                                  line is reported with its number and skipped.
  synthetic  --rate N|max          records pointing at a local image server (127.0.0.1) serving real
             [--profile P]         photos; ends after --count or --duration (or one pass of a steps
             [--count N] [--duration D]  profile), otherwise at Ctrl-C.
             [--latency MS] [--jitter MS] [--images DIR] [--port P] [--keep-serving [D]]
             Profiles: constant (default, at --rate) | steps:RATE@D,... (e.g. 10@30s,150@60s,10@30s)
                       | bursts:base=N,peak=N,every=D,for=D[,at=D]
  x          X API v2 filtered stream; token in $X_BEARER_TOKEN. One record per photo
             {id: media_key, url}. Rules: --rule VALUE [--tag T], --list-rules, --delete-rules ID,...|all

Exit code: 0 when every record read was delivered; 1 when a record failed, the source failed, or
input lines were skipped (unless --allow-skipped); 2 for a usage error. Ctrl-C stops reading,
flushes (up to --flush-timeout) and prints the summary.

Examples:
  $ lagless produce --topic urls --source file --file urls.jsonl
  $ cat urls.txt | lagless produce --topic urls --source file --file -
  $ lagless produce --topic urls --source synthetic --rate 50 --duration 10s
  $ lagless produce --topic urls --source synthetic --profile steps:10@30s,150@60s,10@30s --latency 100 --keep-serving
  $ lagless produce --topic urls --source synthetic --profile bursts:base=10,peak=200,every=30s,for=5s --duration 5m
  $ X_BEARER_TOKEN=... lagless produce --source x --rule "cat has:images -is:retweet" --tag cats --topic urls
  $ X_BEARER_TOKEN=... lagless produce --source x --list-rules`;

export const register: RegisterCommand = (program, ctx) => {
  const cmd = new Command('produce')
    .description('Produce {"id","url"} records to a topic from a file, a synthetic load, or the X filtered stream')
    .option('--topic <name>', 'topic to write (it must exist: lagless topics create NAME --partitions N)')
    .addOption(new Option('--source <name>', 'where records come from').choices(Object.keys(SourceKinds)).makeOptionMandatory())
    .option('--quiet', 'no progress lines (warnings and the summary are still printed)')
    .option('--json', 'print the summary as one JSON object on stdout')
    .option('--allow-skipped', 'exit 0 even if malformed input was skipped (it is still reported)')
    .addOption(durationOption('--flush-timeout <duration>', 'at the end, how long to wait for outstanding acknowledgements', 30_000))
    .option('--batch-size <n>', 'records per produce request', intArg(1, 100_000), 500)
    .option('--file <path>', '[file] input file, or - for stdin')
    .option('--rate <n>', '[synthetic] records per second, or "max" for as fast as the broker takes them', rateArg)
    .option('--profile <spec>', '[synthetic] constant | steps:RATE@D,... | bursts:base=N,peak=N,every=D,for=D[,at=D]')
    .option('--count <n>', '[synthetic] stop after N records', intArg(0))
    .option('--duration <duration>', '[synthetic] stop after this long (e.g. 10s, 5m)', durationArg)
    .addOption(durationOption('--latency <ms>', '[synthetic] delay the image server adds to every response (ms, or 100ms, 1s)', 0))
    .addOption(durationOption('--jitter <ms>', '[synthetic] extra random delay, uniform in [0, jitter)', 0))
    .option('--images <dir>', '[synthetic] directory of photos to serve (default: the shipped assets/images/)')
    .option('--port <port>', '[synthetic] image server port on 127.0.0.1 (0: any free port)', intArg(0, 65535), 0)
    .option('--host <address>', '[synthetic] address the image server listens on (0.0.0.0 in a container other containers fetch from)', '127.0.0.1')
    .option('--public-url <url>', '[synthetic] base URL written into the records instead of the server\'s own (e.g. http://source:8080 in Docker Compose)', urlArg)
    .option('--keep-serving [duration]', '[synthetic] after producing, keep the image server up (until Ctrl-C, or for the duration)', durationArg)
    .option('--image-base <url>', '[synthetic] do not start a server: point URLs at this running one (same images)', urlArg)
    .option('--rule <value>', '[x] add a stream rule (repeatable), e.g. "cat has:images"', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--tag <tag>', '[x] tag of the rules added with --rule')
    .option('--list-rules', '[x] print the stream rules')
    .option('--delete-rules <ids>', '[x] delete rules by id (comma-separated), or "all"')
    .option('--x-api-base <url>', '[x] X API base URL', urlArg, DEFAULT_X_API_BASE)
    .addOption(durationOption('--stall-timeout <duration>', '[x] reconnect when the stream sends nothing (not even a keep-alive) for this long', 90_000))
    .addHelpText('after', HELP + KAFKA_OPTIONS_HELP);
  addKafkaOptions(cmd);
  cmd.action(async (flags: ProduceFlags) => {
    await produce(cmd, flags, ctx);
  });
  program.addCommand(cmd);
};

function given(cmd: Command, key: string): boolean {
  const source = cmd.getOptionValueSource(key);
  return source !== undefined && source !== 'default';
}

async function produce(cmd: Command, flags: ProduceFlags, ctx: CliContext): Promise<void> {
  // 1. Flags that do not belong to the chosen source are mistakes, not silently ignored.
  for (const [key, { flag, source }] of Object.entries(OPTION_SOURCES)) {
    if (source !== flags.source && given(cmd, key)) {
      throw new UsageError(`option ${flag} applies to --source ${source}, not --source ${flags.source}`);
    }
  }
  if (flags.topic !== undefined) validateTopicName(flags.topic);
  const kafka = kafkaConnection(flags, ctx);

  switch (flags.source) {
    case 'file':
      return produceFromFile(flags, ctx, kafka);
    case 'synthetic':
      return produceSynthetic(cmd, flags, ctx, kafka);
    case 'x':
      return produceFromX(flags, ctx, kafka);
  }
}

function needTopic(flags: ProduceFlags): string {
  if (flags.topic === undefined) throw new UsageError('option --topic <name> is required (the topic to write, e.g. --topic urls)');
  return flags.topic;
}

/** Fails fast, before any server starts or input is read: the broker answers and the topic exists. */
async function checkTarget(kafka: KafkaConnection, topic: string): Promise<number> {
  await checkBrokers(kafka);
  const admin = createAdmin(kafka);
  try {
    const partitions = (await describeTopics(admin, [topic])).get(topic);
    if (partitions === undefined) {
      throw new LaglessError('KAFKA', `topic "${topic}" does not exist at ${kafka.brokers.join(',')}. Create it with: lagless topics create ${topic} --partitions 8`);
    }
    return partitions;
  } catch (err) {
    throw toLaglessError(err, kafka, `looking up topic "${topic}"`);
  } finally {
    await admin.close().catch(() => {});
  }
}

async function produceFromFile(flags: ProduceFlags, ctx: CliContext, kafka: KafkaConnection): Promise<void> {
  if (flags.file === undefined) throw new UsageError('--source file needs --file PATH (or --file - for stdin)');
  const topic = needTopic(flags);
  // Open the file first: a typo in the path is the most likely mistake and needs no broker to report.
  const reporter = new EventReporter(ctx);
  const source = await openFileSource({ path: flags.file, stdin: ctx.stdin, signal: ctx.signal, onEvent: reporter.onEvent });
  await checkTarget(kafka, topic);
  ctx.stderr.write(`Producing ${flags.file === '-' ? 'stdin' : flags.file} to topic ${topic} at ${kafka.brokers.join(',')}\n`);
  const done = await runPipe(ctx, flags, kafka, topic, source, reporter, () => `line ${formatCount(source.stats().lines)}`);
  if (!done.ok) throw done.error;
}

async function produceSynthetic(cmd: Command, flags: ProduceFlags, ctx: CliContext, kafka: KafkaConnection): Promise<void> {
  const topic = needTopic(flags);
  const profile = syntheticProfile(flags);
  if (flags.imageBase !== undefined) {
    const serverFlags = ['latency', 'jitter', 'port', 'host', 'publicUrl', 'keepServing'].filter((k) => given(cmd, k));
    if (serverFlags.length > 0) {
      throw new UsageError(
        `--image-base uses a running image server: ${serverFlags.map((k) => OPTION_SOURCES[k]!.flag).join(', ')} appl${serverFlags.length > 1 ? 'y' : 'ies'} only to the one produce starts`,
      );
    }
  }
  const unbounded = flags.count === undefined && flags.duration === undefined && (profile === 'unlimited' || !Number.isFinite(profile.lengthMs));

  // Images are read before the broker check (a wrong --images fails without a broker), the server starts after it.
  const images = await loadImages(flags.images ?? DEFAULT_IMAGES_DIR);
  await checkTarget(kafka, topic);
  let server: ImageServer | undefined;
  let baseUrl = flags.imageBase;
  if (baseUrl === undefined) {
    server = await startImageServer({ images: flags.images ?? DEFAULT_IMAGES_DIR, latencyMs: flags.latency, jitterMs: flags.jitter, port: flags.port, host: flags.host });
    baseUrl = flags.publicUrl ?? server.url;
    const delay = flags.latency || flags.jitter ? ` with ${formatDuration(flags.latency)}${flags.jitter ? ` + up to ${formatDuration(flags.jitter)} jitter` : ''} latency` : '';
    const published = flags.publicUrl !== undefined ? ` (records say ${flags.publicUrl})` : '';
    ctx.stderr.write(`Serving ${images.length} images at ${server.url}/images/${published}${delay}\n`);
  }
  try {
    const reporter = new EventReporter(ctx);
    const source = syntheticSource({
      baseUrl,
      images: images.map((i) => i.name),
      profile,
      ...(flags.count !== undefined ? { count: flags.count } : {}),
      ...(flags.duration !== undefined ? { durationMs: flags.duration } : {}),
      signal: ctx.signal,
      onEvent: reporter.onEvent,
    });
    const limits = [
      flags.count !== undefined ? `${formatCount(flags.count)} records` : '',
      flags.duration !== undefined ? formatDuration(flags.duration) : '',
      flags.count === undefined && flags.duration === undefined && profile !== 'unlimited' && Number.isFinite(profile.lengthMs) ? `${formatDuration(profile.lengthMs)} (one pass of the profile)` : '',
    ].filter(Boolean);
    ctx.stderr.write(
      `Producing to topic ${topic} at ${kafka.brokers.join(',')}: ${profile === 'unlimited' ? 'as fast as possible' : profile.describe()}` +
        (unbounded ? ', until Ctrl-C' : `, for ${limits.join(' or ')}`) +
        '\n',
    );
    const done = await runPipe(ctx, flags, kafka, topic, source, reporter, () => {
      const s = source.stats();
      return profile === 'unlimited' ? '' : `target ${formatRate(s.targetRate)}`;
    }, (s) => {
      const st = s as SyntheticSourceStats;
      return st.behind > 0 ? [`${formatCount(st.behind)} records behind the profile's schedule (the consumer of the source could not keep up)`] : [];
    });
    if (server && flags.keepServing !== undefined && !ctx.signal.aborted && done.ok) {
      const forMs = flags.keepServing === true ? Infinity : flags.keepServing;
      ctx.stderr.write(`Still serving images at ${server.url}/images/ ${forMs === Infinity ? 'until Ctrl-C' : `for ${formatDuration(forMs)}`}\n`);
      await waitFor(forMs, ctx.signal);
    }
    if (!done.ok) throw done.error;
  } finally {
    await server?.close();
  }
}

function syntheticProfile(flags: ProduceFlags): SyntheticProfile {
  if (flags.rate === 'max') {
    if (flags.profile !== undefined) throw new UsageError('--rate max sends as fast as possible and cannot be combined with --profile');
    return 'unlimited';
  }
  if (flags.profile === undefined) {
    if (flags.rate === undefined) throw new UsageError('--source synthetic needs --rate N (records/s), --rate max, or --profile SPEC');
    return parseProfile('constant', { rate: flags.rate });
  }
  if (flags.rate !== undefined && /^\s*(steps:|[^:]*@)/i.test(flags.profile)) {
    throw new UsageError('--rate conflicts with a steps profile, which sets its own rates (RATE@DURATION,...)');
  }
  try {
    return parseProfile(flags.profile, flags.rate === undefined ? {} : { rate: flags.rate });
  } catch (err) {
    throw new UsageError(`option --profile: ${(err as Error).message}`);
  }
}

async function produceFromX(flags: ProduceFlags, ctx: CliContext, kafka: KafkaConnection): Promise<void> {
  const token = ctx.env.X_BEARER_TOKEN?.trim();
  if (!token) {
    throw new UsageError('--source x needs the bearer token of your X app in the environment variable X_BEARER_TOKEN (X developer portal → your app → Keys and tokens)');
  }
  const api: XApiOptions = { baseUrl: flags.xApiBase, token, signal: ctx.signal };
  const managing = flags.listRules === true || flags.deleteRules !== undefined || flags.rule.length > 0;
  if (flags.tag !== undefined && flags.rule.length === 0) throw new UsageError('--tag labels the rules added with --rule: give at least one --rule');
  let deleteIds: string[] | 'all' | undefined;
  if (flags.deleteRules !== undefined) {
    const text = flags.deleteRules.trim();
    deleteIds = text.toLowerCase() === 'all' ? 'all' : text.split(',').map((s) => s.trim()).filter(Boolean);
    if (deleteIds !== 'all' && deleteIds.length === 0) throw new UsageError('option --delete-rules: expected rule ids separated by commas, or "all"');
  }
  if (flags.topic === undefined && !managing) needTopic(flags);
  // With a topic, check Kafka before touching the rules, so a dead broker does not leave half-done work.
  if (flags.topic !== undefined) await checkTarget(kafka, flags.topic);

  if (deleteIds !== undefined) {
    const deleted = await deleteRules(api, deleteIds);
    ctx.stderr.write(deleted.length === 0 ? 'No rules to delete.\n' : `Deleted ${deleted.length} rule(s): ${deleted.join(', ')}\n`);
  }
  if (flags.rule.length > 0) {
    const res = await addRules(api, flags.rule.map((value) => ({ value, ...(flags.tag ? { tag: flags.tag } : {}) })));
    for (const r of res.created) ctx.stderr.write(`Added rule ${r.id}: ${r.value}${r.tag ? ` [${r.tag}]` : ''}\n`);
    for (const v of res.duplicates) ctx.stderr.write(`Rule already exists: ${v}\n`);
  }
  if (flags.listRules || flags.topic !== undefined) {
    const rules = await listRules(api);
    if (flags.listRules) {
      if (flags.json) ctx.stdout.write(JSON.stringify(rules) + '\n');
      else if (rules.length === 0) ctx.stdout.write('No stream rules.\n');
      else for (const r of rules) ctx.stdout.write(`${r.id}\t${r.value}${r.tag ? `\t[${r.tag}]` : ''}\n`);
    }
    if (flags.topic !== undefined && rules.length === 0) {
      ctx.stderr.write('warning: there are no stream rules, so the stream will deliver nothing; add one with --rule "VALUE has:images" [NO_STREAM_RULES]\n');
    }
  }
  if (flags.topic === undefined) return;

  const topic = flags.topic;
  const reporter = new EventReporter(ctx);
  const source = xSource({ ...api, signal: ctx.signal, onEvent: reporter.onEvent, stallTimeoutMs: flags.stallTimeout });
  ctx.stderr.write(`Producing photos from the X filtered stream (${flags.xApiBase}) to topic ${topic} at ${kafka.brokers.join(',')}, until Ctrl-C\n`);
  const done = await runPipe(ctx, flags, kafka, topic, source, reporter, () => {
    const s = source.stats();
    return `posts ${formatCount(s.posts)}, photos ${formatCount(s.photos)}, reconnects ${s.reconnects}`;
  }, (s) => {
    const st = s as XSourceStats;
    return [`${formatCount(st.posts)} posts (${formatCount(st.postsWithoutPhotos)} without photos), ${formatCount(st.connections)} connection(s), ${st.keepAlives} keep-alives`];
  });
  if (!done.ok) throw done.error;
}

/** Collects source events: prints the first skipped lines and every reconnect, counts the rest. */
class EventReporter {
  skipped = 0;
  skippedLines: number[] = [];
  progress: Progress | undefined;
  readonly #ctx: CliContext;

  constructor(ctx: CliContext) {
    this.#ctx = ctx;
  }

  #print(message: string): void {
    if (this.progress) this.progress.log(message);
    else this.#ctx.stderr.write(message + '\n');
  }

  onEvent = (e: SourceEvent): void => {
    switch (e.type) {
      case 'skipped':
        this.skipped += 1;
        if (e.line !== undefined && this.skippedLines.length < MAX_PRINTED_SKIPS) this.skippedLines.push(e.line);
        if (this.skipped <= MAX_PRINTED_SKIPS) {
          const where = e.line !== undefined ? `line ${e.line}` : 'input';
          this.#print(`warning: skipped ${where}: ${e.reason}${e.text !== undefined ? `: ${e.text}` : ''} [INPUT_SKIPPED]`);
          if (this.skipped === MAX_PRINTED_SKIPS) this.#print(`warning: further skipped input is counted in the summary but not printed [INPUT_SKIPPED]`);
        }
        return;
      case 'connected':
        this.#print(`X stream: connected`);
        return;
      case 'disconnected':
        return; // printed with the reconnect decision below
      case 'reconnecting':
        this.#print(`X stream: ${e.reason}; reconnecting in ${formatDuration(e.delayMs)} (${e.kind} backoff, ${e.basis})`);
        return;
      case 'stream-error':
        this.#print(`X stream error: ${e.message}`);
        return;
    }
  };
}

type PipeOutcome = { ok: true } | { ok: false; error: LaglessError };

/** Produces the source to the topic with progress, then prints the summary. Resolves with the error to throw (after any cleanup). */
async function runPipe(
  ctx: CliContext,
  flags: ProduceFlags,
  kafka: KafkaConnection,
  topic: string,
  source: RecordSource<unknown>,
  reporter: EventReporter,
  progressExtra: () => string,
  summaryExtra: (stats: unknown) => string[] = () => [],
): Promise<PipeOutcome> {
  const producer = createProducer({ ...kafka, clientId: 'lagless-produce' });
  const pipe = new RecordPipe(producer, { topic, batchSize: flags.batchSize, flushTimeoutMs: flags.flushTimeout });
  const started = performance.now();
  let last = { t: started, delivered: 0 };
  const progress = startProgress(ctx.stderr, () => {
    const now = performance.now();
    const c = pipe.counters;
    const rate = ((c.delivered - last.delivered) * 1000) / Math.max(1, now - last.t);
    last = { t: now, delivered: c.delivered };
    const extra = progressExtra();
    return (
      `${formatDuration(now - started)}  delivered ${formatCount(c.delivered)}  ${formatRate(rate)}` +
      (c.failed ? `  failed ${formatCount(c.failed)}` : '') +
      (reporter.skipped ? `  skipped ${formatCount(reporter.skipped)}` : '') +
      (extra ? `  ${extra}` : '')
    );
  }, { quiet: flags.quiet === true });
  reporter.progress = progress;
  let result;
  try {
    result = await pipe.run(source);
  } finally {
    progress.stop();
    reporter.progress = undefined;
    // After a flush timeout, force-close: the summary already counts those records as unconfirmed.
    await producer.close(true).catch(() => {});
  }
  const interrupted = ctx.signal.aborted;
  const stats = source.stats();
  const rate = result.elapsedMs > 0 ? (result.delivered * 1000) / result.elapsedMs : 0;
  if (flags.json) {
    ctx.stdout.write(
      JSON.stringify({
        topic,
        source: source.kind,
        read: result.read,
        delivered: result.delivered,
        failed: result.failed,
        unconfirmed: result.unconfirmed,
        skipped: reporter.skipped,
        elapsedMs: Math.round(result.elapsedMs),
        ratePerSec: Math.round(rate * 10) / 10,
        interrupted,
        sourceStats: stats,
      }) + '\n',
    );
  } else {
    ctx.stdout.write(
      `${interrupted ? 'Interrupted: ' : ''}${formatCount(result.delivered)} delivered, ${formatCount(result.failed)} failed, ` +
        `${formatCount(reporter.skipped)} skipped` +
        (result.unconfirmed ? `, ${formatCount(result.unconfirmed)} unconfirmed` : '') +
        ` to topic ${topic} in ${formatDuration(result.elapsedMs)}` +
        // A rate over a few milliseconds means nothing.
        (result.elapsedMs >= 1000 ? ` (${formatRate(rate).replace('/s', ' records/s')})` : '') +
        '\n',
    );
    for (const line of summaryExtra(stats)) ctx.stdout.write(`  ${line}\n`);
  }

  // The exit code: anything not delivered, or skipped without --allow-skipped, is a failure a script must see.
  if (result.sourceError !== undefined) {
    const e = result.sourceError;
    return { ok: false, error: e instanceof LaglessError ? e : new LaglessError('INTERNAL', `the ${source.kind} source failed: ${(e as Error)?.message ?? String(e)}`, { cause: e }) };
  }
  if (result.failed > 0 || result.unconfirmed > 0) {
    const cause = result.sendError !== undefined ? toLaglessError(result.sendError, kafka, 'producing') : undefined;
    const what = [result.failed ? `${formatCount(result.failed)} record(s) failed` : '', result.unconfirmed ? `${formatCount(result.unconfirmed)} record(s) were not confirmed within --flush-timeout ${formatDuration(flags.flushTimeout)}` : '']
      .filter(Boolean)
      .join(' and ');
    return {
      ok: false,
      error: new LaglessError(cause?.code ?? 'KAFKA', `${what}${cause ? `: ${cause.message}` : ''}`, { cause: result.sendError }),
    };
  }
  if (reporter.skipped > 0 && !flags.allowSkipped) {
    const lines = reporter.skippedLines.length ? ` (line${reporter.skippedLines.length > 1 ? 's' : ''} ${reporter.skippedLines.join(', ')}${reporter.skipped > reporter.skippedLines.length ? ', …' : ''})` : '';
    return {
      ok: false,
      error: new LaglessError('INVALID_MESSAGE', `${formatCount(reporter.skipped)} malformed input record(s) skipped${lines}; the others were delivered. Pass --allow-skipped to exit 0 anyway.`),
    };
  }
  return { ok: true };
}

function waitFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((ok) => {
    if (signal.aborted) return ok();
    const timer = ms === Infinity ? undefined : setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      ok();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
