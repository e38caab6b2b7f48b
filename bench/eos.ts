// Exactly-once vs at-least-once, side by side in one run: throughput (noop and palette), end-to-end latency (p50/p99)
// at a paced input, and the duplicates a read_committed reader sees after a kill -9, for each guarantee.
//
//   npm run bench -- eos [--noop-records 20000] [--palette-records 600] [--workers 2] [--partitions 4]
//                        [--latency-seconds 10] [--kill-records 6000] [--brokers host:port] [--out FILE]
//
// Each member is the real CLI (`lagless run noop|palette --guarantee ...`) in its own process, against a real broker
// (--brokers if it answers on loopback, else one this bench starts and stops) and the real image server on 127.0.0.1.
// Every figure is read by kcat (librdkafka) with isolation.level=read_committed: an output counts when a
// read_committed consumer can see it, which is when exactly-once's transaction commits.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { provenance } from './lib/provenance.ts';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startImageServer, type ImageServer } from '../src/image-server/index.ts';
import { createProducer } from '../src/kafka/index.ts';
import { closeEnv, createTopics, openEnv, uniq, type BenchEnv } from './pipeline/env.ts';
import { defaultPipelineBenchOptions } from './pipeline/options.ts';
import { benchLog } from './lib/cli.ts';

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const GUARANTEES = ['at-least-once', 'exactly-once'] as const;
type Guarantee = (typeof GUARANTEES)[number];
type JobName = 'noop' | 'palette';

interface Options {
  noopRecords: number;
  paletteRecords: number;
  workers: number;
  partitions: number;
  latencySeconds: number;
  killRecords: number;
  brokers: string | undefined;
  out: string | undefined;
}

const log = benchLog;

/** A kcat read_committed consumer that notes when each record arrives (performance.now()). */
class Reader {
  readonly arrivals: { key: string; at: number }[] = [];
  readonly keys = new Set<string>();
  readonly #child: ChildProcess;
  #buf = '';
  #waiters: (() => void)[] = [];
  #error = '';

  constructor(env: BenchEnv, topic: string) {
    this.#child = spawn('kcat', ['-C', '-b', env.brokers.join(','), '-X', 'isolation.level=read_committed', '-o', 'beginning', '-J', '-u', '-q', '-t', topic], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const now = performance.now();
      this.#buf += d;
      let nl: number;
      while ((nl = this.#buf.indexOf('\n')) >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        if (!line.trim()) continue;
        const key = (JSON.parse(line) as { key: string | null }).key ?? '';
        this.arrivals.push({ key, at: now });
        this.keys.add(key);
      }
      for (const w of this.#waiters.splice(0)) w();
    });
    this.#child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.#error += d));
  }

  /** Resolves once `n` distinct keys arrived; rejects after `ms`. */
  async waitKeys(n: number, ms: number, what: string): Promise<void> {
    const deadline = performance.now() + ms;
    while (this.keys.size < n) {
      if (performance.now() > deadline) throw new Error(`${what}: ${this.keys.size} of ${n} after ${ms / 1000} s ${this.#error.trim()}`);
      await new Promise<void>((ok) => {
        this.#waiters.push(ok);
        setTimeout(ok, 500).unref();
      });
    }
  }

  close(): void {
    this.#child.kill('SIGTERM');
  }
}

function startMember(env: BenchEnv, job: JobName, guarantee: Guarantee, t: { from: string; to: string; dlq: string; group: string }, extra: string[]): ChildProcess & { stderr_: string } {
  const child = spawn(
    process.execPath,
    [CLI, 'run', job, '--brokers', env.brokers.join(','), '--from', t.from, '--to', t.to, '--dlq', t.dlq, '--group', t.group, '--guarantee', guarantee, '--quiet', '--session-timeout', '6s', '--status-every', '0', ...extra],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  ) as ChildProcess & { stderr_: string };
  child.stderr_ = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (child.stderr_ += d));
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((ok) => (child.exitCode !== null || child.signalCode !== null ? ok() : child.once('exit', () => ok())));
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await exited(child);
  clearTimeout(timer);
}

