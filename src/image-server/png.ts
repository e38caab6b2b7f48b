// A minimal PNG writer for the image server's generated images: solid colours, and headers that claim huge dimensions.
import { crc32, deflateSync } from 'node:zlib';

/** The 8 bytes every PNG starts with. */
export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const SIGNATURE = PNG_SIGNATURE;

/** One PNG chunk: length, type, data, CRC. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

function ihdr(width: number, height: number, colorType: 2 | 6): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data[8] = 8; // bit depth
  data[9] = colorType; // 2 = RGB, 6 = RGBA
  data[10] = 0; // deflate
  data[11] = 0; // adaptive filtering
  data[12] = 0; // no interlace
  return pngChunk('IHDR', data);
}

/** A valid PNG of one colour. `rgba` has 3 (opaque RGB) or 4 (RGBA) components, each 0..255. */
export function solidPng(width: number, height: number, rgba: readonly number[]): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width * height > 16_777_216) {
    throw new RangeError(`solid PNG: width and height must be integers ≥ 1 with at most 16 Mpx, got ${width}x${height}`);
  }
  const bpp = rgba.length === 4 ? 4 : 3;
  const row = Buffer.alloc(1 + width * bpp);
  for (let x = 0; x < width; x++) for (let c = 0; c < bpp; c++) row[1 + x * bpp + c] = rgba[c]!;
  const raw = Buffer.alloc(row.length * height);
  for (let y = 0; y < height; y++) row.copy(raw, y * row.length);
  return Buffer.concat([SIGNATURE, ihdr(width, height, bpp === 4 ? 6 : 2), pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', Buffer.alloc(0))]);
}

/**
 * A small, well-formed PNG whose header claims `width`×`height` but whose pixel data holds one row only.
 * A decoder that checks the pixel count before decoding rejects it at once (decompression-bomb guard);
 * one that does not would allocate width×height×4 bytes.
 */
export function hugeDimensionsPng(width: number, height: number): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new RangeError(`huge-dimensions PNG: width and height must be integers from 1 to 2^31-1, got ${width}x${height}`);
  }
  const firstRow = Buffer.alloc(1 + Math.min(width, 4096) * 3);
  return Buffer.concat([SIGNATURE, ihdr(width, height, 2), pngChunk('IDAT', deflateSync(firstRow)), pngChunk('IEND', Buffer.alloc(0))]);
}

/** Parses "rrggbb" or "rrggbbaa" (with or without "#") into components, or undefined. */
export function parseHexColor(text: string): number[] | undefined {
  const m = /^#?([0-9a-f]{6}|[0-9a-f]{8})$/i.exec(text);
  if (!m) return undefined;
  const hex = m[1]!;
  const out: number[] = [];
  for (let i = 0; i < hex.length; i += 2) out.push(parseInt(hex.slice(i, i + 2), 16));
  return out;
}
