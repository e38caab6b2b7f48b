// Peers benchmark: Lagless's noop job against other Node Kafka loops, each draining the same backlog in a child process.
//
//   npm run bench -- peers [--records 1000000] [--partitions 8] [--rounds 5] [--only noop,bare,kafkajs,confluent]
//                          [--lagless-bin] [--lagless-args "--max-in-flight 20000 ..."] [--brokers host:port]
//                          [--json-out FILE] [--profile DIR]
//
// One backlog of --records records (about 100 bytes each) is produced once to a topic of --partitions partitions, on one
// broker (--brokers, on loopback, if it answers; else one this bench starts on a free port and stops at the
// end). Each round, each contender drains the whole backlog from its start, with a consumer group and an output topic
// of its own, in a child process (node --conditions=lagless-source): consume, produce each record to the output topic
// with an idempotent acks=all producer, commit only offsets whose outputs are acknowledged. The contenders:
//   noop       lagless run noop (src/cli/main.ts; --status-every 0 --quiet, other flags at their defaults); with
//              --lagless-bin through bin/lagless.js as users start it (its shebang adds MALLOC_ARENA_MAX=2 and
//              --max-semi-space-size=16, which the other contenders do not get)
//   bare       bareLoop of bench/pipeline/overhead.ts: the bare @platformatic/kafka loop of the pipeline bench
//   kafkajs    KafkaJS eachBatch (eachBatchAutoResolve false; resolveOffset, commitOffsetsIfNecessary after the send)
//   confluent  the same on @confluentinc/kafka-javascript's KafkaJS API (LAGLESS_BENCH_CONFLUENT=path, or its name)
// The order rotates by one contender a round. Every contender is measured from outside, the same way: this process
// polls the broker every 50 ms (DescribeGroups, ListOffsets of the output topic, OffsetFetch of the group); msg/s =
// records / the time from the first poll that sees its group stable with a member (partitions assigned: its first
// fetch follows) to the first poll that sees the group's commits at the backlog's log end. Peak RSS is the child's VmHWM (/proc/PID/status) read at that moment, before it is sent SIGTERM.
// Prints medians with ranges and the load average before and after; writes JSON to bench/results/peers-<date>.json.
// --profile DIR: every child also writes a V8 CPU profile (--cpu-prof), its GC events (--trace-gc) and an allocation
// profile (bench/lib/alloc-sampler.ts) to DIR/<contender>-r<round>/; `node bench/lib/profile-top.ts DIR/noop-r1
// --records N` prints where its time and its allocations went.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createAdmin, readGroupLag } from '../src/kafka/index.ts';
import { closeEnv, createTopics, loopbackBrokers, openEnv, procCpuMs, produceUrls, uniq, type BenchEnv } from './pipeline/env.ts';
import { benchLog, finishBench, writeBenchResult } from './lib/cli.ts';
import { CONTENDERS, DESCRIPTIONS, formatTable, roundOrder, summarize, type Contender, type PeerRun, type PeerSummary } from './peers/plan.ts';

export { CONTENDERS, roundOrder, summarize, formatTable, median, type Contender, type PeerRun, type PeerSummary } from './peers/plan.ts';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
/** How often the parent reads each run's progress from the broker: the resolution of the timings. */
export const POLL_MS = 50;
const RUN_TIMEOUT_MS = 30 * 60_000;

export interface PeersBenchOptions {
  records: number;
  partitions: number;
  rounds: number;
  only: Contender[];
  /** Start the noop contender through bin/lagless.js (with the binary's memory flags) instead of node src/cli/main.ts. */
  laglessBin: boolean;
  brokers: string | undefined;
  jsonOut: string | undefined;
  /** More flags for `lagless run noop` (tuning experiments; the default run has none). */
  laglessArgs: string[];
  /** Where each child writes a CPU profile (DIR/<contender>-r<round>/), or undefined for none. */
  profile: string | undefined;
  log: (line: string) => void;
}

