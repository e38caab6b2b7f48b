// The palette job's download-ahead bound (maxBufferedBytes) against the real image server and worker pool.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startImageServer } from '../../src/image-server/index.ts';
import { InputRecord } from '../../src/job/index.ts';
import { createPaletteJob } from '../../src/jobs/index.ts';
import { JobExecutor } from '../../src/runtime/index.ts';

function input(id: string, url: string): InputRecord {
  return InputRecord.of({ topic: 'urls', partition: 0, offset: 0n, key: id, value: JSON.stringify({ id, url }), timestamp: 0n });
}

/** The palette job run by the runtime's executor (its worker pool and concurrency limit), without Kafka. */
async function executor(t: import('node:test').TestContext, job: ReturnType<typeof createPaletteJob>, maxConcurrency = 64): Promise<JobExecutor> {
  const exec = new JobExecutor(job, { to: 'palettes', maxConcurrency, workers: { workers: 1, maxWorkers: 1, minWorkers: 1 } });
  t.after(() => exec.close());
  await exec.setup({ from: 'urls', to: 'palettes', dlq: 'urls.dlq', group: 'test' });
  return exec;
}

// Bug: the bytes were transferred to the worker thread (which detaches their buffer, byteLength 0) before being
// subtracted from the buffered total, so the total only grew; once it reached maxBufferedBytes (256 MiB by default,
// about 4,800 photos) no download could start again and the transformer stalled with every record in flight.
test('buffered bytes are released after the CPU work: many more images than maxBufferedBytes go through', async (t) => {
  const server = await startImageServer();
  t.after(() => server.close());
  const job = createPaletteJob({
    download: { allowHosts: [`127.0.0.1:${server.port}`] },
    // Room for about two of the sample photos at a time; twenty are processed one after another below.
    maxBufferedBytes: 200_000,
  });
  const exec = await executor(t, job);
  for (let i = 0; i < 20; i++) {
    const id = `img-${i}`;
    // A stalled job would wait forever for room; the timeout turns that into a failure.
    const [out] = await exec.run(input(id, server.imageUrl(i, { id })), 1, AbortSignal.timeout(20_000));
    assert.equal(JSON.parse(String(out!.value)).id, id);
  }
  assert.equal(job.stats!().bufferedBytes, 0, 'nothing is counted as buffered once every image is done');
});

// Bug: the room was checked before queueing for a download slot, so every record of the window passed the check while
// the buffer was empty and downloaded later anyway: with 1,000 records in flight and slow CPU work, nearly the whole
// window sat in memory as downloaded images.
test('maxBufferedBytes holds while records queue for download slots: downloads wait for room', async (t) => {
  const server = await startImageServer();
  t.after(() => server.close());
  const maxBufferedBytes = 150_000;
  const maxDownloads = 2;
  const job = createPaletteJob({
    download: { allowHosts: [`127.0.0.1:${server.port}`] },
    maxBufferedBytes,
  });
  // The runtime's concurrency limit is the palette job's limit on downloads in flight (--max-downloads).
  const exec = await executor(t, job, maxDownloads);
  const largest = Math.max(...(await Promise.all(server.images.map(async (name) => (await fetch(server.imageUrl(name))).arrayBuffer()))).map((b) => b.byteLength));
  let peak = 0;
  const probe = setInterval(() => {
    peak = Math.max(peak, job.stats!().bufferedBytes!);
  }, 1);
  t.after(() => clearInterval(probe));
  // Forty records at once, as the runtime starts them when the window opens; one CPU worker makes them queue.
  const outs = await Promise.all(
    Array.from({ length: 40 }, (_, i) => exec.run(input(`q-${i}`, server.imageUrl(i, { id: i })), 1, AbortSignal.timeout(60_000))),
  );
  clearInterval(probe);
  assert.equal(outs.length, 40);
  // A download may start just below the bound, and each slot holds one image: the bound plus one image per slot.
  const bound = maxBufferedBytes + maxDownloads * largest;
  assert.ok(peak > 0, 'the probe saw buffered bytes');
  assert.ok(peak <= bound, `buffered bytes peaked at ${peak}, above ${bound} (maxBufferedBytes + one image per download slot)`);
});
