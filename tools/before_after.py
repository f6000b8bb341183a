#!/usr/bin/env python
"""The README's before/after picture: a crop of a built-in sample photo (scikit-image's
``chelsea``, CC0), upscaled by bicubic and by the shipped default of ``keras-sr upscale -f S``.

    python tools/before_after.py [--factor 4] [--out docs/before_after.png]

The whole photo is upscaled (as ``keras-sr upscale`` would, ``--denoise auto`` where the default
has a sibling) and the output cropped, so the crop has no border effects of its own. Panels and
labels: :mod:`keras_sr.inference.side_by_side` (the figure of ``upscale --side-by-side``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from keras_sr.data.io import write_image  # noqa: E402
from keras_sr.data.samples import sample_image  # noqa: E402
from keras_sr.inference import side_by_side as sbs  # noqa: E402

# LR crop (top, left, height, width) of each sample: the cat's eye, whiskers and fur
CROPS = {"chelsea": (76, 120, 56, 80)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--factor", "-f", type=int, default=4)
    ap.add_argument("--sample", default="chelsea", choices=sorted(CROPS))
    ap.add_argument("--out", default=str(ROOT / "docs" / "before_after.png"))
    args = ap.parse_args()
    s = args.factor
    lr = sample_image(args.sample)
    name, sr, notes = sbs.default_output(lr, s)
    top, left, h, w = CROPS[args.sample]
    box = (slice(top * s, (top + h) * s), slice(left * s, (left + w) * s))
    fig, layout = sbs.compose([("bicubic", sbs.bicubic(lr, s)[box]),
                               (f"keras-sr upscale -f {s} ({name})", sbs.rgb8(sr)[box])])
    out = write_image(args.out, fig, overwrite=True, text={sbs.TEXT_KEY: json.dumps(layout)})
    for note in notes:
        print(f"Note: {note}", file=sys.stderr)
    print(f"wrote {out} ({out.stat().st_size // 1024} KB): {args.sample} x{s}, bicubic | {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
