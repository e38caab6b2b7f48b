// Allocation sampling for a benchmark's child process, preloaded with `node --import bench/lib/alloc-sampler.ts`:
// V8's sampling heap profiler, counting objects that the GC has collected too (so it shows what is allocated, not
// only what is still alive), written to $LAGLESS_ALLOC_PROFILE/alloc-<pid>-<thread>.heapprofile when it exits; and where the
// resident memory goes (process.memoryUsage() every 100 ms; the sample of the highest RSS) in memory-<pid>-<thread>.json.
// `node bench/lib/profile-top.ts DIR` reads both next to the CPU profile.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

const dir = process.env.LAGLESS_ALLOC_PROFILE;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  // One sample per 32 KiB allocated on average: cheap enough to leave the timings close to an unprofiled run.
  session.post('HeapProfiler.startSampling', { samplingInterval: 32 * 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  let peak: NodeJS.MemoryUsage | undefined;
  let written = 0;
  const sample = setInterval(() => {
    const m = process.memoryUsage();
    if (peak && m.heapTotal <= peak.heapTotal && m.rss <= peak.rss) return;
    if (!peak || m.rss > peak.rss) peak = m;
    // A worker thread may be terminated without an exit event: its own heap's peak is written as it grows (at most
    // once a second).
    if (threadId !== 0 && performance.now() - written > 1000) {
      written = performance.now();
      writeFileSync(join(dir, `memory-${process.pid}-${threadId}.json`), JSON.stringify({ ...m, threadId }));
    }
  }, 100);
  sample.unref();
  process.on('exit', () => {
    // One file per process and thread (a worker thread's heap is its own; its rss is the process's).
    if (peak) writeFileSync(join(dir, `memory-${process.pid}-${threadId}.json`), JSON.stringify({ ...peak, threadId }));
    // The session of the process's own thread answers synchronously: the file is written before the exit.
    session.post('HeapProfiler.stopSampling', (err, result) => {
      if (!err) writeFileSync(join(dir, `alloc-${process.pid}-${threadId}.heapprofile`), JSON.stringify(result.profile));
    });
  });
}
