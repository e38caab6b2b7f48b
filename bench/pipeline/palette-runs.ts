// Stages 1b and 2 of the pipeline benchmark: the palette pipeline end to end, CPU-bound, with download latency, and with --ordering partition.
import { startImageServer } from '../../src/image-server/index.ts';
import { createPaletteJob } from '../../src/jobs/index.ts';
import type { Ordering } from '../../src/runtime/index.ts';
import { drainWithTransformer } from './drain.ts';
import { cpuMark, cpuSince, createTopics, produceUrls, uniq, type BenchEnv } from './env.ts';
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


export async function measurePipeline(
  env: BenchEnv,
  o: { latencyMs: number; ordering: Ordering; records: number; partitions: number; workers: number; imagesDir: string },
): Promise<PipelineRun> {
  const server = await startImageServer({ latencyMs: o.latencyMs, images: o.imagesDir });
  try {
    const from = uniq(env, 'urls');
    const to = `${from}.out`;
    const dlq = `${from}.dlq`;
    await createTopics(env, [from, to, dlq], o.partitions);
    await produceUrls(env, from, o.records, (i, id) => server.imageUrl(i, { id }));
    const job = createPaletteJob({ download: { allowHosts: [`127.0.0.1:${server.port}`] } });
    const cpu = cpuMark(env);
    const workers = { workers: o.workers, maxWorkers: o.workers, minWorkers: o.workers };
    const r = await drainWithTransformer(env, job, { from, to, dlq, group: `${from}-group`, ordering: o.ordering, workers }, o.records);
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

