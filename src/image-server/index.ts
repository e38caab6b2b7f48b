// A local HTTP image server (real photos, CDN-like latency, fault routes): the synthetic source, tests and benchmarks use it.
export {
  startImageServer,
  loadImages,
  defaultImageServerOptions,
  DEFAULT_IMAGES_DIR,
  MAX_TOTAL_IMAGE_BYTES,
  IMAGE_SERVER_LIMITS,
  ROUTES,
  type ImageServer,
  type ImageServerOptions,
  type ImageServerStats,
} from './image-server.ts';
export { solidPng, hugeDimensionsPng, parseHexColor, pngChunk, PNG_SIGNATURE } from './png.ts';
