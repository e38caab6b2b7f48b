// The share bench's CPU job: each record spins BENCH_SHARE_CPU_ITERATIONS rounds of an integer hash on the main
// thread (a fixed amount of work, not a time: a process that gets less of a core must take longer), then is copied.
// The loop allocates nothing, so its cost is the same in a short calibration and under a sustained load (no GC).
import { defineJob } from '../../src/index.ts';

/** Where burn() results go, so that no compiler may drop the loop. */
export let sink = 0;

/** `iterations` rounds of a 32-bit integer mix seeded with `seed` (FNV-1a): CPU work on the calling thread. */
export function burn(seed: Uint8Array, iterations: number): number {
  let h = 0x811c9dc5;
  for (const b of seed) h = Math.imul(h ^ b, 0x01000193);
  for (let i = 0; i < iterations; i++) {
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    h = Math.imul(h, 0x297a2d39);
    h ^= h >>> 15;
  }
  sink ^= h;
  return h >>> 0;
}

/**
 * How many iterations of burn() take `ms` of this thread's CPU time here: the fastest of nine timings of about 20 ms
 * each (a timing that was slowed by something else says less about the work than the fastest one).
 */
export function calibrate(ms: number): number {
  let probe = 100_000;
  const cpuMs = (n: number) => {
    const t = process.threadCpuUsage();
    burn(Buffer.from('probe'), n);
    const used = process.threadCpuUsage(t);
    return (used.user + used.system) / 1000;
  };
  // Warm up (the loop is compiled), and size a probe to about 20 ms.
  for (let k = 0; k < 20 && cpuMs(probe) < 5; k++) probe *= 2;
  probe = Math.max(1, Math.round((probe * 20) / Math.max(0.001, cpuMs(probe))));
  let best = 0;
  for (let k = 0; k < 9; k++) best = Math.max(best, probe / Math.max(0.001, cpuMs(probe)));
  return Math.max(1, Math.round(best * ms));
}

const iterations = Number(process.env.BENCH_SHARE_CPU_ITERATIONS ?? 1_000_000);

export default defineJob({
  name: 'share-bench-cpu',
  run(record) {
    burn(record.value ?? Buffer.alloc(0), iterations);
    return { value: record.value };
  },
});
