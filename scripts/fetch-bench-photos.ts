// Fills .lagless/cache/bench-photos (or DIR) with the benchmarks' photo-stream mix (1-12 MP JPEGs, some PNG/WebP) from Debian packages, and lists it.
//
//   node scripts/fetch-bench-photos.ts [DIR]
import { DEFAULT_PHOTOS_DIR, describePhotos, ensurePhotos } from '../bench/lib/photos.ts';

const dir = process.argv[2] ?? DEFAULT_PHOTOS_DIR;
if (dir === '--help' || dir === '-h') {
  process.stdout.write('usage: node scripts/fetch-bench-photos.ts [DIR]   (default .lagless/cache/bench-photos, untracked)\n');
  process.exit(0);
}
try {
  await ensurePhotos(dir, (l) => process.stderr.write(`${l}\n`));
} catch (err) {
  process.stderr.write(`error: ${(err as Error).message}\n`);
  process.exit(1);
}
for (const p of await describePhotos(dir)) process.stdout.write(`${p.megapixels.toFixed(1).padStart(5)} MP  ${p.format.padEnd(5)} ${(p.bytes / 1e6).toFixed(2).padStart(6)} MB  ${p.name}\n`);
