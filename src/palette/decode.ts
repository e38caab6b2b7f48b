// Decodes untrusted image bytes with sharp into raw pixels the way Pillow's convert('RGBA') sees them, with typed errors.
//
// Choices that keep `exact` bit-for-bit with Python colorthief (which reads pixels through Pillow):
// - no EXIF rotation (Pillow does not rotate on open, and raster order decides which pixels are sampled);
// - embedded ICC profiles are ignored (Pillow does not colour-manage in convert('RGBA'));
// - CMYK is read as CMYK and converted with Pillow's formula (see histogram.ts), not through a profile;
// - 16-bit greyscale is read as 16 bits so that Pillow's clipping to 255 can be reproduced;
// - first frame only (pages: 1), like Image.open.
// Safety: the pixel ceiling is checked on the header before any pixel is decoded, and passed to
// sharp as limitInputPixels too; failOn 'error' rejects truncated and corrupt data but accepts the
// benign libjpeg warnings (extraneous bytes) that Pillow accepts as well.
import sharp, { type Metadata, type SharpOptions } from 'sharp';
import { isLaglessError, type LaglessError } from '../errors/index.ts';
import { paletteError } from './errors.ts';
import { sniffHeader } from './header.ts';
import { PixelLayout, type Pixels } from './histogram.ts';

/**
 * Raster formats we decode. Vector and document formats that sharp could render (SVG, PDF) are refused:
 * rendering untrusted vector input is costly and risky, and Pillow (hence colorthief) cannot read them either.
 */
export const SUPPORTED_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'heif', 'tiff'] as const;

export interface ImageInfo {
  format: string;
  width: number;
  height: number;
  /** libvips interpretation: srgb, b-w, cmyk, rgb16, grey16, ... */
  space: string;
  channels: number;
}

export interface DecodedPixels extends Pixels {
  /** size of the decoded raster (smaller than the image when decoded downscaled) */
  width: number;
  height: number;
}

export interface DecodeLimits {
  maxPixels: number;
}

function baseOptions(limits: DecodeLimits): SharpOptions {
  return {
    failOn: 'error',
    limitInputPixels: limits.maxPixels,
    pages: 1,
    ignoreIcc: true,
    autoOrient: false,
    sequentialRead: true,
  };
}

/** Maps a sharp/libvips error to NOT_AN_IMAGE, TOO_MANY_PIXELS or DECODE_FAILED. */
export function toDecodeError(err: unknown, limits: DecodeLimits): LaglessError {
  if (isLaglessError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/unsupported image format|Input (buffer|file) is (empty|missing)/i.test(message)) {
    return paletteError('NOT_AN_IMAGE', 'the bytes are not in a supported image format (JPEG, PNG, WebP, GIF, AVIF, TIFF)', { cause: err });
  }
  if (/exceeds pixel limit/i.test(message)) {
    return paletteError('TOO_MANY_PIXELS', `the image has more than ${limits.maxPixels} pixels`, { cause: err });
  }
  return paletteError('DECODE_FAILED', `the image could not be decoded: ${firstLine(message)}`, { cause: err });
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!.trim();
}

/** Reads the header only: format, size, colour space. Enforces the format list and the pixel ceiling. */
export async function probeImage(bytes: Uint8Array, limits: DecodeLimits): Promise<ImageInfo> {
  if (bytes.byteLength === 0) throw paletteError('NOT_AN_IMAGE', 'the input is empty (0 bytes)');
  // JPEG and PNG headers are read here directly; a libvips metadata call costs ~0.5 ms, 10% of a small decode.
  const info = sniffHeader(bytes) ?? (await probeWithSharp(bytes, limits));
  const { width, height } = info;
  if (width * height > limits.maxPixels) {
    throw paletteError(
      'TOO_MANY_PIXELS',
      `the image is ${width}x${height} = ${width * height} pixels, more than the ceiling of ${limits.maxPixels} (maxPixels)`,
      { width, height },
    );
  }
  return info;
}

