"""The functions exported as signatures: the raw model and the end-to-end photo graph.

Photo graph contract: ``uint8 RGB [N, H, W, 3]`` in -> ``uint8 RGB [N, sH, sW, 3]`` out.
Inside (TFLite builtins only): RGB -> YCbCr of the model's flavour (Y models), polyphase
pre-upscaling for pre-upsampling models (a fixed-weight conv + DEPTH_TO_SPACE, see
:mod:`keras_sr.data.interp`), border padding for 'valid' models, bottom/right REFLECT padding to
``size_multiple`` for models that fold their input (output cropped back), the model, polyphase
chroma upscaling, YCbCr -> RGB, clip, round, cast. The same stages as
:class:`keras_sr.inference.Upscaler`, so the Keras path is the reference for parity.

:func:`photo_model` builds it as a plain functional ``keras.Model`` (registered layers
:class:`~keras_sr.models.layers.PhotoPreprocess` / ``PhotoPostprocess`` around the network:
``model.predict`` on photo batches, saved and reloaded as ``.keras``); the exported ``photo``
signature (:func:`photo_fn`) is that model.
"""

from __future__ import annotations

from keras_sr.errors import ModelLoadError


def raw_fn(model):
    def serve(image):
        return model(image, training=False)

    return serve


def photo_model(model, info=None, scale: int | None = None, border: int | None = None):
    """``model`` (an SR network with ``sr_info``, or ``info`` given) wrapped as a
    ``keras.Model`` from uint8 RGB ``[N, H, W, 3]`` to uint8 RGB ``[N, sH, sW, 3]``.

    ``scale`` defaults to ``info.scale``; ``border`` to the pixels a pre-upsampling 'valid'
    network loses per side (0 for LR-space networks). Gray photos: pass them as 3 equal
    channels (Y models then return 3 equal channels). Raises :class:`ModelLoadError` when the
    network's channels and colour space do not fit.
    """
    from keras_sr._backend import keras
    from keras_sr.data import interp
    from keras_sr.models import border as model_border
    from keras_sr.models.layers import PhotoPostprocess, PhotoPreprocess

    k = keras()
    info = info or getattr(model, "sr_info", None)
    name = getattr(info, "architecture", None) or model.name
    channels = model.input_shape[-1]
    if channels not in (1, 3):
        raise ModelLoadError(f"{name}: a photo model needs a network with 1 (Y) or 3 (RGB) input "
                             f"channels, this one has {channels}")
    if info is None or (info.color_space == "rgb") != (channels == 3):
        space = getattr(info, "color_space", None)
        raise ModelLoadError(f"{name}: colour space {space!r} does not fit its {channels}-channel input")
    scale = int(scale or info.scale or 0)
    if scale < 1:
        raise ModelLoadError(f"{name}: the model records no scale; a photo model needs one")
    if border is None:
        border = model_border(model) if info.input_mode == "pre-upsampled" else 0
    pad_mode = info.pad_mode or "symmetric"
    if pad_mode not in ("symmetric", "reflect", "edge"):
        raise ModelLoadError(f"{name}: border mode {pad_mode!r} is not supported in a photo model")
    multiple = int(getattr(info, "size_multiple", 1) or 1)
    rgb = k.Input((None, None, 3), dtype="uint8", name="rgb")
    pre = PhotoPreprocess(info.color_space, info.input_mode, scale, interp.kernel_for(info.degradation),
                          border, pad_mode, size_multiple=multiple, name="photo_in")(rgb)
    post = PhotoPostprocess(info.color_space, scale, size_multiple=multiple, name="photo_out")
    if info.color_space == "rgb":  # the photo itself: the size to crop back to
        out = post([model(pre), rgb] if multiple > 1 else model(pre))
    else:  # the chroma: LR size
        y, chroma = pre
        out = post([model(y), chroma])
    return k.Model(rgb, out, name=f"{model.name}_photo")


