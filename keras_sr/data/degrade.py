"""``keras-sr degrade``: HR image files -> degraded LR PNGs and the parameters drawn for each.

Each image is read as 8-bit (16-bit rounded, alpha dropped, gray stays gray) and degraded
whole to ``(H // s, W // s)``. ``realworld`` and ``light`` draw from a per-image seed derived
from the run's seed and the file *name* (:func:`keras_sr.data.realworld.image_seed`), so an image
degrades the same whatever else is in the run; the same seed gives byte-identical PNGs and JSON (on one
machine and TensorFlow build; see :mod:`keras_sr.data.realworld` on libjpeg). Outputs:
``OUT/<stem>.png`` per image and ``OUT/params.json`` (degradation, factor, seed, the full
:class:`~keras_sr.data.realworld.RealWorldParams`, and per image its seed and draws); every
file is written to a temporary sibling and renamed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from keras_sr import __version__
from keras_sr.data.degradations import get_degradation
from keras_sr.data.io import atomic_write_text, eight_bit, list_images, read_image, write_image
from keras_sr.errors import KerasSRError, UsageError

JSON_NAME = "params.json"


def _load(path) -> np.ndarray:
    img = eight_bit(read_image(path))
    return img[..., :3] if img.ndim == 3 else img


def degrade_files(inputs, output, degradation: str = "realworld", factor: int = 4, seed: int = 0,
                  overrides=(), mild: bool = False, figure=None, overwrite: bool = False) -> dict:
    """Degrade every image in ``inputs`` (files/folders) into ``output``; return
    ``{"written": [paths], "json": path, "figure": path or None}``."""
    deg = get_degradation(degradation)
    params = None
    if mild and deg.name != "realworld":
        raise UsageError(f"--mild is for the realworld degradation, not {degradation!r}")
    if deg.stochastic:
        from keras_sr.data.realworld import RealWorldParams

        params = (RealWorldParams.mild() if mild else deg.default_params()).with_overrides(overrides)
    elif overrides:
        raise UsageError(f"--param is for the realworld and light degradations, not {degradation!r}")
    if factor < 1:
        raise UsageError(f"factor must be >= 1, got {factor}")
    files = list_images(inputs)
    if not files:
        raise KerasSRError(f"no image files in {', '.join(map(str, inputs))}")
    stems: dict = {}
    for f in files:
        if f.stem in stems:
            raise KerasSRError(f"two inputs would both write {f.stem}.png: {stems[f.stem]} and {f}")
        stems[f.stem] = f
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise KerasSRError(f"--output exists and is not a folder: {out}")
    if not out.resolve().parent.is_dir():
        raise KerasSRError(f"output folder's parent does not exist: {out.parent}")
    if figure and not Path(figure).resolve().parent.is_dir():
        raise KerasSRError(f"figure folder does not exist: {Path(figure).parent}")
    targets = [out / f"{f.stem}.png" for f in files] + [out / JSON_NAME]
    existing = [p for p in targets if p.exists()]
    if existing and not overwrite:
        raise KerasSRError(f"{existing[0]} exists (use --overwrite)")
    out.mkdir(exist_ok=True)

    images, shown = {}, []
    written = []
    for f in files:
        hr = _load(f)
        h, w = hr.shape[:2]
        if min(h, w) < factor:
            raise KerasSRError(f"{f.name} ({w}x{h}) is smaller than the factor {factor}")
        entry = {"output": f"{f.stem}.png", "hr_size": [h, w], "lr_size": [h // factor, w // factor]}
        if deg.stochastic:
            from keras_sr.data.realworld import degrade_image, image_seed

            s = image_seed(seed, f.name)
            lr, drawn = degrade_image(hr, factor, s, params)
            entry.update(seed=s, params=drawn)
        else:
            x = (hr[..., None] if hr.ndim == 2 else hr).astype(np.float32) / 255.0
            lr = np.round(np.asarray(deg.downscale(x, factor, quantize_output=True)) * 255.0).astype(np.uint8)
            lr = lr[..., 0] if hr.ndim == 2 else lr
        written.append(write_image(out / f"{f.stem}.png", lr, overwrite=True))
        images[f.name] = entry
        if figure and len(shown) < 4:
            shown.append((f.stem, hr, lr))
    record = {"degradation": deg.name, "factor": factor, "seed": seed,
              "params": params.to_dict() if params is not None else None,
              "image_seed": deg.name + ": sha256(f'{seed}:{file name}'), two little-endian 31-bit ints"
              if deg.stochastic else None,
              "keras_sr": __version__, "images": images}
    json_path = atomic_write_text(out / JSON_NAME, _json_text(record))
    fig_path = grid_figure(shown, factor, figure, deg.name, seed) if figure else None
    return {"written": written, "json": json_path, "figure": fig_path}


def _json_text(record: dict) -> str:
    """The record with its header indented and one line per image (kernels stay readable)."""
    head = json.dumps({k: v for k, v in record.items() if k != "images"}, indent=1)
    lines = [f" {json.dumps(name)}: {json.dumps(entry)}" for name, entry in record["images"].items()]
    return head[:-2] + ',\n "images": {\n' + ",\n".join(lines) + "\n }\n}\n"


def grid_figure(shown, factor: int, path, name: str, seed: int) -> Path:
    """Rows of HR | LR (nearest-upscaled ``factor`` x), one per image; written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, axes = plt.subplots(len(shown), 2, figsize=(8, 4 * len(shown)), squeeze=False)
    for row, (stem, hr, lr) in zip(axes, shown):
        up = np.repeat(np.repeat(lr, factor, axis=0), factor, axis=1)
        for ax, img, title in ((row[0], hr, f"{stem} HR"), (row[1], up, f"LR x{factor} ({name}, nearest)")):
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    fig.suptitle(f"keras-sr degrade --degradation {name} --factor {factor} --seed {seed}", fontsize=10)
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.part{path.suffix or '.png'}")
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    os.replace(tmp, path)
    return path
