// Share-group benchmark: the same replicas of a job as a share group (`lagless run --group-type share`, KIP-932) and as
// a consumer group (the default), draining the same backlog, on a topic of 1 partition and one of 8.
//
//   npm run bench -- share [--records 1600] [--rounds 2] [--only io,cpu] [--partitions 1,8] [--replicas 1,2,4]
//                          [--io-ms 200] [--cpu-ms 10] [--max-concurrency 8] [--max-in-flight 8]
//                          [--brokers host:port] [--json-out FILE]
//
// A consumer group gives each partition to one member at a time, so members beyond the partition count stay idle; a
// share group gives records of every partition to every member. Two jobs (bench/share/):
//   io   each record waits --io-ms (200 ms), as a download would: a member's capacity is its concurrency bound
//        (--max-concurrency 8 --max-in-flight 8: about 8 / 0.2 s = 40 records/s), not the CPU
//   cpu  each record hashes on the main thread for about --cpu-ms (10 ms) of CPU: a fixed number of integer hash rounds,
//        calibrated once at the start of the run (so a member that gets less of a core takes longer); a member's
//        capacity is one core, and the machine's cores bound them all
// One backlog of --records records (about 100 bytes each) is produced once per partition count, on one broker
// (--brokers, default $KAFKA_BROKERS, on loopback, if it answers; else one this bench starts on a free port and stops
// at the end; share groups need Kafka 4.2+). Each run is one contender (share or consumer × --replicas): that many
// `lagless run bench/share/<job>.ts` processes (node --conditions=lagless-source src/cli/main.ts) started at once, with
// a group and an output topic of their own, the same flags for both group types (--max-concurrency, --max-in-flight,
// --catch-up 1s: the I/O concurrency of a consumer-group member is autoscaled from its lag and would otherwise drop
// towards its floor over the last seconds of the drain; a share member's lag is not sampled yet).
// Throughput is measured from outside: this process polls the log ends of the output and dead-letter topics every
// 50 ms; msg/s = records / (the first poll that sees all records out - the first poll that sees an output), i.e. first
// output to last, which leaves out the processes' start but not the later members' joining; "steady" is the same from
// the first poll after the last assignment a replica logged (every member in, no rebalance under way) to the last
// output, when a fifth of the records or more was left by then. Start to done (spawn to last output) is in the JSON too. Share and consumer with the same replicas run next to each other; the pairs rotate
// and the first of a pair alternates every round. Prints one table per job and topic (medians over --rounds) and the
// warnings the replicas logged; writes JSON to bench/results/share-<date>.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createAdmin } from '../src/kafka/index.ts';
import { benchLog, finishBench, writeBenchResult } from './lib/cli.ts';
import { provenance } from './lib/provenance.ts';
import { closeEnv, createTopics, loopbackBrokers, machineBusyMs, openEnv, procCpuMs, produceUrls, uniq, type BenchEnv } from './pipeline/env.ts';
import { calibrate } from './share/cpu-job.ts';
import { contenderName, formatTables, JOBS, othersCpu, parseReplicaLog, roundOrder, summarize, warningTotals, type Contender, type ShareBenchJob, type ShareRun, type ShareSummary } from './share/plan.ts';

export { JOBS, roundOrder, summarize, formatTables, parseReplicaLog, type ShareRun, type ShareSummary, type ShareBenchJob } from './share/plan.ts';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
/** How often the parent reads the output topics' log ends: the resolution of the timings. */
export const POLL_MS = 50;

export interface ShareBenchOptions {
  /** Records in each backlog. */
  records: number;
  rounds: number;
  only: ShareBenchJob[];
  /** Partition counts of the input topics, one backlog each. */
  partitions: number[];
  /** Replica counts: each runs as a share group and as a consumer group. */
  replicas: number[];
  /** The I/O job's wait per record, ms. */
  ioMs: number;
  /** The CPU job's work per record, ms of CPU on this machine (calibrated into hash rounds at the start). */
  cpuMs: number;
  /** --max-concurrency and --max-in-flight of every replica. */
  maxConcurrency: number;
  maxInFlight: number;
  brokers: string | undefined;
  jsonOut: string | undefined;
  log: (line: string) => void;
}

export const defaultShareBenchOptions = (): ShareBenchOptions => ({
  records: 1600,
  rounds: 2,
  only: [...JOBS],
  partitions: [1, 8],
  replicas: [1, 2, 4],
  ioMs: 200,
  cpuMs: 10,
  maxConcurrency: 8,
  maxInFlight: 8,
  brokers: process.env.KAFKA_BROKERS,
  jsonOut: undefined,
  log: () => {},
});

