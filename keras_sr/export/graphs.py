"""The functions exported as signatures: the raw model and the end-to-end photo graph.

Photo signature contract: ``uint8 RGB [1, H, W, 3]`` in -> ``uint8 RGB [1, sH, sW, 3]`` out.
Inside (TFLite builtins only): RGB -> YCbCr of the model's flavour (Y models), polyphase
pre-upscaling for pre-upsampling models (a fixed-weight conv + DEPTH_TO_SPACE, see
:mod:`keras_sr.data.interp`), SYMMETRIC border padding for 'valid' models, bottom/right
REFLECT padding to ``size_multiple`` for models that fold their input (output cropped back),
the model, polyphase chroma upscaling, YCbCr -> RGB, clip, round, cast. The same stages as
:class:`keras_sr.inference.Upscaler`, so the Keras path is the reference for parity.
"""

from __future__ import annotations

from keras_sr._backend import tf
from keras_sr.data import interp
from keras_sr.data.color import rgb_to_ycbcr, ycbcr_to_rgb


def raw_fn(model):
    def serve(image):
        return model(image, training=False)

    return serve


def photo_fn(model, info, scale: int, border: int):
    t = tf()
    kernel = interp.kernel_for(info.degradation)

    multiple = int(getattr(info, "size_multiple", 1) or 1)

    def run(x):
        if info.input_mode == "pre-upsampled":
            x = interp.upscale(x, scale, kernel)
        if border:
            x = t.pad(x, [[0, 0], [border, border], [border, border], [0, 0]], mode="SYMMETRIC")
        if multiple > 1:  # models that fold their input (x2/x1 RRDBNet): as Upscaler.model_batch
            h, w = t.shape(x)[1], t.shape(x)[2]
            n, c = t.shape(x)[0], x.shape[-1]
            ph, pw = (-h) % multiple, (-w) % multiple
            x = t.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]], mode="REFLECT")
            # dynamic paddings lose the channel count, which TFLite's CONV_2D needs: restate it
            x = t.reshape(x, t.stack([n, h + ph, w + pw, c]))
            return model(x, training=False)[:, : h * scale, : w * scale]
        return model(x, training=False)

    def photo(rgb):
        x = t.cast(rgb, t.float32) / 255.0
        if info.color_space == "rgb":
            out = run(x)
        else:
            ycc = rgb_to_ycbcr(x, info.color_space)
            y = run(ycc[..., :1])
            chroma = interp.upscale(ycc[..., 1:], scale)
            out = ycbcr_to_rgb(t.concat([y, chroma], axis=-1), info.color_space)
        return t.cast(t.clip_by_value(t.round(out * 255.0), 0.0, 255.0), t.uint8)

    return photo


def deploy_model(model):
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
