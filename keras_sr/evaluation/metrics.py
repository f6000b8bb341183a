"""Image-quality metrics, each stating its convention.

All functions take two arrays of the same shape, ``[H, W]`` or ``[H, W, C]``, on the scale
given by ``data_range`` (255 for 8-bit values), and ``shave``: pixels removed from every
border before scoring (the paper protocol shaves ``scale`` pixels). Which channel is
scored (Y of MATLAB ``rgb2ycbcr`` in the paper protocol) is the caller's choice; see
:mod:`keras_sr.evaluation.protocol`.
"""

from __future__ import annotations

import numpy as np

from keras_sr._backend import tf


def _prepare(a, b, shave: int):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {a.shape} vs {b.shape}")
    if shave:
        if a.shape[0] <= 2 * shave or a.shape[1] <= 2 * shave:
            raise ValueError(f"image {a.shape[:2]} is too small for a {shave}-px border shave")
        a = a[shave:-shave, shave:-shave]
        b = b[shave:-shave, shave:-shave]
    return a, b


def mse(a, b, shave: int = 0) -> float:
    """Mean squared error over all pixels and channels (in the inputs' units)."""
    a, b = _prepare(a, b, shave)
    return float(np.mean((a - b) ** 2))


def psnr(a, b, data_range: float = 255.0, shave: int = 0) -> float:
    """PSNR in dB: ``10 log10(data_range^2 / MSE)`` over the whole (shaved) image.

    Identical images give ``inf``. Float64 arithmetic; no rounding is applied here.
    """
    err = mse(a, b, shave)
    return float("inf") if err == 0 else float(10.0 * np.log10(data_range**2 / err))


def ssim(a, b, data_range: float = 255.0, shave: int = 0) -> float:
    """Single-scale SSIM (Wang et al. 2004): Gaussian window 11x11, sigma 1.5, K1 0.01,
    K2 0.03, 'valid' filtering, mean over the map and over channels.

    Same definition as the MATLAB ``ssim_index`` used by the SR tables; computed with
    ``tf.image.ssim``.
    """
    a, b = _prepare(a, b, shave)
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    t = tf()
    val = t.image.ssim(t.constant(a, t.float64), t.constant(b, t.float64), max_val=data_range,
                       filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03)
    return float(val)


def color_bias(a, b, shave: int = 0) -> float:
    """Colour bias of ``b`` against the reference ``a``: the mean over channels of
    ``|mean(b_c - a_c)|``, each channel's mean error over the whole (shaved) image, in the
    inputs' units (8-bit levels for 0..255 data; RGB ``[H, W, 3]`` in the evaluation, where a
    set's value is the mean over its images). A cast that adds 1.5 levels to R and B and takes
    1.5 from G scores 1.5; zero-mean noise scores ~0, however strong. ``[H, W]``: one channel.
    """
    a, b = _prepare(a, b, shave)
    diff = (b - a).reshape(-1, 1 if a.ndim == 2 else a.shape[-1])
    return float(np.mean(np.abs(diff.mean(axis=0))))


def psnr_metric(y_true, y_pred):
    """Keras training metric: per-sample PSNR (dB) of tensors in [0, 1], prediction clipped.

    Used as ``metrics=[psnr_metric]`` (reported as ``psnr`` / ``val_psnr``).
    """
    t = tf()
    y_pred = t.clip_by_value(t.cast(y_pred, t.float32), 0.0, 1.0)
    err = t.reduce_mean(t.square(t.cast(y_true, t.float32) - y_pred), axis=[1, 2, 3])
    return 10.0 * t.math.log(1.0 / t.maximum(err, 1e-10)) / t.math.log(10.0)


psnr_metric.__name__ = "psnr"