export interface ShareBenchResult {
  bench: 'share';
  date: string;
  command: string;
  commit: string | null;
  machine: { cpu: string | undefined; cores: number; memoryGb: number; node: string; loadBefore: number[]; loadAfter: number[]; brokerOwned: boolean };
  options: Omit<ShareBenchOptions, 'log' | 'jsonOut' | 'brokers'>;
  method: string;
  jobs: Partial<Record<ShareBenchJob, string>>;
  /** The CPU job's hash rounds per record (--cpu-ms of this machine's CPU, calibrated at the start). */
  cpuIterations: number | null;
  /** The flags every replica got (besides topics and group). */
  replicaArgs: string[];
  produceSeconds: number;
  runs: ShareRun[];
  summary: ShareSummary[];
  /** Warnings and errors the replicas logged, by group type and code, with the first message of each code. */
  warnings: { share: Record<string, { lines: number; runs: number }>; consumer: Record<string, { lines: number; runs: number }>; messages: Record<string, string> };
  table: string[];
  seconds: number;
}

const METHOD =
  `Each run starts N \`lagless run\` processes at once (node --conditions=lagless-source src/cli/main.ts) in a fresh group of one type, ` +
  `draining the whole pre-produced backlog into an output topic of its own. The parent polls the log ends of the output and ` +
  `dead-letter topics every ${POLL_MS} ms; msg/s = records / (time of the first poll seeing outputs + dead letters = records - time of the first ` +
  `poll seeing an output): first output to last, without the processes' start (firstOutputSeconds, from the spawn) but with later ` +
  `members joining; totalSeconds runs from the spawn. steadyPerSecond = the records left at the first poll after the last assignment ` +
  `any replica logged (settledSeconds: every member in, no rebalance under way) / the time from that poll to the last; null when less ` +
  `than a fifth was left. Then SIGTERM; replicaOutputs come from each replica's stopped summary. ` +
  `cpuMsPerRecord = all replicas' user+system CPU from their start, per record. othersCpuShare = the machine's busy CPU time ` +
  `(/proc/stat) from the spawn to the last output, less the replicas', this process's and (when this bench started it) the broker's, ` +
  `over cores × that time: what other processes took.`;

const describeJob = (o: Pick<ShareBenchOptions, 'ioMs' | 'cpuMs' | 'maxConcurrency'>) => (job: ShareBenchJob) =>
  job === 'io' ? `I/O job (${o.ioMs} ms wait per record, ${o.maxConcurrency} at once per member)` : `CPU job (~${o.cpuMs} ms of main-thread CPU per record)`;

interface RunContext {
  env: BenchEnv;
  admin: ReturnType<typeof createAdmin>;
  o: ShareBenchOptions;
  cpuIterations: number;
  replicaArgs: string[];
  /** The running replicas, for the signal handler. */
  current: ChildProcess[];
  /** The first message of each warning code the replicas logged. */
  messages: Record<string, string>;
}

async function stopChild(proc: ChildProcess): Promise<number | string | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode ?? proc.signalCode;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 45_000);
  await exited;
  clearTimeout(timer);
  return proc.exitCode ?? proc.signalCode;
}

/** Records in the topics (the sum of their partitions' log ends). */
async function logEnds(admin: RunContext['admin'], topics: { name: string; partitions: number }[]): Promise<Map<string, number>> {
  const ends = await admin.listOffsets({ topics: topics.map((t) => ({ name: t.name, partitions: Array.from({ length: t.partitions }, (_, partitionIndex) => ({ partitionIndex, timestamp: -1n })) })) });
  return new Map(ends.map((t) => [t.name, t.partitions.reduce((a, p) => a + Number(p.offset), 0)]));
}

/** A generous bound on one run: the records at one member's expected rate, ten times over, and a minute. */
function runTimeoutMs(o: ShareBenchOptions, job: ShareBenchJob): number {
  const perMember = job === 'io' ? (o.maxConcurrency * 1000) / Math.max(1, o.ioMs) : 1000 / Math.max(0.1, o.cpuMs);
  return 60_000 + (10 * 1000 * o.records) / perMember;
}

