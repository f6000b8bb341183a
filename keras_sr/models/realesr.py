"""Real-ESRGAN's networks as Keras builders: SRVGGNetCompact, RRDBNet (ESRGAN) and the U-Net
discriminator with spectral normalization (Wang et al., ICCVW 2021; xinntao/Real-ESRGAN and
XPixelGroup/BasicSR ``*_arch.py``).

Conventions: RGB (or ``channels``) ``[N, h, w, C]`` in [0, 1] in, ``[N, s*h, s*w, C]`` out, the
network's raw (unclipped) output as the original computes it; clip for use.

Layout differences from the PyTorch originals (the same functions, other tensor layouts; the
importer in :mod:`keras_sr.importers` converts weights between them):

- NHWC instead of NCHW; kernels HWIO instead of OIHW.
- Sub-pixel shuffle is ``keras.ops.depth_to_space`` (channel ``(i*s + j)*C + c``), PyTorch's
  ``PixelShuffle`` reads channel ``c*s*s + i*s + j``; likewise ``space_to_depth`` vs BasicSR's
  ``pixel_unshuffle`` for the x2 RRDBNet input.
- Nearest-neighbour upsampling is ``Concatenate`` of ``s*s`` copies + ``depth_to_space``
  (exactly nearest; two int8 TFLite builtins); SRVGG adds its upsampled input *before* the
  shuffle (``d2s(a) + d2s(tile(x)) == d2s(a + tile(x))``, the same sums), like ABPN's anchor.
"""

from __future__ import annotations

from keras_sr._backend import keras
from keras_sr.errors import UsageError
from keras_sr.models.layers import DepthToSpace, SpaceToDepth


def _nearest(x, scale: int, name: str):
    """Nearest-neighbour upsampling by ``scale`` (s*s channel copies, then depth_to_space)."""
    L = keras().layers
    tiled = L.Concatenate(name=f"{name}_tile")([x] * (scale * scale))
    return DepthToSpace(scale, name=name)(tiled)


def srvgg(scale: int = 4, channels: int = 3, filters: int = 64, convs: int = 16, kernel_init: str = "glorot",
          name=None):
    """SRVGGNetCompact: 3x3 conv (``filters``) + per-channel PReLU, ``convs`` x (3x3 conv +
    per-channel PReLU), 3x3 conv to ``C*s^2``, plus the nearest-upscaled input, sub-pixel shuffle.

    Real-ESRGAN's ``realesr-animevideov3`` is 64 x 16 at x4 (621,424 params),
    ``realesr-general-x4v3`` 64 x 32 (1,213,296). Per-channel PReLU is ``shared_axes=[1, 2]``
    (one slope per channel, any image size). Only CONV_2D, PRELU, CONCATENATION, ADD and
    DEPTH_TO_SPACE ops in TFLite (all int8 builtins).

    ``kernel_init``: ``"glorot"`` (Keras' default; the shipped realesr models) or ``"he"`` (He
    normal, the last conv at 0.1x). Deep stacks need ``"he"``: at 64 x 16 Glorot's output
    residual starts at ~3e-4 std with ~2e-5 gradient norms and L1 training stalled at the
    nearest-neighbour baseline for 750 steps (32 x 8: 9e-3, it trains).
    """
    if scale < 1:
        raise ValueError(f"srvgg: scale must be >= 1, got {scale}")
    if kernel_init not in ("glorot", "he"):
        raise UsageError(f"srvgg kernel_init must be glorot or he, got {kernel_init!r}")
    k = keras()
    L = k.layers
    hidden, last = ("glorot_uniform", "glorot_uniform") if kernel_init == "glorot" else (
        "he_normal", k.initializers.VarianceScaling(0.02, mode="fan_in", distribution="truncated_normal"))
    x = inputs = k.Input((None, None, channels), name="lr")
    x = L.Conv2D(filters, 3, padding="same", kernel_initializer=hidden, name="conv_first")(x)
    x = L.PReLU(shared_axes=[1, 2], name="prelu_first")(x)
    for i in range(convs):
        x = L.Conv2D(filters, 3, padding="same", kernel_initializer=hidden, name=f"conv{i + 1}")(x)
        x = L.PReLU(shared_axes=[1, 2], name=f"prelu{i + 1}")(x)
    x = L.Conv2D(channels * scale * scale, 3, padding="same", kernel_initializer=last, name=f"conv_last_x{scale}")(x)
    if scale > 1:
        base = L.Concatenate(name="base_tile")([inputs] * (scale * scale))
        x = L.Add(name="plus_base")([x, base])
        x = DepthToSpace(scale, name="shuffle")(x)
    else:
        x = L.Add(name="plus_base")([x, inputs])
    return k.Model(inputs, x, name=name or f"srvgg_x{scale}")


def _rdb(x, filters: int, growth: int, name: str):
    """Residual dense block: 5 densely connected 3x3 convs (LeakyReLU 0.2 on the first four),
    output ``x + 0.2 * conv5``."""
    L = keras().layers
    feats = [x]
    for i in range(1, 5):
        inp = feats[0] if len(feats) == 1 else L.Concatenate(name=f"{name}_cat{i}")(feats)
        y = L.Conv2D(growth, 3, padding="same", name=f"{name}_conv{i}")(inp)
        feats.append(L.LeakyReLU(0.2, name=f"{name}_lrelu{i}")(y))
    y = L.Conv2D(filters, 3, padding="same", name=f"{name}_conv5")(L.Concatenate(name=f"{name}_cat5")(feats))
    return L.Add(name=f"{name}_add")([x, L.Rescaling(0.2, name=f"{name}_scale")(y)])


