// `npm run demo`: the whole pipeline on this machine with nothing to configure, and a live one-screen summary.
// Local broker (started if none answers), topics, a synthetic source at a steady rate against a local image server,
// the palette transformer with worker autoscaling, and a terminal view of rates, lag, dead letters and palettes.
// The live dashboard of the group is served on 127.0.0.1 (port 8080, or a free one when 8080 is taken).
// Usage: npm run demo [-- --rate 20 --duration 2m --latency 100 --dashboard-port 8080 --brokers host:port --kafka-config client.properties]
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startBroker, stopBroker } from '../src/broker/index.ts';
import { formatDuration, freePort, parseDuration } from '../src/common/index.ts';
import { startImageServer } from '../src/image-server/index.ts';
import { createPaletteJob, type PaletteRecord } from '../src/jobs/index.ts';
import { checkBrokers, createAdmin, createProducer, describeConnection, describeTopics, ensureTopic, resolveConnection, type KafkaConnection } from '../src/kafka/index.ts';
import { JobRunner } from '../src/process/index.ts';
import { RecordPipe, constantProfile, newRunId, syntheticSource } from '../src/sources/index.ts';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '20' },
    duration: { type: 'string' },
    latency: { type: 'string', default: '100' },
    brokers: { type: 'string' },
    'kafka-config': { type: 'string' },
    'dashboard-port': { type: 'string', default: '8080' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log(`npm run demo [-- --rate N] [--duration D] [--latency MS] [--dashboard-port P] [--brokers HOST:PORT] [--kafka-config FILE]

Runs the whole pipeline here: a synthetic source (N image URLs per second, default 20, 2% of them bad) against a
local image server that adds MS of latency per image (default 100, like a CDN), the palette transformer with
autoscaled CPU workers, a live summary, and the live dashboard on http://127.0.0.1:P/ (default 8080, or a free
port when it is taken). Ctrl-C stops everything cleanly.
The Kafka connection comes from --brokers, --kafka-config FILE (a client properties file, e.g. the one
"lagless kafka start --security sasl_ssl" writes) and the KAFKA_* environment variables, as for every lagless command.`);
  process.exit(0);
}
const rate = Number(args.rate);
const latencyMs = Number(args.latency);
const wantedPort = Number(args['dashboard-port']);
if (!(rate > 0) || !(latencyMs >= 0)) {
  console.error('error: --rate must be > 0 and --latency >= 0');
  process.exit(2);
}
if (!Number.isInteger(wantedPort) || wantedPort < 0 || wantedPort > 65535) {
  console.error(`error: --dashboard-port must be a port number (0..65535), got "${args['dashboard-port']}"`);
  process.exit(2);
}
const durationMs = args.duration ? parseDuration(args.duration) : undefined;
let kafka: KafkaConnection;
try {
  kafka = resolveConnection({
    flags: args.brokers ? { 'bootstrap.servers': { value: args.brokers, flag: '--brokers' } } : {},
    ...(args['kafka-config'] ? { configFile: args['kafka-config'] } : {}),
  }).connection;
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exit(2);
}
const brokers = kafka.brokers;
const tty = process.stdout.isTTY === true;
const say = (m: string) => process.stderr.write(`${m}\n`);

// 1. A broker: use the one that answers, or start the local one.
let startedBroker: { port: number } | undefined;
try {
  await checkBrokers({ ...kafka, timeoutMs: 2000 });
  say(`Using the Kafka broker at ${describeConnection(kafka)}.`);
} catch (err) {
  if (brokers.length !== 1 || !brokers[0]!.startsWith('127.0.0.1:') || kafka.tls || kafka.sasl) {
    say(`error: ${(err as Error).message}`);
    process.exit(1);
  }
  const port = Number(brokers[0]!.split(':')[1]);
  say(`No broker at ${brokers[0]}: starting a local Apache Kafka (first time: downloads it with Maven, about 45 MB).`);
  const res = await startBroker({ port, onProgress: say });
  startedBroker = { port };
  say(`Kafka ${res.state.version} is up at ${res.bootstrap} (${formatDuration(res.provisionMs + res.startMs)}).`);
}

// 2. Topics (an existing `urls` keeps its partition count).
const admin = createAdmin(kafka);
const existing = await describeTopics(admin, ['urls']);
const partitions = existing.get('urls') ?? 8;
for (const name of ['urls', 'palettes', 'urls.dlq']) await ensureTopic(admin, { name, partitions }, kafka);
await admin.close();

// 3. The image server and the source.
const server = await startImageServer({ latencyMs, jitterMs: Math.round(latencyMs / 2) });
const allowHost = new URL(server.url).host;
const stop = new AbortController();
const runId = newRunId();
const bad = [`${server.url}/status/404`, `${server.url}/not-image`, `${server.url}/truncated/${server.images[0]}`];
let seq = 0;
async function* withSomeBad(): AsyncGenerator<{ id: string; url: string }> {
  const src = syntheticSource({ baseUrl: server.url, images: server.images, profile: constantProfile(rate), runId, signal: stop.signal, ...(durationMs ? { durationMs } : {}) });
  for await (const r of src) {
    seq += 1;
    // About 2% bad records, so the dead-letter topic has something to show.
    yield seq % 50 === 0 ? { id: r.id, url: bad[(seq / 50) % bad.length]! } : r;
  }
}
const producer = createProducer({ ...kafka, clientId: 'lagless-demo-source' });
const pipe = new RecordPipe(producer, { topic: 'urls' });
const source = Object.assign(withSomeBad(), { kind: 'synthetic' as const, stats: () => ({}) });