async function runOnce(ctx: RunContext, from: string, job: ShareBenchJob, partitions: number, c: Contender, round: number, position: number): Promise<ShareRun> {
  const { env, admin, o } = ctx;
  const to = uniq(env, `${job}-p${partitions}-${c.groupType}-x${c.replicas}-r${round + 1}`);
  const dlq = `${to}.dlq`;
  const group = `${to}-group`;
  await createTopics(env, [to], partitions);
  await createTopics(env, [dlq], 1);
  const watch = [
    { name: to, partitions },
    { name: dlq, partitions: 1 },
  ];
  const run: ShareRun = {
    round, job, partitions, groupType: c.groupType, replicas: c.replicas, position, records: o.records,
    seconds: 0, perSecond: 0, firstOutputSeconds: 0, settledSeconds: null, steadyPerSecond: null, totalSeconds: 0, assignedSeconds: [], replicaOutputs: [],
    outputs: 0, deadLetters: 0, cpuMsPerRecord: null, othersCpuShare: null, warnings: {}, exits: [],
  };
  // One read before the spawn: the admin client's first requests for new topics (metadata) take a while.
  await logEnds(admin, watch);
  const args = [
    '--conditions=lagless-source', join(ROOT, 'src/cli/main.ts'),
    'run', join(ROOT, `bench/share/${job}-job.ts`),
    '--brokers', env.brokers.join(','), '--from', from, '--to', to, '--dlq', dlq, '--group', group,
    ...(c.groupType === 'share' ? ['--group-type', 'share'] : []),
    ...ctx.replicaArgs,
  ];
  const childEnv = { ...process.env, BENCH_SHARE_IO_MS: String(o.ioMs), BENCH_SHARE_CPU_ITERATIONS: String(ctx.cpuIterations) };
  // The machine's, this process's and the broker's CPU at the spawn: what other processes used is the rest.
  const cpuAtSpawn = { machine: machineBusyMs(), self: process.cpuUsage(), broker: env.owned ? procCpuMs(env.owned.pid) : 0 };
  const spawnedAt = Date.now();
  const spawned = performance.now();
  const procs = Array.from({ length: c.replicas }, () => spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: ROOT, env: childEnv }));
  ctx.current = procs;
  const stderr = procs.map(() => '');
  procs.forEach((p, i) => p.stderr!.on('data', (d: Buffer) => (stderr[i] += d.toString())));
  const tail = (i: number) => stderr[i]!.slice(-2000);
  const timeoutMs = runTimeoutMs(o, job);
  /** Every poll: when, and outputs + dead letters then. */
  const samples: { at: number; done: number }[] = [];
  let doneAt: number | undefined;
  try {
    let firstOutput: number | undefined;
    for (;;) {
      const polled = performance.now();
      const dead = procs.findIndex((p) => p.exitCode !== null || p.signalCode !== null);
      if (dead >= 0) throw new Error(`replica ${dead + 1} exited early (${procs[dead]!.exitCode ?? procs[dead]!.signalCode}): ${tail(dead)}`);
      if (polled - spawned > timeoutMs) throw new Error(`not done after ${Math.round(timeoutMs / 1000)} s (${run.outputs} outputs, ${run.deadLetters} dead letters of ${o.records}): ${tail(0)}`);
      const ends = await logEnds(admin, watch);
      const at = performance.now();
      run.outputs = ends.get(to) ?? 0;
      run.deadLetters = ends.get(dlq) ?? 0;
      const done = run.outputs + run.deadLetters;
      samples.push({ at, done });
      if (firstOutput === undefined && done > 0) firstOutput = at;
      if (firstOutput !== undefined && done >= o.records) {
        const cpu = procs.map((p) => procCpuMs(p.pid!));
        const replicasMs = cpu.every((x) => x !== undefined) ? cpu.reduce((a, x) => a + x!, 0) : undefined;
        run.cpuMsPerRecord = replicasMs === undefined ? null : replicasMs / o.records;
        const machine = machineBusyMs();
        const self = process.cpuUsage(cpuAtSpawn.self);
        const broker = env.owned ? procCpuMs(env.owned.pid) : 0;
        if (replicasMs !== undefined && machine !== undefined && cpuAtSpawn.machine !== undefined && broker !== undefined && cpuAtSpawn.broker !== undefined) {
          const others = machine - cpuAtSpawn.machine - replicasMs - (self.user + self.system) / 1000 - (broker - cpuAtSpawn.broker);
          run.othersCpuShare = Math.max(0, others) / (cpus().length * (at - spawned));
        }
        run.seconds = (at - firstOutput) / 1000;
        if (run.seconds === 0) throw new Error(`drained between two polls ${POLL_MS} ms apart: too few --records to measure`);
        run.perSecond = o.records / run.seconds;
        run.firstOutputSeconds = (firstOutput - spawned) / 1000;
        run.totalSeconds = (at - spawned) / 1000;
        doneAt = at;
        break;
      }
      await sleep(Math.max(0, polled + POLL_MS - performance.now()));
    }
  } catch (err) {
    run.error = err instanceof Error ? err.message : String(err);
  } finally {
    run.exits = await Promise.all(procs.map(stopChild));
    ctx.current = [];
    const logs = stderr.map(parseReplicaLog);
    run.assignedSeconds = logs.map((l) => (l.assignedAt === null ? null : Math.max(0, l.assignedAt - spawnedAt) / 1000));
    run.replicaOutputs = logs.map((l) => l.outputs);
    for (const l of logs) {
      for (const [code, n] of Object.entries(l.warnings)) run.warnings[code] = (run.warnings[code] ?? 0) + n;
      for (const [code, m] of Object.entries(l.messages)) ctx.messages[code] ??= m;
    }
    if (doneAt !== undefined) Object.assign(run, steadyRate(logs, samples, spawnedAt, spawned, doneAt, o.records));
    // The outputs are not read again: their topics go.
    await admin.deleteTopics({ topics: [to, dlq] }).catch(() => {});
    env.topics = env.topics.filter((t) => t !== to && t !== dlq);
  }
  if (!run.error && run.outputs + run.deadLetters > o.records) o.log(`  note: ${contenderName(c)} wrote ${run.outputs + run.deadLetters - o.records} more outputs than records (duplicates)`);
  if (!run.error && run.deadLetters > 0) o.log(`  note: ${contenderName(c)} dead-lettered ${run.deadLetters} records`);
  return run;
}

