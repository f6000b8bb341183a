"""The functions exported as signatures: the raw model and the end-to-end photo graph.

Photo signature contract: ``uint8 RGB [1, H, W, 3]`` in -> ``uint8 RGB [1, sH, sW, 3]`` out.
Inside (TFLite builtins only): RGB -> YCbCr of the model's flavour (Y models), polyphase
pre-upscaling for pre-upsampling models (a fixed-weight conv + DEPTH_TO_SPACE, see
:mod:`keras_sr.data.interp`), SYMMETRIC border padding for 'valid' models, the model,
polyphase chroma upscaling, YCbCr -> RGB, clip, round, cast. The same stages as
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

    def run(x):
        if info.input_mode == "pre-upsampled":
            x = interp.upscale(x, scale, kernel)
        if border:
            x = t.pad(x, [[0, 0], [border, border], [border, border], [0, 0]], mode="SYMMETRIC")
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
