#!/usr/bin/env python
"""Fit and measure ``upscale --denoise auto`` (keras_sr.inference.strength).

* ``fit``: the logistic regression ``PIXEL_WEIGHTS`` (P(heavy) from the pixel cues) on the first
  ``--train`` BSD200 photos, each as a clean LR (bicubic) and a heavy LR (``realworld``, seed
  ``[i, scale]``) at x2 and x4; prints the five numbers to paste into strength.py. The intercept
  is then lowered by ``log(--cost-ratio)`` (Bayes decision shift): the full-denoise model on a
  clean photo costs far more than its weak sibling on a heavy one (issue #24's x4 ladder, LPIPS:
  realesr-x4 0.483 vs realesr-x4-wdn 0.447 on clean = 0.036; 0.649 vs 0.653 on heavy = 0.004;
  ratio 9), so doubtful photos lean to the weak sibling.
* ``noise``: the pixel noise estimator on Set14 photos with Gaussian noise of sigma 3/5/10/15/25
  added (8-bit, clipped, rounded): estimate per photo and sigma, median absolute relative error.
* ``jpeg``: the table reader on a photo saved by Pillow (libjpeg) at qualities 1..100.
* ``weights``: the weights ``--denoise auto`` picks (``estimate``, PNG-like input: pixels only)
  on the clean and heavy LR of Set5 + Set14 at x4 (seed ``[1000 + i, 4]``): median, min, max.

    python tools/fit_strength.py fit noise jpeg weights [--shared ../shared] [--train 80]
"""

from __future__ import annotations

import argparse
import glob
import io
import os
import time

import numpy as np
from PIL import Image

from keras_sr.data.degradations import get_degradation
from keras_sr.inference import strength

SIGMAS = (3, 5, 10, 15, 25)


def _read(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _u8(x) -> np.ndarray:
    return np.clip(np.round(np.asarray(x) * 255.0), 0, 255).astype(np.uint8)


def lr_pair(hr: np.ndarray, scale: int, seed) -> tuple[np.ndarray, np.ndarray]:
    """(clean bicubic LR, heavy realworld LR) of an 8-bit HR photo, uint8."""
    h, w = hr.shape[0] // scale * scale, hr.shape[1] // scale * scale
    x = hr[:h, :w].astype(np.float32) / 255.0
    clean = get_degradation("bicubic").downscale(x[None], scale)[0]
    heavy = get_degradation("realworld").downscale(x, scale, seed=seed)
    return _u8(clean), _u8(heavy)


def _design(feats: list[dict]) -> np.ndarray:
    return np.array([[np.log1p(f["sigma"]), np.log1p(f["sigma_binned"]), f["blockiness"], f["sharpness"], 1.0]
                     for f in feats])


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 50) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method (IRLS)."""
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-x @ w))
        hess = x.T @ (x * (p * (1 - p))[:, None]) + l2 * np.eye(len(w))
        w -= np.linalg.solve(hess, x.T @ (p - y) + l2 * w)
    return w


def cmd_fit(shared: str, n: int, cost_ratio: float) -> None:
    files = sorted(glob.glob(os.path.join(shared, "datasets", "BSD200", "*.png")))[:n]
    feats, y = [], []
    for i, f in enumerate(files):
        hr = _read(f)
        for scale in (2, 4):
            clean, heavy = lr_pair(hr, scale, [i, scale])
            feats += [strength.pixel_features(clean), strength.pixel_features(heavy)]
            y += [0.0, 1.0]
    w = fit_logistic(_design(feats), np.array(y))
    print(f"fitted: ({', '.join(f'{v:.2f}' for v in w)})")
    w[-1] -= np.log(cost_ratio)
    print(f"PIXEL_WEIGHTS = ({', '.join(f'{v:.2f}' for v in w)})  # {len(files)} BSD200 photos x (x2, x4), "
          f"intercept - log({cost_ratio:g})")


def cmd_noise(shared: str) -> None:
    files = sorted(glob.glob(os.path.join(shared, "datasets", "Set14", "*.bmp")))
    rng = np.random.default_rng(0)
    rel = []
    print("| photo | clean | " + " | ".join(f"σ {s}" for s in SIGMAS) + " |")
    print("|---|---|" + "---|" * len(SIGMAS))
    for f in files:
        hr = _read(f)
        row = []
        for s in SIGMAS:
            noisy = np.clip(np.round(hr + rng.normal(0, s, hr.shape)), 0, 255).astype(np.uint8)
            e = strength.noise_sigma(noisy)
            row.append(e)
            rel.append(abs(e - s) / s)
        print(f"| {os.path.basename(f)} | {strength.noise_sigma(hr):.2f} | " + " | ".join(f"{e:.2f}" for e in row) + " |")
    rel = np.array(rel).reshape(len(files), len(SIGMAS))
    print("median |rel err| per sigma:", {s: round(float(np.median(rel[:, j])), 3) for j, s in enumerate(SIGMAS)},
          f"all: {np.median(rel):.3f}; within 25%: {(rel <= 0.25).mean():.2f}")
    big = np.asarray(Image.fromarray(_read(files[0])).resize((4000, 3000)))
    t = time.perf_counter()
    strength.pixel_features(big)
    print(f"pixel cues of a 4000x3000 photo: {time.perf_counter() - t:.2f} s")


def cmd_jpeg() -> None:
    import skimage.data

    img = Image.fromarray(skimage.data.astronaut()[:128, :128])
    errs = {}
    for sub in (0, 2):
        for q in range(1, 101):
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=q, subsampling=sub)
            errs[(sub, q)] = strength.jpeg_quality(Image.open(io.BytesIO(buf.getvalue())))[0] - q
    bad = {k: v for k, v in errs.items() if v}
    print(f"JPEG reader, Pillow qualities 1..100, 4:4:4 and 4:2:0: max |error| {max(map(abs, errs.values()))}, "
          f"off: {bad or 'none'}")


def cmd_weights(shared: str) -> None:
    files = sorted(glob.glob(os.path.join(shared, "datasets", "Set5", "*.bmp"))
                   + glob.glob(os.path.join(shared, "datasets", "Set14", "*.bmp")))
    out = {"clean": [], "heavy": []}
    for i, f in enumerate(files):
        clean, heavy = lr_pair(_read(f), 4, [1000 + i, 4])
        out["clean"].append(strength.estimate(clean).strength)
        out["heavy"].append(strength.estimate(heavy).strength)
    for k, v in out.items():
        v = np.array(v)
        print(f"x4 {k}: median {np.median(v):.2f}, min {v.min():.2f}, max {v.max():.2f}, <=0.2: {(v <= 0.2).sum()}/{len(v)}, "
              f">=0.8: {(v >= 0.8).sum()}/{len(v)}  {v.tolist()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("parts", nargs="+", choices=("fit", "noise", "jpeg", "weights"))
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    ap.add_argument("--train", type=int, default=80, help="BSD200 photos to fit on")
    ap.add_argument("--cost-ratio", type=float, default=9.0,
                    help="cost of the full model on a clean photo / of the weak one on a heavy photo")
    args = ap.parse_args()
    for part in args.parts:
        {"fit": lambda: cmd_fit(args.shared, args.train, args.cost_ratio), "noise": lambda: cmd_noise(args.shared),
         "jpeg": cmd_jpeg, "weights": lambda: cmd_weights(args.shared)}[part]()


if __name__ == "__main__":
    main()
