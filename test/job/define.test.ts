// The job contract: defineJob checks a definition's shape with messages naming the field; a record's text() and json().
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineJob, JobError, UsageError } from '../../src/index.ts';
import { InputRecord } from '../../src/job/index.ts';

test('defineJob returns a valid definition unchanged', () => {
  const job = { name: 'upper', outputs: ['a'], run: () => null };
  assert.equal(defineJob(job), job);
});

test('defineJob names the bad field', () => {
  const cases: [unknown, RegExp][] = [
    [null, /a job is an object/],
    [{ run: () => null }, /"name" must be/],
    [{ name: 'has space', run: () => null }, /"name" must be/],
    [{ name: 'x' }, /"run" must be a function/],
    [{ name: 'x', run: () => null, setup: 'no' }, /"setup" must be a function/],
    [{ name: 'x', run: () => null, preview: {} }, /"preview" must be a function/],
    [{ name: 'x', run: () => null, worker: 3 }, /"worker" must be a URL or a path/],
    [{ name: 'x', run: () => null, outputs: 'a' }, /"outputs" must be an array/],
    [{ name: 'x', run: () => null, outputs: [''] }, /"outputs" must hold topic names/],
  ];
  for (const [job, message] of cases) {
    assert.throws(() => defineJob(job as never), (e: unknown) => e instanceof UsageError && message.test(e.message), String(message));
  }
});

test('a record gives its value as bytes, text and JSON; a value that is not JSON is INVALID_MESSAGE', () => {
  const r = InputRecord.of({ topic: 't', partition: 1, offset: 5n, timestamp: 0n, key: 'k', value: '{"a":1}', headers: { h: 'v' } });
  assert.ok(Buffer.isBuffer(r.value));
  assert.equal(r.text(), '{"a":1}');
  assert.deepEqual(r.json(), { a: 1 });
  assert.deepEqual(r.headers, { h: 'v' });
  const bad = InputRecord.of({ topic: 't', partition: 1, offset: 6n, timestamp: 0n, key: undefined, value: 'not json' });
  assert.deepEqual(bad.headers, {});
  assert.throws(() => bad.json(), (e: unknown) => e instanceof JobError && e.code === 'INVALID_MESSAGE' && !e.retryable);
});

test('JobError keeps its code and retryability; it is a LaglessError', () => {
  const e = new JobError('UPSTREAM_BUSY', 'HTTP 503', { retryable: true, retryAfterMs: 2000 });
  assert.equal(e.code, 'UPSTREAM_BUSY');
  assert.equal(e.retryable, true);
  assert.equal(e.retryAfterMs, 2000);
  assert.equal(new JobError('X', 'm').retryable, false, 'not retried unless it says so');
});
