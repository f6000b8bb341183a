#!/usr/bin/env python
"""Peak memory and wall time of upscaling a large photo, and the overhead of tiling.

    python tools/bench_photo.py MODEL [--size 4000x3000] [--max-memory 256]

Runs ``keras-sr upscale`` in a child process (peak RSS from ``getrusage``) on a synthetic
natural-texture photo, then times untiled, tiled and batched-tile upscaling of a 1000x1000
crop in one run.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--size", default="4000x3000")
    ap.add_argument("--max-memory", default="256")
    args = ap.parse_args()
    import numpy as np
    import skimage.data
    from PIL import Image

    w, h = (int(v) for v in args.size.lower().split("x"))
    base = skimage.data.astronaut()
    img = np.tile(base, (h // 512 + 1, w // 512 + 1, 1))[:h, :w]
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "photo.png", Path(tmp) / "out.png"
        Image.fromarray(img).save(src)
        t0 = time.time()
        proc = subprocess.run([sys.executable, "-m", "keras_sr.cli.main", "upscale", str(src), "-o", str(dst),
                               "-m", args.model, "--max-memory", args.max_memory], capture_output=True, text=True)
        wall = time.time() - t0
        if proc.returncode:
            print(proc.stderr, file=sys.stderr)
            return proc.returncode
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        Image.MAX_IMAGE_PIXELS = None  # only to read the size of our own output
        out = Image.open(dst).size
    print(f"| {args.model} | {w}x{h} -> {out[0]}x{out[1]} | {wall:.1f} s | {peak:.0f} MB |")
    from keras_sr.inference import Upscaler

    crop = img[:1000, :1000]
    ups = {"untiled": Upscaler(args.model, tile=4096), "tiled 256": Upscaler(args.model, tile=256),
           "tiled 128": Upscaler(args.model, tile=128),
           "tiled 128, batches of 8": Upscaler(args.model, tile=128, tile_batch=8)}
    times = {}
    for name, up in ups.items():
        up(crop[:300, :300])  # trace once
        t0 = time.perf_counter()
        for _ in range(3):
            up(crop)
        times[name] = (time.perf_counter() - t0) / 3
    print("| 1000x1000 | seconds | vs untiled |\n|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {t:.2f} | {t / times['untiled']:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
