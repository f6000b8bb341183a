"""PyTorch state dict (NumPy arrays) -> weights of the registry builder's Keras model.

Exact, layer by layer: ``Conv2d`` OIHW -> ``Conv2D`` HWIO, per-channel ``PReLU`` ``(C,)`` ->
``(1, 1, C)`` (``shared_axes=[1, 2]``), and two channel permutations where the Keras graph
orders channels differently (see :mod:`keras_sr.models.realesr`):

- SRVGG's last conv feeds ``PixelShuffle`` (channel ``c*s*s + p``) in PyTorch and
  ``depth_to_space`` (channel ``p*C + c``) in Keras, with ``p = i*s + j``: its output
  channels are reordered;
- the x2/x1 RRDBNet's ``conv_first`` reads ``pixel_unshuffle`` (``c*f*f + p``) in PyTorch and
  ``space_to_depth`` (``p*C + c``) in Keras: its input channels are reordered.

Every key and shape is checked before a single weight is copied: missing keys, keys that the
layout does not use, and shapes that do not fit the inferred hyperparameters each give a
one-line :class:`~keras_sr.errors.ModelLoadError`.
"""

from __future__ import annotations

import numpy as np

from keras_sr.errors import ModelLoadError
from keras_sr.importers.layouts import Layout


def shuffle_perm(channels: int, s: int) -> np.ndarray:
    """Index map from ``depth_to_space``/``space_to_depth`` channel order (``p*C + c``) to
    PyTorch's ``PixelShuffle``/``pixel_unshuffle`` order (``c*s*s + p``)."""
    k = np.arange(channels * s * s)
    return (k % channels) * s * s + k // channels


def build(layout: Layout, hyper: dict):
    """The registry builder's (untrained) model for ``hyper``."""
    from keras_sr.models import build_model

    kw = {k: v for k, v in hyper.items() if k not in ("scale", "channels")}
    return build_model(layout.architecture, hyper["scale"], channels=hyper["channels"], **kw)


def _expected(layer) -> list[tuple[str, tuple]]:
    """(suffix, PyTorch shape) of each weight of a Keras layer, in ``get_weights`` order."""
    out = []
    for w in layer.weights:
        shape = tuple(int(s) for s in w.shape)
        if len(shape) == 4:  # conv kernel HWIO -> OIHW
            out.append(("weight", (shape[3], shape[2], shape[0], shape[1])))
        elif len(shape) == 3:  # PReLU alpha (1, 1, C) -> (C,)
            out.append(("weight", (shape[2],)))
        else:
            out.append(("bias", shape))
    return out


def to_keras(sd: dict, layout: Layout, hyper: dict, source: str, model=None):
    """``(model, {layer name: [keras arrays]})``; ``model`` is built when not given. Nothing is
    assigned yet (see :func:`assign`)."""
    model = model if model is not None else build(layout, hyper)
    table = layout.expand(hyper)
    weighted = {layer.name for layer in model.layers if layer.weights}
    if weighted != set(table):  # a table that does not cover the builder is a bug, not bad input
        raise AssertionError(f"layout {layout.name} table != {model.name} layers: "
                             f"{sorted(weighted ^ set(table))[:6]}")
    plan, missing, bad = {}, [], []
    used = set()
    for name, prefix in table.items():
        layer = model.get_layer(name)
        entries = []
        for suffix, shape in _expected(layer):
            key = f"{prefix}.{suffix}"
            used.add(key)
            if key not in sd:
                missing.append(key)
                continue
            v = sd[key]
            got = tuple(v.shape) if isinstance(v, np.ndarray) else type(v).__name__
            if got != shape:
                bad.append(f"{key} is {got}, expected {shape}")
            entries.append(key)
        plan[name] = entries
    desc = f"{layout.architecture} x{hyper['scale']} ({layout.name}, " + \
        ", ".join(f"{k} {v}" for k, v in hyper.items() if k not in ("scale", "channels")) + ")"
    if missing:
        raise ModelLoadError(f"{source}: {len(missing)} key(s) missing for {desc}: {', '.join(missing[:4])}"
                             f"{', ...' if len(missing) > 4 else ''}")
    if bad:
        raise ModelLoadError(f"{source}: {len(bad)} shape(s) do not fit {desc}: {'; '.join(bad[:3])}"
                             f"{'; ...' if len(bad) > 3 else ''}")
    extra = [k for k in sd if k not in used]
    if extra:
        raise ModelLoadError(f"{source}: {len(extra)} key(s) not part of {desc}: {', '.join(map(str, extra[:4]))}"
                             f"{', ...' if len(extra) > 4 else ''}")
    weights = {}
    for name, keys in plan.items():
        arrays = []
        for key in keys:
            v = np.asarray(sd[key], np.float32)
            if v.ndim == 4:
                v = v.transpose(2, 3, 1, 0)
            elif v.ndim == 1 and key.endswith(".weight"):
                v = v.reshape(1, 1, -1)
            arrays.append(v)
        weights[name] = _permute(layout, hyper, name, arrays)
    return model, weights


def _permute(layout: Layout, hyper: dict, name: str, arrays: list) -> list:
    c, s = hyper["channels"], hyper["scale"]
    if layout.architecture == "srvgg" and name == f"conv_last_x{s}" and s > 1:
        perm = shuffle_perm(c, s)
        return [arrays[0][..., perm]] + [b[perm] for b in arrays[1:]]
    fold = {4: 1, 2: 2, 1: 4}.get(s, 1)
    if layout.architecture == "rrdbnet" and name == "conv_first" and fold > 1:
        return [arrays[0][:, :, shuffle_perm(c, fold), :]] + arrays[1:]
    return arrays


def assign(model, weights: dict):
    for name, arrays in weights.items():
        model.get_layer(name).set_weights(arrays)
    return model


def blend(parts: list[tuple[dict, float]]) -> dict:
    """Weighted sum of converted weight dicts of one architecture and shape set
    (Real-ESRGAN's ``dni``: ``sum_i w_i * theta_i``)."""
    first = parts[0][0]
    out = {}
    for name, arrays in first.items():
        out[name] = [sum(np.float64(w) * p[name][i].astype(np.float64) for p, w in parts).astype(np.float32)
                     for i in range(len(arrays))]
    return out
