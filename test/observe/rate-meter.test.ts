// The rate meter: per second over a sliding window; unknown (null) over too short a span or across a reset. No clock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { RateMeter } from '../../src/observe/index.ts';

test('per second over the window: the base is the last sample at or before its start', () => {
  const m = new RateMeter({ windowMs: 5000 });
  m.add(0, { out: 0 });
  assert.equal(m.rate('out'), null, 'one sample: unknown');
  m.add(200, { out: 10 });
  assert.equal(m.rate('out'), null, 'a span under 500 ms: unknown');
  for (let t = 1000; t <= 10_000; t += 1000) m.add(t, { out: t / 100 }); // 10/s
  assert.equal(m.rate('out'), 10);
  m.add(11_000, { out: 150 }); // 50 in the last second
  assert.equal(m.rate('out'), (150 - 60) / 5, 'over the last 5 s, not since the start');
  assert.deepEqual(m.rates(['out', 'missing']), { out: 18, missing: 0 });
});

test('a counter that went back (a new process, a reset) is unknown until the window has passed it', () => {
  const m = new RateMeter({ windowMs: 2000 });
  m.add(0, { n: 100 });
  m.add(1000, { n: 5 });
  assert.equal(m.rate('n'), null);
  m.add(3000, { n: 25 });
  assert.equal(m.rate('n'), 10);
});

test('property: constant increments give the constant rate, whatever the sampling times', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 2, maxLength: 60 }), fc.integer({ min: 1, max: 100 }), (gaps, perSecond) => {
      const m = new RateMeter({ windowMs: 5000, minSpanMs: 1 });
      let t = 0;
      m.add(t, { c: 0 });
      for (const g of gaps) {
        t += g;
        m.add(t, { c: (t * perSecond) / 1000 });
      }
      assert.ok(Math.abs(m.rate('c')! - perSecond) < 1e-9);
    }),
  );
});