def photo_fn(model, info, scale: int, border: int):
    """The exported ``photo`` signature: :func:`photo_model` as a function."""
    graph = photo_model(model, info, scale, border)

    def photo(rgb):
        return graph(rgb, training=False)

    return photo


def deploy_model(model):
    """An equivalent model for export (exact rewrites; parity is still checked against the
    original): :func:`repeat_as_conv` (ABPN's anchor), then :func:`deconv_as_conv` (FSRCNN)."""
    return deconv_as_conv(repeat_as_conv(model))


FLOAT_MARKER = "keras_sr_float"  # in a layer's name: int8 exports keep its op float


def repeat_as_conv(model):
    """A channel ``Concatenate`` of one tensor ``n`` times (ABPN's anchor: the input repeated
    ``s*s`` times) becomes a fixed 1x1 ``Conv2D`` of ones to the same channels. XNNPACK does
    not take a CONCATENATION of that many inputs (x3: 9, x4: 16), so LiteRT ran it on its
    builtin kernels, splitting the delegated graph in two; the conv is delegated and exact.
    Its name carries :data:`FLOAT_MARKER`: int8 exports keep it (and the add it feeds) float, so
    the anchor is the float input, not the input requantized to the calibrated int8 grid (measured
    on abpn-x2: -0.21 dB int8 parity with the anchor in int8). Other models are returned
    unchanged."""
    import numpy as np

    from keras_sr._backend import keras

    k = keras()

    def repeated(layer, args) -> bool:
        xs = args[0] if len(args) == 1 else None
        return (isinstance(layer, k.layers.Concatenate) and layer.axis in (-1, 3)
                and isinstance(xs, (list, tuple)) and len(xs) > 1 and all(x is xs[0] for x in xs))

    if not any(isinstance(layer, k.layers.Concatenate) for layer in model.layers):
        return model
    found = []

    def call(layer, *args, **kwargs):
        if not repeated(layer, args):
            return layer(*args, **kwargs)
        x, n = args[0][0], len(args[0])
        c = int(x.shape[-1])
        conv = k.layers.Conv2D(c * n, 1, use_bias=False, name=f"{layer.name}_as_conv_{FLOAT_MARKER}")
        out = conv(x)
        conv.set_weights([np.tile(np.eye(c, dtype=np.float32), (1, n))[None, None]])
        found.append(layer.name)
        return out

    clone = k.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)
    return clone if found else model


def prelu_as_relu(model):
    """For int8 files: each ``PReLU`` with one slope per channel (``shared_axes=[1, 2]``, as in
    SRVGG) becomes ``relu(x) + (-a) * relu(-x)``: a ``ReLU``, a 1x1 ``DepthwiseConv2D`` of -1 with
    a fused ReLU, a 1x1 ``DepthwiseConv2D`` of ``-a`` and an ``Add`` (exact in float). XNNPACK
    takes no int8 PRELU, so LiteRT ran every int8 PReLU on its builtin kernel (realesr-x4 int8:
    0.4x Keras); these four ops are all delegated. Both branches are non-negative before their
    scale, so int8 keeps the slope's precision (realesr-x4 int8 parity -0.014 -> -0.016 dB, and
    -0.067 dB with the ``(1 - a) relu(x) + a x`` form). Float files keep PReLU (one op: faster
    than four). Returns ``(model, names of the rewritten layers)``; other models unchanged."""
    import numpy as np

    from keras_sr._backend import keras

    k = keras()

    def per_channel(layer) -> bool:
        if not isinstance(layer, k.layers.PReLU):
            return False
        alpha = layer.get_weights()[0]
        return alpha.ndim == 3 and alpha.shape[0] == 1 and alpha.shape[1] == 1

    if not any(per_channel(layer) for layer in model.layers):
        return model, []
    found = []

    def call(layer, *args, **kwargs):
        if not per_channel(layer):
            return layer(*args, **kwargs)
        x = args[0]
        alpha = layer.get_weights()[0].reshape(-1).astype(np.float32)
        c = alpha.size
        neg = k.layers.DepthwiseConv2D(1, use_bias=False, activation="relu", name=f"{layer.name}_neg_relu")
        slope = k.layers.DepthwiseConv2D(1, use_bias=False, name=f"{layer.name}_slope")
        out = k.layers.Add(name=f"{layer.name}_as_relu")([k.layers.ReLU(name=f"{layer.name}_relu")(x),
                                                          slope(neg(x))])
        neg.set_weights([-np.ones((1, 1, c, 1), np.float32)])
        slope.set_weights([-alpha.reshape(1, 1, c, 1)])
        found.append(layer.name)
        return out

    clone = k.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)
    return clone, found


