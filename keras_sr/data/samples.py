"""The built-in default data: natural photos that ship inside scikit-image.

They load offline (no download), so ``keras-sr train`` with no ``--data`` works on a
fresh machine. They are written once as PNG files into a cache folder
(``$KERAS_SR_CACHE`` or ``~/.cache/keras_sr``) so the same file-based pipeline, file
hashes and records apply to them as to user data.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

# RGB natural images bundled with scikit-image (no pooch download needed).
SAMPLE_NAMES = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field",
                "immunohistochemistry")


def cache_dir() -> Path:
    root = os.environ.get("KERAS_SR_CACHE") or os.path.join(Path.home(), ".cache", "keras_sr")
    return Path(root)


def sample_image(name: str) -> np.ndarray:
    """One built-in sample as uint8 RGB ``[H, W, 3]``."""
    import skimage.data

    if name not in SAMPLE_NAMES:
        raise ValueError(f"unknown sample {name!r}; known: {', '.join(SAMPLE_NAMES)}")
    return np.ascontiguousarray(getattr(skimage.data, name)()[..., :3])


def sample_files(names=SAMPLE_NAMES) -> list[Path]:
    """Paths of the built-in samples as PNG files (written on first use)."""
    from keras_sr.data.io import write_image

    folder = cache_dir() / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        p = folder / f"{name}.png"
        if not p.exists():
            write_image(p, sample_image(name), overwrite=True)
        paths.append(p)
    return paths
