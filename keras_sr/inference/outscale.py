"""A model at its own scale, resampled to a smaller factor (Real-ESRGAN's ``--outscale``).

:class:`Outscaled` runs an LR-input model of scale ``T`` (an x4 teacher) and resizes its output
to ``outscale`` x the input with antialiased Lanczos-3 -- exactly
:func:`keras_sr.training.distill.resample`, the filter ``keras-sr distill`` uses when it builds an
x2/x3 student's pool from an x4 teacher. So ``keras-sr evaluate --ladder -m teacher.keras
--outscale 2`` scores what the x2 student was taught. Everything else (colour handling, tiling,
padding, clipping, dtypes) is :class:`~keras_sr.inference.Upscaler`'s: only the model stage
(:meth:`Outscaled.sr_channels`) differs, and ``info.scale`` reads ``outscale`` so evaluation
treats the wrapper as an x``outscale`` model. Tiles equal the untiled image: an integer LR offset
``y`` maps to ``T y`` model pixels and ``outscale y`` output pixels, so the resampling grid of a
tile is the image's, and :meth:`~keras_sr.inference.StagedUpscaler.context` measures the
Lanczos reach along with the model's.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from keras_sr.errors import KerasSRError, UsageError
from keras_sr.inference import SUPPORTED_SCALES, Upscaler


class Outscaled(Upscaler):
    """``model`` (anything :func:`keras_sr.load_model` takes, LR input) at its own scale ``T``,
    its output resampled to ``outscale`` x the input (``outscale < T``; antialiased Lanczos-3,
    clipped to [0, 1]). ``native_scale`` is ``T``; ``scale`` and ``info.scale`` are ``outscale``.
    Other keyword arguments as :class:`~keras_sr.inference.Upscaler`."""

    def __init__(self, model, outscale: int, **kwargs):
        super().__init__(model, None, **kwargs)
        native = self.scale
        if self.info.input_mode != "lr":
            raise UsageError("--outscale is for models that upscale by a fixed factor; a pre-upsampling "
                             "model runs at any --factor")
        if outscale not in SUPPORTED_SCALES:
            raise UsageError(f"--outscale must be one of {SUPPORTED_SCALES}, got {outscale}")
        if outscale > native:
            raise UsageError(f"--outscale {outscale} is above the model's x{native}: it only resamples "
                             "the model's output down")
        self.native_scale = native
        self.scale = int(outscale)
        self.info = dataclasses.replace(self.info, scale=int(outscale))

    @property
    def note(self) -> str:
        """What the wrapper does, for labels: ``x4 -> x2 Lanczos``."""
        return f"x{self.native_scale} -> x{self.scale} Lanczos"

    def sr_channels(self, lr: np.ndarray) -> np.ndarray:
        """``[(N,) h, w, C]`` -> the model's ``[(N,) T h, T w, C]`` output, clipped to [0, 1] and
        resampled to ``[(N,) s h, s w, C]`` by :func:`keras_sr.training.distill.resample` (the
        teacher pool's order: clip, then resample)."""
        from keras_sr.training.distill import resample

        out = self.run_model(lr)
        h, w = lr.shape[-3], lr.shape[-2]
        if out.shape[-3:-1] != (h * self.native_scale, w * self.native_scale):
            raise KerasSRError(f"model output {out.shape[-3:-1]} != expected "
                               f"{(h * self.native_scale, w * self.native_scale)}")
        batch = np.clip(out[None] if out.ndim == 3 else out, 0.0, 1.0)  # as distill's pool: clip, resample
        res = np.asarray(resample(batch, (h * self.scale, w * self.scale)))
        return res[0] if out.ndim == 3 else res

    def bytes_per_lr_pixel(self) -> float:
        """As :class:`~keras_sr.inference.Upscaler`'s at the model's own scale, plus the
        resampled output."""
        s, self.scale = self.scale, self.native_scale
        try:
            return super().bytes_per_lr_pixel() + 4.0 * 4 * s**2
        finally:
            self.scale = s


def upscaler_at(model, outscale: int, **kwargs) -> Upscaler:
    """An :class:`~keras_sr.inference.Upscaler` for ``model`` (anything :func:`keras_sr.load_model`
    takes) at factor ``outscale``: an LR-input model of that scale as it is, one of a larger scale
    as :class:`Outscaled`; one of a smaller scale is a ``UsageError``. A pre-upsampling model runs
    at ``outscale`` directly (it takes any factor)."""
    from keras_sr.models.loading import load_model

    net = load_model(model)
    if net.sr_info.input_mode != "lr":
        return Upscaler(net, outscale, **kwargs)
    if outscale == net.sr_info.scale:
        return Upscaler(net, outscale, **kwargs)
    return Outscaled(net, outscale, **kwargs)