/**
 * The rate once the group settled: from the first poll after the last assignment any replica logged (wall clock, as
 * the logs say) before the drain was done, to the drain done. The log's clock is mapped to performance.now() through
 * the spawn's two readings.
 */
export function steadyRate(
  logs: readonly { assignments: readonly number[] }[],
  samples: readonly { at: number; done: number }[],
  spawnedAt: number,
  spawned: number,
  doneAt: number,
  records: number,
): { settledSeconds: number | null; steadyPerSecond: number | null } {
  const doneWall = spawnedAt + (doneAt - spawned);
  const last = Math.max(-Infinity, ...logs.flatMap((l) => l.assignments.filter((a) => a <= doneWall)));
  if (!Number.isFinite(last)) return { settledSeconds: null, steadyPerSecond: null };
  const settled = spawned + (last - spawnedAt);
  const from = samples.find((s) => s.at >= settled);
  const left = from ? records - from.done : 0;
  return {
    settledSeconds: Math.max(0, last - spawnedAt) / 1000,
    steadyPerSecond: from && left >= records / 5 && doneAt > from.at ? left / ((doneAt - from.at) / 1000) : null,
  };
}

function validate(o: ShareBenchOptions): void {
  for (const [k, min] of [
    ['records', 1],
    ['rounds', 1],
    ['ioMs', 0],
    ['maxConcurrency', 1],
    ['maxInFlight', 1],
  ] as const) {
    if (!Number.isInteger(o[k]) || o[k] < min) throw new RangeError(`${k} must be an integer >= ${min}, got ${o[k]}`);
  }
  if (!Number.isFinite(o.cpuMs) || o.cpuMs <= 0) throw new RangeError(`cpuMs must be a number > 0, got ${o.cpuMs}`);
  for (const j of o.only) if (!JOBS.includes(j)) throw new RangeError(`unknown job "${j}" (jobs: ${JOBS.join(', ')})`);
  if (o.only.length === 0) throw new RangeError('no job to run');
  for (const [k, list] of [
    ['partitions', o.partitions],
    ['replicas', o.replicas],
  ] as const) {
    if (list.length === 0) throw new RangeError(`${k}: at least one count`);
    for (const n of list) if (!Number.isInteger(n) || n < 1) throw new RangeError(`${k} must be integers >= 1, got ${n}`);
  }
}