export const defaultPeersBenchOptions = (): PeersBenchOptions => ({
  records: 1_000_000,
  partitions: 8,
  rounds: 5,
  only: [...CONTENDERS],
  laglessBin: false,
  brokers: undefined,
  jsonOut: undefined,
  profile: undefined,
  laglessArgs: [],
  log: () => {},
});

export interface PeersBenchResult {
  bench: 'peers';
  date: string;
  command: string;
  commit: string | null;
  machine: { cpu: string | undefined; cores: number; memoryGb: number; node: string; loadBefore: number[]; loadAfter: number[]; brokerOwned: boolean };
  options: Omit<PeersBenchOptions, 'log' | 'jsonOut' | 'brokers' | 'profile'>;
  method: string;
  contenders: Partial<Record<Contender, string>>;
  /** Contenders left out, with the reason (e.g. a package that does not install here). */
  unavailable: Partial<Record<Contender, string>>;
  produceSeconds: number;
  runs: PeerRun[];
  summary: PeerSummary[];
  table: string[];
  seconds: number;
}

const METHOD =
  `Each contender is a child process (node --conditions=lagless-source) draining the whole backlog with a fresh consumer group into ` +
  `its own output topic. The parent polls the broker every ${POLL_MS} ms (DescribeGroups, ListOffsets, OffsetFetch); msg/s = records / ` +
  `(time of the first poll seeing its group Stable with a member, i.e. partitions assigned and the first fetch next -> time of the first ` +
  `poll seeing the group's committed offsets at the input's log end); the first output seen is the start only if the group was never ` +
  `seen stable. Peak RSS = the child's VmHWM from /proc/<pid>/status at that moment, then SIGTERM. joinedSeconds and ` +
  `firstOutputSeconds count from the spawn. cpuMsPerRecord = the child's user+system CPU from its start, per record.`;

/** The child process of one contender: its node arguments. */
function childCommand(c: Contender, laglessBin: boolean, laglessArgs: readonly string[], t: { brokers: string[]; from: string; to: string; dlq: string; group: string; records: number }, profileDir?: string): [string, string[]] {
  // A profiled child: its CPU profile is written when it exits (after the parent's SIGTERM), GC events go to stdout.
  const prof = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--trace-gc', '--import', join(ROOT, 'bench/lib/alloc-sampler.ts')] : [];
  if (c === 'noop') {
    const args = [
      'run', 'noop',
      '--brokers', t.brokers.join(','), '--from', t.from, '--to', t.to, '--dlq', t.dlq, '--group', t.group,
      '--status-every', '0', '--quiet', '--drain-timeout', '5s',
      ...laglessArgs,
    ];
    // The binary runs the `node` first in PATH (npm run puts the project's Node 24 there).
    // The binary's own flags, given to node directly when profiling (a shebang takes no more flags).
    if (laglessBin && !profileDir) return [join(ROOT, 'bin/lagless.js'), args];
    const binFlags = laglessBin ? ['--max-semi-space-size=16'] : [];
    return [process.execPath, [...binFlags, ...prof, '--conditions=lagless-source', join(ROOT, 'src/cli/main.ts'), ...args]];
  }
  return [process.execPath, [...prof, '--conditions=lagless-source', join(ROOT, `bench/peers/${c}.ts`), '--brokers', t.brokers.join(','), '--from', t.from, '--to', t.to, '--group', t.group, '--records', String(t.records)]];
}

/** Peak resident set size of a live process, MB (VmHWM: the kernel's own high-water mark, no sampling gaps). */
function peakRssMb(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Whether @confluentinc/kafka-javascript loads here: undefined if it does, else why not. */
function probeConfluent(): string | undefined {
  const r = spawnSync(process.execPath, ['--conditions=lagless-source', join(ROOT, 'bench/peers/confluent.ts'), '--probe'], { encoding: 'utf8', timeout: 60_000 });
  const out = (r.stdout ?? '').trim();
  if (out === 'ok') return undefined;
  return out || (r.stderr ?? '').trim().split('\n')[0] || `the probe exited with ${r.status ?? r.signal}`;
}

async function stopChild(proc: ChildProcess): Promise<number | string | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode ?? proc.signalCode;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
  return proc.exitCode ?? proc.signalCode;
}

