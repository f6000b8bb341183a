"""SRCNN (Dong et al. 2014/2016) and the MarkPrecursor SRCNN-keras mirror.

Conventions: input ``[N, H, W, C]`` (C = 1: luma Y in [0, 1]) that has *already been
upscaled* to the target size (pre-upsampling model); output the restored Y in [0, 1].
With 'valid' padding the output is smaller than the input by :func:`border` pixels on
each side; the inference code pads the input so users get exactly ``s x`` the LR size.
"""

from __future__ import annotations

from typing import Sequence

from keras_sr._backend import keras


def _paddings(padding, n: int) -> list[str]:
    """'mirror' = SRCNN-keras: first and last layer 'valid', the middle ones 'same'."""
    if padding == "mirror":
        return ["valid"] + ["same"] * (n - 2) + ["valid"]
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"padding must be 'mirror', 'valid', 'same' or a list, got {padding!r}")
        return [padding] * n
    padding = list(padding)
    if len(padding) != n:
        raise ValueError(f"got {len(padding)} paddings for {n} layers")
    return padding


def srcnn(
    filters: Sequence[int] = (128, 64),
    kernel_sizes: Sequence[int] = (9, 3, 5),
    padding="mirror",
    channels: int = 1,
    name: str = "srcnn",
):
    """SRCNN: ``len(kernel_sizes)`` conv layers, ReLU after all but the last (linear).

    Defaults = SRCNN-keras HEAD: Conv 128 9x9 valid ReLU -> 64 3x3 same ReLU -> 1 5x5 valid
    (85,889 params, output 12 px smaller). ``filters`` are the hidden widths
    (``len(kernel_sizes) - 1`` of them); ``padding`` is 'mirror', 'valid', 'same' or a
    per-layer list. Deeper variants: pass more filters/kernels.
    """
    keras_ = keras()
    layers = keras_.layers
    if len(filters) != len(kernel_sizes) - 1:
        raise ValueError("need len(filters) == len(kernel_sizes) - 1")
    pads = _paddings(padding, len(kernel_sizes))
    x = inputs = keras_.Input((None, None, channels), name="image")
    widths = list(filters) + [channels]
    for i, (f, k, p) in enumerate(zip(widths, kernel_sizes, pads)):
        last = i == len(kernel_sizes) - 1
        x = layers.Conv2D(f, k, padding=p, activation=None if last else "relu",
                          kernel_initializer="glorot_uniform", name=f"conv{i + 1}")(x)
    return keras_.Model(inputs, x, name=name)


def srcnn_915(**kwargs):
    """SRCNN-keras's first version: 128 9x9 -> 64 1x1 -> 1 5x5, all 'valid'."""
    kwargs.setdefault("name", "srcnn_915")
    return srcnn(filters=(128, 64), kernel_sizes=(9, 1, 5), **kwargs)


def srcnn_955(**kwargs):
    """The TPAMI 2016 paper's 9-5-5 network, 64/32/1 filters ('valid' by default)."""
    kwargs.setdefault("name", "srcnn_955")
    kwargs.setdefault("padding", "valid")
    return srcnn(filters=(64, 32), kernel_sizes=(9, 5, 5), **kwargs)


def srcnn_deep(**kwargs):
    """A 6-layer variant of the kind users build on SRCNN-keras (128-64-64-32-32-1)."""
    kwargs.setdefault("name", "srcnn_deep")
    return srcnn(filters=(128, 64, 64, 32, 32), kernel_sizes=(9, 3, 3, 3, 3, 5), **kwargs)