export async function runShareBench(options: Partial<ShareBenchOptions> = {}, argv: readonly string[] = process.argv.slice(2)): Promise<ShareBenchResult> {
  const o = { ...defaultShareBenchOptions(), ...options };
  validate(o);
  if (o.brokers) {
    try {
      loopbackBrokers(o.brokers);
    } catch (err) {
      throw new RangeError((err as Error).message);
    }
  }
  const started = performance.now();
  const cpuIterations = o.only.includes('cpu') ? calibrate(o.cpuMs) : 0;
  if (cpuIterations) o.log(`cpu job: ${cpuIterations} hash rounds per record (~${o.cpuMs} ms of CPU here)`);
  const replicaArgs = [
    '--max-concurrency', String(o.maxConcurrency), '--max-in-flight', String(o.maxInFlight), '--catch-up', '1s',
    '--status-every', '0', '--log-format', 'json', '--drain-timeout', '5s',
  ];
  const result: ShareBenchResult = {
    bench: 'share',
    date: new Date().toISOString(),
    ...provenance('share', argv),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, loadBefore: loadavg(), loadAfter: [], brokerOwned: false },
    options: { records: o.records, rounds: o.rounds, only: o.only, partitions: o.partitions, replicas: o.replicas, ioMs: o.ioMs, cpuMs: o.cpuMs, maxConcurrency: o.maxConcurrency, maxInFlight: o.maxInFlight },
    method: METHOD,
    jobs: Object.fromEntries(o.only.map((j) => [j, `${describeJob(o)(j)}: bench/share/${j}-job.ts`])),
    cpuIterations: cpuIterations || null,
    replicaArgs,
    produceSeconds: 0,
    runs: [],
    summary: [],
    warnings: { share: {}, consumer: {}, messages: {} },
    table: [],
    seconds: 0,
  };
  const env = await openEnv({ brokers: o.brokers, log: o.log });
  env.prefix = env.prefix.replace(/^bench-pipe-/, 'bench-share-');
  result.machine.brokerOwned = env.owned !== undefined;
  const ctx: RunContext = { env, admin: createAdmin({ brokers: env.brokers, clientId: 'lagless-bench-share' }), o, cpuIterations, replicaArgs, current: [], messages: {} };
  const onSignal = () => {
    for (const p of ctx.current) p.kill('SIGKILL');
    void closeEnv(env).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const backlogs = new Map<number, string>();
    for (const p of o.partitions) {
      const from = uniq(env, `backlog-p${p}`);
      await createTopics(env, [from], p);
      // Shaped like the pipeline bench's records (about 100 bytes); the jobs copy them.
      const ms = await produceUrls(env, from, o.records, (i, id) => `http://127.0.0.1:9/images/photo-${i % 10}.jpg?id=${id}`);
      result.produceSeconds += ms / 1000;
      backlogs.set(p, from);
      o.log(`produced ${o.records} records to ${from} (${p} partition${p === 1 ? '' : 's'}) in ${(ms / 1000).toFixed(1)} s`);
    }
    for (let round = 0; round < o.rounds; round++) {
      for (const job of o.only) {
        for (const p of o.partitions) {
          const order = roundOrder(o.replicas, round);
          o.log(`round ${round + 1} of ${o.rounds}, ${job} job, ${p} partition${p === 1 ? '' : 's'}: ${order.map(contenderName).join(', ')}`);
          for (const [position, c] of order.entries()) {
            const run = await runOnce(ctx, backlogs.get(p)!, job, p, c, round, position);
            result.runs.push(run);
            const codes = Object.entries(run.warnings).map(([k, n]) => `${k}×${n}`).join(' ');
            o.log(
              run.error
                ? `  ${contenderName(c)}: FAILED: ${run.error.split('\n')[0]}`
                : `  ${contenderName(c)}: ${run.perSecond.toFixed(1)} msg/s over ${run.seconds.toFixed(1)} s (first output ${run.firstOutputSeconds.toFixed(1)} s after the spawn${run.othersCpuShare === null ? '' : `; other processes ${Math.round(run.othersCpuShare * 100)}% of the CPU`}); per replica ${run.replicaOutputs.map((x) => x ?? '?').join('/')}${codes ? `; warnings ${codes}` : ''}`,
            );
          }
        }
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await ctx.admin.close().catch(() => {});
    await closeEnv(env);
  }
  result.machine.loadAfter = loadavg();
  result.summary = summarize(result.runs, o.only, o.partitions, o.replicas);
  result.warnings = { ...warningTotals(result.runs), messages: ctx.messages };
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const others = othersCpu(result.runs);
  const pctOf = (x: number) => `${Math.round(x * 100)}%`;
  const warned = (['share', 'consumer'] as const).map((g) => `${g}: ${Object.entries(result.warnings[g]).map(([k, v]) => `${k} (${v.lines} lines in ${v.runs} runs)`).join(', ') || 'none'}`);
  result.table = [
    `${o.records.toLocaleString('en-US')} records per run, ${o.rounds} round(s); msg/s from the first output to the last (output topic log ends polled every ${POLL_MS} ms)`,
    ...formatTables(result.summary, describeJob(o)),
    '',
    `warnings the replicas logged: ${warned.join('; ')}`,
    `load average before: ${load(result.machine.loadBefore)}, after: ${load(result.machine.loadAfter)} (${result.machine.cores} cores, ${result.machine.cpu ?? 'unknown CPU'})` +
      (others ? `; other processes used ${pctOf(others.median)} of the CPU during a run (median; ${pctOf(others.min)}-${pctOf(others.max)})` : ''),
  ];
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

export function writeResult(r: ShareBenchResult, out: string | undefined): string {
  return writeBenchResult('share', r, out);
}

// ---------------------------------------------------------------------------------------------------------------
// CLI

/** A flag's comma-separated list of positive integers, or a usage error naming the flag. */
function counts(flag: string, v: string): number[] {
  const list = v.split(',').map((s) => s.trim());
  const bad = list.filter((s) => !/^[1-9]\d*$/.test(s));
  if (bad.length || list.length === 0) throw new RangeError(`--${flag} takes positive integers separated by commas (e.g. 1,8), got "${v}"`);
  return [...new Set(list.map(Number))];
}

function positive(flag: string, v: string, integer = true): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new RangeError(`--${flag} must be a positive ${integer ? 'integer' : 'number'}, got "${v}"`);
  return n;
}

/** The options of a command line (a RangeError is a usage error). */
export function parseShareArgs(argv: readonly string[]): { options: Partial<ShareBenchOptions>; help: boolean } {
  let a;
  try {
    ({ values: a } = parseArgs({
      args: [...argv],
      options: {
        records: { type: 'string' },
        rounds: { type: 'string' },
        only: { type: 'string' },
        partitions: { type: 'string' },
        replicas: { type: 'string' },
        'io-ms': { type: 'string' },
        'cpu-ms': { type: 'string' },
        'max-concurrency': { type: 'string' },
        'max-in-flight': { type: 'string' },
        brokers: { type: 'string' },
        'json-out': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new RangeError(`${(err as Error).message} (see --help)`);
  }
  const o: Partial<ShareBenchOptions> = {};
  if (a.records !== undefined) o.records = positive('records', a.records);
  if (a.rounds !== undefined) o.rounds = positive('rounds', a.rounds);
  if (a['io-ms'] !== undefined) {
    const n = Number(a['io-ms']);
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`--io-ms must be an integer >= 0, got "${a['io-ms']}"`);
    o.ioMs = n;
  }
  if (a['cpu-ms'] !== undefined) o.cpuMs = positive('cpu-ms', a['cpu-ms'], false);
  if (a['max-concurrency'] !== undefined) o.maxConcurrency = positive('max-concurrency', a['max-concurrency']);
  if (a['max-in-flight'] !== undefined) o.maxInFlight = positive('max-in-flight', a['max-in-flight']);
  if (a.partitions !== undefined) o.partitions = counts('partitions', a.partitions);
  if (a.replicas !== undefined) o.replicas = counts('replicas', a.replicas);
  if (a.only !== undefined) {
    const list = a.only.split(',').map((s) => s.trim());
    const bad = list.filter((s) => !(JOBS as readonly string[]).includes(s));
    if (bad.length || list.length === 0) throw new RangeError(`--only takes ${JOBS.join(',')} (one or both), got "${a.only}"`);
    o.only = [...new Set(list)] as ShareBenchJob[];
  }
  if (a.brokers !== undefined) o.brokers = a.brokers;
  if (a['json-out'] !== undefined) o.jsonOut = a['json-out'];
  return { options: o, help: a.help };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let parsed: ReturnType<typeof parseShareArgs>;
  try {
    parsed = parseShareArgs(argv);
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exit(2);
  }
  if (parsed.help) {
    const head = readFileSync(new URL(import.meta.url), 'utf8').split('\n');
    process.stdout.write(head.slice(0, head.findIndex((l) => !l.startsWith('//'))).join('\n') + '\n');
    return;
  }
  const o = { ...parsed.options, log: benchLog };
  await finishBench(
    () => runShareBench(o, argv),
    (result) => writeResult(result, o.jsonOut),
  );
}

if (import.meta.main) await main();