interface RunContext {
  env: BenchEnv;
  admin: ReturnType<typeof createAdmin>;
  from: string;
  o: PeersBenchOptions;
  /** The running child, for the signal handler. */
  current: { proc: ChildProcess | undefined };
}

async function runOnce(ctx: RunContext, contender: Contender, round: number, position: number): Promise<PeerRun> {
  const { env, admin, from, o } = ctx;
  const to = uniq(env, `${contender}-r${round + 1}`);
  const dlq = `${to}.dlq`;
  const group = `${to}-group`;
  const topics = contender === 'noop' ? [to, dlq] : [to];
  await createTopics(env, topics, o.partitions);
  const run: PeerRun = { round, contender, position, records: o.records, seconds: 0, perSecond: 0, joinedSeconds: null, firstOutputSeconds: 0, peakRssMb: 0, cpuMsPerRecord: null, outputs: 0, exit: null };
  const watch = new Map([
    [from, o.partitions],
    [to, o.partitions],
  ]);
  // One poll before the child starts: the admin client's first requests for a new topic and group (metadata, the
  // group's coordinator) take a second here, in which a fast contender could drain a small backlog unseen.
  await Promise.all([readGroupLag(admin, group, watch), admin.describeGroups({ groups: [group] })]);
  const profileDir = o.profile ? join(resolve(o.profile), `${contender}-r${round + 1}`) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const [command, args] = childCommand(contender, o.laglessBin, o.laglessArgs, { brokers: env.brokers, from, to, dlq, group, records: o.records }, profileDir);
  const childEnv = profileDir ? { ...process.env, LAGLESS_ALLOC_PROFILE: profileDir, ...(o.laglessBin ? { MALLOC_ARENA_MAX: '2' } : {}) } : process.env;
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT, env: childEnv });
  let gcLines = '';
  if (profileDir) proc.stdout!.on('data', (d: Buffer) => (gcLines += d.toString()));
  ctx.current.proc = proc;
  let output = '';
  const keep = (d: Buffer) => {
    output += d.toString();
    if (output.length > 100_000) output = output.slice(-20_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const spawned = performance.now();
  try {
    let joined: number | undefined;
    let firstOutput: number | undefined;
    for (;;) {
      const polled = performance.now();
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`exited early (${proc.exitCode ?? proc.signalCode}): ${output.slice(-2000)}`);
      if (performance.now() - spawned > RUN_TIMEOUT_MS) throw new Error(`not done after ${RUN_TIMEOUT_MS / 60_000} min: ${output.slice(-2000)}`);
      const [lag, described] = await Promise.all([readGroupLag(admin, group, watch), joined === undefined ? admin.describeGroups({ groups: [group] }) : undefined]);
      const at = performance.now();
      const g = described?.get(group);
      if (joined === undefined && g && /^stable$/i.test(g.state) && g.members.size > 0) joined = at;
      const outputs = Number(lag.get(to)?.logEnd ?? 0n);
      if (firstOutput === undefined && outputs > 0) firstOutput = at;
      if (firstOutput !== undefined && lag.get(from)?.lag === 0n) {
        // A group never seen stable (joined and done between two polls) starts the clock at the first output.
        const first = joined ?? firstOutput;
        run.peakRssMb = peakRssMb(proc.pid!) ?? NaN;
        const cpu = procCpuMs(proc.pid!);
        run.cpuMsPerRecord = cpu === undefined ? null : cpu / o.records;
        run.outputs = outputs;
        run.seconds = (at - first) / 1000;
        if (run.seconds === 0) throw new Error(`drained between two polls ${POLL_MS} ms apart: too few --records to measure`);
        run.perSecond = o.records / run.seconds;
        run.joinedSeconds = joined === undefined ? null : (joined - spawned) / 1000;
        run.firstOutputSeconds = (firstOutput - spawned) / 1000;
        break;
      }
      await sleep(Math.max(0, polled + POLL_MS - performance.now()));
    }
  } catch (err) {
    run.error = err instanceof Error ? err.message : String(err);
  } finally {
    run.exit = await stopChild(proc);
    ctx.current.proc = undefined;
    if (profileDir) writeFileSync(join(profileDir, 'gc.txt'), gcLines);
    // The outputs are not read again: their topics go, so that five rounds of a million records do not fill the disk.
    await admin.deleteTopics({ topics }).catch(() => {});
    env.topics = env.topics.filter((t) => !topics.includes(t));
  }
  if (!run.error && run.seconds < (20 * POLL_MS) / 1000) o.log(`  note: ${contender} drained in ${run.seconds.toFixed(2)} s: at one poll every ${POLL_MS} ms its rate is coarse (more --records)`);
  if (!run.error && run.outputs < o.records) o.log(`  note: ${contender} committed the whole backlog with only ${run.outputs} outputs for ${o.records} records`);
  if (run.outputs > o.records) o.log(`  note: ${contender} wrote ${run.outputs} outputs for ${o.records} records (duplicates)`);
  return run;
}

