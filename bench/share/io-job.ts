// The share bench's I/O job: each record waits BENCH_SHARE_IO_MS (default 200 ms) as a download would, then is copied.
import { setTimeout as sleep } from 'node:timers/promises';
import { defineJob } from '../../src/index.ts';

const waitMs = Number(process.env.BENCH_SHARE_IO_MS ?? 200);

export default defineJob({
  name: 'share-bench-io',
  async run(record, { signal }) {
    await sleep(waitMs, undefined, { signal });
    return { value: record.value };
  },
});
