#!/usr/bin/env python
"""Paper-protocol reproduction tables: bicubic baselines, official SRCNN 9-5-5, LPIPS calibration.

    python tools/reproduce_paper.py [--shared ../shared]

Prints Markdown tables (ours vs published, residual). Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

BICUBIC = {("Set5", 2): (33.66, 0.9299), ("Set5", 3): (30.39, 0.8682), ("Set5", 4): (28.42, 0.8104),
           ("Set14", 2): (30.24, 0.8688), ("Set14", 3): (27.55, 0.7742), ("Set14", 4): (26.00, 0.7027)}
SRCNN_955 = {("Set5", 2): 36.66, ("Set5", 3): 32.75, ("Set5", 4): 30.48,
             ("Set14", 2): 32.45, ("Set14", 3): 29.30, ("Set14", 4): 27.50}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    shared = Path(ap.parse_args().shared)
    if not shared.exists():
        raise SystemExit(f"Error: research data folder not found: {shared}")
    from PIL import Image

    from keras_sr.evaluation.evaluate import evaluate
    from keras_sr.evaluation.lpips import lpips
    from keras_sr.models.convert import srcnn_from_mat

    t0 = time.time()
    print("| set | scale | bicubic PSNR ours | published | residual | SSIM ours | published | residual |"
          " SRCNN 9-5-5 PSNR ours | published | residual | SSIM ours |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for scale in (2, 3, 4):
        model = srcnn_from_mat(shared / "weights" / "srcnn-matlab" / "9-5-5_ImageNet" / f"x{scale}.mat")
        for ds in ("Set5", "Set14"):
            m = evaluate(model, shared / "datasets" / ds, scale).means()
            bp, bs = BICUBIC[(ds, scale)]
            sp = SRCNN_955[(ds, scale)]
            print(f"| {ds} | x{scale} | {m['bicubic_psnr']:.3f} | {bp:.2f} | {m['bicubic_psnr'] - bp:+.3f} "
                  f"| {m['bicubic_ssim']:.4f} | {bs:.4f} | {m['bicubic_ssim'] - bs:+.4f} "
                  f"| {m['model_psnr']:.3f} | {sp:.2f} | {m['model_psnr'] - sp:+.3f} | {m['model_ssim']:.4f} |")
    cal_dir = shared / "weights" / "perceptual" / "calibration"
    cal = json.loads((cal_dir / "calibration.json").read_text())
    print("\n| pair | LPIPS-Alex ours | official | residual |\n|---|---|---|---|")
    for p in cal["pairs"]:
        ref = np.asarray(Image.open(cal_dir / p["reference"]), np.float32) / 255
        dist = np.asarray(Image.open(cal_dir / p["distorted"]), np.float32) / 255
        v = float(lpips(dist, ref, weights=shared / "weights" / "perceptual" / "lpips_alex_v0.1.npz"))
        o = p["official"]["lpips_alex_v0.1"]
        print(f"| {p['name']} | {v:.6f} | {o} | {v - o:+.6f} |")
    print(f"\n({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
