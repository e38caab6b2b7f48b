// Autoscaling options: defaults are valid and documented values; every bad field is named in the error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultScalingOptions, resolveScalingOptions, validateScalingOptions, type ScalingOptions } from '../../src/autoscale/index.ts';
import { UsageError } from '../../src/errors/index.ts';

test('defaults: 1..10 units, 60 s idle timeout, 10 s catch-up, utilisation band 0.75..0.85, doubling per tick', () => {
  assert.deepEqual({ ...defaultScalingOptions }, {
    minUnits: 1,
    maxUnits: 10,
    idleTimeoutMs: 60_000,
    catchUpMs: 10_000,
    targetUtilization: 0.85,
    scaleDownUtilization: 0.75,
    upscalingSpeed: 1,
    minUpscalingStep: 1,
    servicePerUnitPrior: undefined,
    unitName: 'units',
  });
  assert.doesNotThrow(() => validateScalingOptions(defaultScalingOptions));
  assert.ok(Object.isFrozen(defaultScalingOptions));
});

test('resolve merges over the defaults; undefined keeps the default', () => {
  const o = resolveScalingOptions({ minUnits: 2, maxUnits: 4, idleTimeoutMs: undefined, unitName: 'replicas' });
  assert.equal(o.minUnits, 2);
  assert.equal(o.maxUnits, 4);
  assert.equal(o.idleTimeoutMs, 60_000);
  assert.equal(o.unitName, 'replicas');
  assert.equal(resolveScalingOptions({ minUnits: 0 }).minUnits, 0, 'scale to zero is allowed');
});

test('each bad option is rejected with a UsageError that names the field', () => {
  const cases: Array<[Partial<ScalingOptions>, string]> = [
    [{ minUnits: -1 }, 'minUnits'],
    [{ minUnits: 1.5 }, 'minUnits'],
    [{ minUnits: 5, maxUnits: 4 }, 'minUnits'],
    [{ maxUnits: 0 }, 'maxUnits'],
    [{ maxUnits: Number.POSITIVE_INFINITY }, 'maxUnits'],
    [{ idleTimeoutMs: -1 }, 'idleTimeoutMs'],
    [{ catchUpMs: 0 }, 'catchUpMs'],
    [{ targetUtilization: 0 }, 'targetUtilization'],
    [{ targetUtilization: 1.2 }, 'targetUtilization'],
    [{ scaleDownUtilization: 0.9 }, 'scaleDownUtilization'],
    [{ targetUtilization: 0.7, scaleDownUtilization: 0.7 }, 'scaleDownUtilization'],
    [{ upscalingSpeed: 0 }, 'upscalingSpeed'],
    [{ upscalingSpeed: Number.NaN }, 'upscalingSpeed'],
    [{ minUpscalingStep: 0 }, 'minUpscalingStep'],
    [{ minUpscalingStep: 2.5 }, 'minUpscalingStep'],
    [{ servicePerUnitPrior: 0 }, 'servicePerUnitPrior'],
    [{ unitName: ' ' }, 'unitName'],
  ];
  for (const [bad, field] of cases) {
    assert.throws(
      () => resolveScalingOptions(bad),
      (e: unknown) => e instanceof UsageError && e.code === 'USAGE' && e.message.includes(`option ${field} `),
      `${JSON.stringify(bad)} should name ${field}`,
    );
  }
});
