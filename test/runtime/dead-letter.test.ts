// Dead letters: what they carry, and their bounds (a dead letter must fit in the topic whatever the input was).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LaglessError } from '../../src/errors/index.ts';
import { InputRecord } from '../../src/job/index.ts';
import { DEAD_LETTER_LIMITS, deadLetter, minimalDeadLetter } from '../../src/runtime/index.ts';

const input = (value: string) => InputRecord.of({ topic: 'urls', partition: 3, offset: 42n, key: 'k', value, timestamp: 0n });

test('a small input is copied whole, with the job\'s fields (id, url), code and source', () => {
  const d = deadLetter(input('{"id":"a","url":"http://x/"}'), new LaglessError('HTTP_STATUS', '404'), 1, { id: 'a', url: 'http://x/' }, new Date(0));
  assert.deepEqual(d, {
    id: 'a',
    url: 'http://x/',
    error: { code: 'HTTP_STATUS', message: '404' },
    attempts: 1,
    source: { topic: 'urls', partition: 3, offset: 42 },
    original: '{"id":"a","url":"http://x/"}',
    failedAt: '1970-01-01T00:00:00.000Z',
  });
});

test('a huge input is cut: the dead letter stays small (the job\'s fields too), says it was cut and how big the value was', () => {
  // 900 kB of quotes and a 400 kB URL: escaped in JSON, the uncut dead letter would be over 2 MB.
  const url = `http://example.com/${'"'.repeat(400_000)}`;
  const value = JSON.stringify({ id: 'x'.repeat(100_000), url, pad: '"'.repeat(100_000) });
  const d = deadLetter(input(value), new LaglessError('INVALID_URL', `bad URL ${url}`), 1, { id: 'x'.repeat(100_000), url });
  assert.equal(d.originalTruncated, true);
  assert.equal(d.originalBytes, Buffer.byteLength(value));
  assert.ok(Buffer.byteLength(d.original) <= DEAD_LETTER_LIMITS.originalBytes);
  assert.ok(value.startsWith(d.original));
  assert.ok((d.id as string).length < 2100 && (d.url as string).length < 2100 && d.error.message.length < 2100);
  assert.ok(Buffer.byteLength(JSON.stringify(d)) < 300_000, `dead letter of ${Buffer.byteLength(JSON.stringify(d))} bytes`);
});

test('the cut never splits a character: multi-byte and surrogate pairs stay whole', () => {
  const value = '😀'.repeat(DEAD_LETTER_LIMITS.originalBytes);
  const d = deadLetter(input(value), new LaglessError('INVALID_MESSAGE', 'not JSON'), 1);
  assert.ok(Buffer.byteLength(d.original) <= DEAD_LETTER_LIMITS.originalBytes);
  assert.equal(d.original, '😀'.repeat(d.original.length / 2));
});

test('the minimal dead letter keeps the code, the source and the size, and drops the rest', () => {
  const d = deadLetter(input('{"id":"a","url":"http://x/"}'), new LaglessError('HTTP_STATUS', '404'), 2, { id: 'a', url: 'http://x/' });
  const m = minimalDeadLetter(d);
  assert.deepEqual(Object.keys(m).sort(), ['attempts', 'error', 'failedAt', 'original', 'originalBytes', 'originalTruncated', 'source']);
  assert.equal(m.original, '');
  assert.equal(m.originalBytes, 28);
  assert.deepEqual(m.error, d.error);
});

test('toRecordError never throws, whatever was thrown, and gives a code and a message (property: any value, and hostile objects)', async () => {
  const fc = (await import('fast-check')).default;
  const { toRecordError } = await import('../../src/runtime/index.ts');
  const { JobError } = await import('../../src/errors/index.ts');
  const hostile = fc.constantFrom<unknown>(
    Object.create(null),
    new Proxy({}, { get: () => { throw new Error('get'); }, getPrototypeOf: () => { throw new Error('proto'); }, ownKeys: () => { throw new Error('keys'); } }),
    { toString: () => { throw new Error('no'); } },
    Symbol('s'),
    10n,
    () => 1,
    Object.assign(Object.create(JobError.prototype) as object, { code: '' }),
  );
  fc.assert(
    fc.property(fc.oneof(fc.anything(), hostile), (thrown) => {
      const e = toRecordError(thrown);
      assert.equal(typeof e.code, 'string');
      assert.ok(e.code.length > 0);
      assert.equal(typeof e.message, 'string');
      assert.ok(e.message.length > 0);
      assert.equal(typeof e.retryable, 'boolean');
      JSON.stringify({ code: e.code, message: e.message });
    }),
    { numRuns: 2000 },
  );
  // A job's own code and retryability are kept; the tool's own codes become JOB_FAILED.
  const own = toRecordError(new JobError('UPSTREAM_BUSY', 'busy', { retryable: true, retryAfterMs: 50 }));
  assert.deepEqual([own.code, own.message, own.retryable, own.retryAfterMs], ['UPSTREAM_BUSY', 'busy', true, 50]);
  assert.equal(toRecordError(new LaglessError('INTERNAL', 'x')).code, 'JOB_FAILED');
  assert.equal(toRecordError(Object.create(null)).code, 'JOB_FAILED');
});

test('a dead letter says why the job\'s fields are missing (fieldsError), bounded like a message', () => {
  const d = deadLetter(input('{}'), new LaglessError('NOPE', 'x'), 1, undefined, new Date(0), 'deadLetterFields() failed: ' + 'y'.repeat(10_000));
  assert.ok(typeof d.fieldsError === 'string' && d.fieldsError.length < 2100);
  assert.equal('fieldsError' in deadLetter(input('{}'), new LaglessError('NOPE', 'x'), 1), false);
});
