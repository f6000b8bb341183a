"""SRResNet generator and SRGAN discriminator (Ledig et al., CVPR 2017).

Conventions: RGB in [0, 1] in and out (the generator's output is linear: clip it for use);
``Input((None, None, 3))``. PReLU uses ``shared_axes=[1, 2]`` so any image size works.
"""

from __future__ import annotations

from keras_sr._backend import keras
from keras_sr.models.layers import DepthToSpace

STAGES = {2: (2,), 3: (3,), 4: (2, 2), 6: (2, 3), 8: (2, 2, 2)}


def _prelu(name):
    return keras().layers.PReLU(shared_axes=[1, 2], name=name)


def srresnet(scale: int = 4, channels: int = 3, blocks: int = 16, filters: int = 64,
             batch_norm: bool = True, name=None):
    """SRResNet: 9x9 conv + PReLU, ``blocks`` residual blocks (conv-BN-PReLU-conv-BN + skip),
    conv-BN + global skip, sub-pixel x2 (or x3) stages (conv -> depth_to_space -> PReLU),
    9x9 conv to ``channels``. Scales 2, 3, 4, 6, 8."""
    if scale not in STAGES:
        raise ValueError(f"srresnet supports scales {sorted(STAGES)}, got {scale}")
    k = keras()
    L = k.layers

    def bn(x, n):
        return L.BatchNormalization(momentum=0.9, name=n)(x) if batch_norm else x

    x = inputs = k.Input((None, None, channels), name="lr")
    x = _prelu("head_prelu")(L.Conv2D(filters, 9, padding="same", name="head")(x))
    skip = x
    for i in range(blocks):
        y = bn(L.Conv2D(filters, 3, padding="same", name=f"block{i}_conv1")(x), f"block{i}_bn1")
        y = _prelu(f"block{i}_prelu")(y)
        y = bn(L.Conv2D(filters, 3, padding="same", name=f"block{i}_conv2")(y), f"block{i}_bn2")
        x = L.Add(name=f"block{i}_add")([x, y])
    x = bn(L.Conv2D(filters, 3, padding="same", name="body_conv")(x), "body_bn")
    x = L.Add(name="global_skip")([x, skip])
    for j, r in enumerate(STAGES[scale]):
        x = L.Conv2D(filters * r * r, 3, padding="same", name=f"up{j}_conv")(x)
        x = DepthToSpace(r, name=f"up{j}_shuffle")(x)
        x = _prelu(f"up{j}_prelu")(x)
    x = L.Conv2D(channels, 9, padding="same", name="tail")(x)
    return k.Model(inputs, x, name=name or f"srresnet_x{scale}")


def discriminator(channels: int = 3, filters: int = 64, dense: int = 1024, name="discriminator"):
    """SRGAN discriminator: 8 conv layers (filters 64..512, every second one strided) with
    BN + LeakyReLU(0.2), then global average pooling (any crop size) -> Dense(dense) ->
    LeakyReLU -> Dense(1): a real/fake **logit**."""
    k = keras()
    L = k.layers
    x = inputs = k.Input((None, None, channels), name="image")
    x = L.LeakyReLU(0.2)(L.Conv2D(filters, 3, padding="same", name="conv0")(x))
    spec = [(filters, 2), (filters * 2, 1), (filters * 2, 2), (filters * 4, 1), (filters * 4, 2),
            (filters * 8, 1), (filters * 8, 2)]
    for i, (f, stride) in enumerate(spec, start=1):
        x = L.Conv2D(f, 3, strides=stride, padding="same", name=f"conv{i}")(x)
        x = L.LeakyReLU(0.2)(L.BatchNormalization(momentum=0.9, name=f"bn{i}")(x))
    x = L.GlobalAveragePooling2D()(x)
    x = L.LeakyReLU(0.2)(L.Dense(dense, name="fc")(x))
    return k.Model(inputs, L.Dense(1, name="logit")(x), name=name)
