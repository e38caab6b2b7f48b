// Reads size and colour model from JPEG and PNG headers in microseconds, sparing a libvips metadata call per image.
//
// The probe only needs what decides the decode: format, width x height (pixel ceiling), CMYK or not,
// 16-bit greyscale or not. For anything unusual (other formats, DNL heights, odd markers) it returns
// undefined and the caller asks sharp. It never decides that bytes are broken: the decoder does.

export interface HeaderInfo {
  format: 'jpeg' | 'png';
  width: number;
  height: number;
  /** as libvips names it: srgb, b-w, cmyk, rgb16, grey16 */
  space: string;
  channels: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function sniffHeader(bytes: Uint8Array): HeaderInfo | undefined {
  if (bytes.length >= 26 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return sniffPng(bytes);
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) return sniffJpeg(bytes);
  return undefined;
}

function u16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function sniffPng(b: Uint8Array): HeaderInfo | undefined {
  // IHDR must be the first chunk: length 13, then width, height, bit depth, colour type.
  if (u32(b, 8) !== 13 || b[12] !== 0x49 || b[13] !== 0x48 || b[14] !== 0x44 || b[15] !== 0x52) return undefined;
  const width = u32(b, 16);
  const height = u32(b, 20);
  const depth = b[24]!;
  const colorType = b[25]!;
  const channels = { 0: 1, 2: 3, 3: 3, 4: 2, 6: 4 }[colorType];
  if (channels === undefined || width === 0 || height === 0) return undefined;
  const grey = colorType === 0 || colorType === 4;
  const space = depth === 16 ? (grey ? 'grey16' : 'rgb16') : grey ? 'b-w' : 'srgb';
  return { format: 'png', width, height, space, channels };
}

function sniffJpeg(b: Uint8Array): HeaderInfo | undefined {
  let pos = 2;
  while (pos + 4 <= b.length) {
    if (b[pos] !== 0xff) return undefined;
    const marker = b[pos + 1]!;
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      pos += 2; // standalone markers
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // scan or end before any frame header
    const length = u16(b, pos + 2);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (pos + 10 > b.length || length < 8) return undefined;
      const height = u16(b, pos + 5);
      const width = u16(b, pos + 7);
      const components = b[pos + 9]!;
      if (width === 0 || height === 0) return undefined; // height defined later by a DNL marker: let libvips read it
      const space = components === 4 ? 'cmyk' : components === 1 ? 'b-w' : components === 3 ? 'srgb' : undefined;
      if (!space) return undefined;
      return { format: 'jpeg', width, height, space, channels: components };
    }
    if (length < 2) return undefined;
    pos += 2 + length;
  }
  return undefined;
}
