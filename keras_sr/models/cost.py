"""Compute cost of a model: multiply-adds per output pixel (convolutions and dense layers)."""

from __future__ import annotations

import numpy as np


def macs_per_output_pixel(model, probe: int = 64) -> float:
    """Multiply-adds per output pixel, counted layer by layer on a ``probe`` x ``probe`` input
    (Conv2D: out_pixels * kh * kw * cin * cout; Conv2DTranspose: in_pixels * kh * kw * cin *
    cout; Dense: in * out). Interpolation outside the model is not counted."""
    from keras_sr._backend import keras

    k = keras()
    channels = model.input_shape[-1]
    x = np.zeros((1, probe, probe, channels), np.float32)
    import warnings

    probes = k.Model(model.inputs, [layer.output for layer in model.layers[1:]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs = probes(x)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    total = 0.0
    for layer, out in zip(model.layers[1:], outs):
        shape = tuple(out.shape)
        if isinstance(layer, k.layers.Conv2DTranspose):
            kh, kw, cout, cin = layer.kernel.shape
            in_shape = layer.input.shape
            total += probe_pixels(in_shape, probe, model) * kh * kw * cin * cout
        elif isinstance(layer, k.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            total += shape[1] * shape[2] * kh * kw * cin * cout
        elif isinstance(layer, k.layers.Dense):
            total += np.prod(layer.kernel.shape)
    final = tuple(outs[-1].shape)
    return float(total / (final[1] * final[2]))


def probe_pixels(shape, probe, model) -> int:
    """Pixels of a layer input (its spatial dims are unknown symbolically: recompute)."""
    h, w = shape[1], shape[2]
    if h is None or w is None:
        return probe * probe  # LR-space layer inputs are probe-sized in the models here
    return int(h * w)


def activation_elements_per_pixel(model, probe: int = 64) -> float:
    """Largest layer output, in elements per *input* pixel, from the layers' output shapes on a
    ``probe`` x ``probe`` input (symbolic shape inference: nothing is computed). RRDBNet x4 gives
    1024 (64 channels at 16x the LR pixels), SRVGG x4 64, FSRCNN 56: what sizes tiles for memory."""
    from keras_sr._backend import keras

    k = keras()
    probes = k.Model(model.inputs, [layer.output for layer in model.layers[1:]])
    shapes = probes.compute_output_shape((1, probe, probe, model.input_shape[-1]))
    shapes = shapes if isinstance(shapes, (list, tuple)) and isinstance(shapes[0], (list, tuple)) else [shapes]
    return float(max(np.prod([d for d in s[1:]]) for s in shapes) / (probe * probe))
