"""Side-by-side figures of one photo: ``bicubic | MODEL | the shipped default`` (``upscale --side-by-side``).

Conventions: every panel is 8-bit RGB at the output size (``scale`` x the input); 16-bit
pixels are rounded to 8 bits, gray is shown as three equal channels and alpha is dropped
(the figure is for looking at, not for further processing). Panels are laid out left to
right, ``GAP`` white pixels apart, each under a ``LABEL_HEIGHT`` px white strip holding its
label in black; the panel pixels themselves are untouched. The bicubic panel is the
polyphase Keys cubic (a = -0.5, symmetric borders) of :mod:`keras_sr.data.interp`, the
interpolation ``upscale`` uses for chroma. The labels are also stored in the PNG as a
``keras_sr:panels`` text chunk (JSON: label, left x, top y, width, height per panel).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from keras_sr.errors import KerasSRError, UsageError

GAP = 8  # white px between panels
LABEL_HEIGHT = 24  # white strip above each panel, holding its label
TEXT_KEY = "keras_sr:panels"


def rgb8(pixels: np.ndarray) -> np.ndarray:
    """A display copy of ``pixels``: uint8 RGB ``[H, W, 3]`` (16 bits rounded, gray tripled, alpha dropped)."""
    from keras_sr.data.io import eight_bit

    arr = eight_bit(np.asarray(pixels))
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    return np.ascontiguousarray(arr[..., :3])


def bicubic(pixels: np.ndarray, scale: int) -> np.ndarray:
    """uint8 RGB bicubic upscale (x ``scale``) of the display copy of ``pixels``."""
    from keras_sr.data import interp

    x = rgb8(pixels).astype(np.float32) / 255.0
    up = np.asarray(interp.upscale(x[None], int(scale), "bicubic"))[0]
    return np.clip(np.round(up * 255.0), 0, 255).astype(np.uint8)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1 with FreeType: scalable
    except (TypeError, OSError, ImportError):  # pragma: no cover - older Pillow / no FreeType
        return ImageFont.load_default()


def compose(panels) -> tuple[np.ndarray, list[dict]]:
    """``[(label, uint8 RGB [H, W, 3]), ...]`` of one size -> (figure, layout): the labelled row
    and, per panel, ``{"label", "x", "y", "width", "height"}`` (where its pixels are)."""
    from PIL import Image, ImageDraw

    if not panels:
        raise ValueError("no panels")
    h, w = panels[0][1].shape[:2]
    for label, arr in panels:
        if arr.shape != (h, w, 3) or arr.dtype != np.uint8:
            raise ValueError(f"panel {label!r} is {arr.shape} {arr.dtype}, expected ({h}, {w}, 3) uint8")
    n = len(panels)
    fig = np.full((LABEL_HEIGHT + h, n * w + (n - 1) * GAP, 3), 255, np.uint8)
    layout = []
    for i, (label, arr) in enumerate(panels):
        x = i * (w + GAP)
        fig[LABEL_HEIGHT:, x:x + w] = arr
        layout.append({"label": label, "x": x, "y": LABEL_HEIGHT, "width": w, "height": h})
    im, font = Image.fromarray(fig), _font(LABEL_HEIGHT - 8)
    for p in layout:  # text clipped to its own strip: a long label never runs into the next panel
        strip = Image.new("RGB", (p["width"], LABEL_HEIGHT), "white")
        ImageDraw.Draw(strip).text((4, 3), p["label"], fill="black", font=font)
        im.paste(strip, (p["x"], 0))
    return np.asarray(im), layout


def check_target(path, overwrite: bool = False) -> Path:
    """Raise (before any model work) when the figure cannot be written to ``path``."""
    from PIL import Image

    path = Path(path)
    if Image.registered_extensions().get(path.suffix.lower()) != "PNG":
        raise UsageError(f"--side-by-side writes a PNG; got {path.name!r}")
    if path.exists() and not overwrite:
        raise KerasSRError(f"output exists (use --overwrite to replace it): {path}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise KerasSRError(f"output folder does not exist: {folder}")
    return path


def default_output(pixels: np.ndarray, scale: int, source=None, tile: int | None = None,
                   max_memory_mb: float = 256.0) -> tuple[str, np.ndarray, list[str]]:
    """(name, output, notes): what ``keras-sr upscale -f SCALE`` writes for these pixels with no
    ``--model`` (the shipped default of the factor, ``--denoise auto`` where it has a sibling)."""
    from keras_sr.inference import Upscaler
    from keras_sr.inference import strength
    from keras_sr.zoo import default_model

    name, note = default_model(scale)
    notes = [note] if note else []

    def make(m):
        return Upscaler(m, scale, tile=tile, max_memory_mb=max_memory_mb)

    auto = strength.AutoDenoise.for_model(name)
    if auto is None:
        run = make(name)
    else:
        run = auto.get(strength.estimate(pixels, source, step=auto.step).strength, make)
    return name, run(pixels), notes


def side_by_side(source, upscaled, path, label: str = "model", overwrite: bool = False,
                 tile: int | None = None, max_memory_mb: float = 256.0) -> dict:
    """Write ``bicubic | LABEL | DEFAULT`` for the photo ``source`` as a PNG at ``path``.

    ``upscaled`` is the file the model wrote for ``source`` (read back, so the middle panel is
    exactly what the user got); its size fixes the scale. The right panel is the shipped
    default of that scale (:func:`default_output`). Returns ``{"path", "scale", "panels":
    layout, "notes"}``.
    """
    from keras_sr.data.io import write_image
    from keras_sr.data.photo import open_photo

    path = check_target(path, overwrite)
    photo, out = open_photo(source), open_photo(upscaled)
    (h, w), (oh, ow) = photo.pixels.shape[:2], out.pixels.shape[:2]
    scale = oh // h
    if scale < 2 or (oh, ow) != (scale * h, scale * w):
        raise KerasSRError(f"{upscaled} ({ow}x{oh}) is not an integer upscale of {source} ({w}x{h})")
    name, ref, notes = default_output(photo.pixels, scale, source, tile=tile, max_memory_mb=max_memory_mb)
    fig, layout = compose([("bicubic", bicubic(photo.pixels, scale)), (label, rgb8(out.pixels)),
                           (f"{name} (shipped default)", rgb8(ref))])
    write_image(path, fig, overwrite=overwrite, text={TEXT_KEY: json.dumps(layout)})
    return {"path": str(path), "scale": scale, "panels": layout, "notes": notes}
