// The palette job's options: defaults that hold on any machine, and validation that names the field.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { createPaletteJob } from '../../src/jobs/index.ts';

// Bug: `workers` defaulted to the machine's cores instead of maxWorkers, so createPaletteJob({ maxWorkers: 2 }) threw
// "workers (N) must not exceed maxWorkers (2)" on any machine with more than 2 cores. maxWorkers 1 shows it on every
// machine with 2 cores or more.
test('workers defaults to maxWorkers, whatever the number of cores', async (t) => {
  const job = createPaletteJob({ maxWorkers: 1, minWorkers: 0 });
  t.after(() => job.close());
  assert.equal(job.stats?.().workers, 1);
  assert.equal(job.stats?.().maxWorkers, 1);
  t.diagnostic(`${availableParallelism()} core(s) here`);
});

test('without maxWorkers, workers and maxWorkers default to the cores; a workers above maxWorkers names both', async (t) => {
  const job = createPaletteJob({ minWorkers: 0 });
  t.after(() => job.close());
  assert.equal(job.stats?.().maxWorkers, availableParallelism());
  assert.equal(job.stats?.().workers, availableParallelism());
  assert.throws(() => createPaletteJob({ workers: 3, maxWorkers: 2 }), /workers \(3\) must not exceed maxWorkers \(2\)/);
});
