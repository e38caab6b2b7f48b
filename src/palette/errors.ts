// The palette engine's dead-letter codes: what can be wrong with an image.
import { errorFactory } from '../errors/index.ts';

/** Stable: add codes, never rename one. None is worth a retry: the same bytes fail the same way. */
export const PaletteErrorCodes = {
  NOT_AN_IMAGE: { retryable: false, description: 'the bytes are not in an image format that can be decoded' },
  DECODE_FAILED: { retryable: false, description: 'the image is corrupt or truncated' },
  TOO_MANY_PIXELS: { retryable: false, description: 'the image has more pixels than the configured ceiling (decompression bomb guard)' },
  NO_PIXELS: { retryable: false, description: 'no usable pixel: all white or transparent' },
} as const;

export type PaletteErrorCode = keyof typeof PaletteErrorCodes;

/** A JobError with one of the palette engine's codes. */
export const paletteError = errorFactory(PaletteErrorCodes);
