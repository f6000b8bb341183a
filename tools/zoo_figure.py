#!/usr/bin/env python
"""saved_models/zoo.png: Set5 PSNR (paper protocol) vs multiply-adds per output pixel for every
shipped bicubic-trained model (the realworld ones are scored on degraded sets instead), with the bicubic baseline and the published numbers of each architecture.

    python tools/zoo_figure.py [--out saved_models/zoo.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

BICUBIC_SET5 = {2: 33.66, 3: 30.39, 4: 28.42}
BICUBIC_MACS = 16  # 4x4 separable taps per output pixel (2 x 4 multiply-adds, twice)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "saved_models" / "zoo.png")
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import keras_sr
    from keras_sr.models.cost import macs_per_output_pixel
    from keras_sr.zoo import cards

    zoo = cards()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = {2: "tab:blue", 3: "tab:orange", 4: "tab:green"}
    for scale, psnr in BICUBIC_SET5.items():
        ax.scatter([BICUBIC_MACS], [psnr], marker="x", color=colors[scale])
        ax.annotate(f"bicubic x{scale}", (BICUBIC_MACS, psnr), fontsize=7, xytext=(4, -10), textcoords="offset points")
    for name, card in zoo.items():
        if card["degradation"] != "bicubic":  # real-world models: not made for clean downscales
            continue
        macs = macs_per_output_pixel(keras_sr.load_model(name))
        card_psnr = card["measured"]["Set5"]["psnr"]
        c = colors.get(card["scale"], "k")
        ax.scatter([macs], [card_psnr], color=c)
        ax.annotate(name, (macs, card_psnr), fontsize=8, xytext=(4, 3), textcoords="offset points")
        if card["published"].get("Set5"):
            ax.scatter([macs], [card["published"]["Set5"]], facecolors="none", edgecolors=c)
    ax.set_xscale("log")
    ax.set_xlabel("multiply-adds per output pixel (log)")
    ax.set_ylabel("Set5 PSNR, Y, paper protocol (dB)")
    ax.set_title("keras_sr zoo (filled: measured here; hollow: published; x: bicubic)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out} ({len(zoo)} models)")


if __name__ == "__main__":
    main()
