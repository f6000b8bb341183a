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
