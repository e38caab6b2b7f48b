// Stage 1a of the pipeline benchmark: the raw palette worker pool on the shipped photos, no Kafka, no HTTP.
import { Piscina } from 'piscina';
import { DEFAULT_IMAGES_DIR, loadImages } from '../../src/image-server/index.ts';
import { decodeWorkerResult, paletteWorkerUrl, type PaletteTask, type PaletteWorkerResult } from '../../src/palette/index.ts';
import type { PipelineBenchOptions } from './options.ts';
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

