// Scenarios fuzz-records and fuzz-images: hostile record values and mutated images through the real pipeline; nothing crashes or stalls, every record ends as an output or a dead letter with a stable code.
import { Producer, ProduceAcks, stringSerializer } from '@platformatic/kafka';
import { fuzzRecordValues, mutateImage, seedImages, startFuzzServer, type FuzzValue } from '../lib/fuzz.ts';
import { runPipelineScenario, PARTITIONS, type PipelineRun } from '../lib/pipeline.ts';
import type { Scenario } from '../lib/scenario.ts';

/** Produces the values (raw bytes and tombstones included) keyed "<tag>-<n>", recording when each was acknowledged. */
async function produceAll(run: PipelineRun, values: readonly FuzzValue[]): Promise<void> {
  const producer = new Producer<string, FuzzValue, string, string>({
    clientId: 'lagless-faults-fuzz',
    bootstrapBrokers: run.h.brokers,
    acks: ProduceAcks.ALL,
    serializers: {
      key: stringSerializer,
      value: (v) => (v === null || v === undefined ? undefined : typeof v === 'string' ? Buffer.from(v, 'utf8') : v),
      headerKey: stringSerializer,
      headerValue: stringSerializer,
    },
  });
  try {
    let batch: { n: number; value: FuzzValue }[] = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const messages = batch.map(({ n, value }) => ({ topic: run.names.from, partition: n % PARTITIONS, key: `${run.o.tag}-${n}`, value }));
      await producer.send({ acks: ProduceAcks.ALL, messages });
      const at = Date.now();
      for (const { n } of batch) run.arrivals.push({ id: `${run.o.tag}-${n}`, partition: n % PARTITIONS, at });
      batch = [];
      bytes = 0;
    };
    for (const [n, value] of values.entries()) {
      const size = value === null ? 0 : typeof value === 'string' ? Buffer.byteLength(value) : value.length;
      // One big value per request: the broker refuses requests above its limits.
      if (bytes + size > 500_000) await flush();
      batch.push({ n, value });
      bytes += size;
      if (batch.length >= 200) await flush();
    }
    await flush();
  } finally {
    await producer.close().catch(() => {});
  }
}

/** Codes of failures nobody classified: a fuzz input that ends as one is a finding. */
function unclassified(codes: Record<string, number>): string[] {
  return Object.keys(codes).filter((c) => c === 'JOB_FAILED');
}

export const fuzzRecords: Scenario = {
  name: 'fuzz-records',
  title: 'fuzzed record values (fast-check)',
  description:
    'Record values from fast-check: raw bytes, empty values and tombstones, deep and huge JSON (up to 900 kB), odd Unicode (lone surrogates, controls, bidi, zero-width), long and hostile URLs, wrong types, and valid records with odd ids; `trials` is the number of records.',
  defaults: { trials: 10_000, durationMs: 0 },
  slots: 2,
  run: (h, p) => {
    const result = runPipelineScenario(h, fuzzRecords, p, { slots: [1, 2], rate: 0 }, async (run) => {
      const values = fuzzRecordValues(p.trials, p.seed, (n) => `${run.o.tag}-${n}`, (n) => h.images.imageUrl(n, { n }));
      run.log(`producing ${values.length} fuzzed values (${(values.reduce((a, v) => a + (v === null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length), 0) / 2 ** 20).toFixed(1)} MiB)`);
      await produceAll(run, values);
    });
    return result.then((r) => {
      const bad = unclassified(r.codes);
      r.checks.push({ name: 'no fuzzed value ends as an unclassified failure (JOB_FAILED)', ok: bad.length === 0, detail: bad.map((c) => `${c}: ${r.codes[c]}`).join(', ') });
      r.passed = r.checks.every((c) => c.ok);
      return r;
    });
  },
};

export const fuzzImages: Scenario = {
  name: 'fuzz-images',
  title: 'mutated images (bit flips, truncations, swapped chunks and headers)',
  description:
    'Images mutated from the test photos and fixtures (bit flips, truncations, swapped byte ranges, another format\'s header, shuffled PNG chunks, huge declared dimensions, fills, splices, random bytes), served over HTTP; `trials` is the number of images.',
  defaults: { trials: 1000, durationMs: 0 },
  slots: 2,
  run: async (h, p, rng) => {
    const sources = seedImages();
    const images = Array.from({ length: p.trials }, () => mutateImage(sources, rng));
    const server = await startFuzzServer(h.topology.brokerAddress, images);
    try {
      const r = await runPipelineScenario(
        h,
        fuzzImages,
        p,
        { slots: [1, 2], rate: 0, memberArgs: ['--allow-host', `${h.topology.brokerAddress}:${server.port}`] },
        async (run) => {
          const values = images.map((_, n) => JSON.stringify({ id: `${run.o.tag}-${n}`, url: `${server.url}/fuzz/${n}` }));
          run.log(`producing ${values.length} records of mutated images (${(images.reduce((a, i) => a + i.bytes.length, 0) / 2 ** 20).toFixed(1)} MiB)`);
          await produceAll(run, values);
        },
      );
      const bad = unclassified(r.codes);
      r.checks.push({ name: 'every broken image ends with an image error code (no JOB_FAILED)', ok: bad.length === 0, detail: bad.map((c) => `${c}: ${r.codes[c]}`).join(', ') });
      r.passed = r.checks.every((c) => c.ok);
      return r;
    } finally {
      await server.close();
    }
  },
};
