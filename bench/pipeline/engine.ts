// The engine stage of the pipeline benchmark: the palette engine alone on a worker pool, the same photos and worker count as the pipeline, no Kafka, no HTTP.
import { Piscina } from 'piscina';
import { loadImages } from '../../src/image-server/index.ts';
import { paletteWorkerUrl, type PaletteResult, type PaletteTask } from '../../src/palette/index.ts';

export interface EngineFigure {
  workers: number;
  images: number;
  seconds: number;
  perSecond: number;
}

/**
 * Palettes of `records` images (the files of `imagesDir` in turn) on a pool of `workers` threads, each image handed
 * over as a fresh buffer transferred to the worker (as a download is). Two tasks per thread keep every thread busy.
 * Thread start-up and the first compile are excluded: a warm-up round runs first.
 */
export async function measureEngine(o: { workers: number; records: number; imagesDir: string }): Promise<EngineFigure> {
  const images = (await loadImages(o.imagesDir)).map((i) => i.bytes);
  const pool = new Piscina<PaletteTask, PaletteResult>({
    filename: paletteWorkerUrl.href,
    minThreads: o.workers,
    maxThreads: o.workers,
    concurrentTasksPerWorker: 1,
  });
  try {
    const runOne = async (i: number) => {
      const bytes = new Uint8Array(images[i % images.length]!);
      await pool.run({ bytes, options: {} }, { transferList: [bytes.buffer as ArrayBuffer] });
    };
    await Promise.all(Array.from({ length: o.workers * 2 }, (_, i) => runOne(i)));
    let next = 0;
    const t0 = performance.now();
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
