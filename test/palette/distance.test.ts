// CIEDE2000 against published reference values, and the order-independent palette matching built on it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignRows, ciede2000, paletteDistance, srgbToLab, type Lab } from '../../src/palette/distance.ts';

test('ciede2000 matches Sharma, Wu and Dalal (2005) test data', () => {
  // pairs 1, 7, 13, 17, 19, 25 and 34 of the paper's table (L, a, b) -> dE00
  const cases: [Lab, Lab, number][] = [
    [[50, 2.6772, -79.7751], [50, 0, -82.7485], 2.0425],
    [[50, 0, 0], [50, -1, 2], 2.3669],
    [[50, 2.49, -0.001], [50, -2.49, 0.0011], 7.2195],
    [[50, 2.5, 0], [73, 25, -18], 27.1492],
    [[50, 2.5, 0], [50, 3.1736, 0.5854], 1.0],
    [[60.2574, -34.0099, 36.2677], [60.4626, -34.1751, 39.4387], 1.2644],
    [[2.0776, 0.0795, -1.135], [0.9033, -0.0636, -0.5514], 0.9082],
  ];
  for (const [a, b, want] of cases) {
    assert.ok(Math.abs(ciede2000(a, b) - want) < 1e-4, `${JSON.stringify(a)} vs ${JSON.stringify(b)}: ${ciede2000(a, b)} != ${want}`);
    assert.ok(Math.abs(ciede2000(b, a) - want) < 1e-4, 'symmetric');
  }
});

test('srgbToLab: white is L=100, black is L=0, sRGB red is about (53.24, 80.09, 67.20)', () => {
  const [wl, wa, wb] = srgbToLab([255, 255, 255]);
  assert.ok(Math.abs(wl - 100) < 0.01 && Math.abs(wa) < 0.01 && Math.abs(wb) < 0.01);
  assert.deepEqual(srgbToLab([0, 0, 0]).map((v) => Math.round(v * 100) / 100), [0, 0, 0]);
  const red = srgbToLab([255, 0, 0]);
  assert.ok(Math.abs(red[0] - 53.24) < 0.05 && Math.abs(red[1] - 80.09) < 0.1 && Math.abs(red[2] - 67.2) < 0.1, JSON.stringify(red));
});

test('assignRows finds the cheapest one-to-one matching, not the greedy one', () => {
  // greedy takes (0,0)=1 then (1,1)=10: total 11; the optimum is (0,1)+(1,0) = 2+2 = 4
  assert.deepEqual(assignRows([[1, 2], [2, 10]]), [1, 0]);
  assert.deepEqual(assignRows([[5, 1, 9], [1, 5, 9]]), [1, 0]);
});

test('paletteDistance ignores order, is 0 for equal palettes and counts unmatched colours', () => {
  const a: [number, number, number][] = [[255, 0, 0], [0, 0, 255], [20, 200, 20]];
  const b: [number, number, number][] = [[20, 200, 20], [255, 0, 0], [0, 0, 255]];
  assert.deepEqual(paletteDistance(a, b), { mean: 0, max: 0, matched: 3, unmatched: 0 });
  const d = paletteDistance(a, [[250, 5, 5], [0, 0, 255]]);
  assert.equal(d.matched, 2);
  assert.equal(d.unmatched, 1);
  assert.ok(d.max > 0 && d.max < 3, `small shift of red: ${d.max}`);
  assert.ok(paletteDistance([[0, 0, 0]], [[255, 255, 255]]).mean > 99);
});
