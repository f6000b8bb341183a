#!/usr/bin/env python
"""saved_models/perception_distortion.png: PSNR (distortion) vs LPIPS (perception) on Set5 x4.

    python tools/perception_distortion.py [--dataset ../shared/datasets/Set5] [--factor 4]
        [--lpips-weights ../shared/weights/perceptual/lpips_alex_v0.1.npz] [--extra NAME=MODEL ...]

Points: bicubic, every shipped zoo model of that factor (srresnet-x4 / srgan-x4 among them once
shipped) and any ``--extra`` model (a run folder or .keras file). PSNR: Y, paper protocol;
LPIPS: AlexNet v0.1 on RGB (lower is better). Blau & Michaeli's perception-distortion trade-off:
PSNR-trained models sit right (high PSNR) and high (poor LPIPS), GAN-trained ones lower-left.
Prints the numbers as a markdown table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, default=SHARED / "datasets" / "Set5")
    ap.add_argument("--factor", type=int, default=4)
    ap.add_argument("--lpips-weights", type=Path, default=SHARED / "weights" / "perceptual" / "lpips_alex_v0.1.npz")
    ap.add_argument("--extra", action="append", default=[], help="NAME=MODEL (run folder or .keras)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "saved_models"
                    / "perception_distortion.png")
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_sr.evaluation.evaluate import evaluate
    from keras_sr.zoo import cards

    models = {n: n for n, c in cards().items()  # clean inputs: the bicubic-trained models
              if c["scale"] == args.factor and c["degradation"] == "bicubic"}
    models.update(dict(e.split("=", 1) for e in args.extra))
    points = {}
    for name, model in [("bicubic", None), *models.items()]:
        m = evaluate(model, args.dataset, args.factor, metric_names=("psnr", "ssim", "lpips"),
                     lpips_weights=args.lpips_weights).means()
        key = "bicubic" if model is None else "model"
        points[name] = (m[f"{key}_psnr"], m[f"{key}_ssim"], m[f"{key}_lpips"])
    print(f"| {args.dataset.name} x{args.factor} | PSNR (dB) | SSIM | LPIPS (alex) |\n|---|---|---|---|")
    for name, (p, s, lp) in points.items():
        print(f"| {name} | {p:.2f} | {s:.4f} | {lp:.4f} |")
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for name, (p, _, lp) in points.items():
        gan = "gan" in name
        ax.scatter([p], [lp], marker="x" if name == "bicubic" else ("*" if gan else "o"), s=60 if gan else 30)
        ax.annotate(name, (p, lp), fontsize=8, xytext=(4, 3), textcoords="offset points")
    ax.set_xlabel("PSNR, Y, paper protocol (dB)  - better ->")
    ax.set_ylabel("LPIPS (AlexNet v0.1)  <- better")
    ax.set_title(f"Perception-distortion on {args.dataset.name} x{args.factor}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
