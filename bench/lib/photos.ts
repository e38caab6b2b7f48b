// The benchmarks' realistic inputs: a photo-stream mix (1-12 MP JPEGs, some PNG and WebP) made from Debian packages' photos, cached outside the tracked files.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);

/** Where the photo set is kept (untracked: .lagless/ is in .gitignore). */
export const DEFAULT_PHOTOS_DIR = join(ROOT, '.lagless/cache/bench-photos');

/** Debian packages the photos come from (GPL-2+ and public-domain/CC0 photos; never committed). */
export const PHOTO_PACKAGES = ['mate-backgrounds', 'python3-skimage', 'gnome-backgrounds'] as const;

const MATE = 'usr/share/backgrounds/mate';
const SKIMAGE = 'usr/lib/python3/dist-packages/skimage/data';
const GNOME = 'usr/share/backgrounds/gnome';

/** One file of the set: copied as it is, or derived with sharp (resize, crop, re-encode). */
interface PhotoRecipe {
  name: string;
  from: string;
  /** Resize to this width (height follows), or cut this region out, before encoding. */
  width?: number;
  crop?: { left: number; top: number; width: number; height: number };
  /** Re-encode; undefined = copy the file unchanged. */
  as?: 'jpeg' | 'png' | 'webp';
}

/**
 * The mix a photo stream carries: mostly camera JPEGs of 1.3-5 MP, a few large ones (6, 8 and 12 MP), a few PNGs and
 * WebPs. Real photos only, except one large WebP (a GNOME wallpaper: WebP photos are rare in these packages).
 */
export const PHOTO_RECIPES: readonly PhotoRecipe[] = [
  ...['GreenMeadow', 'Dune', 'FreshFlower', 'Blinds', 'RainDrops', 'Storm', 'Aqua', 'Garden', 'YellowFlower', 'LadyBird', 'TwoWings', 'Wood'].map(
    (n) => ({ name: `mate-${n}.jpg`, from: `${MATE}/nature/${n}.jpg` }),
  ),
  { name: 'mate-Elephants.jpg', from: `${MATE}/abstract/Elephants.jpg` },
  { name: 'mate-Elephants-8mp.jpg', from: `${MATE}/abstract/Elephants_3840x2160.jpg` },
  { name: 'mate-Elephants-12mp.jpg', from: `${MATE}/abstract/Elephants_5640x3172.jpg`, width: 4618, as: 'jpeg' },
  { name: 'mate-Elephants-6mp-crop.jpg', from: `${MATE}/abstract/Elephants_5640x3172.jpg`, crop: { left: 1200, top: 500, width: 3000, height: 2000 }, as: 'jpeg' },
  { name: 'skimage-retina.jpg', from: `${SKIMAGE}/retina.jpg` },
  { name: 'mate-Storm.png', from: `${MATE}/nature/Storm.jpg`, as: 'png' },
  { name: 'mate-GreenMeadow.png', from: `${MATE}/nature/GreenMeadow.jpg`, as: 'png' },
  { name: 'mate-TwoWings.webp', from: `${MATE}/nature/TwoWings.jpg`, as: 'webp' },
  { name: 'mate-LadyBird.webp', from: `${MATE}/nature/LadyBird.jpg`, as: 'webp' },
  { name: 'gnome-truchet-8mp.webp', from: `${GNOME}/truchet-l.webp`, width: 2880, as: 'webp' },
];

const IMAGE = /\.(jpe?g|png|webp)$/i;

/** The photos of `dir` (file names), or [] when it has none. */
export function listPhotos(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => IMAGE.test(f)).sort() : [];
}

/** Width, height, format and bytes of every photo in `dir`, for the benchmarks' reports. */
export async function describePhotos(dir: string): Promise<{ name: string; megapixels: number; format: string; bytes: number }[]> {
  const out = [];
  for (const name of listPhotos(dir)) {
    const file = join(dir, name);
    const m = await sharp(file).metadata();
    out.push({ name, megapixels: Math.round(((m.width ?? 0) * (m.height ?? 0)) / 1e5) / 10, format: m.format ?? '?', bytes: statSync(file).size });
  }
  return out;
}

/**
 * Fills `dir` with the photo set unless it already has photos. Downloads the Debian packages with apt-get (no install),
 * unpacks them in a temporary directory, copies or derives each recipe, and moves the result into place at once (a run
 * that stops half-way leaves no half-filled cache). Throws with what to do when apt-get is missing or fails.
 */
export async function ensurePhotos(dir: string = DEFAULT_PHOTOS_DIR, log: (line: string) => void = () => {}): Promise<string> {
  if (listPhotos(dir).length > 0) return dir;
  const apt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' });
  if (apt.status !== 0) throw new Error(`apt-get not found: put 1-12 MP photos (JPEG, some PNG/WebP) in ${dir} yourself, or pass --images DIR`);
  const work = mkdtempSync(join(tmpdir(), 'lagless-photos-'));
  try {
    log(`fetching ${PHOTO_PACKAGES.join(', ')} with apt-get download (Debian packages; nothing is installed)`);
    const download = () => spawnSync('apt-get', ['download', ...PHOTO_PACKAGES], { cwd: work, encoding: 'utf8' });
    let r = download();
    if (r.status !== 0) {
      spawnSync('apt-get', ['update'], { stdio: 'ignore' });
      r = download();
    }
    if (r.status !== 0) throw new Error(`apt-get download ${PHOTO_PACKAGES.join(' ')} failed: ${r.stderr.trim().split('\n').slice(-2).join(' ')}`);
    const unpacked = join(work, 'x');
    for (const deb of readdirSync(work).filter((f) => f.endsWith('.deb'))) {
      const x = spawnSync('dpkg-deb', ['-x', join(work, deb), unpacked], { encoding: 'utf8' });
      if (x.status !== 0) throw new Error(`dpkg-deb -x ${deb} failed: ${x.stderr.trim()}`);
    }
    // Staged next to the destination (same file system), then renamed into place.
    const staged = `${dir}.partial-${process.pid}`;
    rmSync(staged, { recursive: true, force: true });
    mkdirSync(staged, { recursive: true });
    for (const p of PHOTO_RECIPES) {
      const src = join(unpacked, p.from);
      if (!existsSync(src)) throw new Error(`${p.from} is not in the packages any more: update PHOTO_RECIPES in bench/lib/photos.ts`);
      let img = sharp(src, { limitInputPixels: false });
      if (p.crop) img = img.extract(p.crop);
      if (p.width) img = img.resize({ width: p.width });
      if (p.as === 'jpeg') img = img.jpeg({ quality: 88, mozjpeg: false });
      else if (p.as === 'png') img = img.png({ compressionLevel: 6 });
      else if (p.as === 'webp') img = img.webp({ quality: 82 });
      if (p.as || p.width || p.crop) writeFileSync(join(staged, p.name), await img.toBuffer());
      else copyFileSync(src, join(staged, p.name));
    }
    writeFileSync(join(staged, 'SOURCES.txt'), `Made by bench/lib/photos.ts from the Debian packages ${PHOTO_PACKAGES.join(', ')} (their licences apply; never committed).\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staged, dir);
    log(`made ${listPhotos(dir).length} photos in ${dir}`);
    return dir;
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(`${dir}.partial-${process.pid}`, { recursive: true, force: true });
  }
}
