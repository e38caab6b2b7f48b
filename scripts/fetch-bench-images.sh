#!/usr/bin/env bash
# Fills a cache directory (default .lagless/cache/bench-images, untracked) with ~20 real photos from Debian packages for `npm run bench -- palette`.
#
# Sources: mate-backgrounds (nature/*.jpg, GPL-2+ photos, 1.3-4 MP JPEGs) and python3-skimage
# (public-domain / CC0 colour photos, PNG and JPEG). They are only read locally by the benchmark and
# are never committed. Needs Debian's apt (apt-get download works without installing anything).
set -euo pipefail
cd "$(dirname "$0")/.."
DEST="${1:-.lagless/cache/bench-images}"
if [ -n "$(ls -A "$DEST" 2>/dev/null || true)" ]; then
  echo "bench images already in $DEST ($(ls "$DEST" | wc -l) files)"; exit 0
fi
command -v apt-get >/dev/null || { echo "error: apt-get not found; put 10-20 real photos (JPEG/PNG/WebP) in $DEST yourself" >&2; exit 1; }
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
mkdir -p "$DEST"
( cd "$WORK"
  if ! apt-get download mate-backgrounds python3-skimage >/dev/null 2>&1; then
    apt-get update >/dev/null
    apt-get download mate-backgrounds python3-skimage >/dev/null
  fi
  for deb in *.deb; do dpkg-deb -x "$deb" x; done )
cp "$WORK"/x/usr/share/backgrounds/mate/nature/*.jpg "$DEST"/
SK="$WORK/x/usr/lib/python3/dist-packages/skimage/data"
for f in astronaut.png chelsea.png coffee.png hubble_deep_field.jpg retina.jpg rocket.jpg ihc.png motorcycle_left.png; do
  cp "$SK/$f" "$DEST/skimage-$f"
done
echo "fetched $(ls "$DEST" | wc -l) images into $DEST"