function gitCommit(): string | null {
  const r = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) return null;
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).stdout?.trim();
  return r.stdout.trim() + (dirty ? '+dirty' : '');
}

export async function runPeersBench(options: Partial<PeersBenchOptions> = {}, command = ''): Promise<PeersBenchResult> {
  const o = { ...defaultPeersBenchOptions(), ...options };
  for (const [k, min] of [
    ['records', 1],
    ['partitions', 1],
    ['rounds', 1],
  ] as const) {
    if (!Number.isInteger(o[k]) || o[k] < min) throw new RangeError(`${k} must be an integer >= ${min}, got ${o[k]}`);
  }
  for (const c of o.only) if (!CONTENDERS.includes(c)) throw new RangeError(`unknown contender "${c}" (contenders: ${CONTENDERS.join(', ')})`);
  if (o.only.length === 0) throw new RangeError('no contender to run');
  if (o.brokers) loopbackBrokers(o.brokers);
  const started = performance.now();
  const unavailable: Partial<Record<Contender, string>> = {};
  if (o.only.includes('confluent')) {
    const why = probeConfluent();
    if (why !== undefined) {
      unavailable.confluent = why;
      o.log(`confluent: not available here: ${why}`);
    }
  }
  const contenders = o.only.filter((c) => unavailable[c] === undefined);
  const result: PeersBenchResult = {
    bench: 'peers',
    date: new Date().toISOString(),
    command,
    commit: gitCommit(),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, loadBefore: loadavg(), loadAfter: [], brokerOwned: false },
    options: { records: o.records, partitions: o.partitions, rounds: o.rounds, only: o.only, laglessBin: o.laglessBin, laglessArgs: o.laglessArgs },
    method: METHOD,
    contenders: Object.fromEntries(o.only.map((c) => [c, DESCRIPTIONS[c]])),
    unavailable,
    produceSeconds: 0,
    runs: [],
    summary: [],
    table: [],
    seconds: 0,
  };
  const env = await openEnv({ brokers: o.brokers, log: o.log });
  env.prefix = env.prefix.replace(/^bench-pipe-/, 'bench-peers-');
  result.machine.brokerOwned = env.owned !== undefined;
  const ctx: RunContext = { env, admin: createAdmin({ brokers: env.brokers, clientId: 'lagless-bench-peers' }), from: '', o, current: { proc: undefined } };
  const onSignal = () => {
    ctx.current.proc?.kill('SIGKILL');
    void closeEnv(env).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (contenders.length) {
      ctx.from = uniq(env, 'backlog');
      await createTopics(env, [ctx.from], o.partitions);
      // Shaped like the pipeline bench's records (about 100 bytes), never fetched: every contender copies them.
      const ms = await produceUrls(env, ctx.from, o.records, (i, id) => `http://127.0.0.1:9/images/photo-${i % 10}.jpg?id=${id}`);
      result.produceSeconds = ms / 1000;
      o.log(`produced ${o.records} records to ${ctx.from} (${o.partitions} partitions) in ${(ms / 1000).toFixed(1)} s`);
    }
    for (let round = 0; round < o.rounds && contenders.length; round++) {
      const order = roundOrder(contenders, round);
      o.log(`round ${round + 1} of ${o.rounds}: ${order.join(', ')}`);
      for (const [position, c] of order.entries()) {
        const run = await runOnce(ctx, c, round, position);
        result.runs.push(run);
        o.log(
          run.error
            ? `  ${c}: FAILED: ${run.error.split('\n')[0]}`
            : `  ${c}: ${Math.round(run.perSecond)} msg/s over ${run.seconds.toFixed(2)} s (group stable ${run.joinedSeconds?.toFixed(1) ?? '?'} s and first output ${run.firstOutputSeconds.toFixed(1)} s after the spawn), peak RSS ${run.peakRssMb.toFixed(0)} MB`,
        );
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await ctx.admin.close().catch(() => {});
    await closeEnv(env);
  }
  result.machine.loadAfter = loadavg();
  result.summary = summarize(result.runs, o.only);
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  result.table = [
    `${o.records.toLocaleString('en-US')} records, ${o.partitions} partitions, ${o.rounds} round(s); msg/s from the group seen stable to its commits seen at the log end (polled every ${POLL_MS} ms); peak RSS = VmHWM`,
    ...formatTable(result.summary, unavailable),
    `load average before: ${load(result.machine.loadBefore)}, after: ${load(result.machine.loadAfter)} (${result.machine.cores} cores, ${result.machine.cpu ?? 'unknown CPU'})`,
  ];
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

export function writeResult(r: PeersBenchResult, out: string | undefined): string {
  return writeBenchResult('peers', r, out);
}

// ---------------------------------------------------------------------------------------------------------------
// CLI

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { values: a } = parseArgs({
    args: argv,
    options: {
      records: { type: 'string' },
      partitions: { type: 'string' },
      rounds: { type: 'string' },
      only: { type: 'string' },
      'lagless-bin': { type: 'boolean', default: false },
      brokers: { type: 'string' },
      'json-out': { type: 'string' },
      profile: { type: 'string' },
      'lagless-args': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (a.help) {
    const head = readFileSync(new URL(import.meta.url), 'utf8').split('\n');
    process.stdout.write(head.slice(0, head.findIndex((l) => !l.startsWith('//'))).join('\n') + '\n');
    return;
  }
  const o: Partial<PeersBenchOptions> = {};
  for (const [flag, key] of [
    ['records', 'records'],
    ['partitions', 'partitions'],
    ['rounds', 'rounds'],
  ] as const) {
    const v = a[flag];
    if (v === undefined) continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) {
      process.stderr.write(`error: --${flag} must be a positive integer, got "${v}"\n`);
      process.exit(2);
    }
    o[key] = n;
  }
  if (a.only) {
    const list = a.only.split(',').map((s) => s.trim());
    const bad = list.filter((s) => !(CONTENDERS as readonly string[]).includes(s));
    if (bad.length || list.length === 0) {
      process.stderr.write(`error: --only takes ${CONTENDERS.join(',')}; unknown: ${bad.join(', ')}\n`);
      process.exit(2);
    }
    o.only = [...new Set(list)] as Contender[];
  }
  if (a.brokers) o.brokers = a.brokers;
  if (a.profile) o.profile = a.profile;
  if (a['lagless-args']) o.laglessArgs = a['lagless-args'].split(/\s+/).filter(Boolean);
  o.laglessBin = a['lagless-bin'];
  o.log = benchLog;
  await finishBench(
    () => runPeersBench(o, ['npm run bench -- peers', ...argv].join(' ')),
    (result) => writeResult(result, a['json-out']),
  );
}

if (import.meta.main) await main();
