"""Shared fixtures. Research data lives in ../shared (read-only); tests that need it skip
with a reason when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KERAS_SR_SHARED", REPO.parent / "shared"))


def _shared_path(*parts) -> Path:
    """A path inside ../shared, or skip the test naming what is missing."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"research data not available: {p} (../shared is absent)")
    return p


@pytest.fixture()
def shared_path():
    """``shared_path("datasets", "Set5")``: a path in ../shared, or skip with the reason."""
    return _shared_path


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Keep the built-in sample cache out of the user's home."""
    os.environ.setdefault("KERAS_SR_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def photo():
    """A 96x128 natural RGB uint8 image (crop of scikit-image's astronaut)."""
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut()[100:196, 180:308])


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """A folder of small training images: RGB PNGs, a JPEG, a BMP and a gray PNG."""
    import skimage.data
    from PIL import Image

    d = tmp_path_factory.mktemp("tiny_data")
    astro, coffee = skimage.data.astronaut(), skimage.data.coffee()
    Image.fromarray(astro[:96, :96]).save(d / "a.png")
    Image.fromarray(astro[200:296, 200:296]).save(d / "b.png")
    Image.fromarray(coffee[50:146, 100:196]).save(d / "c.jpg", quality=95)
    Image.fromarray(coffee[150:246, 300:396]).save(d / "d.bmp")
    Image.fromarray(skimage.data.camera()[100:196, 100:196]).save(d / "e_gray.png")
    return d


@pytest.fixture(scope="session")
def paired_data(tmp_path_factory):
    """Gray HR images and LR files made by 2x2 block means (which commute with flips and
    rotations of aligned crops), named as public sets name them (0001 <-> 0001x2)."""
    import skimage.data
    from PIL import Image

    root = tmp_path_factory.mktemp("paired")
    (root / "hr").mkdir()
    (root / "lr").mkdir()
    cam = skimage.data.camera()
    for i, (y, x) in enumerate([(0, 0), (150, 200), (300, 100), (220, 330)]):
        hr = cam[y:y + 100, x:x + 90]
        lr = np.round(hr.reshape(50, 2, 45, 2).mean(axis=(1, 3))).astype(np.uint8)
        Image.fromarray(hr).save(root / "hr" / f"{i:04d}.png")
        Image.fromarray(lr).save(root / "lr" / f"{i:04d}x2.png")
    return root
