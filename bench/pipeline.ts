// Pipeline benchmark: latency hiding, per-message vs per-partition parallelism, runtime overhead vs a bare client loop, and RSS under a 1M backlog.
//
//   npm run bench -- pipeline [--quick] [--only pool,pipeline,partition,overhead,memory] [--workers N]
//                             [--records 1200] [--pipeline-rounds 3] [--partition-records 300] [--partitions 8] [--latency 100]
//                             [--overhead-records 200000] [--rounds 3] [--memory-records 1000000]
//                             [--memory-seconds 60] [--brokers host:port] [--out FILE]
//
// Everything runs against a real broker (KAFKA_BROKERS if it answers on loopback, else one this bench starts on a
// free port with a temporary data directory and stops at the end) and the real image server on 127.0.0.1. Rates
// are measured side by side in this one run; the verdicts compare them with PRODUCT.md's targets.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Consumer, Producer, ProduceAcks, stringDeserializers, stringSerializers, type Message } from '@platformatic/kafka';
import { Piscina } from 'piscina';
import { startBroker, stopBroker } from '../src/broker/index.ts';
import { freePort } from '../src/common/index.ts';
import { startImageServer, DEFAULT_IMAGES_DIR, loadImages } from '../src/image-server/index.ts';
import { createNoopJob, createPaletteJob } from '../src/jobs/index.ts';
import { checkBrokers, createAdmin, createProducer, ensureTopic } from '../src/kafka/index.ts';
import { decodeWorkerResult, paletteWorkerUrl, type PaletteTask, type PaletteWorkerResult } from '../src/palette/index.ts';
import { Transformer, type Job, type Ordering } from '../src/runtime/index.ts';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const CLI = join(ROOT, 'bin/lagless.js');

export const TARGETS = {
  /** Images/s with 100 ms per download, as a fraction of the CPU-bound rate (0 ms). */
  latencyHidden: 0.8,
  /** Messages/s of the noop job through the Transformer, as a fraction of a bare client loop. */
  overhead: 0.7,
  /** Largest RSS with a 1M-record backlog, MB. */
  maxRssMb: 300,
  /**
   * "Flat": the peak RSS of the last third of the sampling exceeds the peak of the middle third by less than this
   * fraction of the peak. (RSS climbs in steps to a plateau: allocators keep their high-water marks; a leak keeps
   * climbing.)
   */
  flatGrowth: 0.05,
} as const;

export const STAGES = ['pool', 'pipeline', 'partition', 'overhead', 'memory'] as const;
export type Stage = (typeof STAGES)[number];

export interface PipelineBenchOptions {
  /** Stages to run. Default all. */
  only: readonly Stage[];
  /** CPU worker threads, the same in every stage. Default: all cores. */
  workers: number;
  /** Input partitions of the pipeline topics. Default 8. */
  partitions: number;
  /** Download latency the image server adds, ms. Default 100. */
  latencyMs: number;
  /** Images per pipeline run (0 ms and latency runs) and per raw-pool run. Default 1200. */
  records: number;
  /** Images for the --ordering partition run (it is slow by design). Default 300. */
  partitionRecords: number;
  /** Pipeline runs per latency, alternated (0 ms, latency, latency, 0 ms, ...); medians are reported. Default 3. */
  pipelineRounds: number;
  /** Records of the pre-produced topic for the overhead stage. Default 200 000. */
  overheadRecords: number;
  /** Overhead runs of each contender, alternated (bare, noop, bare, ...); medians are reported. Default 3. */
  rounds: number;
  /** Backlog for the memory stage. Default 1 000 000. */
  memoryRecords: number;
  /** How long the memory stage samples the transformer's RSS (once a second), s. Default 60. */
  memorySeconds: number;
  /** Brokers to use ("host:port,..." on loopback). Default KAFKA_BROKERS; without it (or if it does not answer) a broker is started. */
  brokers: string | undefined;
  /** Where the JSON goes. Default bench/results/pipeline-<timestamp>.json. */
  out: string | undefined;
  /** Progress lines (stderr in the CLI). */
  log: (line: string) => void;
}

export function defaultPipelineBenchOptions(): PipelineBenchOptions {
  return {
    only: STAGES,
    workers: availableParallelism(),
    partitions: 8,
    latencyMs: 100,
    records: 1200,
    partitionRecords: 300,
    pipelineRounds: 3,
    overheadRecords: 200_000,
    rounds: 3,
    memoryRecords: 1_000_000,
    memorySeconds: 60,
    brokers: process.env.KAFKA_BROKERS,
    out: undefined,
    log: () => {},
  };
}

/** `--quick`: a smoke run of a minute or so; the figures are rough. */
export const quickSizes = {
  records: 200,
  partitionRecords: 80,
  pipelineRounds: 1,
  overheadRecords: 20_000,
  rounds: 1,
  memoryRecords: 20_000,
  memorySeconds: 10,
} as const satisfies Partial<PipelineBenchOptions>;

// ---------------------------------------------------------------------------------------------------------------
// Environment: the broker, created topics, cleanup

interface BenchEnv {
  brokers: string[];
  /** Set when this bench started the broker. */
  owned: { port: number; dataDir: string; pid: number } | undefined;
  /** Unique prefix of every topic and group of this run. */
  prefix: string;
  topics: string[];
  cleanups: (() => Promise<void>)[];
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1):\d+$/;

