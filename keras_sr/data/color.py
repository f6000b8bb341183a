"""Colour conversions used by the models and the metrics.

Conventions (all functions): input and output are float arrays or tensors in
**[0, 1]** with channels last (``[..., 3]`` RGB, or ``[..., 1]`` Y). They accept
NumPy arrays and TensorFlow tensors (graph or eager) alike.

Two YCbCr flavours exist in the SR literature and they are *not* interchangeable:

``"y-bt601"``  MATLAB ``rgb2ycbcr`` (ITU-R BT.601, studio swing): Y in [16, 235]/255,
               Cb/Cr in [16, 240]/255. The paper protocol (SRCNN, FSRCNN, ...).
``"y-opencv"`` OpenCV ``COLOR_RGB2YCrCb`` (full range, JPEG/JFIF): Y in [0, 255]/255,
               Cb/Cr centred on 128/255. What SRCNN-keras trained on.

``"rgb"`` means the model works on the three RGB channels directly.
"""

from __future__ import annotations

import numpy as np

COLOR_SPACES = ("y-bt601", "y-opencv", "rgb")

# Rows: Y, Cb, Cr; columns: R, G, B (inputs in [0, 1], outputs in [0, 1]).
_BT601 = np.array(
    [[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]]
) / 255.0
_BT601_OFFSET = np.array([16.0, 128.0, 128.0]) / 255.0
_OPENCV = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
)
_OPENCV_OFFSET = np.array([0.0, 128.0, 128.0]) / 255.0

_MATRICES = {"y-bt601": (_BT601, _BT601_OFFSET), "y-opencv": (_OPENCV, _OPENCV_OFFSET)}


def _check(space: str) -> None:
    if space not in _MATRICES:
        raise ValueError(f"unknown YCbCr flavour {space!r}; expected one of {sorted(_MATRICES)}")


def _stack(channels, like):
    if isinstance(like, np.ndarray):
        return np.concatenate(channels, axis=-1)
    from keras_sr._backend import tf

    return tf().concat(channels, axis=-1)


def _affine(x, matrix, offset):
    """``out[..., i] = sum_j matrix[i, j] * x[..., j] + offset[i]`` for NumPy or TF input."""
    outs = []
    for i in range(matrix.shape[0]):
        c = x[..., 0:1] * float(matrix[i, 0]) + x[..., 1:2] * float(matrix[i, 1])
        outs.append(c + x[..., 2:3] * float(matrix[i, 2]) + float(offset[i]))
    return outs


# Name of the colour-conversion ops in traced graphs: the int8 photo export keeps them float.
GRAPH_NAME = "keras_sr_color"


def _is_4d_tensor(x) -> bool:
    return not isinstance(x, np.ndarray) and getattr(x, "shape", None) is not None and len(x.shape) == 4


def _affine_conv(x, matrix, offset):
    """The same affine map on a 4-D ``[N, H, W, 3]`` tensor as one 1x1 convolution with bias:
    a single CONV_2D in TFLite (which XNNPACK runs in one pass) instead of per-channel slices,
    multiplies and adds (~20 ops, each a pass over the image)."""
    from keras_sr._backend import tf

    t = tf()
    x = t.cast(x, t.float32)
    w = t.constant(np.asarray(matrix, np.float32).T[None, None])
    y = t.nn.conv2d(x, w, strides=1, padding="VALID", name=f"{GRAPH_NAME}_conv")
    return t.nn.bias_add(y, np.asarray(offset, np.float32), name=GRAPH_NAME)


def rgb_to_y(rgb, space: str = "y-bt601"):
    """Luma Y (``[..., 1]``, in [0, 1]) of RGB in [0, 1] for the given YCbCr flavour."""
    _check(space)
    m, off = _MATRICES[space]
    return _affine(rgb, m[:1], off[:1])[0]


def rgb_to_ycbcr(rgb, space: str = "y-bt601"):
    """YCbCr (``[..., 3]``, in [0, 1]) of RGB in [0, 1]; see module docstring for flavours."""
    _check(space)
    m, off = _MATRICES[space]
    if _is_4d_tensor(rgb):
        return _affine_conv(rgb, m, off)
    return _stack(_affine(rgb, m, off), rgb)


def ycbcr_to_rgb(ycbcr, space: str = "y-bt601"):
    """Inverse of :func:`rgb_to_ycbcr` (no clipping: callers clip after rounding)."""
    _check(space)
    m, off = _MATRICES[space]
    inv = np.linalg.inv(m)
    if _is_4d_tensor(ycbcr):
        return _affine_conv(ycbcr, inv, -inv @ off)
    centred = _stack([ycbcr[..., i : i + 1] - float(off[i]) for i in range(3)], ycbcr)
    return _stack(_affine(centred, inv, np.zeros(3)), ycbcr)


def quantize(x):
    """Round [0, 1] values to the 8-bit grid (as saving to an 8-bit file would), clipped."""
    if isinstance(x, np.ndarray):
        return np.clip(np.round(x * 255.0), 0, 255) / 255.0
    from keras_sr._backend import tf

    t = tf()
    return t.clip_by_value(t.round(x * 255.0), 0.0, 255.0) / 255.0


def y_of_uint8(image: np.ndarray, space: str = "y-bt601") -> np.ndarray:
    """8-bit Y of an 8-bit RGB or gray image, as MATLAB ``rgb2ycbcr``/OpenCV produce it.

    Gray images are returned as they are (their gray value *is* the luma that the
    published tables score, e.g. Set14 ``bridge``). Output: float64 in [0, 255],
    rounded to integers, shape ``[H, W]``.
    """
    if image.ndim == 2:
        return image.astype(np.float64)
    y = rgb_to_y(image[..., :3].astype(np.float64) / 255.0, space)[..., 0]
    return np.clip(np.round(y * 255.0), 0, 255)