def rrdbnet(scale: int = 4, channels: int = 3, filters: int = 64, blocks: int = 23, growth: int = 32,
            name=None):
    """ESRGAN's RRDBNet (BasicSR layout): 3x3 ``conv_first``, ``blocks`` residual-in-residual
    dense blocks (3 RDBs each, ``x + 0.2 * rdb3(rdb2(rdb1(x)))``), ``conv_body`` + global skip,
    two (nearest x2 -> 3x3 conv -> LeakyReLU 0.2) stages, ``conv_hr`` + LeakyReLU, ``conv_last``.

    x4 upsamples twice; x2 first folds the input to half size (``space_to_depth``, Real-ESRGAN
    x2plus's pixel-unshuffle: input height and width must be even), x1 folds by 4 (multiples
    of 4). 64 feat, 23 blocks, growth 32 at x4 = 16,697,987 params.
    """
    fold = {4: 1, 2: 2, 1: 4}
    if scale not in fold:
        raise ValueError(f"rrdbnet supports scales 1, 2, 4, got {scale}")
    k = keras()
    L = k.layers
    x = inputs = k.Input((None, None, channels), name="lr")
    if fold[scale] > 1:
        x = SpaceToDepth(fold[scale], name="unshuffle")(x)
    feat = L.Conv2D(filters, 3, padding="same", name="conv_first")(x)
    y = feat
    for b in range(blocks):
        block_in = y
        for r in range(1, 4):
            y = _rdb(y, filters, growth, name=f"rrdb{b}_rdb{r}")
        y = L.Add(name=f"rrdb{b}_add")([block_in, L.Rescaling(0.2, name=f"rrdb{b}_scale")(y)])
    y = L.Conv2D(filters, 3, padding="same", name="conv_body")(y)
    x = L.Add(name="global_skip")([feat, y])
    for u in (1, 2):
        x = _nearest(x, 2, name=f"up{u}")
        x = L.LeakyReLU(0.2, name=f"up{u}_lrelu")(L.Conv2D(filters, 3, padding="same", name=f"conv_up{u}")(x))
    x = L.LeakyReLU(0.2, name="hr_lrelu")(L.Conv2D(filters, 3, padding="same", name="conv_hr")(x))
    x = L.Conv2D(channels, 3, padding="same", name="conv_last")(x)
    return k.Model(inputs, x, name=name or f"rrdbnet_x{scale}")


def unet_discriminator(channels: int = 3, filters: int = 64, skip: bool = True, name="unet_discriminator"):
    """Real-ESRGAN's ``UNetDiscriminatorSN``: a U-Net giving one real/fake **logit per pixel**
    (``[N, H, W, 1]``). conv0 3x3; three 4x4 stride-2 convs (x2, x4, x8 ``filters``); three
    (bilinear x2 -> 3x3 conv) stages with skip additions; two 3x3 convs; 3x3 conv to 1. All but
    the first and last conv are spectrally normalized (``keras.layers.SpectralNormalization``,
    one power iteration per training call, as ``torch.nn.utils.spectral_norm``) and have no
    bias; LeakyReLU 0.2 after every conv but the last. Input height and width: multiples of 8.
    64 filters = 4,376,897 trainable params (the power-iteration vectors are not trainable).
    Training only (bilinear upsampling with unknown sizes is not exported to TFLite).
    """
    k = keras()
    L = k.layers

    def sn_conv(f, size, stride, n):
        return L.SpectralNormalization(L.Conv2D(f, size, strides=stride, padding="same", use_bias=False,
                                                name=n), name=f"{n}_sn")

    def lrelu(t, n):
        return L.LeakyReLU(0.2, name=f"{n}_lrelu")(t)

    x = inputs = k.Input((None, None, channels), name="image")
    x0 = lrelu(L.Conv2D(filters, 3, padding="same", name="conv0")(x), "conv0")
    x1 = lrelu(sn_conv(filters * 2, 4, 2, "conv1")(x0), "conv1")
    x2 = lrelu(sn_conv(filters * 4, 4, 2, "conv2")(x1), "conv2")
    x3 = lrelu(sn_conv(filters * 8, 4, 2, "conv3")(x2), "conv3")
    y = x3
    for i, (f, skip_to) in enumerate(((filters * 4, x2), (filters * 2, x1), (filters, x0)), start=4):
        y = L.UpSampling2D(2, interpolation="bilinear", name=f"up{i}")(y)
        y = lrelu(sn_conv(f, 3, 1, f"conv{i}")(y), f"conv{i}")
        if skip:
            y = L.Add(name=f"skip{i}")([y, skip_to])
    y = lrelu(sn_conv(filters, 3, 1, "conv7")(y), "conv7")
    y = lrelu(sn_conv(filters, 3, 1, "conv8")(y), "conv8")
    return k.Model(inputs, L.Conv2D(1, 3, padding="same", name="conv9")(y), name=name)
