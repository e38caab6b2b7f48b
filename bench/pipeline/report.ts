// The pipeline benchmark's result: its shape, the verdicts against the targets, the printed table and the JSON file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { provenance } from '../lib/provenance.ts';
import { join, resolve } from 'node:path';
import { median } from './env.ts';
import type { MemoryFigure } from './memory.ts';
import type { OverheadRun } from './overhead.ts';
import { TARGETS, type PipelineBenchOptions } from './options.ts';
import type { PipelineRun } from './palette-runs.ts';
import type { EngineFigure } from './engine.ts';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);

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
  /** The images every stage used. */
  images: { dir: string; count: number; megapixels: { min: number; max: number; mean: number }; formats: Record<string, number> };
  targets: typeof TARGETS;
  /** The palette engine alone (worker pool, same photos and workers, no Kafka, no HTTP): one run per pipeline round. */
  engine?: { runs: EngineFigure[]; perSecond: number };
  pipeline?: {
    cpuBound: PipelineRun[];
    latency: PipelineRun[];
    cpuBoundPerSecond: number;
    latencyPerSecond: number;
    latencyVsCpuBound: number;
    /** Pipeline (0 ms per download) / engine alone, medians; null without the engine stage. */
    cpuBoundVsEngine: number | null;
    latencyVsEngine: number | null;
  };
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


export function verdicts(r: PipelineBenchResult): Verdict[] {
  const v: Verdict[] = [];
  if (r.pipeline?.cpuBoundVsEngine != null) v.push(atLeast('pipeline (0 ms per download) vs the palette engine alone', r.pipeline.cpuBoundVsEngine, TARGETS.vsEngine));
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
  if (r.engine) rows.push([`palette engine alone, ${o.workers} workers, no Kafka/HTTP`, `${f1(r.engine.perSecond)} img/s`, '', `runs: ${r.engine.runs.map((x) => f1(x.perSecond)).join(', ')} (${r.engine.runs[0]!.images} images each)`]);
  if (r.pipeline) {
    const p = r.pipeline;
    const runs = (xs: PipelineRun[]) => xs.map((x) => f1(x.steadyPerSecond)).join(', ');
    const whole = (xs: PipelineRun[]) => f1(median(xs.map((x) => x.perSecond)));
    rows.push([`pipeline, 0 ms per download (CPU-bound)`, `${f1(p.cpuBoundPerSecond)} img/s`, '', `steady runs: ${runs(p.cpuBound)}; whole run ${whole(p.cpuBound)}; ${cpuNote(p.cpuBound[0]!)}`]);
    if (p.cpuBoundVsEngine !== null) rows.push([`  0 ms vs engine alone`, pct(p.cpuBoundVsEngine), `>= ${pct(TARGETS.vsEngine)}`, verdict('pipeline (0 ms per download) vs the palette engine alone')]);
    rows.push([`pipeline, ${o.latencyMs} ms per download`, `${f1(p.latencyPerSecond)} img/s`, '', `steady runs: ${runs(p.latency)}; whole run ${whole(p.latency)}; downloads in flight up to ${Math.max(...p.latency.map((x) => x.maxConcurrentDownloads))}`]);
    const name = `images/s with ${o.latencyMs} ms per download vs CPU-bound (0 ms)`;
    rows.push([`  ${o.latencyMs} ms vs CPU-bound`, pct(p.latencyVsCpuBound), `>= ${pct(TARGETS.latencyHidden)}`, verdict(name)]);
    if (p.latencyVsEngine !== null) rows.push([`  ${o.latencyMs} ms vs engine alone`, pct(p.latencyVsEngine), '', 'Kafka + HTTP + main thread share the same cores']);
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
    `images: ${r.images.count} from ${r.images.dir} (${Object.entries(r.images.formats).map(([f, n]) => `${n} ${f}`).join(', ')}; ${f1(r.images.megapixels.min)}-${f1(r.images.megapixels.max)} MP, mean ${f1(r.images.megapixels.mean)})`,
    `${pad('figure', w[0]!)} ${lpad('value', w[1]!)} ${pad('  target', w[2]!)} verdict / notes`,
  ];
  for (const [a, b, c, d] of rows) lines.push(`${pad(a, w[0]!)} ${lpad(b, w[1]!)} ${pad(`  ${c}`, w[2]!)} ${d}`);
  return lines;
}

export function writeResult(r: PipelineBenchResult, out: string | undefined): string {
  const stamp = r.date.replace(/[:.]/g, '-');
  const file = out ? resolve(out) : join(ROOT, `bench/results/pipeline-${stamp}.json`);
  mkdirSync(join(file, '..'), { recursive: true });
  // The command and commit go next to the date, for npm run bench -- report.
  const { bench, date, ...rest } = r;
  writeFileSync(file, JSON.stringify({ bench, date, ...provenance('pipeline'), ...rest }, null, 1) + '\n');
  return file;
}

