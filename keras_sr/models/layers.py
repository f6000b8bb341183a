"""Custom layers (registered for ``.keras`` reloads; no ``Lambda`` layers anywhere)."""

from __future__ import annotations

from keras_sr._backend import keras

_k = keras()


@_k.saving.register_keras_serializable(package="keras_sr")
class DepthToSpace(_k.layers.Layer):
    """Sub-pixel rearrangement ``[N, H, W, C*r^2] -> [N, rH, rW, C]`` via
    ``keras.ops.depth_to_space`` (one DEPTH_TO_SPACE op in TFLite)."""

    def __init__(self, block_size: int, **kwargs):
        super().__init__(**kwargs)
        self.block_size = int(block_size)

    def call(self, x):
        return _k.ops.depth_to_space(x, self.block_size)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        r = self.block_size
        return (n, None if h is None else h * r, None if w is None else w * r, c // (r * r))

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}


@_k.saving.register_keras_serializable(package="keras_sr")
class SpaceToDepth(_k.layers.Layer):
    """Inverse sub-pixel rearrangement ``[N, rH, rW, C] -> [N, H, W, C*r^2]`` via
    ``keras.ops.space_to_depth`` (one SPACE_TO_DEPTH op in TFLite); channel ``(i*r + j)*C + c``.
    Height and width must be multiples of ``block_size``."""

    def __init__(self, block_size: int, **kwargs):
        super().__init__(**kwargs)
        self.block_size = int(block_size)

    def call(self, x):
        return _k.ops.space_to_depth(x, self.block_size)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        r = self.block_size
        return (n, None if h is None else h // r, None if w is None else w // r, c * r * r)

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}


# -- the photo graph (keras_sr.export.graphs.photo_model): uint8 RGB in, uint8 RGB out ----------
_PAD_MODES = ("symmetric", "reflect", "edge")


@_k.saving.register_keras_serializable(package="keras_sr")
class PhotoPreprocess(_k.layers.Layer):
    """uint8 RGB ``[N, h, w, 3]`` -> what an SR network receives, in float32 [0, 1].

    ``color_space="rgb"``: the RGB image. ``"y-bt601"``/``"y-opencv"``: ``[Y, CbCr]``, Y of
    that YCbCr flavour ``[N, h, w, 1]`` for the network and chroma ``[N, h, w, 2]`` for
    :class:`PhotoPostprocess`. ``input_mode="pre-upsampled"``: the network input is first
    upscaled ``scale`` x with the polyphase ``kernel`` (:mod:`keras_sr.data.interp`).
    ``border`` > 0 ('valid' networks): padded by ``border`` px per side, ``pad_mode``
    ``symmetric`` / ``reflect`` / ``edge`` (NumPy ``np.pad`` names; edge = repeated 1-px
    symmetric pads, TFLite builtins only). ``size_multiple`` > 1 (networks that fold their
    input): then bottom/right REFLECT padding up to a multiple (:class:`PhotoPostprocess` crops
    the output back). The same stages as :class:`keras_sr.inference.Upscaler`.
    """

    def __init__(self, color_space: str = "y-bt601", input_mode: str = "lr", scale: int = 2,
                 kernel: str = "bicubic", border: int = 0, pad_mode: str = "symmetric",
                 size_multiple: int = 1, **kwargs):
        super().__init__(**kwargs)
        if pad_mode not in _PAD_MODES:
            raise ValueError(f"pad_mode must be one of {_PAD_MODES}, got {pad_mode!r}")
        self.color_space, self.input_mode, self.scale = color_space, input_mode, int(scale)
        self.kernel, self.border, self.pad_mode = kernel, int(border), pad_mode
        self.size_multiple = max(1, int(size_multiple))

    def _network_input(self, x):
        from keras_sr._backend import tf
        from keras_sr.data import interp

        t = tf()
        if self.input_mode == "pre-upsampled":
            x = interp.upscale(x, self.scale, self.kernel)
        b = self.border
        if b and self.pad_mode == "edge":
            for _ in range(b):
                x = t.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
        elif b:
            x = t.pad(x, [[0, 0], [b, b], [b, b], [0, 0]], mode=self.pad_mode.upper())
        m = self.size_multiple
        if m > 1:  # as Upscaler.model_batch
            n, h, w, c = t.shape(x)[0], t.shape(x)[1], t.shape(x)[2], x.shape[-1]
            ph, pw = (-h) % m, (-w) % m
            x = t.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]], mode="REFLECT")
            # dynamic paddings lose the channel count, which TFLite's CONV_2D needs: restate it
            x = t.reshape(x, t.stack([n, h + ph, w + pw, c]))
        return x

    def call(self, rgb):
        from keras_sr._backend import tf
        from keras_sr.data.color import rgb_to_ycbcr

        t = tf()
        x = t.cast(rgb, t.float32) / 255.0
        if self.color_space == "rgb":
            return self._network_input(x)
        ycc = rgb_to_ycbcr(x, self.color_space)
        return [self._network_input(ycc[..., :1]), ycc[..., 1:]]

    def get_config(self):
        return {**super().get_config(), "color_space": self.color_space, "input_mode": self.input_mode,
                "scale": self.scale, "kernel": self.kernel, "border": self.border, "pad_mode": self.pad_mode,
                "size_multiple": self.size_multiple}


@_k.saving.register_keras_serializable(package="keras_sr")
class PhotoPostprocess(_k.layers.Layer):
    """The network's output (float, [0, 1]) -> uint8 RGB ``[N, sH, sW, 3]``.

    Y models: called on ``[sr_y, chroma]``; the chroma (``[N, h, w, 2]``) is upscaled
    ``scale`` x with the polyphase bicubic filter and merged with the network's Y, converted
    back to RGB. RGB models: on ``sr``, or ``[sr, rgb]`` with ``size_multiple`` > 1. With
    ``size_multiple`` > 1 the network's output is first cropped to ``scale`` x the size of the
    second input (the padding :class:`PhotoPreprocess` added). Then (all models)
    ``round(255 x)`` clipped to 0..255, cast to uint8."""

    def __init__(self, color_space: str = "y-bt601", scale: int = 2, size_multiple: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.color_space, self.scale = color_space, int(scale)
        self.size_multiple = max(1, int(size_multiple))

    def call(self, inputs):
        from keras_sr._backend import tf
        from keras_sr.data import interp
        from keras_sr.data.color import ycbcr_to_rgb

        t = tf()
        sr, ref = (inputs[0], inputs[1]) if isinstance(inputs, (list, tuple)) and len(inputs) > 1 else \
            (inputs[0] if isinstance(inputs, (list, tuple)) else inputs, None)
        if self.size_multiple > 1:
            sr = sr[:, : t.shape(ref)[1] * self.scale, : t.shape(ref)[2] * self.scale]
        if self.color_space == "rgb":
            out = sr
        else:
            ycc = t.concat([t.cast(sr, t.float32), interp.upscale(ref, self.scale)], axis=-1)
            out = ycbcr_to_rgb(ycc, self.color_space)
        return t.cast(t.clip_by_value(t.round(t.cast(out, t.float32) * 255.0), 0.0, 255.0), t.uint8)

    def get_config(self):
        return {**super().get_config(), "color_space": self.color_space, "scale": self.scale,
                "size_multiple": self.size_multiple}
