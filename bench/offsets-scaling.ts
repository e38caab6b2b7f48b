// Benchmark: cost per record of offset tracking and key ordering at in-flight windows of 1k, 10k and 100k.
// Ratios near 1 mean O(1) per record (cache effects add some); a quadratic structure would show ratios near 10 and 100.
// Run: npx node bench/offsets-scaling.ts
import { OffsetTracker, OrderingScheduler } from '../src/offsets/index.ts';

interface Rec {
  topic: string;
  partition: number;
  key: string;
  offset: bigint;
}

/** Keeps `window` records in flight and completes them in a scrambled order; returns ns per record. */
function run(window: number, total: number): number {
  const tracker = new OffsetTracker();
  const scheduler = new OrderingScheduler<Rec>('key');
  type Item = { rec: Rec; ticket: ReturnType<OffsetTracker['register']> };
  const tickets = new Map<Rec, Item>();
  const running: Item[] = [];
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
  // Keys scale with the window so that each key has about two records in flight at every size: the same
  // workload shape, only larger.
  const keys = Math.max(1, window / 2);
  const t0 = process.hrtime.bigint();
  let offset = 0n;
  for (let i = 0; i < total; i++) {
    const rec: Rec = { topic: 'urls', partition: i % 8, key: `k${i % keys}`, offset: offset++ };
    const item: Item = { rec, ticket: tracker.register(rec.topic, rec.partition, rec.offset) };
    tickets.set(rec, item);
    if (scheduler.submit(rec)) running.push(item);
    // Waiting records count against the window too.
    while (scheduler.running + scheduler.waiting >= window) {
      // Complete a running record at a random position (swap-remove keeps this O(1)).
      const j = Math.floor(random() * running.length);
      const done = running[j]!;
      running[j] = running[running.length - 1]!;
      running.pop();
      tracker.done(done.ticket);
      tickets.delete(done.rec);
      for (const next of scheduler.complete(done.rec)) running.push(tickets.get(next)!);
    }
    if (i % 64 === 0) tracker.markCommitted(tracker.committable());
  }
  const t1 = process.hrtime.bigint();
  return Number(t1 - t0) / total;
}

const total = 400_000;
run(1_000, 100_000); // warm-up
const base = run(1_000, total);
console.log(`window      ns/record   ratio to 1k`);
for (const window of [1_000, 10_000, 100_000]) {
  const ns = window === 1_000 ? base : run(window, total);
  console.log(`${String(window).padStart(7)}  ${ns.toFixed(0).padStart(10)}   ${(ns / base).toFixed(2)}`);
}
