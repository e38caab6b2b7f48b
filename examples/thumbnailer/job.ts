// Example: a thumbnailer. {"id","url"} records in; the image is downloaded here (I/O, many at once) and resized on the
// runtime's worker threads (CPU, autoscaled); the output is the JPEG bytes with a content-type header, keyed by id.
//
//   lagless run examples/thumbnailer/job.ts --from images --to thumbnails --max-workers 4
import { defineJob, JobError } from 'lagless';
import type { Thumbnail, ThumbnailTask } from './resize.ts';

interface ImageRef {
  id: string;
  url: string;
}

const MAX_BYTES = 20 * 1024 * 1024;

export default defineJob({
  name: 'thumbnailer',
  // Runs on the worker pool: the runtime owns it and sizes it with the load (--min-workers, --max-workers).
  worker: new URL('./resize.ts', import.meta.url),

  async run(record, ctx) {
    const { id, url } = record.json<ImageRef>();
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw new JobError('BAD_URL', `record ${id} has no http(s) "url"`);
    let res: Response;
    try {
      res = await fetch(url, { signal: ctx.signal });
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      throw new JobError('DOWNLOAD_FAILED', `${url}: ${(err as Error).message}`, { retryable: true });
    }
    if (!res.ok) throw new JobError('DOWNLOAD_FAILED', `${url} answered ${res.status}`, { retryable: res.status >= 500 });
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.byteLength > MAX_BYTES) throw new JobError('TOO_LARGE', `${url} is ${bytes.byteLength} bytes`);
    // The bytes move to the worker thread without a copy.
    const thumb = await ctx.worker.run<Thumbnail, ThumbnailTask>({ bytes, size: 128 }, { transfer: [bytes.buffer] });
    return {
      key: id,
      value: thumb.jpeg,
      headers: { 'content-type': 'image/jpeg', 'x-width': String(thumb.width), 'x-height': String(thumb.height), 'x-source': url },
    };
  },
});
