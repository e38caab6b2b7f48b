// Pipeline benchmark: the pipeline vs the palette engine alone, latency hiding, per-message vs per-partition parallelism, runtime overhead vs a bare client loop, and RSS under a 1M backlog.
//
//   npm run bench -- pipeline [--quick] [--only engine,pipeline,partition,overhead,memory] [--workers N]
//                             [--images photos|shipped|DIR] [--records 300] [--pipeline-rounds 3] [--partition-records 300]
//                             [--partitions 8] [--latency 100] [--overhead-records 200000] [--rounds 3]
//                             [--memory-records 1000000] [--memory-seconds 60] [--brokers host:port] [--out FILE]
//
// Images: by default the photo-stream mix (1-12 MP JPEGs, some PNG/WebP) made once from Debian packages into
// .lagless/cache/bench-photos (bench/lib/photos.ts); the engine stage decodes the same files with the same workers,
// with no Kafka and no HTTP. Everything else runs against a real broker (KAFKA_BROKERS if it answers on loopback, else
// one this bench starts on a free port with a temporary data directory and stops at the end) and the real image
// server on 127.0.0.1. Rates are measured side by side in this one run (engine and pipeline runs alternate); the
// verdicts compare them with the targets in README.md ("Performance"), and the table carries the machine's load
// average before and after.
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { closeEnv, loopbackBrokers, median, openEnv } from './pipeline/env.ts';
import { measureMemory } from './pipeline/memory.ts';
import { defaultPipelineBenchOptions, quickSizes, STAGES, TARGETS, type PipelineBenchOptions, type Stage } from './pipeline/options.ts';
import { BARE_BATCH, measureOverhead } from './pipeline/overhead.ts';
import { measurePipeline, type PipelineRun } from './pipeline/palette-runs.ts';
import { measureEngine, type EngineFigure } from './pipeline/engine.ts';
import { DEFAULT_PHOTOS_DIR, describePhotos, ensurePhotos } from './lib/photos.ts';
import { DEFAULT_IMAGES_DIR } from '../src/image-server/index.ts';
import { formatTable, verdicts, writeResult, type PipelineBenchResult } from './pipeline/report.ts';
import { benchLog, finishBench } from './lib/cli.ts';

export { STAGES, TARGETS, defaultPipelineBenchOptions, quickSizes, type PipelineBenchOptions, type Stage } from './pipeline/options.ts';
export { lateGrowth, sampleRss, slopePerMinute, type MemoryFigure } from './pipeline/memory.ts';
export { bareLoop, BARE_BATCH, type OverheadRun } from './pipeline/overhead.ts';
export type { PipelineRun } from './pipeline/palette-runs.ts';
export type { EngineFigure } from './pipeline/engine.ts';
export { formatTable, verdicts, writeResult, type PipelineBenchResult, type Verdict } from './pipeline/report.ts';

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
  // Before the photos are made (that downloads Debian packages) or anything else: a far broker is refused at once.
  if (o.brokers) loopbackBrokers(o.brokers);
  const imagesDir = o.images === 'shipped' ? DEFAULT_IMAGES_DIR : o.images === 'photos' ? await ensurePhotos(DEFAULT_PHOTOS_DIR, o.log) : o.images;
  const photos = await describePhotos(imagesDir);
  if (photos.length === 0) throw new RangeError(`no images (jpg, png, webp) in ${imagesDir}`);
  const started = performance.now();
  const loadBefore = loadavg();
  const result: PipelineBenchResult = {
    bench: 'pipeline',
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, loadBefore, loadAfter: [], brokerOwned: false },
    options: {
      only: o.only,
      workers: o.workers,
      images: o.images,
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
    images: {
      dir: imagesDir,
      count: photos.length,
      megapixels: { min: Math.min(...photos.map((p) => p.megapixels)), max: Math.max(...photos.map((p) => p.megapixels)), mean: photos.reduce((a, p) => a + p.megapixels, 0) / photos.length },
      formats: Object.fromEntries([...new Set(photos.map((p) => p.format))].map((f) => [f, photos.filter((p) => p.format === f).length])),
    },
    targets: TARGETS,
    verdicts: [],
    table: [],
    seconds: 0,
  };
  const has = (s: Stage) => o.only.includes(s);
  const engineRuns: EngineFigure[] = [];
  const engine = async () => {
    o.log(`engine alone: ${o.records} images, ${o.workers} workers, no Kafka, no HTTP`);
    const e = await measureEngine({ workers: o.workers, records: o.records, imagesDir });
    o.log(`  ${e.perSecond.toFixed(1)} images/s`);
    engineRuns.push(e);
  };
  const needsBroker = o.only.some((s) => s !== 'engine');
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
        // The engine runs next to the CPU-bound pipeline run of each round (before it, then after it), so that a change
        // of load on the machine hits both alike.
        const order: (number | 'engine')[] = round % 2 === 0 ? ['engine', 0, o.latencyMs] : [o.latencyMs, 0, 'engine'];
        for (const step of order) {
          if (step === 'engine') {
            if (has('engine')) await engine();
            continue;
          }
          const ms = step;
          o.log(`pipeline round ${round + 1}: ${o.records} images, ${ms} ms per download, ${o.partitions} partitions, ${o.workers} workers`);
          const r = await measurePipeline(env, { latencyMs: ms, ordering: 'unordered', records: o.records, partitions: o.partitions, workers: o.workers, imagesDir });
          o.log(`  ${r.steadyPerSecond.toFixed(1)} images/s steady (whole run ${r.perSecond.toFixed(1)}), downloads in flight up to ${r.maxConcurrentDownloads}`);
          (ms === 0 ? cpuBound : latency).push(r);
        }
      }
      // Steady-state rates (from the 10th percentile output on): the pool's thread start-up and the pipeline's fill
      // are one-off costs, the same whatever the backlog, and not what latency hiding is about.
      const c = median(cpuBound.map((r) => r.steadyPerSecond));
      const l = median(latency.map((r) => r.steadyPerSecond));
      const e = engineRuns.length ? median(engineRuns.map((x) => x.perSecond)) : null;
      result.pipeline = { cpuBound, latency, cpuBoundPerSecond: c, latencyPerSecond: l, latencyVsCpuBound: l / c, cpuBoundVsEngine: e === null ? null : c / e, latencyVsEngine: e === null ? null : l / e };
    }
    if (has('engine') && engineRuns.length === 0) for (let round = 0; round < o.pipelineRounds; round++) await engine();
    if (engineRuns.length) result.engine = { runs: engineRuns, perSecond: median(engineRuns.map((x) => x.perSecond)) };
    if (env && has('partition')) {
      o.log(`pipeline --ordering partition: ${o.partitionRecords} images, ${o.latencyMs} ms per download, ${o.partitions} partitions`);
      const run = await measurePipeline(env, { latencyMs: o.latencyMs, ordering: 'partition', records: o.partitionRecords, partitions: o.partitions, workers: o.workers, imagesDir });
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
      result.memory = await measureMemory(env, { records: o.memoryRecords, seconds: o.memorySeconds, workers: o.workers, latencyMs: o.latencyMs, partitions: o.partitions, imagesDir, log: o.log });
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


// ---------------------------------------------------------------------------------------------------------------
// CLI

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      workers: { type: 'string' },
      images: { type: 'string' },
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
    process.stdout.write(readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(0, 14).join('\n') + '\n');
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
  if (a.images) o.images = a.images;
  o.log = benchLog;
  await finishBench(
    () => runPipelineBench(o),
    (result) => writeResult(result, a.out),
  );
}

if (import.meta.main) await main();