async function openEnv(o: PipelineBenchOptions): Promise<BenchEnv> {
  const prefix = `bench-pipe-${Date.now().toString(36)}`;
  const env: BenchEnv = { brokers: [], owned: undefined, prefix, topics: [], cleanups: [] };
  if (o.brokers) {
    const list = o.brokers.split(',').map((b) => b.trim());
    const far = list.filter((b) => !LOOPBACK.test(b));
    // This bench floods its broker: it must never point at anything beyond this machine.
    if (far.length) throw new Error(`brokers must be on loopback (127.0.0.0/8, localhost, [::1]); refusing ${far.join(', ')}`);
    try {
      await checkBrokers({ brokers: list, timeoutMs: 3000 });
      env.brokers = list;
      o.log(`using the broker at ${list.join(',')}`);
      return env;
    } catch {
      o.log(`${list.join(',')} does not answer: starting a broker for this run`);
    }
  }
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'lagless-bench-kafka-'));
  o.log(`starting a Kafka broker on 127.0.0.1:${port} (data in ${dataDir})`);
  const res = await startBroker({ port, dataDir });
  env.owned = { port, dataDir, pid: res.state.pid };
  env.brokers = [res.bootstrap];
  return env;
}

async function closeEnv(env: BenchEnv): Promise<void> {
  for (const c of env.cleanups.splice(0).reverse()) await c().catch(() => {});
  if (env.owned) {
    await stopBroker({ port: env.owned.port, dataDir: env.owned.dataDir, timeoutMs: 20_000 }).catch(() => {});
    await rm(env.owned.dataDir, { recursive: true, force: true });
    env.owned = undefined;
  } else if (env.topics.length) {
    const admin = createAdmin({ brokers: env.brokers, clientId: 'lagless-bench' });
    await admin.deleteTopics({ topics: env.topics.splice(0) }).catch(() => {});
    await admin.close().catch(() => {});
  }
}

async function createTopics(env: BenchEnv, names: string[], partitions: number): Promise<void> {
  const admin = createAdmin({ brokers: env.brokers, clientId: 'lagless-bench' });
  try {
    for (const name of names) {
      await ensureTopic(admin, { name, partitions }, env.brokers);
      env.topics.push(name);
    }
  } finally {
    await admin.close().catch(() => {});
  }
}

/** Produces `count` URL records {"id","url"} keyed by id, with a few batches in flight (acks=all, idempotent). */
async function produceUrls(env: BenchEnv, topic: string, count: number, urlOf: (i: number, id: string) => string): Promise<number> {
  const producer = createProducer({ brokers: env.brokers, clientId: 'lagless-bench-source' });
  const t0 = performance.now();
  try {
    const batch = 2000;
    const inFlight = new Set<Promise<unknown>>();
    for (let i = 0; i < count; i += batch) {
      const messages = [];
      for (let j = i; j < Math.min(count, i + batch); j++) {
        const id = `${topic}-${j}`;
        messages.push({ topic, key: id, value: JSON.stringify({ id, url: urlOf(j, id) }) });
      }
      const p = producer.send({ messages }).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= 4) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    await producer.close().catch(() => {});
  }
  return performance.now() - t0;
}

// ---------------------------------------------------------------------------------------------------------------
// CPU accounting: this process (all threads) and the broker if we own it

function procCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 (1-based) of the whole line, i.e. 11 and 12 after the ")".
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

