# Writes golden palettes from Python colorthief 0.2.1 for every image in the given folders (called by golden-palettes.sh).
import hashlib
import json
import os
import platform
import sys

import random

import colorthief
import PIL
from colorthief import MMCQ, ColorThief
from PIL import Image

# (color_count, quality): the seed's (6, 10); 2 and 3 (one more colour), 8, 10 and 16 (one fewer), quality 1 (every pixel).
COMBOS = [(6, 10), (2, 10), (3, 10), (8, 10), (10, 1), (6, 1), (16, 5)]
SKIP = {'golden.json', 'quantize-golden.json', 'ATTRIBUTION.md'}
# Images whose decoders differ between Pillow and sharp: Pillow's RGBA pixels are saved (lossless PNG) as evidence,
# so the tests can show that Lagless's quantizer gives the golden palette from Pillow's own pixels.
PIXEL_EVIDENCE = {'image.avif'}


def describe(path):
    try:
        with Image.open(path) as im:
            return {'pillowMode': im.mode, 'size': list(im.size), 'frames': getattr(im, 'n_frames', 1)}
    except Exception as e:  # noqa: BLE001 - the golden file records what Pillow says
        return {'openError': f'{type(e).__name__}: {e}'}


def quantizer_cases(seed=20240501, count=60):
    """Pixel lists (flat r,g,b,...) with MMCQ.quantize results: sparse, clustered, single-colour and uniform inputs."""
    rng = random.Random(seed)
    colors_choices = [2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 32, 64, 256]
    cases = []
    for i in range(count):
        kind = ['uniform', 'clusters', 'single', 'sparse', 'two', 'narrow'][i % 6]
        n = {'sparse': rng.randint(1, 6), 'single': rng.randint(1, 40), 'two': rng.randint(2, 60)}.get(kind, rng.randint(20, 400))
        if kind == 'uniform':
            pixels = [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(n)]
        elif kind == 'single':
            c = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            pixels = [c] * n
        elif kind == 'two':
            a = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            b = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            pixels = [a if rng.random() < 0.7 else b for _ in range(n)]
        elif kind == 'narrow':
            base = [rng.randrange(240) for _ in range(3)]
            pixels = [tuple(v + rng.randrange(16) for v in base) for _ in range(n)]
        else:  # clusters, sparse
            centers = [[rng.randrange(256) for _ in range(3)] for _ in range(rng.randint(1, 6))]
            spread = rng.choice([4, 12, 40])
            pixels = []
            for _ in range(n):
                c = rng.choice(centers)
                pixels.append(tuple(min(255, max(0, v + rng.randint(-spread, spread))) for v in c))
        colors = rng.choice(colors_choices)
        case = {'kind': kind, 'colors': colors, 'pixels': [v for p in pixels for v in p]}
        try:
            case['palette'] = [list(c) for c in MMCQ.quantize(pixels, colors).palette]
        except Exception as e:  # noqa: BLE001
            case['error'] = f'{type(e).__name__}: {e}'
        cases.append(case)
    return cases


def main():
    out_path, folders = sys.argv[1], sys.argv[2:]
    images = {}
    for folder in folders:
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if name in SKIP or not os.path.isfile(path):
                continue
            with open(path, 'rb') as f:
                data = f.read()
            entry = {'sha256': hashlib.sha256(data).hexdigest()}
            entry.update(describe(path))
            palettes = {}
            for colors, quality in COMBOS:
                key = f'{colors},{quality}'
                try:
                    palettes[key] = [list(c) for c in ColorThief(path).get_palette(color_count=colors, quality=quality)]
                except Exception as e:  # noqa: BLE001
                    palettes[key] = {'error': f'{type(e).__name__}: {e}'}
            entry['palettes'] = palettes
            if name in PIXEL_EVIDENCE:
                evidence_dir = os.path.join(folder, 'pillow-rgba')
                os.makedirs(evidence_dir, exist_ok=True)
                evidence = os.path.join(evidence_dir, name + '.png')
                with Image.open(path) as im:
                    im.convert('RGBA').save(evidence, optimize=True)
                entry['pillowRgba'] = evidence.replace(os.sep, '/')
            images[path.replace(os.sep, '/')] = entry
    doc = {
        'generator': 'scripts/golden-palettes.sh',
        'colorthief': colorthief.__version__,
        'pillow': PIL.__version__,
        'python': platform.python_version(),
        'combos': [list(c) for c in COMBOS],
        'images': images,
    }
    with open(out_path, 'w') as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write('\n')
    cases = quantizer_cases()
    q_path = os.path.join(os.path.dirname(out_path), 'quantize-golden.json')
    with open(q_path, 'w') as f:
        json.dump({'generator': 'scripts/golden-palettes.sh', 'colorthief': colorthief.__version__, 'cases': cases}, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {len(cases)} quantizer cases to {q_path}')
    print(f'wrote {len(images)} images x {len(COMBOS)} combos to {out_path} (colorthief {colorthief.__version__}, Pillow {PIL.__version__})')


main()
