// Hostile inputs for the fuzz scenarios: record values from fast-check (bytes, deep and huge JSON, odd Unicode, long URLs, wrong types) and images mutated from the test photos, served by a small HTTP server.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { Rng } from './rng.ts';

/** What a fuzzed record carries: a string, raw bytes, or no value at all (a tombstone). */
export type FuzzValue = string | Buffer | null;

/** The broker refuses records above ~1 MB (message.max.bytes): inputs stay below, with room for the key and headers. */
export const MAX_VALUE_BYTES = 900_000;

const oddChar = fc.constantFrom(
  '\u0000', '\u0007', '\u001b', '\u007f', '\u00ad', '\u200b', '\u200d', '\u200e', '\u202e', '\u2028', '\u2029', '\ufeff', '\ufffd', '\uffff',
  '\ud800', '\udfff', '\ud83d', '\ude00', '😀', '👩‍👩‍👧‍👦', '🏳️‍🌈', 'é', 'é', 'ﷺ', '𒐫', 'Ω', 'İ', 'ß', '"', '\\', '/', '%', '%00', '%ZZ', '\n', '\r\n', '\t',
);
/** Strings made for breaking things: lone surrogates, controls, bidi overrides, zero-width joiners, escapes. */
const oddString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(oddChar, { maxLength: 100 }).map((a) => a.join('')),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
);

const host = fc.oneof(
  fc.domain(),
  fc.constantFrom('localhost', '127.0.0.1', '0.0.0.0', '[::1]', '[::]', '10.0.0.1', '169.254.169.254', '[fe80::1]', '2130706433', '0x7f.1', '127.1', 'xn--nxasmq6b.example', 'ex ample.com', '', '..', 'a'.repeat(300)),
  oddString,
);
const scheme = fc.constantFrom('http', 'https', 'ftp', 'file', 'data', 'javascript', 'gopher', 'ws', 'HTTP', 'h ttp', '');
const longUrl = fc.oneof(
  fc.webUrl({ withQueryParameters: true, withFragments: true, authoritySettings: { withIPv4: true, withIPv6: true, withPort: true, withUserInfo: true } }),
  fc.tuple(scheme, host, fc.integer({ min: -1, max: 70_000 }), oddString).map(([s, h, p, path]) => `${s}://${h}${p >= 0 ? `:${p}` : ''}/${path}`),
  fc.tuple(fc.domain(), fc.integer({ min: 2_000, max: 100_000 })).map(([d, n]) => `http://${d}/${'a'.repeat(n)}`),
  fc.tuple(fc.domain(), fc.integer({ min: 100, max: 5_000 })).map(([d, n]) => `http://${d}/?${Array.from({ length: n }, (_, i) => `k${i}=v`).join('&')}`),
  oddString,
);

const wrongType = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.integer(),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
  fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
);

function deep(depth: number, kind: number): string {
  if (kind === 0) return '['.repeat(depth) + ']'.repeat(depth);
  if (kind === 1) return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  // Unclosed: the parser must fail, not recurse forever.
  return '['.repeat(depth);
}

/**
 * A value for record `id`: valid-looking records (with odd ids, hostile URLs, or a real image of `imageUrl`), wrong
 * types, deep or huge JSON, raw bytes, empty values and tombstones. Deterministic for a fast-check seed.
 */