async function produce(env: BenchEnv, topic: string, keys: readonly string[], valueOf: (key: string, i: number) => string): Promise<Map<string, number>> {
  const producer = createProducer({ brokers: env.brokers, clientId: 'lagless-bench-eos' });
  const sentAt = new Map<string, number>();
  try {
    for (let i = 0; i < keys.length; i += 1000) {
      const now = performance.now();
      const batch = keys.slice(i, i + 1000);
      for (const k of batch) sentAt.set(k, now);
      await producer.send({ messages: batch.map((key, j) => ({ topic, key, value: valueOf(key, i + j) })) });
    }
  } finally {
    await producer.close().catch(() => {});
  }
  return sentAt;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

interface Run {
  job: JobName;
  guarantee: Guarantee;
  throughput?: { records: number; perSecond: number; steadyPerSecond: number };
  latency?: { rate: number; records: number; p50Ms: number; p99Ms: number };
  kill?: { records: number; killedAfter: number; readCommitted: number; duplicates: number };
}

async function topicsFor(env: BenchEnv, o: Options, what: string) {
  const from = uniq(env, what);
  const t = { from, to: `${from}.out`, dlq: `${from}.dlq`, group: `${from}-group` };
  await createTopics(env, [t.from, t.to, t.dlq], o.partitions);
  return t;
}

function jobArgs(job: JobName, o: Options, images: ImageServer): string[] {
  return job === 'palette' ? ['--allow-host', `127.0.0.1:${images.port}`, '--workers', String(o.workers)] : [];
}

/** Throughput: a backlog drained by one member, timed at the read_committed reader. */
async function throughput(env: BenchEnv, o: Options, images: ImageServer, job: JobName, guarantee: Guarantee): Promise<Run['throughput']> {
  const n = job === 'noop' ? o.noopRecords : o.paletteRecords;
  const t = await topicsFor(env, o, `${job}-${guarantee}`);
  const keys = Array.from({ length: n }, (_, i) => `${t.from}-${i}`);
  await produce(env, t.from, keys, (id, i) => JSON.stringify({ id, url: images.imageUrl(i, { id }) }));
  const reader = new Reader(env, t.to);
  const member = startMember(env, job, guarantee, t, jobArgs(job, o, images));
  try {
    await reader.waitKeys(n, 20 * 60_000, `${job} ${guarantee}: outputs`);
  } finally {
    await stop(member);
    reader.close();
  }
  const times = reader.arrivals.map((a) => a.at);
  const first = times[0]!;
  const last = times.at(-1)!;
  const tenth = times[Math.floor(times.length / 10)]!;
  return { records: n, perSecond: n / ((last - first) / 1000 || 1e-3), steadyPerSecond: (times.length - Math.floor(times.length / 10)) / ((last - tenth) / 1000 || 1e-3) };
}

/** Latency: records produced at a steady rate well below capacity; arrival at the read_committed reader minus send. */
async function latency(env: BenchEnv, o: Options, images: ImageServer, job: JobName, guarantee: Guarantee, rate: number): Promise<Run['latency']> {
  const t = await topicsFor(env, o, `${job}-${guarantee}-lat`);
  const reader = new Reader(env, t.to);
  const member = startMember(env, job, guarantee, t, jobArgs(job, o, images));
  const producer = createProducer({ brokers: env.brokers, clientId: 'lagless-bench-eos' });
  const sentAt = new Map<string, number>();
  try {
    // Warm-up: the member has joined and outputs once before the measured records are sent.
    await producer.send({ messages: [{ topic: t.from, key: 'warm-up', value: JSON.stringify({ id: 'warm-up', url: images.imageUrl(0, { id: 'warm-up' }) }) }] });
    await reader.waitKeys(1, 120_000, `${job} ${guarantee}: warm-up`);
    const total = Math.max(1, Math.round(rate * o.latencySeconds));
    const tick = 50;
    const perTick = rate * (tick / 1000);
    const started = performance.now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / tick + 1) * perTick));
      const messages = [];
      for (; sent < due; sent += 1) {
        const id = `${t.from}-${sent}`;
        sentAt.set(id, performance.now());
        messages.push({ topic: t.from, key: id, value: JSON.stringify({ id, url: images.imageUrl(sent, { id }) }) });
      }
      if (messages.length) await producer.send({ messages });
      await new Promise((ok) => setTimeout(ok, tick));
    }
    await reader.waitKeys(total + 1, 10 * 60_000, `${job} ${guarantee}: paced outputs`);
  } finally {
    await producer.close().catch(() => {});
    await stop(member);
    reader.close();
  }
  const lat = reader.arrivals.filter((a) => sentAt.has(a.key)).map((a) => a.at - sentAt.get(a.key)!);
  return { rate, records: lat.length, p50Ms: pct(lat, 50), p99Ms: pct(lat, 99) };
}

