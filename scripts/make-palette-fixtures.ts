// Regenerates assets/images/ (small real photos) and test/fixtures/palette/ (edge cases) from Debian's python3-skimage data.
//
// Usage: npx node scripts/make-palette-fixtures.ts   (then scripts/golden-palettes.sh to refresh golden.json)
// Sources are public-domain / CC0 photos shipped in Debian's python3-skimage package (see
// assets/images/ATTRIBUTION.md), fetched with `apt-get download` into .lagless/cache/debian (untracked).
// Output is deterministic for a given sharp/libvips version: re-running it should not change the files.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync, copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { PNG_SIGNATURE, pngChunk } from '../src/image-server/index.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const CACHE = join(ROOT, '.lagless/cache/debian');
const ASSETS = join(ROOT, 'assets/images');
const FIXTURES = join(ROOT, 'test/fixtures/palette');

function skimageData(): string {
  const dir = join(CACHE, 'python3-skimage/usr/lib/python3/dist-packages/skimage/data');
  if (existsSync(join(dir, 'coffee.png'))) return dir;
  mkdirSync(CACHE, { recursive: true });
  const download = () => execFileSync('apt-get', ['download', 'python3-skimage'], { cwd: CACHE, stdio: 'inherit' });
  try {
    download();
  } catch {
    execFileSync('apt-get', ['update'], { stdio: 'inherit' });
    download();
  }
  const deb = readdirSync(CACHE).find((f) => f.startsWith('python3-skimage_') && f.endsWith('.deb'));
  if (!deb) throw new Error('apt-get download python3-skimage produced no .deb');
  execFileSync('dpkg-deb', ['-x', join(CACHE, deb), join(CACHE, 'python3-skimage')], { stdio: 'inherit' });
  return dir;
}

// --- a minimal PNG writer, for the layouts sharp does not write (low bit depths, tRNS, 16-bit grey+alpha, the bomb) ---
/** colorType: 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. `rows` are unfiltered scanlines without the filter byte. */
function png(width: number, height: number, bitDepth: number, colorType: number, rows: Buffer[], extra: Buffer[] = []): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colorType;
  const raw = Buffer.concat(rows.map((r) => Buffer.concat([Buffer.from([0]), r])));
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    ...extra,
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A valid 1-bit greyscale PNG of width x height zeros: a few kB that decode to hundreds of megapixels. */
function bombPng(width: number, height: number): Buffer {
  const rowBytes = Math.ceil(width / 8) + 1;
  const raw = Buffer.alloc(rowBytes * height); // filter byte 0 + zero pixels on every row
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 1;
  ihdr[9] = 0;
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Deterministic pseudo-random bytes (the 16-bit fixtures need low bytes that truncation and rounding treat differently). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 16) & 0xff;
  };
}

async function rawRgb(path: string, width: number, height: number, channels: 3 | 1 = 3) {
  let img = sharp(path).resize(width, height, { fit: 'fill' });
  img = channels === 1 ? img.toColourspace('b-w') : img.removeAlpha().toColourspace('srgb');
  return img.raw().toBuffer({ resolveWithObject: true });
}

