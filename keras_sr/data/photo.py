"""Real-photo I/O: pixels plus what must survive the round trip (ICC profile, EXIF).

:func:`open_photo` applies the EXIF orientation, keeps the ICC profile and EXIF (the
orientation tag is reset to 1 because the pixels are now upright), converts CMYK and palette
images to RGB(A), keeps grayscale as grayscale and 16-bit files (gray, RGB, RGBA PNG/TIFF)
as uint16 (16-bit colour via ``tf.io.decode_png`` / ``tifffile``: Pillow holds only 8 bits). Pillow's
decompression-bomb guard stays on; ``max_pixels`` raises its limit explicitly.
:func:`save_photo` writes atomically with that metadata; the format follows the extension.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keras_sr.data.io import _to_array, eight_bit, orient, read_deep_colour, write_image
from keras_sr.errors import ImageReadError

ORIENTATION = 0x0112


@dataclass
class Photo:
    """Pixels (``[H, W]``, ``[H, W, 3]`` or ``[H, W, 4]``; uint8 or uint16) and metadata."""

    pixels: np.ndarray
    icc_profile: bytes | None = None
    exif: bytes | None = None
    source_mode: str = ""
    source_format: str = ""


def _decode(im, path=None):
    from PIL import ImageOps

    deep = read_deep_colour(path, im) if path is not None else None  # before anything loads `im`
    icc = im.info.get("icc_profile")
    exif = im.getexif()
    source_mode, source_format = im.mode, im.format or ""
    if deep is not None:  # 16-bit RGB(A): Pillow would keep only 8 bits
        pixels = orient(deep, exif.get(ORIENTATION, 1))
    else:
        im = ImageOps.exif_transpose(im)
        im.load()
        if im.mode == "CMYK":
            im = im.convert("RGB")
            icc = None  # the CMYK profile no longer describes the pixels
        pixels = _to_array(im)
    exif_bytes = None
    if exif:
        exif[ORIENTATION] = 1
        exif_bytes = exif.tobytes()
    return Photo(pixels, icc, exif_bytes, source_mode, source_format)


def open_photo(source, max_pixels: int | None = None) -> Photo:
    """Read a path or a PIL image; errors name the file (see :func:`keras_sr.data.io.read_image`)."""
    from PIL import Image

    if max_pixels is not None:
        Image.MAX_IMAGE_PIXELS = int(max_pixels)
    if isinstance(source, Image.Image):
        return _decode(source)
    from keras_sr.data.io import read_image

    path = Path(source)
    read_image(path)  # one place for every error message (missing, empty, corrupt, bomb)
    try:
        with Image.open(path) as im:
            return _decode(im, path)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:  # pragma: no cover
        raise ImageReadError(f"corrupt image: {path} ({exc})") from None


def to_pil(photo: Photo, pixels: np.ndarray | None = None):
    """A PIL image of ``pixels`` (default: the photo's) carrying the photo's ICC and EXIF."""
    from PIL import Image

    arr = photo.pixels if pixels is None else pixels
    # Pillow has no 16-bit colour mode: 16-bit colour becomes 8 bits here (save_photo keeps 16)
    im = Image.fromarray(arr if arr.dtype == np.uint16 and arr.ndim == 2 else eight_bit(arr))
    if photo.icc_profile:
        im.info["icc_profile"] = photo.icc_profile
    if photo.exif:
        im.info["exif"] = photo.exif
    return im


def save_photo(path, photo: Photo, pixels: np.ndarray, overwrite: bool = False, quality: int = 95) -> Path:
    """Write ``pixels`` with ``photo``'s ICC profile and EXIF, atomically."""
    return write_image(path, pixels, overwrite=overwrite, quality=quality,
                       icc_profile=photo.icc_profile, exif=photo.exif)