export function recordValueArbitrary(id: string, imageUrl: string): fc.Arbitrary<FuzzValue> {
  // Output keys are the record's "id": a suffix that starts with "~" keeps the input id recoverable (accounting.baseId).
  const oddId = oddString.map((s) => `${id}~${s}`);
  return fc.oneof(
    { weight: 9, arbitrary: fc.record({ id: oddId, url: fc.constant(imageUrl) }).map((v) => JSON.stringify(v)) },
    { weight: 12, arbitrary: fc.record({ id: fc.constant(id), url: longUrl }).map((v) => JSON.stringify(v)) },
    { weight: 6, arbitrary: fc.record({ id: fc.oneof(wrongType, oddString), url: fc.oneof(wrongType, longUrl) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)) },
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 3, arbitrary: fc.tuple(fc.integer({ min: 1_000, max: 50_000 }), fc.integer({ min: 0, max: 2 })).map(([d, k]) => deep(d, k)) },
    { weight: 3, arbitrary: fc.integer({ min: 1_000, max: 50_000 }).map((d) => `{"id":${JSON.stringify(id)},"url":${deep(d, 0)}}`) },
    {
      // Rare (about 1 in 50): each is up to 900 kB, written three times by the cluster.
      weight: 1,
      // Near the broker's limit once JSON-escaped (a quote becomes \", a control character \u0001).
      arbitrary: fc.tuple(fc.integer({ min: 100_000, max: MAX_VALUE_BYTES }), fc.constantFrom('a', '"', '\\', '\u0001', 'é', '😀')).map(([n, ch]) => {
        let count = n;
        for (;;) {
          const v = JSON.stringify({ id, url: `http://example.com/${ch.repeat(count)}` });
          if (Buffer.byteLength(v) <= MAX_VALUE_BYTES) return v;
          count = Math.floor(count * 0.8);
        }
      }),
    },
    { weight: 3, arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((n) => JSON.stringify({ id, url: imageUrl, extra: Array.from({ length: n }, (_, i) => i) })) },
    { weight: 6, arbitrary: fc.uint8Array({ maxLength: 3_000 }).map((b) => Buffer.from(b)) },
    { weight: 3, arbitrary: fc.constantFrom<FuzzValue>('', null, ' ', 'null', '{}', '[]', '"str"', '{"id":""}', `{"id":${JSON.stringify(id)}}`, `{"id":${JSON.stringify(id)},"url":""}`) },
    { weight: 3, arbitrary: oddString },
  );
}

/** `count` values, deterministic for `seed`; sizes capped at MAX_VALUE_BYTES. */
export function fuzzRecordValues(count: number, seed: number, id: (n: number) => string, imageUrl: (n: number) => string): FuzzValue[] {
  // One sample per record so that each value can embed its own id.
  return Array.from({ length: count }, (_, n) => {
    const [v] = fc.sample(recordValueArbitrary(id(n), imageUrl(n)), { seed: (seed + n * 7919) | 0, numRuns: 1 });
    if (v === undefined || v === null) return v ?? null;
    const size = typeof v === 'string' ? Buffer.byteLength(v) : v.length;
    return size > MAX_VALUE_BYTES ? (typeof v === 'string' ? v.slice(0, MAX_VALUE_BYTES / 4) : v.subarray(0, MAX_VALUE_BYTES)) : v;
  });
}

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.avif', '.tif', '.tiff', '.bmp']);

/** The test photos: assets/images and the palette fixtures (every format the decoder meets). */
export function seedImages(): { name: string; bytes: Buffer }[] {
  const dirs = ['../../assets/images/', '../../test/fixtures/palette/'].map((d) => fileURLToPath(new URL(d, import.meta.url)));
  const out: { name: string; bytes: Buffer }[] = [];
  for (const dir of dirs) {
    for (const f of readdirSync(dir).sort()) {
      if (IMAGE_EXT.has(extname(f).toLowerCase()) && f !== 'bomb.png') out.push({ name: f, bytes: readFileSync(join(dir, f)) });
    }
  }
  return out;
}

/** PNG chunks after the 8-byte signature (for chunk shuffles); undefined when the bytes are not a well-formed PNG. */
function pngChunks(b: Buffer): Buffer[] | undefined {
  if (b.length < 8 || b.readUInt32BE(0) !== 0x89504e47) return undefined;
  const chunks: Buffer[] = [];
  let at = 8;
  while (at + 12 <= b.length) {
    const len = b.readUInt32BE(at);
    if (at + 12 + len > b.length) return undefined;
    chunks.push(b.subarray(at, at + 12 + len));
    at += 12 + len;
  }
  return chunks;
}

export interface MutatedImage {
  bytes: Buffer;
  /** How it was made, e.g. "bitflip(12) of coffee.jpg". */
  how: string;
  contentType: string;
}

const TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'application/octet-stream', 'text/html'];

