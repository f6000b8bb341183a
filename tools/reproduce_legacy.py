#!/usr/bin/env python
"""Reproduce SRCNN-keras's published numbers with its original Keras-1 weights.

    python tools/reproduce_legacy.py [--shared ../shared]

Legacy protocol (``srcnn-keras``): OpenCV full-range Y in [0, 1], bilinear x2 down/up on
8-bit data, truncating 8-bit output, 6 px border crop; see ../shared/weights/README.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import keras_sr
from keras_sr.evaluation.evaluate import evaluate

PUBLISHED = {("3051crop_weight_200.h5", "Set5"): 34.83, ("3051crop_weight_200.h5", "Set14"): 30.60,
             ("m_model_adam_new30.h5", "Set5"): 33.70}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    args = ap.parse_args()
    shared = Path(args.shared)
    if not shared.exists():
        raise SystemExit(f"Error: research data folder not found: {shared}")
    print("| weights | set | bilinear input (dB) | SRCNN (dB) | README (dB) | residual |")
    print("|---|---|---|---|---|---|")
    for (weights, dataset), ref in PUBLISHED.items():
        t = time.time()
        model = keras_sr.load_model(shared / "weights" / "srcnn-keras" / weights)
        m = evaluate(model, shared / "datasets" / dataset, 2, protocol="srcnn-keras").means()
        print(f"| {weights} | {dataset} | {m['bicubic_psnr']:.2f} | {m['model_psnr']:.3f} | {ref:.2f} "
              f"| {m['model_psnr'] - ref:+.3f} |  ({time.time() - t:.1f} s)")


if __name__ == "__main__":
    main()
