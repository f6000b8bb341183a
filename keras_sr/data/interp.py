"""Integer-factor upscaling as a fixed-weight convolution + ``depth_to_space``.

Used wherever an interpolation must run inside an exported graph (TFLite builtins only: a
resize with antialias cannot be exported) and, for consistency, by the photo
:class:`~keras_sr.inference.Upscaler`, so the Keras path and the exported end-to-end
signature compute the same thing.

Output pixel ``s*i + p`` (half-pixel centres) reads source position
``u = i + (p + 0.5)/s - 0.5``; each phase ``p`` is a short filter over ``[i-2, i+2]``. The
borders are extended ``SYMMETRIC`` (MATLAB ``imresize`` mirrors; for the 2-tap bilinear this
equals OpenCV's edge clamp). Conventions: NHWC float tensors, any number of channels
(each channel filtered on its own), output ``[N, s*H, s*W, C]``.
"""

from __future__ import annotations

import numpy as np

from keras_sr._backend import tf

RADIUS = 2


def _keys(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    x = np.abs(x)
    return np.where(x <= 1, (a + 2) * x**3 - (a + 3) * x**2 + 1,
                    np.where(x < 2, a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a, 0.0))


def _linear(x: np.ndarray) -> np.ndarray:
    return np.clip(1.0 - np.abs(x), 0.0, None)


KERNELS = {"bicubic": _keys, "bilinear": _linear}


def phase_weights(scale: int, kernel: str = "bicubic") -> np.ndarray:
    """``[scale, 2*RADIUS+1]`` 1-D weights: phase ``p`` x source offset ``-2..2``."""
    fn = KERNELS[kernel]
    offsets = np.arange(-RADIUS, RADIUS + 1)
    w = np.zeros((scale, offsets.size))
    for p in range(scale):
        u = (p + 0.5) / scale - 0.5
        w[p] = fn(offsets - u)
        w[p] /= w[p].sum()
    return w


def upscale_kernel(scale: int, channels: int, kernel: str = "bicubic") -> np.ndarray:
    """Conv kernel ``[5, 5, C, C*s*s]`` whose output channels are ordered for depth_to_space."""
    w = phase_weights(scale, kernel)
    k = 2 * RADIUS + 1
    out = np.zeros((k, k, channels, channels * scale * scale), np.float32)
    for py in range(scale):
        for px in range(scale):
            w2 = np.outer(w[py], w[px])
            for c in range(channels):
                out[:, :, c, (py * scale + px) * channels + c] = w2
    return out


def upscale(x, scale: int, kernel: str = "bicubic"):
    """``[N, H, W, C]`` -> ``[N, s*H, s*W, C]`` with the polyphase filter.

    NumPy input is padded with NumPy (any size, even 1x1); tensors with ``tf.pad``
    (SYMMETRIC, which needs H, W >= 2: the exported graphs' minimum input size).
    """
    t = tf()
    pads = [[0, 0], [RADIUS, RADIUS], [RADIUS, RADIUS], [0, 0]]
    if isinstance(x, np.ndarray):
        padded = t.constant(np.pad(x.astype(np.float32), pads, mode="symmetric"))
    else:
        padded = t.pad(t.cast(x, t.float32), pads, mode="SYMMETRIC")
    channels = int(padded.shape[-1])
    w = t.constant(upscale_kernel(scale, channels, kernel))
    y = t.nn.conv2d(padded, w, strides=1, padding="VALID")
    return t.nn.depth_to_space(y, scale)


def kernel_for(degradation: str) -> str:
    """The interpolation a degradation pre-upscales with."""
    return "bilinear" if degradation == "bilinear-legacy" else "bicubic"
