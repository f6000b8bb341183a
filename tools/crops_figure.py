#!/usr/bin/env python
"""Side-by-side RGB crops: HR | bicubic | each model, on a few test images (for looking, not
scoring: PSNR/LPIPS tables come from ``keras-sr evaluate``).

    python tools/crops_figure.py srresnet-x4 srgan-x4 --factor 4 \
        --images ../shared/datasets/Set14/baboon.png ../shared/datasets/Set14/comic.png \
        [--lpips-weights ../shared/weights/perceptual/lpips_alex_v0.1.npz] [--out saved_models/srgan_crops.png]

LR = MATLAB-bicubic downscale of the mod-cropped HR, rounded to 8 bits (the paper protocol's
input); with ``--degradation realworld --seed N`` the LR ``keras-sr evaluate --degradation realworld
--seed N`` scores (Real-ESRGAN's chain, seeded by (N, file name)), shown nearest-upscaled as the
second column. The crop is the window of ``--crop`` HR pixels where the first model gains most over
bicubic (Y squared error). Titles give each method's PSNR (Y, shave = scale) and, with
``--lpips-weights``, LPIPS (AlexNet, RGB) on the whole image.

``--real-images`` adds rows of real low-quality photos that have no HR (RealSRSet): the LR
itself (nearest-upscaled) takes the HR column, the crop is where the first model departs most
from bicubic, and titles give NIQE (``--niqe-params``; lower = more natural) of the whole upscale,
as ``keras-sr evaluate --dataset RealSRSet --metrics niqe`` scores it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="zoo names, run folders or .keras files")
    ap.add_argument("--factor", type=int, required=True)
    ap.add_argument("--images", nargs="+", type=Path, default=[], help="HR test images (degraded here)")
    ap.add_argument("--real-images", nargs="+", type=Path, default=[],
                    help="real LR photos without HR (e.g. ../shared/datasets/RealSRSet/oldphoto2.png)")
    ap.add_argument("--niqe-params", type=Path, help="niqe_pris_params.npz: NIQE in the real rows' titles")
    ap.add_argument("--crop", type=int, default=96, help="HR crop side in px")
    ap.add_argument("--lpips-weights", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--degradation", default="bicubic", help="bicubic (paper protocol) or realworld")
    ap.add_argument("--seed", type=int, default=0, help="realworld: the evaluation seed")
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    import keras_sr
    from keras_sr.data.color import rgb_to_y
    from keras_sr.data.degradations import get_degradation
    from keras_sr.data.io import read_image
    from keras_sr.errors import KerasSRError
    from keras_sr.evaluation.evaluate import best_window
    from keras_sr.evaluation.metrics import psnr

    if not args.images and not args.real_images:
        print("Error: give --images (HR) and/or --real-images (LR without HR)", file=sys.stderr)
        return 2
    missing = [p for p in (*args.images, *args.real_images) if not p.exists()]
    if missing:
        print(f"Error: no such image: {missing[0]}", file=sys.stderr)
        return 2
    try:
        models = [(str(m), keras_sr.load_model(m)) for m in args.models]
    except KerasSRError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    lpips = None
    if args.lpips_weights:
        from keras_sr.evaluation.lpips import get_lpips

        lpips = get_lpips("alex", str(args.lpips_weights))
    s = args.factor
    deg = get_degradation("bicubic")
    real = get_degradation(args.degradation).stochastic
    columns = ["HR", *(["degraded LR"] if real else []), "bicubic", *(Path(name).stem for name, _ in models)]
    rows = len(args.images) + len(args.real_images)
    fig, axes = plt.subplots(rows, len(columns), figsize=(2.4 * len(columns), 2.6 * rows), squeeze=False)
    for path, row in zip(args.images, axes):
        hr = read_image(path)[..., :3]
        hr = hr[: hr.shape[0] // s * s, : hr.shape[1] // s * s]
        if real:  # the LR evaluate --degradation realworld --seed N scores
            from keras_sr.data import realworld

            lr_u8, _ = realworld.degrade_image(hr, s, realworld.image_seed(args.seed, path.name))
            lr = lr_u8.astype(np.float32) / 255.0
        else:
            lr = np.asarray(deg.downscale(hr.astype(np.float32) / 255.0, s))  # 8-bit values, [0, 1]
            lr_u8 = np.round(lr * 255).astype(np.uint8)
        bic = np.round(np.asarray(deg.upscale(lr, hr.shape[:2])) * 255).astype(np.uint8)
        shown = [np.repeat(np.repeat(lr_u8, s, axis=0), s, axis=1)] if real else []
        outs = [hr, *shown, bic, *(keras_sr.upscale(lr_u8, m, factor=s) for _, m in models)]
        ys = [np.squeeze(rgb_to_y(o.astype(np.float64) / 255.0, "y-bt601")) for o in outs]
        k = 1 + len(shown)  # bicubic's column; the first model's is k + 1
        win = best_window(ys[0] * 255, ys[k] * 255, ys[k + 1] * 255, size=args.crop)
        for ax, img, y, name in zip(row, outs, ys, columns):
            title = name
            if name not in ("HR", "degraded LR"):
                title += f"\n{psnr(ys[0], y, 1.0, shave=s):.2f} dB"
                if lpips is not None:
                    title += f" / LPIPS {float(lpips(img / 255.0, hr / 255.0)):.3f}"
            else:
                title = f"{path.name}\n{title}"
            ax.imshow(img[win], interpolation="nearest")
            ax.set_title(title, fontsize=7)
            ax.axis("off")
    niqe_params = None
    if args.real_images and args.niqe_params:
        from keras_sr.evaluation.niqe import load_params, niqe_of_uint8

        niqe_params = load_params(args.niqe_params)
    for path, row in zip(args.real_images, axes[len(args.images):]):
        lr_u8 = read_image(path)[..., :3]
        lr = lr_u8.astype(np.float32) / 255.0
        size = (lr.shape[0] * s, lr.shape[1] * s)
        bic = np.clip(np.round(np.asarray(deg.upscale(lr, size)) * 255), 0, 255).astype(np.uint8)
        outs = [bic, *(np.asarray(keras_sr.upscale(lr_u8, m, factor=s))[: size[0], : size[1]] for _, m in models)]
        ys = [np.squeeze(rgb_to_y(o.astype(np.float64) / 255.0, "y-bt601")) * 255 for o in outs]
        win = best_window(ys[1], ys[0], ys[1], size=args.crop)  # where the first model departs most from bicubic
        shown = np.repeat(np.repeat(lr_u8, s, axis=0), s, axis=1)
        cells = [(shown, f"{path.name}\nreal LR (no HR)")]
        if real:
            cells.append((None, ""))  # the degraded-LR column: the real LR is already shown
        for img, name in zip(outs, columns[len(cells):]):
            cells.append((img, name + (f"\nNIQE {niqe_of_uint8(img, niqe_params, name=path.name):.2f}"
                                       if niqe_params is not None else "")))
        for ax, (img, title) in zip(row, cells):
            if img is not None:
                ax.imshow(img[win], interpolation="nearest")
            ax.set_title(title, fontsize=7)
            ax.axis("off")
    fig.suptitle(f"x{s} {args.degradation}{f' seed {args.seed}' if real else ''}: HR, bicubic and models "
                 "(PSNR on Y; LPIPS on RGB, lower = closer)", fontsize=9)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
