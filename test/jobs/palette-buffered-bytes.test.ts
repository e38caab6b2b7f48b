// The palette job's download-ahead bound (maxBufferedBytes) against the real image server and worker pool.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startImageServer } from '../../src/image-server/index.ts';
import { createPaletteJob } from '../../src/jobs/index.ts';
import type { JobInput } from '../../src/runtime/index.ts';

function input(id: string, url: string): JobInput {
  return { topic: 'urls', partition: 0, offset: 0n, key: id, value: JSON.stringify({ id, url }), timestamp: 0n };
}

// Bug: the bytes were transferred to the worker thread (which detaches their buffer, byteLength 0) before being
// subtracted from the buffered total, so the total only grew; once it reached maxBufferedBytes (256 MiB by default,
// about 4,800 photos) no download could start again and the transformer stalled with every record in flight.
test('buffered bytes are released after the CPU work: many more images than maxBufferedBytes go through', async (t) => {
  const server = await startImageServer();
  t.after(() => server.close());
  const job = createPaletteJob({
    workers: 1,
    maxWorkers: 1,
    download: { allowHosts: [`127.0.0.1:${server.port}`] },
    // Room for about two of the sample photos at a time; twenty are processed one after another below.
    maxBufferedBytes: 200_000,
  });
  t.after(() => job.close());
  for (let i = 0; i < 20; i++) {
    const id = `img-${i}`;
    // A stalled job would wait forever for room; the timeout turns that into a failure.
    const out = await job.run(input(id, server.imageUrl(i, { id })), { attempt: 1, signal: AbortSignal.timeout(20_000) });
    assert.equal(JSON.parse(out.value).id, id);
  }
  assert.equal(job.stats!().bufferedBytes, 0, 'nothing is counted as buffered once every image is done');
});