/** Duplicates: one member is killed (kill -9) mid-run, a second finishes; the read_committed reader counts records per id. */
async function kill(env: BenchEnv, o: Options, images: ImageServer, guarantee: Guarantee): Promise<Run['kill']> {
  const n = o.killRecords;
  const t = await topicsFor(env, o, `kill-${guarantee}`);
  const keys = Array.from({ length: n }, (_, i) => `${t.from}-${i}`);
  await produce(env, t.from, keys, (id) => JSON.stringify({ id }));
  const reader = new Reader(env, t.to);
  const first = startMember(env, 'noop', guarantee, t, ['--max-in-flight', '2000']);
  let killedAfter = 0;
  try {
    await reader.waitKeys(Math.floor(n / 3), 10 * 60_000, `kill ${guarantee}: outputs before the kill`);
    first.kill('SIGKILL');
    await exited(first);
    killedAfter = reader.keys.size;
    const second = startMember(env, 'noop', guarantee, t, []);
    try {
      await reader.waitKeys(n, 10 * 60_000, `kill ${guarantee}: outputs after the restart`);
    } finally {
      await stop(second);
    }
  } finally {
    if (first.exitCode === null && first.signalCode === null) first.kill('SIGKILL');
    reader.close();
  }
  void images;
  return { records: n, killedAfter, readCommitted: reader.arrivals.length, duplicates: reader.arrivals.length - reader.keys.size };
}

