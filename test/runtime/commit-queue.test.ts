// The commit queue: one commit at a time, in order; a waiting full commit serves later full requests; partial commits
// (releases) always run on their own. No broker: the runs are promises the test settles.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CommitQueue } from '../../src/runtime/commit-queue.ts';

/** A run the test settles by hand, recording what ran and whether two ever overlapped. */
function manualRuns() {
  const log: string[] = [];
  const pending: { what: string; settle: (ok: boolean | Error) => void }[] = [];
  let running = 0;
  let overlapped = false;
  const run = (only?: readonly number[]) => {
    const what = only ? `only ${only.join(',')}` : 'full';
    log.push(what);
    running += 1;
    if (running > 1) overlapped = true;
    return new Promise<boolean>((resolve, reject) => {
      pending.push({
        what,
        settle: (ok) => {
          running -= 1;
          if (ok instanceof Error) reject(ok);
          else resolve(ok);
        },
      });
    });
  };
  return { run, log, pending, overlapped: () => overlapped };
}

const tick = () => new Promise((r) => setImmediate(r));

test('full requests made while one runs share one waiting commit (also after a partial one queued behind it); a partial one runs on its own, in order', async () => {
  const m = manualRuns();
  const q = new CommitQueue(m.run);
  const first = q.request();
  await tick();
  assert.deepEqual(m.log, ['full']);
  const a = q.request();
  const b = q.request();
  const release = q.request([3]);
  const c = q.request();
  assert.equal(a, b, 'the waiting full commit serves both');
  assert.equal(c, a, 'and a full request after a partial one: it has not started, and takes what is committable when it does');
  m.pending.shift()!.settle(true);
  assert.equal(await first, true);
  await tick();
  assert.deepEqual(m.log, ['full', 'full']);
  m.pending.shift()!.settle(false);
  assert.equal(await a, false);
  await tick();
  assert.deepEqual(m.log, ['full', 'full', 'only 3']);
  m.pending.shift()!.settle(true);
  assert.equal(await release, true);
  assert.deepEqual(m.log, ['full', 'full', 'only 3']);
  assert.equal(await q.tail, true);
});

test('a run that rejects does not stop the queue: the next one still runs', async () => {
  const m = manualRuns();
  const q = new CommitQueue(m.run);
  const first = q.request([1]);
  const second = q.request();
  await tick();
  m.pending.shift()!.settle(new Error('boom'));
  await assert.rejects(first);
  await tick();
  m.pending.shift()!.settle(true);
  assert.equal(await second, true);
});

test('property: commits never overlap, partial requests each run once in order, and every request settles', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.oneof(fc.constant<number[] | undefined>(undefined), fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 3 })), { minLength: 1, maxLength: 30 }), fc.array(fc.boolean(), { maxLength: 30 }), async (requests, settleBetween) => {
      const m = manualRuns();
      const q = new CommitQueue(m.run);
      const results: Promise<boolean>[] = [];
      for (let i = 0; i < requests.length; i += 1) {
        results.push(q.request(requests[i]));
        if (settleBetween[i] && m.pending.length) {
          await tick();
          m.pending.shift()?.settle(true);
        }
      }
      while (m.pending.length || (await Promise.race([Promise.all(results).then(() => 'done'), tick().then(() => 'wait')])) === 'wait') {
        await tick();
        m.pending.shift()?.settle(true);
      }
      await Promise.all(results);
      assert.equal(m.overlapped(), false);
      const partials = requests.filter((r) => r).map((r) => `only ${r!.join(',')}`);
      assert.deepEqual(m.log.filter((l) => l !== 'full'), partials);
      assert.ok(m.log.filter((l) => l === 'full').length <= requests.filter((r) => !r).length);
    }),
    { numRuns: 200 },
  );
});