// 4. The transformer, with worker autoscaling, serving the dashboard (the wanted port, or a free one if it is taken).
const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1' }, () => probe.close(() => resolve(true)));
  });
const dashboardPort = wantedPort !== 0 && (await portFree(wantedPort)) ? wantedPort : await freePort();
if (wantedPort !== 0 && dashboardPort !== wantedPort) say(`Port ${wantedPort} is taken: the dashboard uses port ${dashboardPort}.`);
const cores = availableParallelism();
const job = createPaletteJob({ download: { allowHosts: [allowHost] } });
const runner = new JobRunner(job, {
  kafka,
  from: 'urls',
  to: 'palettes',
  dlq: 'urls.dlq',
  group: 'lagless-demo',
  workers: { min: 1, max: cores },
  idleTimeoutMs: 30_000,
  statusTopic: 'lagless.status',
  statusIntervalMs: 2000,
  http: { port: dashboardPort, host: '127.0.0.1' },
});
const replica = runner.replica;
const recent: PaletteRecord[] = [];
const events: string[] = [];
const note = (m: string) => {
  events.push(`${new Date().toISOString().slice(11, 19)} ${m}`);
  if (events.length > 4) events.shift();
  if (!tty) say(m);
};
replica.on('scale', (e) => note(e.reason));
replica.on('warning', (e) => note(`warning: ${e.message}`));
replica.transformer.on('record', (o) => {
  if (o.kind === 'dead') note(`dead letter ${o.input.key}: ${o.code}`);
  else {
    recent.unshift(JSON.parse(String(o.outputs[0]!.value)) as PaletteRecord);
    if (recent.length > 6) recent.pop();
  }
});
replica.transformer.on('rebalance', (r) => note(`assigned partitions [${r.assigned.join(',')}]`));
await runner.start();
const dashboardUrl = `http://127.0.0.1:${dashboardPort}/`;
say(`Dashboard: ${dashboardUrl}  (open it in a browser: rates, lag, scaling, dead letters and the palettes, live)`);
const piping = pipe.run(source);
const started = performance.now();

// 5. The screen.
const block = ([r, g, b]: number[]) => (tty ? `\x1b[48;2;${r};${g};${b}m    \x1b[0m` : '');
let last = { t: started, produced: 0, ok: 0 };
function draw(final = false): void {
  const now = performance.now();
  const s = replica.transformer.stats();
  const dt = (now - last.t) / 1000 || 1;
  const inRate = (pipe.counters.delivered - last.produced) / dt;
  const outRate = (s.succeeded - last.ok) / dt;
  last = { t: now, produced: pipe.counters.delivered, ok: s.succeeded };
  const lag = replica.lag ? Number(replica.lag.lag) : 0;
  const lines = [
    `Lagless demo — ${formatDuration(now - started)}  (Ctrl-C to stop)   dashboard: ${dashboardUrl}`,
    `source   ${rate}/s target, ${inRate.toFixed(1)}/s produced, ${pipe.counters.delivered} total (image server ${server.url}, +${latencyMs} ms latency)`,
    `palettes ${outRate.toFixed(1)}/s out, ${s.succeeded} total   dead letters ${s.deadLettered}   retries ${s.retries}`,
    `lag      ${lag} record(s)   in flight ${s.inFlight}   window ${s.windowSize}`,
    `workers  ${s.workers?.active ?? 0} busy / ${s.workers?.workers ?? 0} active / ${s.workers?.maxWorkers ?? 0} max   downloads ${s.concurrency.active} in flight (limit ${s.concurrency.limit})`,
    '',
    'recent palettes:',
    ...recent.map((p) => `  ${p.palette.map(block).join('')} ${p.hex.join(' ')}  ${p.id} (${p.width}x${p.height}, ${p.durationMs} ms)`),
    '',
    ...events,
  ];
  if (tty && !final) process.stdout.write(`\x1b[H\x1b[2J${lines.join('\n')}\n`);
  else if (final || !tty) process.stdout.write(`${lines.slice(0, 5).join('\n')}\n\n`);
}
const screen = setInterval(() => draw(), tty ? 1000 : 5000);

// 6. Stop: on Ctrl-C, or at the end of --duration.
let signals = 0;
const onSignal = () => {
  signals += 1;
  if (signals > 1) process.exit(130);
  stop.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
await Promise.race([piping, new Promise((r) => stop.signal.addEventListener('abort', r, { once: true }))]);
stop.abort();
clearInterval(screen);
say('\nStopping: the source flushes, the transformer finishes its records, commits and leaves the group...');
const produced = await piping;
await producer.close();
// The last records produced are still on their way: give the transformer a few seconds to finish them.
const doneInRun = () => replica.transformer.stats().succeeded + replica.transformer.stats().deadLettered;
for (const until = performance.now() + 15_000; doneInRun() < produced.delivered && performance.now() < until; ) await sleep(200);
await replica.stop();
await server.close();
draw(true);
const left = produced.delivered - doneInRun();
say(
  `Produced ${produced.delivered} record(s); ${replica.transformer.stats().succeeded} palette(s) and ${replica.transformer.stats().deadLettered} dead letter(s) in this run` +
    (left > 0 ? `; ${left} record(s) wait in topic "urls" for the next run (committed offsets: nothing is lost).` : '.'),
);
if (startedBroker) {
  await stopBroker({ port: startedBroker.port });
  say('Stopped the local Kafka broker that the demo started (its data stays in ~/.lagless/kafka).');
}
process.exit(0);
