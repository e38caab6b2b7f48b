// The thumbnailer's worker module: runs on the runtime's worker threads, one image at a time per thread.
import sharp from 'sharp';
import { JobError } from 'lagless';

export interface ThumbnailTask {
  bytes: Uint8Array;
  /** Longest side of the thumbnail, px. */
  size: number;
}

export interface Thumbnail {
  jpeg: Uint8Array;
  width: number;
  height: number;
}

// One libvips thread per worker thread: the pool already runs one worker per core.
sharp.concurrency(1);

export default async function resize(task: ThumbnailTask): Promise<Thumbnail> {
  try {
    const { data, info } = await sharp(task.bytes, { limitInputPixels: 100_000_000, failOn: 'error' })
      .rotate()
      .resize({ width: task.size, height: task.size, fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 80 })
      .toBuffer({ resolveWithObject: true });
    return { jpeg: data, width: info.width, height: info.height };
  } catch (err) {
    // A JobError keeps its code on the way back to the main thread, and in the dead letter.
    throw new JobError('NOT_AN_IMAGE', `cannot read the image: ${(err as Error).message.split('\n')[0]}`);
  }
}
