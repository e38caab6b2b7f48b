// The file source: JSON lines and bare URLs, every bad line reported with its number, missing files named.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { LaglessError } from '../../src/errors/index.ts';
import { idForUrl, openFileSource, parseLine, type SourceEvent, type UrlRecord } from '../../src/sources/index.ts';

async function tempFile(t: TestContext, content: string | Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lagless-file-source-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'input.txt');
  await writeFile(path, content);
  return path;
}

async function readAll(source: AsyncIterable<UrlRecord>): Promise<UrlRecord[]> {
  const out: UrlRecord[] = [];
  for await (const r of source) out.push(r);
  return out;
}

test('parseLine: JSON objects, bare URLs, blanks', () => {
  assert.deepEqual(parseLine('{"id":"a1","url":"https://example.com/a.jpg"}'), { record: { id: 'a1', url: 'https://example.com/a.jpg' } });
  assert.deepEqual(parseLine('  {"url":"http://h/x.png","id":"b","extra":1}  '), { record: { id: 'b', url: 'http://h/x.png' } }, 'extra fields are dropped');
  assert.deepEqual(parseLine('https://example.com/a.jpg'), { record: { id: idForUrl('https://example.com/a.jpg'), url: 'https://example.com/a.jpg' } });
  assert.equal(parseLine(''), null);
  assert.equal(parseLine(' \t '), null);
});

test('parseLine: every malformed line says what is wrong', () => {
  const cases: [string, RegExp][] = [
    ['{"id":"a","url":', /invalid JSON/],
    ['{"url":"https://h/x"}', /missing "id"/],
    ['{"id":"a"}', /missing "url"/],
    ['{"id":7,"url":"https://h/x"}', /"id" is not a non-empty string/],
    ['{"id":"","url":"https://h/x"}', /"id" is not a non-empty string/],
    ['{"id":"a","url":42}', /"url" is not a string/],
    ['{"id":"a","url":"not a url"}', /"url" is not a URL/],
    ['{"id":"a","url":"ftp://h/x.jpg"}', /not an http\(s\) URL \(scheme ftp\)/],
    ['just some words', /neither a JSON object nor an http\(s\) URL/],
    ['file:///etc/passwd', /not an http\(s\) URL \(scheme file\)/],
  ];
  for (const [line, reason] of cases) {
    const parsed = parseLine(line);
    assert.ok(parsed && 'skip' in parsed, `${line} should be skipped`);
    assert.match(parsed.skip, reason, line);
  }
  const long = parseLine('https://h/' + 'a'.repeat(70_000));
  assert.ok(long && 'skip' in long && /longer than/.test(long.skip));
});

test('the id of a bare URL is deterministic, 96 bits of SHA-256, and differs between URLs', () => {
  assert.equal(idForUrl('https://example.com/a.jpg'), idForUrl('https://example.com/a.jpg'));
  assert.match(idForUrl('https://example.com/a.jpg'), /^u[0-9a-f]{24}$/);
  assert.notEqual(idForUrl('https://example.com/a.jpg'), idForUrl('https://example.com/b.jpg'));
  // Known value, so that a change of the scheme (which would change every key) is noticed.
  assert.equal(idForUrl('https://example.com/a.jpg'), 'u276a1ac00ba4f0ea47eeeafc'); // printf %s URL | sha256sum
});

test('property: any {id,url} object written as a JSON line reads back as the same record', () => {
  const arbUrl = fc.webUrl({ validSchemes: ['http', 'https'] }).filter((u) => URL.canParse(u));
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), arbUrl, (id, url) => {
      assert.deepEqual(parseLine(JSON.stringify({ id, url })), { record: { id, url } });
    }),
  );
});

test('a file mixing JSON lines, URLs, blanks and bad lines: records in order, each bad line reported with its number', async (t) => {
  const path = await tempFile(
    t,
    [
      '{"id":"a","url":"https://img.example/a.jpg"}',
      '',
      'https://img.example/b.jpg',
      '{"id":"c","url":',
      '   ',
      'not a url',
      '{"id":"d","url":"https://img.example/d.jpg"}\r',
      '{"id":"e"}',
    ].join('\n') + '\n',
  );
  const events: SourceEvent[] = [];
  const source = await openFileSource({ path, onEvent: (e) => events.push(e) });
  const records = await readAll(source);
  assert.deepEqual(records, [
    { id: 'a', url: 'https://img.example/a.jpg' },
    { id: idForUrl('https://img.example/b.jpg'), url: 'https://img.example/b.jpg' },
    { id: 'd', url: 'https://img.example/d.jpg' },
  ]);
  assert.deepEqual(
    events.map((e) => (e.type === 'skipped' ? e.line : e.type)),
    [4, 6, 8],
  );
  assert.deepEqual(source.stats(), { lines: 8, records: 3, skipped: 3 });
  const first = events[0]!;
  assert.ok(first.type === 'skipped' && first.text === '{"id":"c","url":' && /invalid JSON/.test(first.reason));
});

test('CRLF line ends, a UTF-8 BOM, and a last line without newline are handled', async (t) => {
  const path = await tempFile(t, '\uFEFF{"id":"a","url":"https://h/a.jpg"}\r\nhttps://h/b.jpg');
  const events: SourceEvent[] = [];
  const records = await readAll(await openFileSource({ path, onEvent: (e) => events.push(e) }));
  assert.deepEqual(records.map((r) => r.url), ['https://h/a.jpg', 'https://h/b.jpg']);
  assert.deepEqual(events, []);
});

