"""Evaluation protocols: how HR test images become model inputs and how outputs are scored.

``paper`` (default; Dong et al., and every published SR table)
    HR mod-cropped to a multiple of the scale; HR Y = MATLAB ``rgb2ycbcr`` of the 8-bit RGB
    (BT.601, 16..235, rounded to 8 bit; gray images use their gray value); LR = bicubic
    ``imresize(Y, 1/s)`` in float (no 8-bit rounding, as SRCNN's ``demo_SR.m``); the
    bicubic baseline / pre-upsampled input = ``imresize(LR, s)``; outputs rounded to 8 bit;
    ``s`` pixels shaved from every border; PSNR (data range 255) and SSIM on Y.
Overrides: score on ``rgb`` (all three channels of the 8-bit RGB outputs; LR stored as
8-bit RGB) or the other Y flavour, and any border shave (``get_protocol(name, color, shave)``).
``degradation="realworld"`` (with ``seed``, ``params``): the mod-cropped 8-bit HR photo is
degraded by :mod:`keras_sr.data.realworld` (each image from a seed of (``seed``, file name):
the same LR every run), the LR is 8-bit; models get it (Y models: its Y), the baseline is its
bicubic upscaling; scoring as the protocol says. ``degradation="light"`` likewise, with
:meth:`~keras_sr.data.realworld.RealWorldParams.light` (phone/web photos).
``srcnn-keras`` (legacy, to reproduce SRCNN-keras's own numbers)
    no mod-crop; Y of OpenCV YCrCb (full range); ``bilinear-legacy`` down/up on 8-bit data;
    output x255, clipped and *truncated* to 8 bit; 6 px cropped from every border.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from keras_sr.errors import UsageError


@dataclass(frozen=True)
class Protocol:
    name: str
    color_space: str  # "y-bt601", "y-opencv" or "rgb"
    degradation: str
    modcrop: bool
    shave: int | None  # None: shave = scale
    quantize_lr: bool
    quantize_upscaled: bool
    output_rounding: str  # "round" or "truncate"
    seed: int = 0  # stochastic degradations (realworld): per-image seeds derive from it
    params: object = None  # realworld/light: RealWorldParams (None = the degradation's own)

    def shave_for(self, scale: int) -> int:
        return scale if self.shave is None else self.shave

    def to_uint8_grid(self, x01: np.ndarray) -> np.ndarray:
        """[0,1] float -> values on the 0..255 integer grid (float64), per the protocol."""
        v = np.clip(np.asarray(x01, np.float64) * 255.0, 0.0, 255.0)
        return np.floor(v) if self.output_rounding == "truncate" else np.round(v)


PROTOCOLS = {
    "paper": Protocol("paper", "y-bt601", "bicubic", modcrop=True, shave=None, quantize_lr=False,
                      quantize_upscaled=False, output_rounding="round"),
    "srcnn-keras": Protocol("srcnn-keras", "y-opencv", "bilinear-legacy", modcrop=False, shave=6,
                            quantize_lr=True, quantize_upscaled=True, output_rounding="truncate"),
}


def get_protocol(name: str, color: str | None = None, shave: int | None = None,
                 degradation: str | None = None, seed: int = 0, params=None) -> Protocol:
    """A named protocol, optionally scored in another colour space (``rgb``, ``y-bt601``,
    ``y-opencv``), with another border shave (``0`` = none) or another degradation (a
    stochastic one with ``seed`` and ``params``)."""
    from dataclasses import replace

    try:
        proto = PROTOCOLS[name]
    except KeyError:
        raise UsageError(f"unknown protocol {name!r}; known: {', '.join(PROTOCOLS)}") from None
    if color is not None:
        if color not in ("rgb", "y-bt601", "y-opencv"):
            raise UsageError(f"unknown colour space {color!r} (rgb, y-bt601, y-opencv)")
        proto = replace(proto, name=f"{proto.name}+{color}", color_space=color)
    if shave is not None:
        if shave < 0:
            raise UsageError(f"shave must be >= 0, got {shave}")
        proto = replace(proto, name=f"{proto.name}+shave{shave}", shave=shave)
    if degradation is not None and degradation != proto.degradation:
        from keras_sr.data.degradations import get_degradation

        deg = get_degradation(degradation)
        tag = f"+{degradation}" + (f"-seed{seed}" if deg.stochastic else "")
        proto = replace(proto, name=f"{proto.name}{tag}", degradation=degradation, seed=int(seed), params=params)
    elif params is not None:
        raise UsageError("degradation parameters need --degradation realworld or light")
    return proto


def modcrop(image: np.ndarray, scale: int) -> np.ndarray:
    """Crop the bottom/right so height and width are multiples of ``scale``."""
    h, w = image.shape[:2]
    return image[: h - h % scale, : w - w % scale]
