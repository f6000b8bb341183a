"""TF-Hub-style SavedModels as Keras layers, without making ``tensorflow-hub`` a dependency.

``keras_sr.hub.load(path)`` wraps a SavedModel folder (e.g. ``<export>/saved_model`` from
``keras-sr export``, or any SR model in the TF-Hub format) in ``keras.layers.TFSMLayer`` and
returns a ``keras.Model`` over it. ``tensorflow_hub.load`` works on the same folders when the
optional ``tensorflow-hub`` package is installed (install it with ``--no-deps``: its
``tf-keras`` dependency would pull the full ``tensorflow`` over ``tensorflow-cpu``).
Remote hub handles are not fetched: download the model first.
"""

from __future__ import annotations

from pathlib import Path

from keras_sr._backend import keras, tf
from keras_sr.errors import KerasSRError


def load(path_or_handle, signature: str = "serve", channels: int | None = None):
    """A ``keras.Model`` running ``signature`` of a local SavedModel (``[N, H, W, C]`` float)."""
    p = Path(str(path_or_handle))
    if str(path_or_handle).startswith(("http://", "https://")) or not p.exists():
        raise KerasSRError(f"not a local SavedModel folder: {path_or_handle} (nothing is downloaded)")
    if (p / "saved_model").is_dir() and not (p / "saved_model.pb").exists():
        p = p / "saved_model"
    if not (p / "saved_model.pb").exists():
        raise KerasSRError(f"no saved_model.pb in {p}")
    k = keras()
    loaded = tf().saved_model.load(str(p))
    if signature not in loaded.signatures:
        raise KerasSRError(f"SavedModel has no signature {signature!r}; it has: {', '.join(loaded.signatures)}")
    spec = next(iter(loaded.signatures[signature].structured_input_signature[1].values()))
    layer = k.layers.TFSMLayer(str(p), call_endpoint=signature)
    c = channels or spec.shape[-1]
    dtype = spec.dtype.name
    inputs = k.Input((None, None, c), dtype=dtype, name="image")
    out = layer(inputs)
    if isinstance(out, dict):
        out = next(iter(out.values()))
    return k.Model(inputs, out, name=f"hub_{p.parent.name or p.name}")
