"""Unsharp masking of training targets (Real-ESRGAN's ``USMSharp``, BasicSR ``img_process_util``).

Real-ESRGAN trains its generator's pixel and perceptual losses against *sharpened* HR targets
(``l1_gt_usm``/``percep_gt_usm``; the GAN term sees the plain HR), so the model learns to
produce crisper edges than its training photos. Conventions: RGB ``[N, H, W, C]`` float in
[0, 1]; H, W > ``radius // 2`` (reflect padding).

``sharp = clip(img + weight * (img - blur(img)), 0, 1)``, blended back into ``img`` through a
soft mask ``blur(|img - blur(img)| * 255 > threshold)`` so flat regions stay as they are.
``blur`` is OpenCV's ``getGaussianKernel(radius, 0)`` (odd ``radius``, default 51: sigma
``0.3 * ((radius - 1) / 2 - 1) + 0.8`` = 8.0) applied separably with reflect padding, as
BasicSR's ``filter2D``.
"""

from __future__ import annotations

import numpy as np

from keras_sr._backend import tf


def gaussian_kernel_1d(radius: int = 51, sigma: float = 0.0) -> np.ndarray:
    """OpenCV ``getGaussianKernel(radius, sigma)`` (sigma <= 0: derived from the size), sum 1."""
    if radius % 2 == 0:
        radius += 1
    if sigma <= 0:
        sigma = 0.3 * ((radius - 1) * 0.5 - 1) + 0.8
    x = np.arange(radius, dtype=np.float64) - (radius - 1) / 2
    k = np.exp(-(x**2) / (2 * sigma**2))
    return (k / k.sum()).astype(np.float32)


def _blur(x, k1d):
    t = tf()
    r = k1d.shape[0] // 2
    c = x.shape[-1]
    x = t.pad(x, [[0, 0], [r, r], [r, r], [0, 0]], mode="REFLECT")
    kh = t.constant(np.tile(k1d.reshape(-1, 1, 1, 1), (1, 1, c, 1)))
    kw = t.constant(np.tile(k1d.reshape(1, -1, 1, 1), (1, 1, c, 1)))
    x = t.nn.depthwise_conv2d(x, kh, [1, 1, 1, 1], "VALID")
    return t.nn.depthwise_conv2d(x, kw, [1, 1, 1, 1], "VALID")


def usm_sharp(img, weight: float = 0.5, radius: int = 51, threshold: float = 10.0):
    """Unsharp-masked ``img`` (float ``[N, H, W, C]`` in [0, 1]); a TF op usable in a graph."""
    t = tf()
    img = t.convert_to_tensor(img, t.float32)
    k1d = gaussian_kernel_1d(radius)
    residual = img - _blur(img, k1d)
    mask = t.cast(t.abs(residual) * 255.0 > threshold, t.float32)
    soft = _blur(mask, k1d)
    sharp = t.clip_by_value(img + weight * residual, 0.0, 1.0)
    return soft * sharp + (1.0 - soft) * img