async function probeWithSharp(bytes: Uint8Array, limits: DecodeLimits): Promise<ImageInfo> {
  let meta: Metadata;
  try {
    // Header only: no pixel is decoded here, so let it read any size; the ceiling is checked by the caller.
    meta = await sharp(bytes, { ...baseOptions(limits), limitInputPixels: false }).metadata();
  } catch (err) {
    throw toDecodeError(err, limits);
  }
  const format = meta.format ?? 'unknown';
  if (!(SUPPORTED_FORMATS as readonly string[]).includes(format)) {
    throw paletteError('NOT_AN_IMAGE', `unsupported image format "${format}" (supported: JPEG, PNG, WebP, GIF, AVIF, TIFF)`);
  }
  // For multi-page input, pageHeight is the height of one page (we decode the first).
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (!(width > 0 && height > 0)) throw paletteError('DECODE_FAILED', `the image header gives no valid size (${width}x${height})`);
  return { format, width, height, space: meta.space ?? 'srgb', channels: meta.channels ?? 3 };
}

function layoutFor(channels: number): PixelLayout {
  switch (channels) {
    case 1:
      return PixelLayout.GREY;
    case 2:
      return PixelLayout.GREY_ALPHA;
    case 3:
      return PixelLayout.RGB;
    case 4:
      return PixelLayout.RGBA;
    default:
      throw paletteError('DECODE_FAILED', `unexpected number of channels after decoding: ${channels}`);
  }
}

export function isCmyk(info: ImageInfo): boolean {
  return info.space === 'cmyk';
}

/** 16-bit greyscale without alpha: the one case where Pillow's convert('RGBA') clips instead of scaling. */
export function isGrey16(info: ImageInfo): boolean {
  return info.space === 'grey16' && info.channels === 1;
}

/**
 * Full-resolution decode with Pillow's pixel values. `grey16` chooses Pillow's clipping for 16-bit
 * greyscale (exact mode) or the scaled high byte (what the picture looks like; fast mode).
 */
export async function decodeFull(
  bytes: Uint8Array,
  info: ImageInfo,
  limits: DecodeLimits,
  grey16: 'clip' | 'scale' = 'clip',
): Promise<DecodedPixels> {
  const img = sharp(bytes, baseOptions(limits));
  try {
    if (isCmyk(info)) {
      // Keep the CMYK samples: Pillow converts with a plain formula, libvips would use an ICC transform.
      img.pipelineColourspace('cmyk').toColourspace('cmyk');
      const { data, info: out } = await img.raw().toBuffer({ resolveWithObject: true });
      if (out.channels !== 4) throw paletteError('DECODE_FAILED', `CMYK image decoded to ${out.channels} channels`);
      return { data, width: out.width, height: out.height, pixelCount: out.width * out.height, layout: PixelLayout.CMYK };
    }
    if (isGrey16(info) && grey16 === 'clip') {
      img.toColourspace('grey16');
      const { data, info: out } = await img.raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
      const u16 = new Uint16Array(data.buffer, data.byteOffset, data.byteLength >> 1);
      return { data: u16, width: out.width, height: out.height, pixelCount: out.width * out.height, layout: PixelLayout.GREY16_CLIP };
    }
    if (isGrey16(info)) img.toColourspace('b-w');
    const { data, info: out } = await img.raw().toBuffer({ resolveWithObject: true });
    return { data, width: out.width, height: out.height, pixelCount: out.width * out.height, layout: layoutFor(out.channels) };
  } catch (err) {
    throw toDecodeError(err, limits);
  }
}

/**
 * Decode downscaled to about width x height, letting libvips shrink on load (JPEG DCT scaling, WebP
 * scaled decoding) and finishing with a cheap nearest-neighbour step. Never used for CMYK (sharp cannot
 * shrink on load while keeping CMYK samples) nor for formats without shrink-on-load, where a strided
 * read of the full decode is cheaper than a resize.
 */
export async function decodeDownscaled(
  bytes: Uint8Array,
  info: ImageInfo,
  limits: DecodeLimits,
  width: number,
  height: number,
): Promise<DecodedPixels> {
  const img = sharp(bytes, baseOptions(limits));
  try {
    img.resize(width, height, { fit: 'fill', kernel: 'nearest', fastShrinkOnLoad: true });
    if (isGrey16(info)) img.toColourspace('b-w');
    const { data, info: out } = await img.raw().toBuffer({ resolveWithObject: true });
    return { data, width: out.width, height: out.height, pixelCount: out.width * out.height, layout: layoutFor(out.channels) };
  } catch (err) {
    throw toDecodeError(err, limits);
  }
}
