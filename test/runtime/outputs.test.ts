// What a job returns, turned into records: none, one, many; default topic and key; named topics only when declared.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobError } from '../../src/index.ts';
import { InputRecord } from '../../src/job/index.ts';
import { toOutgoing } from '../../src/runtime/index.ts';

const input = InputRecord.of({ topic: 'in', partition: 0, offset: 0n, timestamp: 0n, key: 'k1', value: 'v' });
const allowed = new Set(['side']);

test('null, undefined and [] produce nothing (a filter)', () => {
  for (const r of [null, undefined, []]) assert.deepEqual(toOutgoing(r, input, 'out', allowed), []);
});

test('one output goes to the default topic with the input key unless it says otherwise', () => {
  assert.deepEqual(toOutgoing({ value: 'x' }, input, 'out', allowed), [{ topic: 'out', key: 'k1', value: 'x' }]);
  assert.deepEqual(toOutgoing({ value: 'x', key: null }, input, 'out', allowed), [{ topic: 'out', key: undefined, value: 'x' }]);
  const bytes = Buffer.from([1, 2, 3]);
  assert.deepEqual(toOutgoing({ value: bytes, key: 'k2', headers: { 'content-type': 'image/png' } }, input, 'out', allowed), [
    { topic: 'out', key: 'k2', value: bytes, headers: { 'content-type': 'image/png' } },
  ]);
});

test('many outputs fan out, to the default or a declared topic', () => {
  const out = toOutgoing([{ value: 'a' }, { value: 'b', topic: 'side' }, { value: null, topic: 'out' }], input, 'out', allowed);
  assert.deepEqual(out.map((o) => [o.topic, o.value]), [['out', 'a'], ['side', 'b'], ['out', null]]);
});

test('a bad output is INVALID_OUTPUT naming what is wrong', () => {
  const cases: [unknown, RegExp][] = [
    [42, /must be an object/],
    [{ key: 'x' }, /"value" must be a string, a Buffer\/Uint8Array or null, got undefined/],
    [{ value: 1 }, /"value" must be/],
    [{ value: 'x', key: 5 }, /"key" must be/],
    [{ value: 'x', topic: 'elsewhere' }, /topic "elsewhere" is neither the output topic "out" nor one of the job's outputs \(side\)/],
    [{ value: 'x', headers: { a: 1 } }, /header "a" must be a string or bytes/],
    [[{ value: 'ok' }, { value: 2 }], /output 1: "value"/],
  ];
  for (const [result, message] of cases) {
    assert.throws(() => toOutgoing(result as never, input, 'out', allowed), (e: unknown) => e instanceof JobError && e.code === 'INVALID_OUTPUT' && message.test(e.message), String(message));
  }
});
