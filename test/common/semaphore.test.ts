// The runtime's counting semaphore: first come first served, a limit that changes at run time, aborts that take only
// their own waiters out, and one abort listener per signal however many records wait with it.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import fc from 'fast-check';
import { Semaphore } from '../../src/common/semaphore.ts';

const settled = () => new Promise<void>((r) => setImmediate(r));

test('waiters get in first come, first served, as holders release', async () => {
  const s = new Semaphore(1);
  await s.acquire();
  const order: number[] = [];
  const waits = [1, 2, 3].map((i) => s.acquire().then(() => order.push(i)));
  assert.equal(s.waiting, 3);
  for (let i = 0; i < 3; i += 1) {
    s.release();
    await settled();
  }
  await Promise.all(waits);
  assert.deepEqual(order, [1, 2, 3]);
  assert.equal(s.active, 1);
  assert.equal(s.waiting, 0);
});

test('a larger limit lets waiters in at once; a smaller one takes effect as holders release', async () => {
  const s = new Semaphore(1);
  await s.acquire();
  let inside = 1;
  const waits = [0, 1, 2].map(() => s.acquire().then(() => (inside += 1)));
  s.setLimit(3);
  await settled();
  assert.equal(inside, 3);
  assert.equal(s.waiting, 1);
  s.setLimit(1);
  s.release();
  s.release();
  await settled();
  assert.equal(s.waiting, 1, 'still over the new limit: nobody gets in');
  s.release();
  await Promise.all(waits);
  assert.equal(s.active, 1);
});

test('an abort rejects only the waiters of that signal, with its reason, and they leave the queue', async () => {
  const s = new Semaphore(0);
  const a = new AbortController();
  const b = new AbortController();
  const results: string[] = [];
  const track = (name: string, p: Promise<void>) => p.then(() => results.push(`${name} in`), (e: Error) => results.push(`${name} ${e.message}`));
  const waits = [track('a1', s.acquire(a.signal)), track('b1', s.acquire(b.signal)), track('a2', s.acquire(a.signal)), track('none', s.acquire())];
  a.abort(new Error('revoked'));
  await settled();
  assert.equal(s.waiting, 2);
  s.setLimit(2);
  await Promise.all(waits);
  assert.deepEqual(results.sort(), ['a1 revoked', 'a2 revoked', 'b1 in', 'none in']);
  await assert.rejects(s.acquire(a.signal), /revoked/, 'an aborted signal is refused at once');
});

test('one abort listener per signal, however many wait with it; removed when the last of them got in', async () => {
  const s = new Semaphore(0);
  const c = new AbortController();
  const waits = Array.from({ length: 5000 }, () => s.acquire(c.signal));
  assert.equal(getEventListeners(c.signal, 'abort').length, 1);
  s.setLimit(5000);
  await Promise.all(waits);
  assert.equal(getEventListeners(c.signal, 'abort').length, 0);
});

test('property: against a model, any sequence of acquires, releases, aborts and limit changes', async () => {
  type Op = { kind: 'acquire'; signal: number } | { kind: 'release' } | { kind: 'abort'; signal: number } | { kind: 'limit'; n: number };
  const op = fc.oneof(
    fc.record({ kind: fc.constant('acquire' as const), signal: fc.integer({ min: -1, max: 2 }) }),
    fc.record({ kind: fc.constant('release' as const) }),
    fc.record({ kind: fc.constant('abort' as const), signal: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ kind: fc.constant('limit' as const), n: fc.integer({ min: 0, max: 4 }) }),
  );
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 3 }), fc.array(op, { maxLength: 60 }), async (limit, ops: Op[]) => {
      const s = new Semaphore(limit);
      const controllers = [0, 1, 2].map(() => new AbortController());
      // The model: a FIFO of waiter ids with their signal; `active` holders.
      let mLimit = limit;
      let mActive = 0;
      const mQueue: { id: number; signal: number }[] = [];
      const expectIn: number[] = [];
      const expectOut: number[] = [];
      const gotIn: number[] = [];
      const gotOut: number[] = [];
      const mDrain = () => {
        while (mActive < mLimit && mQueue.length > 0) {
          mActive += 1;
          expectIn.push(mQueue.shift()!.id);
        }
      };
      let id = 0;
      for (const o of ops) {
        if (o.kind === 'acquire') {
          const me = id++;
          const signal = o.signal < 0 ? undefined : controllers[o.signal]!.signal;
          if (signal?.aborted) {
            expectOut.push(me);
          } else if (mActive < mLimit && mQueue.length === 0) {
            mActive += 1;
            expectIn.push(me);
          } else {
            mQueue.push({ id: me, signal: o.signal });
          }
          s.acquire(signal).then(() => gotIn.push(me), () => gotOut.push(me));
        } else if (o.kind === 'release') {
          if (mActive === 0) continue;
          mActive -= 1;
          mDrain();
          s.release();
        } else if (o.kind === 'abort') {
          const c = controllers[o.signal]!;
          if (c.signal.aborted) continue;
          for (let i = mQueue.length - 1; i >= 0; i -= 1) if (mQueue[i]!.signal === o.signal) expectOut.push(mQueue.splice(i, 1)[0]!.id);
          c.abort(new Error('aborted'));
        } else {
          mLimit = o.n;
          mDrain();
          s.setLimit(o.n);
        }
        assert.equal(s.active, mActive);
        assert.equal(s.waiting, mQueue.length);
      }
      await settled();
      assert.deepEqual(gotIn, expectIn, 'who got in, in order');
      assert.deepEqual(gotOut.sort((x, y) => x - y), expectOut.sort((x, y) => x - y), 'who was refused');
    }),
    { numRuns: 300 },
  );
});
