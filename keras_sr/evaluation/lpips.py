"""LPIPS v0.1 (Zhang et al. 2018) and the torchvision feature networks behind it, in Keras.

Weights come from local ``.npz`` files (never downloaded): torchvision AlexNet / VGG16
``features`` as HWIO kernels plus the 5 LPIPS linear heads (see
``../shared/weights/perceptual/PROVENANCE.md``). Looked up, in order: the ``weights``
argument, ``$KERAS_SR_WEIGHTS/<file>``, ``<cache>/weights/<file>`` (``$KERAS_SR_CACHE`` or
``~/.cache/keras_sr``).

Convention: :func:`lpips` takes RGB images in **[0, 1]** (``[H, W, 3]`` or ``[N, H, W, 3]``,
any size, no resizing), maps them to [-1, 1], applies the LPIPS scaling layer, and returns
the distance (lower = more similar) per image. Scored on the full image, no border shave.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from keras_sr._backend import keras
from keras_sr.errors import KerasSRError

FILES = {"alex": "lpips_alex_v0.1.npz", "vgg": "lpips_vgg16_v0.1.npz"}
VGG16_LAYERS = [("conv1_1", 64), ("conv1_2", 64), "pool", ("conv2_1", 128), ("conv2_2", 128), "pool",
                ("conv3_1", 256), ("conv3_2", 256), ("conv3_3", 256), "pool",
                ("conv4_1", 512), ("conv4_2", 512), ("conv4_3", 512), "pool",
                ("conv5_1", 512), ("conv5_2", 512), ("conv5_3", 512)]
VGG16_TAPS = ("conv1_2", "conv2_2", "conv3_3", "conv4_3", "conv5_3")


def find_weights(net: str = "alex", weights=None) -> Path:
    """Path of the npz for ``net``; a clear error says where it was looked for."""
    if net not in FILES:
        raise KerasSRError(f"unknown LPIPS network {net!r}; known: {', '.join(FILES)}")
    if weights:
        p = Path(weights)
        if not p.exists():
            raise KerasSRError(f"LPIPS weight file not found: {p}")
        return p
    from keras_sr.data.samples import cache_dir

    candidates = []
    if os.environ.get("KERAS_SR_WEIGHTS"):
        candidates.append(Path(os.environ["KERAS_SR_WEIGHTS"]) / FILES[net])
    candidates.append(cache_dir() / "weights" / FILES[net])
    for c in candidates:
        if c.exists():
            return c
    raise KerasSRError(f"LPIPS weights {FILES[net]} not found (looked in "
                       f"{', '.join(str(c.parent) for c in candidates)}); pass --lpips-weights PATH "
                       "or copy the file there (nothing is downloaded)")


def _load_npz(path: Path) -> dict:
    """The file's arrays, read once per process (LPIPS-VGG, the VGG content loss and the LPIPS
    loss term share the 59 MB VGG16 file); callers must not modify them."""
    return _read_npz(str(Path(path).resolve()))


@lru_cache(maxsize=4)
def _read_npz(path: str) -> dict:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise KerasSRError(f"not a readable weight file: {path} ({exc})") from None


def _conv(arrays, name, **kwargs):
    k = keras()
    kernel, bias = arrays[f"features/{name}/kernel"], arrays[f"features/{name}/bias"]
    layer = k.layers.Conv2D(kernel.shape[-1], kernel.shape[:2], activation="relu", name=name, **kwargs)
    return layer, [kernel, bias]


def _check_shapes(layer, weights, path):
    expected = [tuple(w.shape) for w in layer.weights]
    if expected != [tuple(w.shape) for w in weights]:
        raise KerasSRError(f"{path}: layer {layer.name} expects {expected}, file has "
                           f"{[tuple(w.shape) for w in weights]}")
    layer.set_weights(weights)


def feature_network(net: str = "alex", weights=None):
    """The backbone as a ``keras.Model``: input ``[N, H, W, 3]`` *already normalised*,
    outputs the 5 LPIPS taps (post-ReLU). Also returns the raw arrays (heads, scaling)."""
    path = find_weights(net, weights)
    arrays = _load_npz(path)
    k = keras()
    L = k.layers
    x = inputs = k.Input((None, None, 3), name="rgb_normalised")
    layers, taps = [], []
    try:
        if net == "alex":
            # torchvision AlexNet: conv1 11x11 stride 4 *pad 2* (not Keras "same")
            spec = [("conv1", dict(strides=4, padding="valid"), 2, True), ("conv2", dict(padding="same"), 0, True),
                    ("conv3", dict(padding="same"), 0, False), ("conv4", dict(padding="same"), 0, False),
                    ("conv5", dict(padding="same"), 0, False)]
            for name, kw, pad, pool in spec:
                if pad:
                    x = L.ZeroPadding2D(pad)(x)
                layer, w = _conv(arrays, name, **kw)
                x = layer(x)
                layers.append((layer, w))
                taps.append(x)
                if pool:
                    x = L.MaxPooling2D(3, 2, padding="valid")(x)
        else:
            for item in VGG16_LAYERS:
                if item == "pool":
                    x = L.MaxPooling2D(2, 2, padding="valid")(x)
                    continue
                layer, w = _conv(arrays, item[0], padding="same")
                x = layer(x)
                layers.append((layer, w))
                if item[0] in VGG16_TAPS:
                    taps.append(x)
    except KeyError as exc:
        raise KerasSRError(f"{path}: missing array {exc} (not an LPIPS {net} weight file?)") from None
    model = k.Model(inputs, taps, name=f"{net}_features")
    for layer, w in layers:
        _check_shapes(layer, w, path)
    return model, arrays


class LPIPS:
    """LPIPS v0.1 distance. ``LPIPS("alex")(a, b)`` with RGB ``[N, H, W, 3]`` in [0, 1]."""

    def __init__(self, net: str = "alex", weights=None):
        from keras_sr._backend import tf

        self.net = net
        self.features, arrays = feature_network(net, weights)
        self.features.trainable = False  # a fixed metric (also when used as a loss)
        self.heads = [arrays[f"lin/{i}/kernel"][0, 0, :, 0].astype(np.float32) for i in range(5)]
        self.shift = arrays["scaling/shift"].astype(np.float32)
        self.scale = arrays["scaling/scale"].astype(np.float32)
        t = tf()
        spec = t.TensorSpec([None, None, None, 3], t.float32)
        self._fn = t.function(self.distance, input_signature=[spec, spec])

    def distance(self, a, b):
        """Graph-side distance: float tensors ``[N, H, W, 3]`` in [0, 1] -> ``[N]`` (usable inside
        a compiled step, e.g. SRGAN's validation)."""
        from keras_sr._backend import tf

        t = tf()
        fa = self.features((2.0 * a - 1.0 - self.shift) / self.scale)
        fb = self.features((2.0 * b - 1.0 - self.shift) / self.scale)
        total = 0.0
        for xa, xb, w in zip(fa, fb, self.heads):
            xa, xb = t.cast(xa, t.float32), t.cast(xb, t.float32)  # a bf16 feature network (LPIPSLoss)
            na = xa / (t.sqrt(t.reduce_sum(xa * xa, axis=-1, keepdims=True)) + 1e-10)
            nb = xb / (t.sqrt(t.reduce_sum(xb * xb, axis=-1, keepdims=True)) + 1e-10)
            total += t.reduce_mean(t.reduce_sum(t.square(na - nb) * w, axis=-1), axis=[1, 2])
        return total

    def __call__(self, a, b) -> np.ndarray:
        a = np.asarray(a, np.float32)
        b = np.asarray(b, np.float32)
        single = a.ndim == 3
        if single:
            a, b = a[None], b[None]
        if a.shape != b.shape or a.shape[-1] != 3:
            raise ValueError(f"LPIPS needs two RGB images of one shape, got {a.shape} and {b.shape}")
        out = np.asarray(self._fn(a, b))
        return out[0] if single else out


@lru_cache(maxsize=4)
def get_lpips(net: str = "alex", weights: str | None = None) -> LPIPS:
    """A cached :class:`LPIPS` (weights are loaded once per process)."""
    return LPIPS(net, weights)


def lpips(a, b, net: str = "alex", weights=None):
    """LPIPS distance of RGB images in [0, 1] (see module docstring)."""
    return get_lpips(net, str(weights) if weights else None)(a, b)


def _vgg16_input(weights):
    """The LPIPS VGG16 file's path and arrays, an RGB [0, 1] input and its ImageNet-normalised tensor."""
    path = find_weights("vgg", weights)
    arrays = _load_npz(path)
    try:
        mean = arrays["content/imagenet_mean"].astype(np.float32)
        std = arrays["content/imagenet_std"].astype(np.float32)
    except KeyError:
        raise KerasSRError(f"{path}: no ImageNet mean/std (not the LPIPS VGG16 file?)") from None
    k = keras()
    inputs = k.Input((None, None, 3), name="rgb01")
    return path, arrays, inputs, k.layers.Normalization(mean=mean, variance=std**2, name="imagenet_norm")(inputs)


@lru_cache(maxsize=4)
def vgg16_features(layer: str = "conv5_3", weights: str | None = None):
    """torchvision VGG16 up to ``layer`` (post-ReLU), from the LPIPS VGG16 npz, as a
    ``keras.Model`` taking RGB in **[0, 1]** (ImageNet mean/std normalisation inside, as
    torchvision; *not* ``keras.applications`` preprocessing). Built once per process."""
    names = [item[0] for item in VGG16_LAYERS if item != "pool"]
    if layer not in names:
        raise KerasSRError(f"unknown VGG16 layer {layer!r}; known: {', '.join(names)}")
    path, arrays, inputs, x = _vgg16_input(weights)
    k = keras()
    L = k.layers
    pending = []
    for item in VGG16_LAYERS:
        if item == "pool":
            x = L.MaxPooling2D(2, 2, padding="valid")(x)
            continue
        try:
            conv, w = _conv(arrays, item[0], padding="same")
        except KeyError as exc:
            raise KerasSRError(f"{path}: missing array {exc}") from None
        x = conv(x)
        pending.append((conv, w))
        if item[0] == layer:
            break
    model = k.Model(inputs, x, name=f"vgg16_{layer}")
    for conv, w in pending:
        _check_shapes(conv, w, path)
    model.trainable = False
    return model


@lru_cache(maxsize=4)
def vgg16_taps(taps: tuple = VGG16_TAPS, weights: str | None = None, pre_activation: bool = True):
    """torchvision VGG16 with one output per layer in ``taps`` (conv outputs *before* their ReLU
    when ``pre_activation``, as BasicSR's ``VGGFeatureExtractor`` taps ``convX_Y``), from the
    LPIPS VGG16 npz; RGB in **[0, 1]**, ImageNet mean/std normalisation inside. Frozen, built
    once per process (``taps`` must be a tuple)."""
    names = [item[0] for item in VGG16_LAYERS if item != "pool"]
    bad = [t for t in taps if t not in names]
    if bad or not taps:
        raise KerasSRError(f"unknown VGG16 layer {bad[0] if bad else '(none)'!r}; known: {', '.join(names)}")
    path, arrays, inputs, x = _vgg16_input(weights)
    k = keras()
    L = k.layers
    pending, outputs, last = [], {}, max(names.index(t) for t in taps)
    for item in VGG16_LAYERS:
        if item == "pool":
            x = L.MaxPooling2D(2, 2, padding="valid")(x)
            continue
        try:
            kernel, bias = arrays[f"features/{item[0]}/kernel"], arrays[f"features/{item[0]}/bias"]
        except KeyError as exc:
            raise KerasSRError(f"{path}: missing array {exc}") from None
        conv = L.Conv2D(kernel.shape[-1], kernel.shape[:2], padding="same", name=item[0])
        x = conv(x)
        pending.append((conv, [kernel, bias]))
        if item[0] in taps:
            outputs[item[0]] = x if pre_activation else L.ReLU()(x)
        if names.index(item[0]) == last:
            break
        x = L.ReLU(name=f"{item[0]}_relu")(x)
    model = k.Model(inputs, [outputs[t] for t in taps], name="vgg16_taps")
    for conv, w in pending:
        _check_shapes(conv, w, path)
    model.trainable = False
    return model


def vgg19_features(weights_file: str, layer: str = "block5_conv4"):
    """``keras.applications.VGG19`` from a local weight file (Caffe weights: BGR, mean
    subtraction), up to ``layer``; input RGB in [0, 1]."""
    k = keras()
    p = Path(weights_file)
    if not p.exists():
        raise KerasSRError(f"VGG19 weight file not found: {p}")
    try:
        base = k.applications.VGG19(include_top=False, weights=str(p), input_shape=(None, None, 3))
    except (ValueError, OSError) as exc:
        raise KerasSRError(f"{p}: not a VGG19 weight file ({str(exc).splitlines()[0]})") from None
    inp = k.Input((None, None, 3))
    x = k.layers.Rescaling(255.0)(inp)
    x = k.applications.vgg19.preprocess_input(x)
    out = k.Model(base.input, base.get_layer(layer).output)(x)
    model = k.Model(inp, out, name=f"vgg19_{layer}")
    model.trainable = False
    return model
