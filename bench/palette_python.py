# Times Python colorthief 0.2.1 get_palette on images held in memory (the seed's library), for bench/palette.ts.
# Usage: python bench/palette_python.py RUNS COLORS QUALITY FILE... ; prints JSON {file: {"ms": [..], "palette": [..]}}.
import io
import json
import sys
import time

from colorthief import ColorThief


def main():
    runs, colors, quality = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    out = {}
    for path in sys.argv[4:]:
        with open(path, 'rb') as f:
            data = f.read()
        times, palette, error = [], None, None
        for _ in range(runs):
            t0 = time.perf_counter()
            try:
                # as the seed: decode from the downloaded bytes, then get_palette
                palette = ColorThief(io.BytesIO(data)).get_palette(color_count=colors, quality=quality)
            except Exception as e:  # noqa: BLE001 - reported, not fatal
                error = f'{type(e).__name__}: {e}'
                break
            times.append((time.perf_counter() - t0) * 1000)
        out[path] = {'ms': times, 'palette': [list(c) for c in palette] if palette else None, 'error': error}
        print(f'  python {path}: {sorted(times)[len(times) // 2] if times else error}', file=sys.stderr)
    json.dump(out, sys.stdout)


main()