interface CpuMark {
  self: number;
  broker: number | undefined;
}
function cpuMark(env: BenchEnv): CpuMark {
  const u = process.cpuUsage();
  return { self: (u.user + u.system) / 1000, broker: env.owned ? procCpuMs(env.owned.pid) : undefined };
}
function cpuSince(env: BenchEnv, m: CpuMark, items: number): { benchCpuMsPerItem: number; brokerCpuMsPerItem: number | null } {
  const now = cpuMark(env);
  return {
    benchCpuMsPerItem: (now.self - m.self) / items,
    brokerCpuMsPerItem: now.broker !== undefined && m.broker !== undefined ? (now.broker - m.broker) / items : null,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// ---------------------------------------------------------------------------------------------------------------
// Stage 1a: the raw worker pool on the same images, no Kafka, no HTTP

export interface PoolFigure {
  workers: number;
  images: number;
  seconds: number;
  perSecond: number;
}

export async function measureWorkerPool(o: Pick<PipelineBenchOptions, 'workers' | 'records'>): Promise<PoolFigure> {
  const images = (await loadImages(DEFAULT_IMAGES_DIR)).map((i) => i.bytes);
  const pool = new Piscina<PaletteTask, PaletteWorkerResult>({
    filename: paletteWorkerUrl.href,
    minThreads: o.workers,
    maxThreads: o.workers,
    concurrentTasksPerWorker: 1,
  });
  try {
    // Each task gets its own copy of the bytes, transferred as the job does (a download is a fresh buffer too).
    const runOne = async (i: number) => {
      const bytes = new Uint8Array(images[i % images.length]!);
      decodeWorkerResult(await pool.run({ bytes, options: {} }, { transferList: [bytes.buffer as ArrayBuffer] }));
    };
    // Warm-up: every thread loads sharp and compiles the engine once.
    await Promise.all(Array.from({ length: o.workers * 2 }, (_, i) => runOne(i)));
    let next = 0;
    const t0 = performance.now();
    // Two tasks per thread keep every thread busy with no gap between tasks.
    await Promise.all(
      Array.from({ length: o.workers * 2 }, async () => {
        while (next < o.records) await runOne(next++);
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    return { workers: o.workers, images: o.records, seconds, perSecond: o.records / seconds };
  } finally {
    await pool.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Stages 1b and 2: the palette pipeline end to end (Kafka in, download, worker pool, Kafka out, commits)

export interface PipelineRun {
  latencyMs: number;
  ordering: Ordering;
  partitions: number;
  workers: number;
  records: number;
  outputs: number;
  deadLetters: number;
  /** From the first record handed to the job to the last output acknowledged. */
  seconds: number;
  perSecond: number;
  /** Rate between the 10th percentile output and the last (ramp-up excluded). */
  steadyPerSecond: number;
  benchCpuMsPerItem: number;
  brokerCpuMsPerItem: number | null;
  /** Downloads in flight at once at most, as the image server saw it. */
  maxConcurrentDownloads: number;
}

async function until<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`timed out after ${ms / 1000} s: ${what()}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Wraps a job to note when the first record reached it. */
function timedJob(job: Job, mark: { first: number | undefined }): Job {
  return {
    name: job.name,
    run: (input, ctx) => {
      mark.first ??= performance.now();
      return job.run(input, ctx);
    },
    ...(job.stats ? { stats: () => job.stats!() } : {}),
    close: () => job.close(),
  };
}

/** Runs a Transformer over a pre-produced topic until `expected` records are done; resolves with the timings. */
async function drainWithTransformer(
  env: BenchEnv,
  job: Job,
  t: { from: string; to: string; dlq: string; group: string; ordering: Ordering },
  expected: number,
): Promise<{ seconds: number; steadySeconds: number; steadyCount: number; outputs: number; deadLetters: number; firstDead: string | undefined }> {
  const mark = { first: undefined as number | undefined };
  const tr = new Transformer(timedJob(job, mark), { brokers: env.brokers, clientId: `${t.group}-member`, ...t });
  let outputs = 0;
  let deadLetters = 0;
  let firstDead: string | undefined;
  let tenth = 0;
  let last = 0;
  const tenthAt = Math.max(1, Math.floor(expected / 10));
  const done = new Promise<void>((ok) => {
    tr.on('record', (r) => {
      if (r.kind === 'ok') outputs += 1;
      else {
        deadLetters += 1;
        firstDead ??= `${r.code}: ${r.message}`;
      }
      const n = outputs + deadLetters;
      if (n === tenthAt) tenth = performance.now();
      if (n === expected) {
        last = performance.now();
        ok();
      }
    });
  });
  try {
    await tr.start();
    await until(done, 30 * 60_000, () => `${outputs + deadLetters} of ${expected} records done (${JSON.stringify(tr.stats())})`);
  } finally {
    await tr.close().catch(() => {});
  }
  return {
    seconds: (last - mark.first!) / 1000,
    steadySeconds: (last - tenth) / 1000,
    steadyCount: expected - tenthAt,
    outputs,
    deadLetters,
    firstDead,
  };
}

let runCounter = 0;
const uniq = (env: BenchEnv, what: string) => `${env.prefix}-${what}-${++runCounter}`;

export async function measurePipeline(
  env: BenchEnv,
  o: { latencyMs: number; ordering: Ordering; records: number; partitions: number; workers: number },
): Promise<PipelineRun> {
  const server = await startImageServer({ latencyMs: o.latencyMs });
  try {
    const from = uniq(env, 'urls');
    const to = `${from}.out`;
    const dlq = `${from}.dlq`;
    await createTopics(env, [from, to, dlq], o.partitions);
    await produceUrls(env, from, o.records, (i, id) => server.imageUrl(i, { id }));
    const job = createPaletteJob({
      workers: o.workers,
      maxWorkers: o.workers,
      minWorkers: o.workers,
      download: { allowHosts: [`127.0.0.1:${server.port}`] },
    });
    const cpu = cpuMark(env);
    const r = await drainWithTransformer(env, job, { from, to, dlq, group: `${from}-group`, ordering: o.ordering }, o.records);
    if (r.deadLetters) throw new Error(`${r.deadLetters} image(s) were dead-lettered (first: ${r.firstDead}): the figures would not be comparable`);
    return {
      latencyMs: o.latencyMs,
      ordering: o.ordering,
      partitions: o.partitions,
      workers: o.workers,
      records: o.records,
      outputs: r.outputs,
      deadLetters: r.deadLetters,
      seconds: r.seconds,
      perSecond: o.records / r.seconds,
      steadyPerSecond: r.steadyCount / r.steadySeconds,
      ...cpuSince(env, cpu, o.records),
      maxConcurrentDownloads: server.stats.maxInFlight,
    };
  } finally {
    await server.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Stage 3: runtime overhead, noop job through the Transformer vs a bare @platformatic/kafka loop

export interface OverheadRun {
  contender: 'noop' | 'bare';
  records: number;
  seconds: number;
  perSecond: number;
  benchCpuMsPerItem: number;
  brokerCpuMsPerItem: number | null;
}

/** Records per produce request in the bare loop (the Transformer's sink batches up to 500). */
export const BARE_BATCH = 1000;

/**
 * What a competent user writes with @platformatic/kafka for "consume, produce, commit after the ack": a group
 * consumer in flowing mode fills a queue, one send at a time takes everything queued (up to BARE_BATCH) as one
 * produce request to an idempotent acks=all producer, and after each acknowledged batch the next offsets are
 * committed, one commit request at a time with the newest offsets coalesced (commits never block the sends).
 * Resolves when `expected` outputs are acknowledged and their offsets committed.
 */
export async function bareLoop(brokers: string[], from: string, to: string, group: string, expected: number): Promise<{ first: number; last: number }> {
  const consumer = new Consumer({
    clientId: `${group}-bare`,
    bootstrapBrokers: brokers,
    groupId: group,
    deserializers: stringDeserializers,
    autocommit: false,
    maxWaitTime: 500,
  });
  const producer = new Producer({ clientId: `${group}-bare-out`, bootstrapBrokers: brokers, serializers: stringSerializers, idempotent: true, acks: ProduceAcks.ALL });
  let first = 0;
  try {
    const stream = await consumer.consume({ topics: [from], mode: 'committed', fallbackMode: 'earliest', autocommit: false });
    const queue: Message<string, string, string, string>[] = [];
    let wake: (() => void) | undefined;
    let failed: Error | undefined;
    stream.on('data', (m) => {
      if (first === 0) first = performance.now();
      queue.push(m);
      // Bounded memory: stop fetching while a few batches wait.
      if (queue.length >= 4 * BARE_BATCH) stream.pause();
      wake?.();
    });
    stream.on('error', (e) => {
      failed = e;
      wake?.();
    });
    const toCommit = new Map<number, { offset: bigint; leaderEpoch: number }>();
    let committing: Promise<void> | undefined;
    const commitLoop = async () => {
      while (toCommit.size) {
        const offsets = [...toCommit].map(([partition, o]) => ({ topic: from, partition, offset: o.offset, leaderEpoch: o.leaderEpoch }));
        toCommit.clear();
        await consumer.commit({ offsets });
      }
      committing = undefined;
    };
    let acked = 0;
    while (acked < expected) {
      if (failed) throw failed;
      if (queue.length === 0) {
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        continue;
      }
      const batch = queue.splice(0, BARE_BATCH);
      if (stream.isPaused() && queue.length < 4 * BARE_BATCH) stream.resume();
      await producer.send({ messages: batch.map((m) => ({ topic: to, key: m.key, value: m.value })) });
      acked += batch.length;
      for (const m of batch) toCommit.set(m.partition, { offset: m.offset + 1n, leaderEpoch: m.leaderEpoch });
      committing ??= commitLoop();
    }
    const last = performance.now();
    await committing;
    await stream.close().catch(() => {});
    return { first, last };
  } finally {
    await consumer.close().catch(() => {});
    await producer.close().catch(() => {});
  }
}

export async function measureOverhead(env: BenchEnv, o: { records: number; partitions: number; rounds: number; log: (l: string) => void }): Promise<OverheadRun[]> {
  const from = uniq(env, 'passthrough');
  await createTopics(env, [from], o.partitions);
  // Records shaped like the real input (about 100 bytes), never fetched: the noop job copies them.
  const ms = await produceUrls(env, from, o.records, (i, id) => `http://127.0.0.1:9/images/photo-${i % 10}.jpg?id=${id}`);
  o.log(`  produced ${o.records} records to ${from} (${o.partitions} partitions) in ${(ms / 1000).toFixed(1)} s`);
  const once = async (contender: 'bare' | 'noop', records: number): Promise<OverheadRun> => {
    const to = uniq(env, `out-${contender}`);
    await createTopics(env, [to], o.partitions);
    const group = `${to}-group`;
    const cpu = cpuMark(env);
    let seconds: number;
    if (contender === 'bare') {
      const r = await until(bareLoop(env.brokers, from, to, group, records), 30 * 60_000, () => 'bare loop');
      seconds = (r.last - r.first) / 1000;
    } else {
      const dlq = `${to}.dlq`;
      await createTopics(env, [dlq], o.partitions);
      const r = await drainWithTransformer(env, createNoopJob(), { from, to, dlq, group, ordering: 'unordered' }, records);
      seconds = r.seconds;
    }
    return { contender, records, seconds, perSecond: records / seconds, ...cpuSince(env, cpu, records) };
  };
  // Warm-up, not counted: both code paths compiled, the broker's page cache filled, before anything is timed.
  const warm = Math.min(o.records, 20_000);
  for (const contender of ['bare', 'noop'] as const) await once(contender, warm);
  const runs: OverheadRun[] = [];
  for (let round = 0; round < o.rounds; round++) {
    // Alternated, so that a change of load on the machine hits both contenders alike.
    for (const contender of round % 2 === 0 ? (['bare', 'noop'] as const) : (['noop', 'bare'] as const)) {
      const run = await once(contender, o.records);
      o.log(`  round ${round + 1} ${contender}: ${Math.round(run.perSecond)} msg/s`);
      runs.push(run);
    }
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------------------------
// Stage 4: RSS of `lagless run palette` (a child process) with a large backlog

export interface MemoryFigure {
  backlog: number;
  produceSeconds: number;
  seconds: number;
  workers: number;
  latencyMs: number;
  /** VmRSS once a second, MB, from the spawn of the process. */
  samplesMb: number[];
  maxMb: number;
  /** Least-squares slope over all samples after the first 10 s, and over the second half, MB per minute. */
  slopeMbPerMin: number;
  slopeSecondHalfMbPerMin: number;
  /** Peak of the last third of the samples minus the peak of the middle third, MB. */
  lateGrowthMb: number;
  /** Outputs the process reported when it stopped, and the rate over the sampling. */
  outputs: number;
  perSecond: number;
  /** Backlog left when sampling ended (the memory was measured with a large backlog throughout). */
  backlogLeft: number;
  exitCode: number | null;
  childCpuMsPerItem: number | null;
}

function vmRssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export function slopePerMinute(ys: number[], dtSeconds = 1): number {
  if (ys.length < 2) return 0;
  const n = ys.length;
  const mx = ((n - 1) * dtSeconds) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, i) => {
    const x = i * dtSeconds - mx;
    num += x * (y - my);
    den += x * x;
  });
  return (num / den) * 60;
}

/** Peak of the last third minus peak of the middle third (0 when there are too few samples). */
export function lateGrowth(samples: number[]): number {
  const third = Math.floor(samples.length / 3);
  if (third === 0) return 0;
  return Math.max(...samples.slice(samples.length - third)) - Math.max(...samples.slice(third, samples.length - third));
}

export async function measureMemory(
  env: BenchEnv,
  o: { records: number; seconds: number; workers: number; latencyMs: number; partitions: number; log: (l: string) => void },
): Promise<MemoryFigure> {
  const server = await startImageServer({ latencyMs: o.latencyMs });
  let child: ChildProcess | undefined;
  const kill = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
    }
  };
  env.cleanups.push(kill);
  try {
    const from = uniq(env, 'backlog');
    await createTopics(env, [from, `${from}.out`, `${from}.dlq`], o.partitions);
    const produceMs = await produceUrls(env, from, o.records, (i, id) => server.imageUrl(i, { id }));
    o.log(`  produced a backlog of ${o.records} records in ${(produceMs / 1000).toFixed(1)} s; starting lagless run palette`);
    const argv = [
      CLI, 'run', 'palette',
      '--brokers', env.brokers.join(','),
      '--from', from, '--to', `${from}.out`, '--dlq', `${from}.dlq`, '--group', `${from}-group`,
      '--allow-host', `127.0.0.1:${server.port}`,
      '--workers', String(o.workers),
      '--status-every', '0', '--quiet', '--drain-timeout', '5s',
    ];
    // Started as users start it (the binary's shebang carries its memory flags), with this Node first in PATH.
    const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KAFKA_BROKERS: env.brokers.join(',') } });
    child = proc;
    let stderr = '';
    proc.stdout!.resume();
    proc.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
    });
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const samples: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < o.seconds; i++) {
      const v = vmRssMb(proc.pid!);
      if (v === undefined) throw new Error(`lagless run palette exited early (code ${proc.exitCode}): ${stderr.slice(-2000)}`);
      samples.push(v);
      await sleep(Math.max(0, t0 + (i + 1) * 1000 - performance.now()));
    }
    const cpuMs = procCpuMs(proc.pid!);
    const sampledSeconds = (performance.now() - t0) / 1000;
    proc.kill('SIGTERM');
    const exitCode = await until(exited, 60_000, () => `lagless run palette did not stop after SIGTERM: ${stderr.slice(-2000)}`);
    const m = /stopped after [^:]+: (\d+) output\(s\), (\d+) dead letter/.exec(stderr);
    if (!m) throw new Error(`no summary from lagless run palette (exit ${exitCode}): ${stderr.slice(-2000)}`);
    const outputs = Number(m[1]);
    const warm = samples.slice(Math.min(10, samples.length >> 1));
    return {
      backlog: o.records,
      produceSeconds: produceMs / 1000,
      seconds: sampledSeconds,
      workers: o.workers,
      latencyMs: o.latencyMs,
      samplesMb: samples.map((s) => Math.round(s * 10) / 10),
      maxMb: Math.max(...samples),
      slopeMbPerMin: slopePerMinute(warm),
      slopeSecondHalfMbPerMin: slopePerMinute(samples.slice(samples.length >> 1)),
      lateGrowthMb: lateGrowth(samples),
      outputs,
      perSecond: outputs / sampledSeconds,
      backlogLeft: o.records - outputs,
      exitCode,
      childCpuMsPerItem: cpuMs !== undefined && outputs > 0 ? cpuMs / outputs : null,
    };
  } finally {
    await kill();
    await server.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The whole run, the verdicts and the table

export interface Verdict {
  name: string;
  value: number;
  target: string;
  ok: boolean;
  /** How far from the target, as a human-readable phrase ("" when OK). */
  miss: string;
}

export interface PipelineBenchResult {
  bench: 'pipeline';
  date: string;
  machine: { cpu: string | undefined; cores: number; memoryGb: number; node: string; loadBefore: number[]; loadAfter: number[]; brokerOwned: boolean };
  options: Omit<PipelineBenchOptions, 'log' | 'out' | 'brokers'>;
  targets: typeof TARGETS;
  pool?: PoolFigure;
  pipeline?: { cpuBound: PipelineRun[]; latency: PipelineRun[]; cpuBoundPerSecond: number; latencyPerSecond: number; latencyVsCpuBound: number; latencyVsPool: number | null };
  partition?: { run: PipelineRun; unorderedGain: number | null };
  overhead?: {
    runs: OverheadRun[];
    noopPerSecond: number;
    barePerSecond: number;
    noopVsBare: number;
    bareBatch: number;
    /** Bare loop's CPU per message / noop's (bench process, plus the broker when the bench owns it): the rate ratio a CPU-bound machine would give, less sensitive to other load. */
    cpuRatio: number;
  };
  memory?: MemoryFigure;
  verdicts: Verdict[];
  table: string[];
  seconds: number;
}

const atLeast = (name: string, value: number, target: number): Verdict => ({
  name,
  value,
  target: `>= ${Math.round(target * 100)}%`,
  ok: value >= target,
  miss: value >= target ? '' : `missed by ${((target - value) * 100).toFixed(0)} points (${((1 - value / target) * 100).toFixed(0)}% short)`,
});

export async function runPipelineBench(options: Partial<PipelineBenchOptions> = {}): Promise<PipelineBenchResult> {
  const o = { ...defaultPipelineBenchOptions(), ...options };
  for (const [k, min] of [
    ['workers', 1],
    ['partitions', 1],
    ['latencyMs', 0],
    ['records', 1],
    ['partitionRecords', 1],
    ['pipelineRounds', 1],
    ['overheadRecords', 1],
    ['rounds', 1],
    ['memoryRecords', 1],
    ['memorySeconds', 2],
  ] as const) {
    if (!Number.isInteger(o[k]) || o[k] < min) throw new RangeError(`${k} must be an integer >= ${min}, got ${o[k]}`);
  }
  for (const s of o.only) if (!STAGES.includes(s)) throw new RangeError(`unknown stage "${s}" (stages: ${STAGES.join(', ')})`);
  const started = performance.now();
  const loadBefore = loadavg();
  const result: PipelineBenchResult = {
    bench: 'pipeline',
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, loadBefore, loadAfter: [], brokerOwned: false },
    options: {
      only: o.only,
      workers: o.workers,
      partitions: o.partitions,
      latencyMs: o.latencyMs,
      records: o.records,
      partitionRecords: o.partitionRecords,
      pipelineRounds: o.pipelineRounds,
      overheadRecords: o.overheadRecords,
      rounds: o.rounds,
      memoryRecords: o.memoryRecords,
      memorySeconds: o.memorySeconds,
    },
    targets: TARGETS,
    verdicts: [],
    table: [],
    seconds: 0,
  };
  const has = (s: Stage) => o.only.includes(s);
  if (has('pool')) {
    o.log(`raw worker pool: ${o.records} images, ${o.workers} workers`);
    result.pool = await measureWorkerPool(o);
  }
  const needsBroker = o.only.some((s) => s !== 'pool');
  const env = needsBroker ? await openEnv(o) : undefined;
  const onSignal = () => {
    void (env ? closeEnv(env) : Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (env) result.machine.brokerOwned = env.owned !== undefined;
    if (env && has('pipeline')) {
      const cpuBound: PipelineRun[] = [];
      const latency: PipelineRun[] = [];
      for (let round = 0; round < o.pipelineRounds; round++) {
        for (const ms of round % 2 === 0 ? [0, o.latencyMs] : [o.latencyMs, 0]) {
          o.log(`pipeline round ${round + 1}: ${o.records} images, ${ms} ms per download, ${o.partitions} partitions, ${o.workers} workers`);
          const r = await measurePipeline(env, { latencyMs: ms, ordering: 'unordered', records: o.records, partitions: o.partitions, workers: o.workers });
          o.log(`  ${r.steadyPerSecond.toFixed(1)} images/s steady (whole run ${r.perSecond.toFixed(1)}), downloads in flight up to ${r.maxConcurrentDownloads}`);
          (ms === 0 ? cpuBound : latency).push(r);
        }
      }
      // Steady-state rates (from the 10th percentile output on): the pool's thread start-up and the pipeline's fill
      // are one-off costs, the same whatever the backlog, and not what latency hiding is about.
      const c = median(cpuBound.map((r) => r.steadyPerSecond));
      const l = median(latency.map((r) => r.steadyPerSecond));
      result.pipeline = { cpuBound, latency, cpuBoundPerSecond: c, latencyPerSecond: l, latencyVsCpuBound: l / c, latencyVsPool: result.pool ? l / result.pool.perSecond : null };
    }
    if (env && has('partition')) {
      o.log(`pipeline --ordering partition: ${o.partitionRecords} images, ${o.latencyMs} ms per download, ${o.partitions} partitions`);
      const run = await measurePipeline(env, { latencyMs: o.latencyMs, ordering: 'partition', records: o.partitionRecords, partitions: o.partitions, workers: o.workers });
      o.log(`  ${run.steadyPerSecond.toFixed(1)} images/s (whole run ${run.perSecond.toFixed(1)})`);
      result.partition = { run, unorderedGain: result.pipeline ? result.pipeline.latencyPerSecond / run.steadyPerSecond : null };
    }
    if (env && has('overhead')) {
      o.log(`overhead: ${o.overheadRecords} records, ${o.partitions} partitions, ${o.rounds} round(s) of bare loop and noop job`);
      const runs = await measureOverhead(env, { records: o.overheadRecords, partitions: o.partitions, rounds: o.rounds, log: o.log });
      const noop = median(runs.filter((r) => r.contender === 'noop').map((r) => r.perSecond));
      const bare = median(runs.filter((r) => r.contender === 'bare').map((r) => r.perSecond));
      const cpuOf = (c: 'noop' | 'bare') => median(runs.filter((r) => r.contender === c).map((r) => r.benchCpuMsPerItem + (r.brokerCpuMsPerItem ?? 0)));
      result.overhead = { runs, noopPerSecond: noop, barePerSecond: bare, noopVsBare: noop / bare, bareBatch: BARE_BATCH, cpuRatio: cpuOf('bare') / cpuOf('noop') };
    }
    if (env && has('memory')) {
      o.log(`memory: backlog of ${o.memoryRecords} records, lagless run palette for ${o.memorySeconds} s with ${o.latencyMs} ms per download`);
      result.memory = await measureMemory(env, { records: o.memoryRecords, seconds: o.memorySeconds, workers: o.workers, latencyMs: o.latencyMs, partitions: o.partitions, log: o.log });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (env) await closeEnv(env);
  }
  result.machine.loadAfter = loadavg();
  result.seconds = (performance.now() - started) / 1000;
  result.verdicts = verdicts(result);
  result.table = formatTable(result);
  return result;
}

export function verdicts(r: PipelineBenchResult): Verdict[] {
  const v: Verdict[] = [];
  if (r.pipeline) v.push(atLeast(`images/s with ${r.options.latencyMs} ms per download vs CPU-bound (0 ms)`, r.pipeline.latencyVsCpuBound, TARGETS.latencyHidden));
  if (r.overhead) v.push(atLeast('noop job through the Transformer vs bare client loop', r.overhead.noopVsBare, TARGETS.overhead));
  if (r.memory) {
    const m = r.memory;
    v.push({
      name: `max RSS with a ${m.backlog.toLocaleString('en-US')}-record backlog, MB`,
      value: m.maxMb,
      target: `< ${TARGETS.maxRssMb}`,
      ok: m.maxMb < TARGETS.maxRssMb,
      miss: m.maxMb < TARGETS.maxRssMb ? '' : `missed by ${(m.maxMb - TARGETS.maxRssMb).toFixed(0)} MB`,
    });
    const growth = m.lateGrowthMb / m.maxMb;
    v.push({
      name: 'RSS growth, middle third to last third of the sampling',
      value: growth,
      target: `< ${pct(TARGETS.flatGrowth)} (flat)`,
      ok: growth < TARGETS.flatGrowth,
      miss: growth < TARGETS.flatGrowth ? '' : `grew ${m.lateGrowthMb.toFixed(1)} MB (${pct(growth)})`,
    });
  }
  return v;
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);
const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const f1 = (x: number) => x.toFixed(1);
const cpuNote = (r: { benchCpuMsPerItem: number; brokerCpuMsPerItem: number | null }, digits = 1) =>
  `cpu/item: bench ${r.benchCpuMsPerItem.toFixed(digits)} ms${r.brokerCpuMsPerItem !== null ? `, broker ${r.brokerCpuMsPerItem.toFixed(digits)} ms` : ''}`;

export function formatTable(r: PipelineBenchResult): string[] {
  const rows: [string, string, string, string][] = [];
  const o = r.options;
  const verdict = (name: string) => {
    const v = r.verdicts.find((x) => x.name === name);
    return v ? (v.ok ? 'OK' : `MISSED (${v.miss})`) : '';
  };
  if (r.pool) rows.push([`raw worker pool, ${r.pool.workers} workers, no Kafka`, `${f1(r.pool.perSecond)} img/s`, '', `${r.pool.images} images in ${f1(r.pool.seconds)} s`]);
  if (r.pipeline) {
    const p = r.pipeline;
    const runs = (xs: PipelineRun[]) => xs.map((x) => f1(x.steadyPerSecond)).join(', ');
    const whole = (xs: PipelineRun[]) => f1(median(xs.map((x) => x.perSecond)));
    rows.push([`pipeline, 0 ms per download (CPU-bound)`, `${f1(p.cpuBoundPerSecond)} img/s`, '', `steady runs: ${runs(p.cpuBound)}; whole run ${whole(p.cpuBound)}; ${cpuNote(p.cpuBound[0]!)}`]);
    rows.push([`pipeline, ${o.latencyMs} ms per download`, `${f1(p.latencyPerSecond)} img/s`, '', `steady runs: ${runs(p.latency)}; whole run ${whole(p.latency)}; downloads in flight up to ${Math.max(...p.latency.map((x) => x.maxConcurrentDownloads))}`]);
    const name = `images/s with ${o.latencyMs} ms per download vs CPU-bound (0 ms)`;
    rows.push([`  ${o.latencyMs} ms vs CPU-bound`, pct(p.latencyVsCpuBound), `>= ${pct(TARGETS.latencyHidden)}`, verdict(name)]);
    if (p.latencyVsPool !== null) rows.push([`  ${o.latencyMs} ms vs raw worker pool`, pct(p.latencyVsPool), '', 'Kafka + HTTP + main thread share the same cores']);
  }
  if (r.partition) {
    const x = r.partition;
    rows.push([`pipeline, ${o.latencyMs} ms, --ordering partition (${x.run.partitions} partitions)`, `${f1(x.run.steadyPerSecond)} img/s`, '', `one image in flight per partition: at most ${x.run.partitions} in flight; whole run ${f1(x.run.perSecond)}`]);
    if (x.unorderedGain !== null) rows.push([`  gain of per-message parallelism`, `${x.unorderedGain.toFixed(1)}x`, '', 'unordered / partition, both with latency']);
  }
  if (r.overhead) {
    const x = r.overhead;
    const runs = (c: 'noop' | 'bare') => x.runs.filter((y) => y.contender === c);
    rows.push([`bare @platformatic/kafka loop (batch ${x.bareBatch})`, `${Math.round(x.barePerSecond)} msg/s`, '', `runs: ${runs('bare').map((y) => Math.round(y.perSecond)).join(', ')}; ${cpuNote(runs('bare')[0]!, 3)}`]);
    rows.push([`noop job through the Transformer`, `${Math.round(x.noopPerSecond)} msg/s`, '', `runs: ${runs('noop').map((y) => Math.round(y.perSecond)).join(', ')}; ${cpuNote(runs('noop')[0]!, 3)}`]);
    rows.push([`  noop vs bare`, pct(x.noopVsBare), `>= ${pct(TARGETS.overhead)}`, verdict('noop job through the Transformer vs bare client loop')]);
    rows.push([`  CPU per message, bare / noop`, pct(x.cpuRatio), '', `${r.machine.brokerOwned ? 'bench process + broker' : 'bench process only (broker not ours)'}: what the ratio would be if CPU were the only limit`]);
  }
  if (r.memory) {
    const m = r.memory;
    const v = r.verdicts.filter((y) => y.name.startsWith('max RSS') || y.name.startsWith('RSS growth'));
    rows.push([`RSS of lagless run palette, ${m.backlog.toLocaleString('en-US')} backlog`, `${f1(m.maxMb)} MB max`, `< ${TARGETS.maxRssMb} MB`, v[0]?.ok ? 'OK' : `MISSED (${v[0]?.miss})`]);
    const sign = (x: number) => `${x >= 0 ? '+' : ''}${f1(x)}`;
    rows.push([
      `  RSS growth, middle to last third`,
      `${sign(m.lateGrowthMb)} MB`,
      `< ${pct(TARGETS.flatGrowth)} of max`,
      `${v[1]?.ok ? 'OK' : `MISSED (${v[1]?.miss})`}; slope ${sign(m.slopeSecondHalfMbPerMin)} MB/min over the 2nd half, ${sign(m.slopeMbPerMin)} after 10 s`,
    ]);
    rows.push([`  during the sampling`, `${f1(m.perSecond)} img/s`, '', `${m.outputs} outputs in ${f1(m.seconds)} s, ${m.backlogLeft} still in the backlog; exit code ${m.exitCode}`]);
  }
  const w = [56, 16, 14];
  const lines = [
    `pipeline bench: ${r.machine.cores} cores (${r.machine.cpu ?? 'unknown cpu'}), ${r.machine.memoryGb} GB, node ${r.machine.node}; load average before ${r.machine.loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${r.machine.loadAfter.map((x) => x.toFixed(2)).join(' ')}`,
    `workers ${o.workers}, partitions ${o.partitions}, broker ${r.machine.brokerOwned ? 'started by the bench (same machine)' : 'given (KAFKA_BROKERS)'}; total ${f1(r.seconds)} s`,
    `${pad('figure', w[0]!)} ${lpad('value', w[1]!)} ${pad('  target', w[2]!)} verdict / notes`,
  ];
  for (const [a, b, c, d] of rows) lines.push(`${pad(a, w[0]!)} ${lpad(b, w[1]!)} ${pad(`  ${c}`, w[2]!)} ${d}`);
  return lines;
}

export function writeResult(r: PipelineBenchResult, out: string | undefined): string {
  const stamp = r.date.replace(/[:.]/g, '-');
  const file = out ? resolve(out) : join(ROOT, `bench/results/pipeline-${stamp}.json`);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, JSON.stringify(r, null, 1) + '\n');
  return file;
}

// ---------------------------------------------------------------------------------------------------------------
// CLI

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      workers: { type: 'string' },
      records: { type: 'string' },
      'partition-records': { type: 'string' },
      'pipeline-rounds': { type: 'string' },
      partitions: { type: 'string' },
      latency: { type: 'string' },
      'overhead-records': { type: 'string' },
      rounds: { type: 'string' },
      'memory-records': { type: 'string' },
      'memory-seconds': { type: 'string' },
      brokers: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (a.help) {
    process.stdout.write(readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(0, 10).join('\n') + '\n');
    return;
  }
  const o: Partial<PipelineBenchOptions> = a.quick ? { ...quickSizes } : {};
  const int = (flag: string, v: string | undefined, key: keyof PipelineBenchOptions) => {
    if (v === undefined) return;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) {
      process.stderr.write(`error: --${flag} must be a non-negative integer, got "${v}"\n`);
      process.exit(2);
    }
    (o as Record<string, unknown>)[key] = n;
  };
  int('workers', a.workers, 'workers');
  int('records', a.records, 'records');
  int('partition-records', a['partition-records'], 'partitionRecords');
  int('pipeline-rounds', a['pipeline-rounds'], 'pipelineRounds');
  int('partitions', a.partitions, 'partitions');
  int('latency', a.latency, 'latencyMs');
  int('overhead-records', a['overhead-records'], 'overheadRecords');
  int('rounds', a.rounds, 'rounds');
  int('memory-records', a['memory-records'], 'memoryRecords');
  int('memory-seconds', a['memory-seconds'], 'memorySeconds');
  if (a.only) {
    const list = a.only.split(',').map((s) => s.trim());
    const bad = list.filter((s) => !(STAGES as readonly string[]).includes(s));
    if (bad.length) {
      process.stderr.write(`error: --only takes ${STAGES.join(',')}; unknown: ${bad.join(', ')}\n`);
      process.exit(2);
    }
    o.only = list as Stage[];
  }
  if (a.brokers) o.brokers = a.brokers;
  o.log = (line) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  let result: PipelineBenchResult;
  try {
    result = await runPipelineBench(o);
  } catch (err) {
    if (err instanceof RangeError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  process.stdout.write(result.table.join('\n') + '\n');
  process.stderr.write(`wrote ${writeResult(result, a.out)}\n`);
}

if (import.meta.main) await main();