async function main() {
  const sk = skimageData();
  mkdirSync(ASSETS, { recursive: true });
  mkdirSync(FIXTURES, { recursive: true });
  const A = (name: string) => join(ASSETS, name);
  const F = (name: string) => join(FIXTURES, name);
  const S = (name: string) => join(sk, name);

  // ---------------- assets/images: small real photos that ship with the package ----------------
  await sharp(S('astronaut.png')).resize(400, 400).jpeg({ quality: 82 }).toFile(A('astronaut.jpg'));
  await sharp(S('coffee.png')).jpeg({ quality: 82 }).toFile(A('coffee.jpg'));
  await sharp(S('chelsea.png')).webp({ quality: 80 }).toFile(A('chelsea.webp'));
  copyFileSync(S('rocket.jpg'), A('rocket.jpg')); // unchanged camera JPEG (keeps its ICC profile)
  await sharp(S('hubble_deep_field.jpg')).resize(500).jpeg({ quality: 82, progressive: true }).toFile(A('hubble-deep-field.jpg'));
  await sharp(S('retina.jpg')).resize(480).jpeg({ quality: 82 }).toFile(A('retina.jpg'));
  await sharp(S('ihc.png')).resize(200).png({ compressionLevel: 9 }).toFile(A('ihc.png'));
  await sharp(S('camera.png')).resize(320).toColourspace('b-w').png({ compressionLevel: 9 }).toFile(A('camera.png'));
  copyFileSync(S('coins.png'), A('coins.png'));
  await sharp(S('gravel.png')).resize(256).webp({ quality: 80 }).toFile(A('gravel.webp'));

  // ---------------- test/fixtures/palette: edge cases ----------------
  const coffee = S('coffee.png');
  await sharp(S('camera.png')).resize(96).toColourspace('b-w').png().toFile(F('grey.png'));
  await sharp(S('coins.png')).resize(128).toColourspace('b-w').jpeg({ quality: 85 }).toFile(F('grey.jpg'));
  await sharp(S('horse.png')).resize(100).png().toFile(F('alpha-horse.png'));
  {
    // real photo with an alpha ramp 0..255 left to right: exercises the alpha >= 125 boundary
    const { data, info } = await rawRgb(S('chelsea.png'), 120, 80);
    const rgba = Buffer.alloc(info.width * info.height * 4);
    for (let p = 0; p < info.width * info.height; p++) {
      data.copy(rgba, p * 4, p * 3, p * 3 + 3);
      rgba[p * 4 + 3] = Math.round(((p % info.width) * 255) / (info.width - 1));
    }
    await sharp(rgba, { raw: { width: info.width, height: info.height, channels: 4 } }).png().toFile(F('alpha-ramp.png'));
  }
  await sharp({ create: { width: 32, height: 32, channels: 3, background: '#ffffff' } }).png().toFile(F('white.png'));
  await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 255, g: 255, b: 250 } } }).png().toFile(F('almost-white.png'));
  await sharp({ create: { width: 16, height: 16, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0 } } }).png().toFile(F('transparent.png'));
  await sharp({ create: { width: 1, height: 1, channels: 3, background: { r: 200, g: 100, b: 50 } } }).png().toFile(F('one-pixel.png'));
  await sharp(coffee).resize(64).png({ palette: true, colours: 16, dither: 0 }).toFile(F('indexed.png'));
  await sharp(F('alpha-ramp.png')).png({ palette: true, colours: 32, dither: 0 }).toFile(F('indexed-alpha.png'));
  {
    // 2-bit greyscale and 8-bit RGB with a tRNS colour key, written by hand
    const { data, info } = await rawRgb(S('camera.png'), 64, 64, 1);
    const rows2: Buffer[] = [];
    for (let y = 0; y < info.height; y++) {
      const row = Buffer.alloc(info.width / 4);
      for (let x = 0; x < info.width; x++) row[x >> 2]! |= (data[y * info.width + x]! >> 6) << (6 - 2 * (x & 3));
      rows2.push(row);
    }
    writeFileSync(F('grey-2bit.png'), png(info.width, info.height, 2, 0, rows2));
    const c = await rawRgb(coffee, 60, 40);
    const rowsRgb: Buffer[] = [];
    for (let y = 0; y < c.info.height; y++) {
      const row = Buffer.from(c.data.subarray(y * 60 * 3, (y + 1) * 60 * 3));
      for (let x = 0; x < 20; x++) row.set([1, 2, 3], x * 3); // the keyed colour on the left third
      rowsRgb.push(row);
    }
    writeFileSync(F('rgb-trns.png'), png(60, 40, 8, 2, rowsRgb, [pngChunk('tRNS', Buffer.from([0, 1, 0, 2, 0, 3]))]));
    // 16-bit grey + alpha with noisy low bytes
    const next = lcg(7);
    const rowsLa: Buffer[] = [];
    for (let y = 0; y < 40; y++) {
      const row = Buffer.alloc(60 * 4);
      for (let x = 0; x < 60; x++) {
        const v = c.data[(y * 60 + x) * 3 + 1]!;
        row.writeUInt16BE(v * 256 + next(), x * 4);
        row.writeUInt16BE(Math.round((x / 59) * 255) * 256 + next(), x * 4 + 2);
      }
      rowsLa.push(row);
    }
    writeFileSync(F('grey-alpha16.png'), png(60, 40, 16, 4, rowsLa));
  }
  {
    // animated GIF: the first frame is a photo, the others are flat colours that would change the palette
    const frame1 = await sharp(coffee).resize(60, 40).png().toBuffer();
    const flat = (r: number, g: number, b: number) => sharp({ create: { width: 60, height: 40, channels: 3, background: { r, g, b } } }).png().toBuffer();
    await sharp([frame1, await flat(0, 255, 0), await flat(0, 0, 255)], { join: { animated: true } }).gif({ delay: 100 }).toFile(F('animated.gif'));
    await sharp(F('alpha-ramp.png')).gif().toFile(F('transparent.gif'));
  }
  await sharp(coffee).resize(120).toColourspace('cmyk').jpeg({ quality: 85 }).toFile(F('cmyk.jpg'));
  await sharp(coffee).resize(90).toColourspace('cmyk').tiff({ compression: 'deflate' }).toFile(F('cmyk.tif'));
  await sharp(S('rocket.jpg')).resize(160).jpeg({ quality: 85, progressive: true }).toFile(F('progressive.jpg'));
  await sharp(coffee).resize(120, 80).jpeg({ quality: 85 }).withMetadata({ orientation: 6 }).toFile(F('exif-rotated.jpg'));
  await sharp(coffee).resize(120, 80).withIccProfile('p3').jpeg({ quality: 85 }).toFile(F('icc-p3.jpg'));
  {
    const { data, info } = await rawRgb(coffee, 80, 53);
    const next = lcg(1);
    const u16 = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) u16[i] = data[i]! * 256 + next();
    await sharp(Buffer.from(u16.buffer), { raw: { width: info.width, height: info.height, channels: 3 } }).toColourspace('rgb16').png().toFile(F('rgb16.png'));
    const rgba16 = new Uint16Array(info.width * info.height * 4);
    for (let p = 0; p < info.width * info.height; p++) {
      for (let ch = 0; ch < 3; ch++) rgba16[p * 4 + ch] = u16[p * 3 + ch]!;
      rgba16[p * 4 + 3] = Math.round(((p % info.width) / (info.width - 1)) * 65535);
    }
    await sharp(Buffer.from(rgba16.buffer), { raw: { width: info.width, height: info.height, channels: 4 } }).toColourspace('rgb16').png().toFile(F('rgba16.png'));
    // 16-bit grey: the top half holds values 0..250 (dark in 16 bits), the bottom half a photo scaled to 16 bits.
    // Pillow's I;16 -> RGBA clips to 255 instead of scaling, so colorthief sees only the top half.
    const grey = await rawRgb(S('camera.png'), 64, 64, 1);
    const g16 = new Uint16Array(64 * 64);
    for (let i = 0; i < g16.length; i++) g16[i] = i < 32 * 64 ? (i * 7) % 251 : grey.data[i]! * 257;
    await sharp(Buffer.from(g16.buffer), { raw: { width: 64, height: 64, channels: 1 } }).toColourspace('grey16').png().toFile(F('grey16.png'));
  }
  await sharp(coffee).resize(120).webp({ quality: 75 }).toFile(F('lossy.webp'));
  await sharp(F('alpha-ramp.png')).webp({ lossless: true }).toFile(F('alpha.webp'));
  await sharp(coffee).resize(96).avif({ quality: 60 }).toFile(F('image.avif'));
  await sharp(coffee).resize(100).tiff({ compression: 'lzw' }).toFile(F('image.tif'));
  {
    const full = await sharp(coffee).resize(160).jpeg({ quality: 85 }).toBuffer();
    writeFileSync(F('truncated.jpg'), full.subarray(0, Math.floor(full.length / 2)));
    const p = readFileSync(F('indexed.png'));
    writeFileSync(F('truncated.png'), p.subarray(0, Math.floor(p.length * 0.6)));
  }
  writeFileSync(F('not-an-image.html'), '<!doctype html><html><body>404 Not Found</body></html>\n');
  writeFileSync(F('empty.bin'), Buffer.alloc(0));
  writeFileSync(F('vector.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="#c03"/></svg>\n');
  {
    // BMP: Pillow reads it, sharp's libvips has no BMP loader. 2x2 24-bit, bottom-up rows padded to 4 bytes.
    const pixels = Buffer.from([0, 0, 255, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0]);
    const header = Buffer.alloc(54);
    header.write('BM', 0, 'ascii');
    header.writeUInt32LE(54 + pixels.length, 2);
    header.writeUInt32LE(54, 10);
    header.writeUInt32LE(40, 14);
    header.writeInt32LE(2, 18);
    header.writeInt32LE(2, 22);
    header.writeUInt16LE(1, 26);
    header.writeUInt16LE(24, 28);
    header.writeUInt32LE(pixels.length, 34);
    writeFileSync(F('image.bmp'), Buffer.concat([header, pixels]));
  }
  writeFileSync(F('bomb.png'), bombPng(16384, 16384));
  console.log(`wrote ${readdirSync(ASSETS).length} files in assets/images and ${readdirSync(FIXTURES).length} in test/fixtures/palette`);
}

await main();
