// Allocation sampling for a benchmark's child process, preloaded with `node --import bench/lib/alloc-sampler.ts`:
// V8's sampling heap profiler, counting objects that the GC has collected too (so it shows what is allocated, not
// only what is still alive), written to $LAGLESS_ALLOC_PROFILE/alloc.heapprofile when the process exits; and where the
// resident memory goes (process.memoryUsage() every 100 ms; the sample of the highest RSS) in memory.json.
// `node bench/lib/profile-top.ts DIR` reads both next to the CPU profile.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.LAGLESS_ALLOC_PROFILE;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  // One sample per 32 KiB allocated on average: cheap enough to leave the timings close to an unprofiled run.
  session.post('HeapProfiler.startSampling', { samplingInterval: 32 * 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  let peak: NodeJS.MemoryUsage | undefined;
  const sample = setInterval(() => {
    const m = process.memoryUsage();
    if (!peak || m.rss > peak.rss) peak = m;
  }, 100);
  sample.unref();
  process.on('exit', () => {
    if (peak) writeFileSync(join(dir, 'memory.json'), JSON.stringify(peak));
    // The session of the process's own thread answers synchronously: the file is written before the exit.
    session.post('HeapProfiler.stopSampling', (err, result) => {
      if (!err) writeFileSync(join(dir, 'alloc.heapprofile'), JSON.stringify(result.profile));
    });
  });
}