def deconv_as_conv(model):
    """An equivalent model for export: a final stride-``s`` ``Conv2DTranspose`` (FSRCNN's
    upscaling layer) becomes a low-resolution ``Conv2D`` to ``C*s*s`` channels plus one
    DEPTH_TO_SPACE, which TFLite runs on its optimised convolution kernels (its int8 and hybrid
    TRANSPOSE_CONV kernels are slow). The conv weights are read off the layer's response to
    one-pixel impulses, so the result is exact for any kernel size and padding; other models
    are returned unchanged. Parity is always checked against the original model."""
    import numpy as np

    from keras_sr._backend import keras
    from keras_sr.models.layers import DepthToSpace

    k = keras()
    last = model.layers[-1]
    if not isinstance(last, k.layers.Conv2DTranspose) or last.strides[0] != last.strides[1] or \
            last.strides[0] < 2 or last.padding != "same":
        return model
    s = int(last.strides[0])
    cin = int(last.input.shape[-1])
    cout = int(last.filters)
    kernel, bias = (last.get_weights() + [None])[:2]
    probe = k.layers.Conv2DTranspose(cout, last.kernel_size, strides=s, padding="same", use_bias=False)
    r = int(np.ceil(last.kernel_size[0] / s)) + 1  # generous LR radius; unused taps are cropped
    n = 2 * r + 1
    impulses = np.zeros((cin, n, n, cin), np.float32)
    impulses[np.arange(cin), r, r, np.arange(cin)] = 1.0
    probe.build((None, n, n, cin))
    probe.set_weights([kernel])
    response = np.asarray(probe(impulses))  # [cin, s*n, s*n, cout]
    # out[Y, X, (py*s + px)*cout + o] = sum_{a,b,c} W[a, b, c, .] x[Y + a - r, X + b - r, c]; an
    # impulse at (r, r) gives W[a, b, c, (py, px, o)] = response[c, s*(2r - a) + py, s*(2r - b) + px, o]
    w = np.zeros((n, n, cin, s * s * cout), np.float32)
    for a in range(n):
        for b in range(n):
            block = response[:, s * (2 * r - a): s * (2 * r - a) + s, s * (2 * r - b): s * (2 * r - b) + s, :]
            w[a, b] = block.reshape(cin, s * s * cout)  # (py, px, o) order = depth_to_space's
    tap = np.abs(w).reshape(n, n, -1).max(axis=2)  # largest weight per (a, b) tap
    used = np.nonzero(tap.max(axis=1) + tap.max(axis=0))[0]  # rows or columns with a nonzero tap
    crop = int(np.abs(used - r).max()) if used.size else 0
    w = w[r - crop: r + crop + 1, r - crop: r + crop + 1]
    conv = k.layers.Conv2D(s * s * cout, 2 * crop + 1, padding="same", use_bias=bias is not None,
                           name=f"{last.name}_as_conv")
    x = conv(last.input)
    out = DepthToSpace(s, name=f"{last.name}_shuffle")(x)
    deployed = k.Model(model.inputs, out, name=f"{model.name}_deploy")
    conv.set_weights([w] + ([np.tile(bias, s * s)] if bias is not None else []))
    return deployed