test('"-" reads the given stdin stream', async () => {
  const stdin = Readable.from(['https://h/1.jpg\n{"id":"x","url":"https://h/2.jpg"}\n']);
  const records = await readAll(await openFileSource({ path: '-', stdin }));
  assert.deepEqual(records.map((r) => r.url), ['https://h/1.jpg', 'https://h/2.jpg']);
});

test('a missing file fails at open with IO, naming the file; so do a directory and an unreadable file', async (t) => {
  await assert.rejects(openFileSource({ path: '/nonexistent/urls.jsonl' }), (err: unknown) => {
    assert.ok(err instanceof LaglessError);
    assert.equal(err.code, 'IO');
    assert.match(err.message, /cannot read --file \/nonexistent\/urls\.jsonl: no such file/);
    return true;
  });
  await assert.rejects(openFileSource({ path: tmpdir() }), /it is a directory, not a file/);
  if (process.getuid?.() !== 0) {
    const path = await tempFile(t, 'x\n');
    await chmod(path, 0o000);
    await assert.rejects(openFileSource({ path }), /permission denied/);
  }
});

test('abort stops reading after the record in hand', async (t) => {
  const lines = Array.from({ length: 10_000 }, (_, i) => `https://h/${i}.jpg`).join('\n');
  const path = await tempFile(t, lines);
  const ac = new AbortController();
  const source = await openFileSource({ path, signal: ac.signal });
  let n = 0;
  for await (const _ of source) {
    n += 1;
    if (n === 10) ac.abort();
  }
  assert.equal(n, 10);
});

/** A stdin of `mib` MiB of "a" and no newline, made as it is read (one shared 1 MiB chunk: the generator holds nothing). */
function oneLongLine(mib: number, onRead: () => void): Readable {
  const chunk = Buffer.alloc(1024 * 1024, 'a');
  let sent = 0;
  return new Readable({
    read() {
      onRead();
      if (sent === mib) this.push(null);
      else {
        sent += 1;
        this.push(chunk);
      }
    },
  });
}

test('regression: one line of 300 MiB without a newline is skipped (LINE_TOO_LONG) while it is read, never held (readline held the whole line)', async () => {
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const base = used();
  let peak = 0;
  // Sampled each time the reader asks for more input, with everything it keeps still referenced.
  const stdin = oneLongLine(300, () => (peak = Math.max(peak, used() - base)));
  const events: SourceEvent[] = [];
  // With a signal, as the CLI passes one.
  const source = await openFileSource({ path: '-', stdin, signal: new AbortController().signal, onEvent: (e) => events.push(e) });
  assert.deepEqual(await readAll(source), []);
  assert.ok(peak < 32 * 1024 * 1024, `memory grew by ${(peak / 1024 / 1024).toFixed(1)} MiB while reading the line`);
  assert.equal(events.length, 1);
  const e = events[0]!;
  assert.ok(e.type === 'skipped' && e.code === 'LINE_TOO_LONG' && e.line === 1, JSON.stringify(e).slice(0, 300));
  assert.ok(e.text !== undefined && e.text.length <= 121 && e.text.startsWith('aaaa'), 'the start of the line, clipped');
  assert.deepEqual(source.stats(), { lines: 1, records: 0, skipped: 1 });
});

test('an over-long line between good ones: skipped with its number, the lines after it read as usual (CR, LF and CRLF ends)', async () => {
  const long = 'https://h/' + 'a'.repeat(300_000);
  // Pieces that cut a CRLF and a multi-byte character in two, as a pipe may.
  const text = `https://h/1.jpg\r\n${long}\n{"id":"é","url":"https://h/2.jpg"}\rhttps://h/3.jpg`;
  const bytes = Buffer.from(text);
  const at = (s: string, from = 0) => bytes.indexOf(Buffer.from(s), from);
  const cuts = [at('\r\n') + 1, 1000, 200_000, at('é') + 1, at('\rhttps://h/3') + 1, bytes.length];
  const pieces = cuts.map((end, i) => bytes.subarray(i === 0 ? 0 : cuts[i - 1], end));
  const events: SourceEvent[] = [];
  const source = await openFileSource({ path: '-', stdin: Readable.from(pieces), onEvent: (e) => events.push(e) });
  assert.deepEqual(await readAll(source), [
    { id: idForUrl('https://h/1.jpg'), url: 'https://h/1.jpg' },
    { id: 'é', url: 'https://h/2.jpg' },
    { id: idForUrl('https://h/3.jpg'), url: 'https://h/3.jpg' },
  ]);
  assert.deepEqual(
    events.map((e) => (e.type === 'skipped' ? [e.line, e.code] : e.type)),
    [[2, 'LINE_TOO_LONG']],
  );
  // Within what the reader holds but over 65,536 characters: the same code, from the parser.
  const parsed = parseLine('https://h/' + 'a'.repeat(70_000));
  assert.ok(parsed && 'skip' in parsed && parsed.code === 'LINE_TOO_LONG');
  const bad = parseLine('{"id":');
  assert.ok(bad && 'skip' in bad && bad.code === 'INVALID_MESSAGE');
});
