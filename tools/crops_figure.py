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

``--ladder``: the severity ladder of ``keras-sr evaluate --ladder`` as pictures. Per image, rows
= clean / light / heavy LR (the exact seeded LR the ladder gives RGB models:
:func:`keras_sr.evaluation.ladder.ladder_lr`, ``--seed``), columns = bicubic | each model | HR,
each the same HR crop (``--crop`` px, shown at 2x nearest) at ``--box TOP LEFT`` or else the
window of most fine detail in the HR (energy of Y minus its Gaussian blur; ``factor`` px off the
borders). Titles give PSNR-Y (BT.601, 8-bit, as the paper protocol) and LPIPS-Alex (RGB) *of that
crop*; LPIPS is left out,
with a note, when its weights are found nowhere (``--lpips-weights``, the usual lookup,
``../shared/weights/perceptual``). A model of a larger factor than ``--factor`` (e.g. the x4
teacher at x3) is resized to it as ``keras-sr distill`` does (antialiased Lanczos-3 of its float
output: :func:`keras_sr.training.distill.resample`).

    python tools/crops_figure.py restore-x4 ../shared/weights/realesrgan-ncnn/realesr-general-x4v3.param \\
        --ladder --factor 4 --crop 88 --images ../shared/datasets/Set14/comic.bmp --out docs/ladder_crops_x4.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", help="zoo names, run folders, .keras or imported files")
    ap.add_argument("-f", "--factor", type=int, required=True)
    ap.add_argument("--images", nargs="+", type=Path, default=[], help="HR test images (degraded here)")
    ap.add_argument("--real-images", nargs="+", type=Path, default=[],
                    help="real LR photos without HR (e.g. ../shared/datasets/RealSRSet/oldphoto2.png)")
    ap.add_argument("--niqe-params", type=Path, help="niqe_pris_params.npz: NIQE in the real rows' titles")
    ap.add_argument("--crop", type=int, default=96, help="HR crop side in px")
    ap.add_argument("--lpips-weights", type=Path)
    ap.add_argument("-o", "--out", type=Path, required=True)
    ap.add_argument("--ladder", action="store_true",
                    help="rows clean / light / heavy LR of keras-sr evaluate --ladder (with --seed)")
    ap.add_argument("--box", type=int, nargs=2, metavar=("TOP", "LEFT"),
                    help="--ladder: the crop's top-left HR pixel (default: the most textured window)")
    ap.add_argument("--degradation", default="bicubic", help="bicubic (paper protocol) or realworld")
    ap.add_argument("--seed", type=int, default=0, help="realworld: the evaluation seed")
    args = ap.parse_args()
    if args.ladder:
        return ladder_main(args)
    if not args.models:
        print("Error: give at least one model", file=sys.stderr)
        return 2
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


# ------------------------------------------------------------------------------ --ladder

LADDER_SCALE_SHOWN = 2  # crop pixels are drawn as 2x2 screen pixels (nearest)


