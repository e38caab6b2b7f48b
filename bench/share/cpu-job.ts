// The share bench's CPU job: each record hashes BENCH_SHARE_CPU_ITERATIONS times on the main thread (a fixed amount of
// work, not a time: a process that gets less of a core must take longer), then is copied.
import { createHash } from 'node:crypto';
import { defineJob } from '../../src/index.ts';

/** `iterations` chained SHA-256 hashes of `seed`: CPU work on the calling thread. */
export function burn(seed: Uint8Array, iterations: number): Buffer {
  let h = Buffer.from(seed);
  for (let i = 0; i < iterations; i++) h = createHash('sha256').update(h).digest();
  return h;
}

/** How many iterations of burn() take `ms` of this thread's CPU time here (the median of nine timings). */
export function calibrate(ms: number): number {
  const probe = 5000;
  burn(Buffer.from('warm-up'), probe);
  const rates: number[] = [];
  for (let k = 0; k < 9; k++) {
    const t = process.threadCpuUsage();
    burn(Buffer.from(`probe-${k}`), probe);
    const used = process.threadCpuUsage(t);
    rates.push(probe / ((used.user + used.system) / 1000));
  }
  rates.sort((a, b) => a - b);
  return Math.max(1, Math.round(rates[4]! * ms));
}

const iterations = Number(process.env.BENCH_SHARE_CPU_ITERATIONS ?? 5000);

export default defineJob({
  name: 'share-bench-cpu',
  run(record) {
    burn(record.value ?? Buffer.alloc(0), iterations);
    return { value: record.value };
  },
});