/** One mutation of a random seed image: bit flips, truncation, swapped chunks or headers, huge declared sizes, garbage. */
export function mutateImage(images: readonly { name: string; bytes: Buffer }[], rng: Rng): MutatedImage {
  const src = rng.pick(images);
  const b = Buffer.from(src.bytes);
  const contentType = rng.next() < 0.8 ? (TYPES[0]!) : rng.pick(TYPES);
  const kind = rng.int(0, 8);
  const done = (bytes: Buffer, what: string): MutatedImage => ({ bytes, how: `${what} of ${src.name}`, contentType });
  switch (kind) {
    case 0: {
      const flips = rng.int(1, 64);
      for (let i = 0; i < flips; i += 1) {
        const at = rng.int(0, b.length - 1);
        b[at] = b[at]! ^ (1 << rng.int(0, 7));
      }
      return done(b, `bitflip(${flips})`);
    }
    case 1: {
      const at = rng.int(0, b.length - 1);
      return done(b.subarray(0, at), `truncate(${at}/${b.length})`);
    }
    case 2: {
      const len = rng.int(1, Math.max(1, Math.floor(b.length / 4)));
      const a = rng.int(0, b.length - len);
      const c = rng.int(0, b.length - len);
      const tmp = Buffer.from(b.subarray(a, a + len));
      b.copy(b, a, c, c + len);
      tmp.copy(b, c);
      return done(b, `swap(${len} bytes at ${a} and ${c})`);
    }
    case 3: {
      const other = rng.pick(images);
      const n = rng.int(2, Math.min(64, other.bytes.length, b.length));
      other.bytes.copy(b, 0, 0, n);
      return done(b, `header(${n} bytes of ${other.name})`);
    }
    case 4: {
      const chunks = pngChunks(b);
      if (chunks && chunks.length > 2) {
        const order = chunks.map((c, i) => ({ c, k: i === 0 && rng.next() < 0.5 ? -1 : rng.next() }));
        order.sort((x, y) => x.k - y.k);
        return done(Buffer.concat([b.subarray(0, 8), ...order.map((o) => o.c)]), 'png-chunk-shuffle');
      }
      // Not a PNG: repeat a random region.
      const at = rng.int(0, b.length - 1);
      return done(Buffer.concat([b.subarray(0, at), b.subarray(at), b.subarray(at)]), `repeat(${at})`);
    }
    case 5: {
      // Declared dimensions far beyond the pixel guard (PNG IHDR or JPEG SOF), the bytes unchanged.
      if (b.length > 24 && b.readUInt32BE(0) === 0x89504e47) {
        b.writeUInt32BE(rng.int(1, 0x7fffffff), 16);
        b.writeUInt32BE(rng.int(1, 0x7fffffff), 20);
        return done(b, 'png-huge-ihdr');
      }
      for (let i = 2; i + 9 < b.length; i += 1) {
        if (b[i] === 0xff && (b[i + 1] === 0xc0 || b[i + 1] === 0xc2)) {
          b.writeUInt16BE(rng.int(1, 65535), i + 5);
          b.writeUInt16BE(rng.int(1, 65535), i + 7);
          return done(b, 'jpeg-huge-sof');
        }
      }
      return done(Buffer.concat([b, Buffer.alloc(rng.int(1, 4096), rng.int(0, 255))]), 'append');
    }
    case 6: {
      const at = rng.int(0, b.length - 1);
      const len = rng.int(1, b.length - at);
      b.fill(rng.pick([0, 0xff]), at, at + len);
      return done(b, `fill(${len} at ${at})`);
    }
    case 7:
      return done(Buffer.from(Array.from({ length: rng.int(0, 2048) }, () => rng.int(0, 255))), 'random-bytes');
    default: {
      const other = rng.pick(images);
      const at = rng.int(0, b.length - 1);
      return done(Buffer.concat([b.subarray(0, at), other.bytes.subarray(rng.int(0, other.bytes.length - 1))]), `splice(${other.name} at ${at})`);
    }
  }
}

/** Serves mutated images at /fuzz/<n> from memory. */
export async function startFuzzServer(host: string, images: readonly MutatedImage[]): Promise<{ url: string; port: number; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const n = Number(/^\/fuzz\/(\d+)$/.exec(req.url ?? '')?.[1] ?? NaN);
    const img = images[n];
    if (!img) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': img.contentType, 'content-length': img.bytes.length });
    res.end(img.bytes);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0 }, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
