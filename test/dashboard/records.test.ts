// What the dashboard keeps of output and dead-letter records: strings as strings, colours validated, anything else tolerated.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_TEXT, parseDeadLetterEntry, parseGalleryEntry } from '../../src/dashboard/index.ts';

const meta = { topic: 'palettes', partition: 1, offset: 7, timestamp: 1000 };

test('a palette record becomes a gallery entry; its id and url are kept verbatim (the page shows them as text)', () => {
  const id = '<img src=x onerror=alert(1)>';
  const e = parseGalleryEntry(JSON.stringify({ id, url: 'http://a/b.jpg', hex: ['#AABBCC', '#000000'], palette: [[170, 187, 204], [0, 0, 0]], width: 4, height: 3 }), meta);
  assert.deepEqual(e, { ...meta, id, url: 'http://a/b.jpg', hex: ['#aabbcc', '#000000'], width: 4, height: 3 });
});

test('records that are not palettes are not gallery entries: no hex, a colour that is not #rrggbb, not JSON', () => {
  for (const v of [
    JSON.stringify({ id: 'a', url: 'u' }),
    JSON.stringify({ id: 'a', hex: ['red'] }),
    JSON.stringify({ id: 'a', hex: ['#aabbcc;background:url(x)'] }),
    JSON.stringify({ id: 'a', hex: [] }),
    'not json',
    '[1,2]',
    null,
  ]) {
    assert.equal(parseGalleryEntry(v, meta), undefined, String(v));
  }
});

test('the key stands in for a missing id, and long strings are cut', () => {
  const e = parseGalleryEntry(JSON.stringify({ url: 'x'.repeat(5000), hex: ['#010203'] }), meta, 'the-key');
  assert.equal(e?.id, 'the-key');
  assert.equal(e?.url.length, MAX_TEXT);
});

test('a dead letter keeps its id, url, code, message and attempts; anything else shows as UNREADABLE with its value', () => {
  const dl = { id: '<b>x</b>', url: 'http://h/p', error: { code: 'HTTP_STATUS', message: 'http://h/p answered HTTP 404' }, attempts: 3, source: { topic: 'urls', partition: 0, offset: 1 }, original: '{}', failedAt: '2026-01-01T00:00:00Z' };
  assert.deepEqual(parseDeadLetterEntry(JSON.stringify(dl), meta), { ...meta, id: '<b>x</b>', url: 'http://h/p', code: 'HTTP_STATUS', message: 'http://h/p answered HTTP 404', attempts: 3 });
  const odd = parseDeadLetterEntry('garbage <script>', meta, 'k');
  assert.equal(odd.code, 'UNREADABLE');
  assert.equal(odd.id, 'k');
  assert.match(odd.message, /garbage <script>/);
});
