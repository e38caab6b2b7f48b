// End to end: one hot partition of CPU-bound work runs on several workers at once (unordered), and on one at a time with --ordering partition (the seed's behaviour).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import sharp from 'sharp';
import { DEFAULT_IMAGES_DIR } from '../../src/image-server/index.ts';
import { createPaletteJob } from '../../src/jobs/index.ts';
import { Transformer, type Ordering } from '../../src/runtime/index.ts';
import { consumeAll, createTopic, produce, testBrokers, uniqueName } from '../helpers/kafka.ts';
import { eventually } from '../helpers/eventually.ts';
import { enginePalettes, startImages } from '../helpers/pipeline.ts';

const RECORDS = 120;
const WORKERS = 2;
/** Exact mode on every pixel of a 2400x1600 photo: tens of ms of decode and quantization per record, all CPU. */
const PALETTE = { mode: 'exact', quality: 1, colors: 6 } as const;

async function bigPhotos(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lagless-e2e-big-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const name of ['rocket.jpg', 'coffee.jpg']) {
    const big = await sharp(await readFile(join(DEFAULT_IMAGES_DIR, name))).resize(2400, 1600).jpeg({ quality: 90 }).toBuffer();
    await writeFile(join(dir, name), big);
  }
  return dir;
}

interface RunResult {
  maxCpuActive: number;
  /** Most records of the partition in flight at once (from each record's start and end), and the pairs that overlapped. */
  maxInFlight: number;
  overlappingPairs: number;
  /** Sum of the records' CPU task durations over the wall time from the first record to the last: above 1 only if tasks overlapped. */
  overlap: number;
  outputIds: string[];
  palettes: Map<string, number[][]>;
}

async function runOnce(t: TestContext, from: string, ids: string[], ordering: Ordering, imageHost: string): Promise<RunResult> {
  const to = await createTopic(t, uniqueName('palettes'), 1);
  const dlq = await createTopic(t, uniqueName('urls.dlq'), 1);
  const job = createPaletteJob({ palette: PALETTE, download: { allowHosts: [imageHost] } });
  const workers = { workers: WORKERS, maxWorkers: WORKERS, minWorkers: WORKERS };
  const tr = new Transformer(job, { kafka: { brokers: testBrokers() }, from, to, dlq, group: uniqueName(`e2e-hot-${ordering}`), ordering, commitIntervalMs: 200, workers });
  t.after(() => tr.destroy());
  let maxCpuActive = 0;
  let firstStart = Infinity;
  let lastEnd = 0;
  let busyMs = 0;
  const spans: { start: number; end: number }[] = [];
  tr.on('record', (r) => {
    const end = performance.now();
    // Measured a little after the runtime's own end, so the span starts no earlier and ends no earlier than the record did.
    spans.push({ start: end - r.durationMs, end });
    firstStart = Math.min(firstStart, end - r.durationMs);
    lastEnd = Math.max(lastEnd, end);
  });
  // The job's counters: how many records hold a CPU worker right now.
  const sampler = setInterval(() => {
    maxCpuActive = Math.max(maxCpuActive, tr.stats().workers?.active ?? 0);
  }, 2);
  t.after(() => clearInterval(sampler));
  await tr.start();
  await eventually((progress) => { progress(tr.stats().succeeded + tr.stats().deadLettered); return tr.stats().succeeded + tr.stats().deadLettered === ids.length; }, { what: `${ids.length} records (${ordering})`, timeout: 600_000, stall: 120_000, every: 50 });
  clearInterval(sampler);
  busyMs = tr.stats().workers?.busyMs ?? 0;
  assert.equal(tr.stats().deadLettered, 0, 'no dead letters');
  assert.equal(tr.stats().workers?.threads, WORKERS, `the pool has ${WORKERS} threads`);
  await tr.close();
  const out = await consumeAll(to, { count: ids.length });
  // Sweep over the spans: how many were open at once (an end at the same instant as a start does not overlap it).
  const edges = spans.flatMap((x) => [{ at: x.start, d: 1 }, { at: x.end, d: -1 }]).sort((x, y) => x.at - y.at || x.d - y.d);
  let open = 0;
  let maxInFlight = 0;
  for (const e of edges) maxInFlight = Math.max(maxInFlight, (open += e.d));
  const sorted = [...spans].sort((x, y) => x.start - y.start);
  const overlappingPairs = sorted.filter((x, i) => i > 0 && x.start < sorted[i - 1]!.end).length;
  return {
    maxCpuActive,
    maxInFlight,
    overlappingPairs,
    overlap: busyMs / (lastEnd - firstStart),
    outputIds: out.map((o) => o.key!),
    palettes: new Map(out.map((o) => [o.key!, JSON.parse(o.value).palette])),
  };
}

test('one hot partition of CPU-bound work: several workers at once; one at a time with ordering "partition"', async (t) => {
  const dir = await bigPhotos(t);
  const images = await startImages(t, { images: dir });
  const expected = await enginePalettes(images.images, PALETTE, dir);
  const from = await createTopic(t, uniqueName('urls'), 1);
  const run = uniqueName('hot');
  const inputs = Array.from({ length: RECORDS }, (_, n) => {
    const id = `${run}-${String(n).padStart(4, '0')}`;
    const image = images.images[n % images.images.length]!;
    return { id, image, value: JSON.stringify({ id, url: images.imageUrl(image, { id }) }) };
  });
  await produce(from, inputs.map((r) => ({ key: r.id, value: r.value })));
  const ids = inputs.map((r) => r.id);

  const unordered = await runOnce(t, from, ids, 'unordered', `127.0.0.1:${images.port}`);
  const partition = await runOnce(t, from, ids, 'partition', `127.0.0.1:${images.port}`);

  // CPU task time / wall time depends on how the OS schedules this loaded machine: a diagnostic, not an assertion.
  t.diagnostic(
    `unordered: max ${unordered.maxInFlight} records in flight and ${unordered.maxCpuActive} on CPU workers at once, CPU task time / wall time ${unordered.overlap.toFixed(2)}; ` +
      `ordering partition: max ${partition.maxInFlight} in flight, ${partition.maxCpuActive} on CPU workers, ${partition.overlap.toFixed(2)}`,
  );
  for (const r of [unordered, partition]) {
    assert.deepEqual([...r.outputIds].sort(), ids, 'every record has exactly one output');
    for (const input of inputs) assert.deepEqual(r.palettes.get(input.id), expected.get(input.image)!.palette, `palette of ${input.id}`);
  }
  assert.equal(unordered.maxCpuActive, WORKERS, `a single partition keeps all ${WORKERS} workers busy at once`);
  assert.equal(partition.maxCpuActive, 1, 'ordering "partition" runs one record of the partition at a time');
  // One at a time means the outputs come out in the partition's order.
  assert.deepEqual(partition.outputIds, ids, 'ordering "partition" produces the outputs in offset order');
  assert.ok(unordered.maxInFlight >= WORKERS, `records of the one partition were in flight at once when unordered (max ${unordered.maxInFlight})`);
  assert.equal(partition.maxInFlight, 1, 'ordering "partition": no two records of the partition were in flight at once');
  assert.equal(partition.overlappingPairs, 0);
});
