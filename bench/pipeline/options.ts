// Options of the pipeline benchmark: its stages, sizes, defaults and the targets it compares against (README.md, "Performance").
import { availableParallelism } from 'node:os';

export const TARGETS = {
  /** Images/s of the whole pipeline (Kafka, HTTP, CPU-bound: 0 ms per download) as a fraction of the palette engine alone on the same photos and workers. */
  vsEngine: 0.85,
  /** Images/s with 100 ms per download, as a fraction of the CPU-bound rate (0 ms). */
  latencyHidden: 0.8,
  /** Messages/s of the noop job through the Transformer, as a fraction of a bare client loop. */
  overhead: 0.9,
  /** Largest RSS with a 1M-record backlog, MB. */
  maxRssMb: 200,
  /**
   * "Flat": the peak RSS of the last third of the sampling exceeds the peak of the middle third by less than this
   * fraction of the peak. (RSS climbs in steps to a plateau: allocators keep their high-water marks; a leak keeps
   * climbing.)
   */
  flatGrowth: 0.05,
} as const;

export const STAGES = ['engine', 'pipeline', 'partition', 'overhead', 'memory'] as const;
export type Stage = (typeof STAGES)[number];

export interface PipelineBenchOptions {
  /** Stages to run. Default all. */
  only: readonly Stage[];
  /** CPU worker threads, the same in every stage. Default: all cores. */
  workers: number;
  /**
   * The images served and decoded: 'photos' (default: the photo-stream mix of 1-12 MP JPEGs, PNGs and WebPs, made once
   * from Debian packages into .lagless/cache/bench-photos), 'shipped' (the small sample photos in assets/images), or a
   * directory. The engine stage and the pipeline stages use the same ones.
   */
  images: string;
  /** Input partitions of the pipeline topics. Default 8. */
  partitions: number;
  /** Download latency the image server adds, ms. Default 100. */
  latencyMs: number;
  /** Images per pipeline run (0 ms and latency runs) and per engine run. Default 300 (photos) or 1200 (shipped). */
  records: number;
  /** Images for the --ordering partition run (it is slow by design). Default 300. */
  partitionRecords: number;
  /** Pipeline runs per latency, alternated (engine, 0 ms, latency, then latency, 0 ms, engine, ...); medians are reported. Default 3. */
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
    images: 'photos',
    partitions: 8,
    latencyMs: 100,
    records: 300,
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
  records: 60,
  partitionRecords: 80,
  pipelineRounds: 1,
  overheadRecords: 20_000,
  rounds: 1,
  memoryRecords: 20_000,
  memorySeconds: 10,
} as const satisfies Partial<PipelineBenchOptions>;

