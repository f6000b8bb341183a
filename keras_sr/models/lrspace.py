"""Fast models that work in low-resolution space and upscale at the end.

Conventions: input ``[N, h, w, C]`` LR in [0, 1] (C = 1: Y), output ``[N, s*h, s*w, C]``.
"""

from __future__ import annotations

from keras_sr._backend import keras
from keras_sr.models.layers import DepthToSpace


def _prelu(name):
    return keras().layers.PReLU(shared_axes=[1, 2], name=name)


def fsrcnn(scale: int, channels: int = 1, d: int = 56, s: int = 12, m: int = 4, name=None):
    """FSRCNN (Dong et al., ECCV 2016): 5x5 feature extraction (d) -> 1x1 shrink (s) ->
    m x 3x3 mapping (s) -> 1x1 expand (d) -> 9x9 transposed conv with stride ``scale``.
    PReLU with ``shared_axes=[1, 2]`` (dynamic shapes); He init, deconv N(0, 0.001)."""
    k = keras()
    L = k.layers
    x = inputs = k.Input((None, None, channels), name="lr")
    x = L.Conv2D(d, 5, padding="same", kernel_initializer="he_normal", name="feature")(x)
    x = _prelu("feature_prelu")(x)
    x = L.Conv2D(s, 1, kernel_initializer="he_normal", name="shrink")(x)
    x = _prelu("shrink_prelu")(x)
    for i in range(m):
        x = L.Conv2D(s, 3, padding="same", kernel_initializer="he_normal", name=f"map{i + 1}")(x)
        x = _prelu(f"map{i + 1}_prelu")(x)
    x = L.Conv2D(d, 1, kernel_initializer="he_normal", name="expand")(x)
    x = _prelu("expand_prelu")(x)
    x = L.Conv2DTranspose(channels, 9, strides=scale, padding="same",
                          kernel_initializer=k.initializers.RandomNormal(stddev=0.001),
                          name=f"deconv_x{scale}")(x)
    return k.Model(inputs, x, name=name or f"fsrcnn_x{scale}")


def fsrcnn_s(scale: int, channels: int = 1, name=None):
    """FSRCNN-s: the small setting d=32, s=5, m=1."""
    return fsrcnn(scale, channels, d=32, s=5, m=1, name=name or f"fsrcnn_s_x{scale}")


def espcn(scale: int, channels: int = 1, filters=(64, 32), activation: str = "relu", name=None):
    """ESPCN (Shi et al., CVPR 2016): 5x5 (64) -> 3x3 (32) -> 3x3 (C*s^2) -> sub-pixel shuffle
    (``keras.ops.depth_to_space``); Glorot-uniform init, zero biases.

    ``activation`` of the two feature layers: ``"relu"`` (default) or ``"tanh"`` (the paper's
    choice, and that of the espcn models shipped before issue 17). Measured (notes/espcn17 in the
    issue): trained with Adam from Glorot init, the tanh net stays in tanh's linear range (conv1
    pre-activations ~0.04 std), so it ends up a linear filter (+1.1 dB over bicubic at x3);
    with ReLU the same recipe learns a nonlinear mapping. Saved models keep the activation
    they were built with (it is in each layer's config)."""
    if activation not in ("relu", "tanh"):
        from keras_sr.errors import UsageError

        raise UsageError(f"espcn activation must be relu or tanh, got {activation!r}")
    k = keras()
    L = k.layers
    x = inputs = k.Input((None, None, channels), name="lr")
    x = L.Conv2D(filters[0], 5, padding="same", activation=activation, name="conv1")(x)
    x = L.Conv2D(filters[1], 3, padding="same", activation=activation, name="conv2")(x)
    x = L.Conv2D(channels * scale * scale, 3, padding="same", name=f"conv3_x{scale}")(x)
    x = DepthToSpace(scale, name="sr")(x)
    return k.Model(inputs, x, name=name or f"espcn_x{scale}")


def abpn(scale: int, channels: int = 1, filters: int = 28, convs: int = 5, name=None):
    """Anchor-based plain net (ABPN; Du et al., Mobile AI 2021 winner), built to quantize to
    int8: ``convs`` x (3x3 conv ``filters`` + ReLU) in LR space, a 3x3 conv to ``C*s^2``, plus
    the *anchor* (the input repeated ``s^2`` times: after the shuffle, nearest-neighbour
    upscaling) so the convolutions only predict a residual of small range; sub-pixel shuffle;
    clipped to [0, 1] (ReLU with max 1). Only CONV_2D, CONCATENATION, ADD, DEPTH_TO_SPACE and
    RELU ops (all int8 builtins)."""
    k = keras()
    L = k.layers
    x = inputs = k.Input((None, None, channels), name="lr")
    for i in range(convs):
        x = L.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer="he_normal",
                     name=f"conv{i + 1}")(x)
    x = L.Conv2D(channels * scale * scale, 3, padding="same", name=f"residual_x{scale}")(x)
    anchor = L.Concatenate(name="anchor")([inputs] * (scale * scale))
    x = L.Add(name="plus_anchor")([x, anchor])
    x = DepthToSpace(scale, name="shuffle")(x)
    x = L.ReLU(max_value=1.0, name="clip")(x)
    return k.Model(inputs, x, name=name or f"abpn_x{scale}")
