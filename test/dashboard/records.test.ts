// What the dashboard keeps of output and dead-letter records: strings as strings, colours validated, anything else tolerated.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_FIELD_TEXT, MAX_TEXT, outputEntry, parseDeadLetterEntry } from '../../src/dashboard/index.ts';
import { createPaletteJob, previewPaletteOutput } from '../../src/jobs/index.ts';

const meta = { topic: 'palettes', partition: 1, offset: 7, timestamp: 1000 };
const view = (value: string, key?: string) => ({ topic: meta.topic, key, value });

test("the palette job's preview shows a palette record's id, photo, swatches and size; strings are kept verbatim (the page shows them as text)", () => {
  const id = '<img src=x onerror=alert(1)>';
  const value = JSON.stringify({ id, url: 'http://a/b.jpg', hex: ['#AABBCC', '#000000'], palette: [[170, 187, 204], [0, 0, 0]], width: 4, height: 3, mode: 'fast', durationMs: 1 });
  assert.equal(createPaletteJob().preview, previewPaletteOutput, 'the job provides it');
  assert.deepEqual(outputEntry(view(value, 'k'), meta, previewPaletteOutput), {
    ...meta,
    key: 'k',
    title: id,
    image: 'http://a/b.jpg',
    swatches: ['#aabbcc', '#000000'],
    fields: [['url', 'http://a/b.jpg'], ['size', '4×3'], ['mode', 'fast']],
    previewed: true,
  });
});

test("a preview's colours that are not #rrggbb, images that are not http(s), fields that are not strings are left out; long strings are cut", () => {
  const e = outputEntry(view('{}', 'k'), meta, () => ({
    title: 't'.repeat(5000),
    image: 'javascript:alert(1)',
    swatches: ['red', '#aabbcc;background:url(x)', '#010203', 7 as unknown as string],
    fields: { n: 1 as unknown as string, long: 'v'.repeat(500) },
  }));
  assert.equal(e.title.length, MAX_TEXT);
  assert.equal(e.image, null);
  assert.deepEqual(e.swatches, ['#010203']);
  assert.deepEqual(e.fields.map(([k]) => k), ['long']);
  assert.equal(e.fields[0]![1].length, MAX_FIELD_TEXT);
  assert.equal(e.previewed, true);
  // A preview without a title is headed by the key.
  assert.equal(outputEntry(view('{}', 'the-key'), meta, () => ({})).title, 'the-key');
});

test('an output of a job without a preview shows its key and short values: top-level fields of a JSON object, or the value itself', () => {
  const value = JSON.stringify({ order: 'A-17', total: 12.5, items: [1, 2, 3], note: 'n'.repeat(1000) });
  const e = outputEntry(view(value, 'A-17'), meta);
  assert.equal(e.title, 'A-17');
  assert.equal(e.previewed, false);
  assert.deepEqual(e.fields.slice(0, 3), [['order', 'A-17'], ['total', '12.5'], ['items', '[1,2,3]']]);
  assert.equal(e.fields[3]![0], 'note');
  assert.ok(e.fields[3]![1].length === MAX_FIELD_TEXT && e.fields[3]![1].endsWith('…'), 'a long value is cut short');
  assert.deepEqual(outputEntry(view('plain <b>text</b>'), meta).fields, [['value', 'plain <b>text</b>']]);
  assert.deepEqual(outputEntry(view(''), meta), { ...meta, key: null, title: '', image: null, swatches: [], fields: [], previewed: false });
});

test('a preview that throws, returns nothing, or returns a hostile object costs only itself: the default shows, or the parts that read', () => {
  const value = JSON.stringify({ a: 'b' });
  const fallback = [['a', 'b']];
  assert.deepEqual(outputEntry(view(value), meta, () => { throw new Error('bad'); }).fields, fallback);
  assert.deepEqual(outputEntry(view(value), meta, () => undefined).fields, fallback);
  assert.deepEqual(outputEntry(view(value), meta, () => 'text' as never).fields, fallback);
  // The palette preview of a value that is not a palette record is nothing: the default shows.
  assert.deepEqual(outputEntry(view(value), meta, previewPaletteOutput).fields, fallback);
  const hostile = new Proxy({}, { get: () => { throw new Error('trap'); } });
  const e = outputEntry(view(value, 'k'), meta, () => ({ title: 'ok', get fields(): Record<string, string> { throw new Error('getter'); }, swatches: hostile as string[] }));
  assert.equal(e.title, 'ok');
  assert.deepEqual(e.fields, []);
  assert.deepEqual(e.swatches, []);
});

test('a dead letter keeps its id, url, code, message and attempts; anything else shows as UNREADABLE with its value', () => {
  const dl = { id: '<b>x</b>', url: 'http://h/p', error: { code: 'HTTP_STATUS', message: 'http://h/p answered HTTP 404' }, attempts: 3, source: { topic: 'urls', partition: 0, offset: 1 }, original: '{}', failedAt: '2026-01-01T00:00:00Z' };
  assert.deepEqual(parseDeadLetterEntry(JSON.stringify(dl), meta), { ...meta, id: '<b>x</b>', url: 'http://h/p', code: 'HTTP_STATUS', message: 'http://h/p answered HTTP 404', attempts: 3 });
  const odd = parseDeadLetterEntry('garbage <script>', meta, 'k');
  assert.equal(odd.code, 'UNREADABLE');
  assert.equal(odd.id, 'k');
  assert.match(odd.message, /garbage <script>/);
});
