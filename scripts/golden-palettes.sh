#!/usr/bin/env bash
# Regenerates test/fixtures/palette/golden.json with the real Python colorthief 0.2.1 (the seed's library) in a local venv.
#
# The venv lives in .lagless/venv (untracked); Pillow is pinned so that a re-run reproduces the committed
# file. Tests only read golden.json and never need Python. Run after scripts/make-palette-fixtures.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
PILLOW_VERSION="${PILLOW_VERSION:-13.0.0}"
VENV=.lagless/venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check "colorthief==0.2.1" "pillow==$PILLOW_VERSION"
"$VENV/bin/python" scripts/golden_palettes.py test/fixtures/palette/golden.json assets/images test/fixtures/palette