def textured_window(hr_y, size: int, margin: int) -> tuple[slice, slice]:
    """The ``size`` x ``size`` window of ``hr_y`` (``[H, W]``) with the most fine detail (largest
    mean of ``(y - gaussian_blur(y, 1.5))**2``: texture an upscaler must restore, not one smooth
    edge) that keeps ``margin`` px from every border (less where the image is too small)."""
    import numpy as np
    from scipy.ndimage import gaussian_filter, uniform_filter

    y = np.asarray(hr_y, np.float64)
    h, w = y.shape
    size = min(size, h, w)
    m = max(0, min(margin, (h - size) // 2, (w - size) // 2))
    energy = uniform_filter((y - gaussian_filter(y, 1.5)) ** 2, size=size, mode="constant")
    half = size // 2
    valid = energy[half + m: h - size + half + 1 - m, half + m: w - size + half + 1 - m]  # top-left (i + m, j + m)
    i, j = np.unravel_index(np.argmax(valid), valid.shape)
    return slice(i + m, i + m + size), slice(j + m, j + m + size)


def model_output(up, lr8, scale: int, size):
    """8-bit RGB output ``[*size, 3]`` of Upscaler ``up`` on the 8-bit LR; a model of a larger
    factor than ``scale`` is resized to ``size`` as keras-sr distill resizes its teacher."""
    import numpy as np

    if up.scale == scale:
        return up(lr8)[: size[0], : size[1]]
    from keras_sr.training.distill import resample

    out = up(lr8.astype(np.float32) / 255.0)  # float in, float out, clipped to [0, 1]
    return np.clip(np.round(np.asarray(resample(out[None], size))[0] * 255.0), 0, 255).astype(np.uint8)


def crop_scores(hr_crop, crop, lpips=None) -> tuple[float, float | None]:
    """PSNR of the 8-bit BT.601 Y (data range 255; no shave: a crop is interior) and LPIPS-Alex
    (RGB) of one 8-bit crop against the HR crop."""
    from keras_sr.data.color import y_of_uint8
    from keras_sr.evaluation.metrics import psnr

    p = psnr(y_of_uint8(hr_crop, "y-bt601"), y_of_uint8(crop, "y-bt601"), 255.0)
    return p, (float(lpips(crop / 255.0, hr_crop / 255.0)) if lpips is not None else None)


def ladder_rows(hr, name: str, upscalers, scale: int, seed: int = 0, crop: int = 96, box=None, lpips=None):
    """``(window, rows)`` for one mod-cropped 8-bit RGB HR image: ``rows[severity]`` = list of
    ``(column, crop uint8, psnr_y, lpips or None)`` for bicubic, each ``(label, Upscaler)`` and HR."""
    import numpy as np

    from keras_sr.data.color import y_of_uint8
    from keras_sr.data.degradations import get_degradation
    from keras_sr.errors import UsageError
    from keras_sr.evaluation.ladder import SEVERITIES, ladder_lr

    h, w = hr.shape[:2]
    if box is None:
        win = textured_window(y_of_uint8(hr, "y-bt601"), crop, margin=scale)
    else:
        top, left = box
        if top < 0 or left < 0 or top + crop > h or left + crop > w:
            raise UsageError(f"--box {top} {left} with --crop {crop} leaves {name} ({w}x{h})")
        win = (slice(top, top + crop), slice(left, left + crop))
    bicubic = get_degradation("bicubic")
    rows = {}
    for sev in SEVERITIES:
        lr8 = ladder_lr(hr, scale, sev, seed, name)
        bic = np.clip(np.round(np.asarray(bicubic.upscale(lr8 / 255.0, (h, w))) * 255.0), 0, 255).astype(np.uint8)
        outs = [("bicubic", bic), *((label, model_output(up, lr8, scale, (h, w))) for label, up in upscalers)]
        rows[sev] = [(label, out[win], *crop_scores(hr[win], out[win], lpips)) for label, out in outs]
        rows[sev].append(("HR", hr[win], None, None))
    return win, rows


def ladder_main(args) -> int:
    """``--ladder``: see the module docstring."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np

    from keras_sr.data.io import read_image
    from keras_sr.errors import KerasSRError
    from keras_sr.evaluation.evaluate import LPIPS_MIN_SIDE
    from keras_sr.evaluation.lpips import find_weights, get_lpips
    from keras_sr.inference import Upscaler

    s = args.factor
    if not args.images:
        print("Error: --ladder needs --images (HR test images)", file=sys.stderr)
        return 2
    if args.degradation != "bicubic" or args.real_images:
        print("Error: --degradation and --real-images do not apply to --ladder", file=sys.stderr)
        return 2
    missing = [p for p in args.images if not p.exists()]
    if missing:
        print(f"Error: no such image: {missing[0]}", file=sys.stderr)
        return 2
    try:
        upscalers = []
        for m in args.models:
            up = Upscaler(m)
            if up.scale < s:
                print(f"Error: {m} upscales x{up.scale}, less than --factor {s}", file=sys.stderr)
                return 2
            label = Path(str(m)).stem + (f" (x{up.scale} to x{s})" if up.scale != s else "")
            upscalers.append((label, up))
        note = ""
        try:
            weights = find_weights("alex", args.lpips_weights)
        except KerasSRError:
            weights = SHARED / "weights" / "perceptual" / "lpips_alex_v0.1.npz"
            if args.lpips_weights or not weights.exists():
                weights, note = None, "; LPIPS left out: its weights were not found"
        if weights and args.crop < LPIPS_MIN_SIDE:
            weights, note = None, f"; LPIPS left out: crops under {LPIPS_MIN_SIDE} px"
        lpips = get_lpips("alex", str(weights)) if weights else None
        figs = []
        for path in args.images:
            hr = read_image(path)
            hr = np.repeat(hr[..., None], 3, axis=2) if hr.ndim == 2 else hr[..., :3]
            hr = hr[: hr.shape[0] // s * s, : hr.shape[1] // s * s]
            figs.append((path, *ladder_rows(hr, path.name, upscalers, s, args.seed, args.crop, args.box, lpips)))
    except KerasSRError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    save_small_png(ladder_figure(figs, s, args.seed, note), args.out)
    print(f"wrote {args.out}")
    for path, win, rows in figs:
        for sev, cells in rows.items():
            print(f"{path.name} {sev:<6} " + "  ".join(
                f"{label} {p:.2f} dB" + (f" {lp:.3f}" if lp is not None else "")
                for label, _, p, lp in cells if p is not None))
    return 0


def ladder_figure(figs, scale: int, seed: int, note: str = ""):
    """The matplotlib figure (dpi 100) of ``[(path, window, rows)]``: three rows per image
    (severities), one column per method; each crop drawn at exactly ``LADDER_SCALE_SHOWN`` x
    nearest (axes placed in whole pixels)."""
    import matplotlib.pyplot as plt

    from keras_sr.evaluation.ladder import SEVERITIES

    n_rows = sum(len(rows) for _, _, rows in figs)
    n_cols = len(next(iter(figs[0][2].values())))
    side = figs[0][1][0].stop - figs[0][1][0].start
    cell, gap, left, title, top = side * LADDER_SCALE_SHOWN, 6, 20, 26, 22  # pixels
    width, height = left + n_cols * (cell + gap), top + n_rows * (cell + title)
    fig = plt.figure(figsize=(width / 100, height / 100), dpi=100)
    r = 0
    for path, win, rows in figs:
        for sev, cells in rows.items():
            y0 = height - top - (r + 1) * (cell + title) + 2  # bottom of this row's crops, px from the bottom
            for c, (label, img, p, lp) in enumerate(cells):
                ax = fig.add_axes(((left + c * (cell + gap)) / width, y0 / height, cell / width, cell / height))
                ax.imshow(img, interpolation="nearest", aspect="auto")
                if p is None:
                    text = f"{label} ({path.stem})\ncrop y={win[0].start} x={win[1].start}"
                else:
                    text = f"{label}\n{p:.2f} dB" + (f" / LPIPS {lp:.3f}" if lp is not None else "")
                ax.set_title(text, fontsize=7, pad=2)
                ax.set_xticks([])
                ax.set_yticks([])
                if c == 0:
                    ax.set_ylabel(f"{sev} ({SEVERITIES[sev]})", fontsize=8, labelpad=2)
            r += 1
    resized = [label.split("(")[-1].rstrip(")") for label, *_ in cells if label.endswith(f" to x{scale})")]
    if resized:  # e.g. "x4 to x3"
        note = f"; {resized[0]}: the x{scale} Lanczos-3 resize keras-sr distill makes{note}"
    fig.text(0.5, 1 - 4 / height, f"severity ladder x{scale}, seed {seed}: {side} px HR crops at "
             f"{LADDER_SCALE_SHOWN}x, PSNR-Y / LPIPS-Alex of the crop{note}", ha="center", va="top", fontsize=7)
    return fig


def save_small_png(fig, out: Path) -> None:
    """``fig`` as an optimised RGB PNG (no alpha), written atomically."""
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, dpi=100, format="png")
    plt.close(fig)
    buf.seek(0)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.png")
    Image.open(buf).convert("RGB").save(tmp, optimize=True)
    tmp.replace(out)


if __name__ == "__main__":
    raise SystemExit(main())