function table(runs: Run[]): string[] {
  const rows = [['job', 'guarantee', 'records/s (steady)', 'vs at-least-once', 'latency p50', 'latency p99', 'paced at', 'dup after kill -9']];
  for (const r of runs) {
    const base = runs.find((x) => x.job === r.job && x.guarantee === 'at-least-once');
    rows.push([
      r.job,
      r.guarantee,
      r.throughput ? r.throughput.steadyPerSecond.toFixed(1) : '-',
      r.throughput && base?.throughput ? `${((100 * r.throughput.steadyPerSecond) / base.throughput.steadyPerSecond).toFixed(0)}%` : '-',
      r.latency ? `${r.latency.p50Ms.toFixed(0)} ms` : '-',
      r.latency ? `${r.latency.p99Ms.toFixed(0)} ms` : '-',
      r.latency ? `${r.latency.rate}/s` : '-',
      r.kill ? `${r.kill.duplicates} of ${r.kill.readCommitted}` : '-',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`).flatMap((line, i) => (i === 1 ? [`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, line] : [line]));
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      'noop-records': { type: 'string' },
      'palette-records': { type: 'string' },
      workers: { type: 'string' },
      partitions: { type: 'string' },
      'latency-seconds': { type: 'string' },
      'kill-records': { type: 'string' },
      brokers: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (a.help) {
    process.stdout.write(readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(0, 9).join('\n') + '\n');
    return;
  }
  const int = (flag: string, v: string | undefined, def: number, min = 1) => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      process.stderr.write(`error: --${flag} must be an integer >= ${min}, got "${v}"\n`);
      process.exit(2);
    }
    return n;
  };
  const o: Options = {
    noopRecords: int('noop-records', a['noop-records'], 20_000),
    paletteRecords: int('palette-records', a['palette-records'], 600),
    workers: int('workers', a.workers, 2),
    partitions: int('partitions', a.partitions, 4),
    latencySeconds: int('latency-seconds', a['latency-seconds'], 10),
    killRecords: int('kill-records', a['kill-records'], 6000, 3),
    brokers: a.brokers,
    out: a.out,
  };
  const loadBefore = loadavg();
  const env = await openEnv({ ...defaultPipelineBenchOptions(), ...(o.brokers ? { brokers: o.brokers } : {}), log });
  const images = await startImageServer({ latencyMs: 0 });
  const runs: Run[] = [];
  const started = performance.now();
  try {
    for (const job of ['noop', 'palette'] as const) {
      // Alternating order per job, so that neither guarantee always runs on a warmer (or more loaded) machine.
      for (const guarantee of job === 'noop' ? GUARANTEES : [...GUARANTEES].reverse()) {
        log(`${job} ${guarantee}: throughput over a backlog of ${job === 'noop' ? o.noopRecords : o.paletteRecords}`);
        const r: Run = { job, guarantee, throughput: await throughput(env, o, images, job, guarantee) };
        log(`  ${r.throughput!.steadyPerSecond.toFixed(1)} records/s steady (whole run ${r.throughput!.perSecond.toFixed(1)})`);
        runs.push(r);
      }
      // Latency at about a third of the slower guarantee's throughput, the same rate for both.
      const slowest = Math.min(...runs.filter((r) => r.job === job).map((r) => r.throughput!.steadyPerSecond));
      const rate = Math.max(1, Math.round(slowest / 3));
      for (const guarantee of GUARANTEES) {
        log(`${job} ${guarantee}: latency at ${rate} records/s for ${o.latencySeconds} s`);
        const r = runs.find((x) => x.job === job && x.guarantee === guarantee)!;
        r.latency = await latency(env, o, images, job, guarantee, rate);
        log(`  p50 ${r.latency!.p50Ms.toFixed(0)} ms, p99 ${r.latency!.p99Ms.toFixed(0)} ms`);
      }
    }
    for (const guarantee of GUARANTEES) {
      log(`noop ${guarantee}: kill -9 after a third of ${o.killRecords} records, then a restart`);
      const r = runs.find((x) => x.job === 'noop' && x.guarantee === guarantee)!;
      r.kill = await kill(env, o, images, guarantee);
      log(`  ${r.kill!.duplicates} duplicate(s) among ${r.kill!.readCommitted} records read (killed after ${r.kill!.killedAfter} ids)`);
    }
  } finally {
    await images.close();
    await closeEnv(env);
  }
  const result = {
    bench: 'eos',
    date: new Date().toISOString(),
    ...provenance('eos'),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, loadBefore, loadAfter: loadavg() },
    options: o,
    runs,
    seconds: (performance.now() - started) / 1000,
  };
  const lines = table(runs);
  const out = o.out ?? fileURLToPath(new URL(`results/eos-${result.date.replace(/[:.]/g, '-')}.json`, import.meta.url));
  mkdirSync(new URL('results/', import.meta.url), { recursive: true });
  writeFileSync(out, JSON.stringify({ ...result, table: lines }, null, 2) + '\n');
  process.stdout.write(`${lines.join('\n')}\n(load ${loadBefore.map((l) => l.toFixed(1)).join(' ')} before, ${result.machine.loadAfter.map((l) => l.toFixed(1)).join(' ')} after; ${result.seconds.toFixed(0)} s; ${out})\n`);
}

await main();
