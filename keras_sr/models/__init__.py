"""Model builders and the explicit registry of architectures.

Every builder is a small function returning a functional ``keras.Model`` with
``Input((None, None, C))``. :data:`ARCHITECTURES` maps user-facing names to builders and
to the conventions a freshly built model has (:class:`ArchSpec`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from keras_sr.errors import UsageError
from keras_sr.models.info import ModelInfo, read_info, save_with_info
from keras_sr.models.lrspace import abpn, espcn, fsrcnn, fsrcnn_s
from keras_sr.models.realesr import rrdbnet, srvgg, unet_discriminator
from keras_sr.models.srcnn import srcnn, srcnn_915, srcnn_955, srcnn_deep
from keras_sr.models.srresnet import discriminator, srresnet


@dataclass(frozen=True)
class ArchSpec:
    """A registered architecture: builder, input mode and whether the builder takes ``scale``."""

    builder: Callable
    input_mode: str  # "pre-upsampled" or "lr"
    takes_scale: bool
    description: str


ARCHITECTURES: dict[str, ArchSpec] = {
    "srcnn": ArchSpec(srcnn, "pre-upsampled", False,
                      "SRCNN-keras HEAD mirror: 128 9x9 valid -> 64 3x3 same -> 1 5x5 valid"),
    "srcnn-915": ArchSpec(srcnn_915, "pre-upsampled", False,
                          "SRCNN-keras first version: 128 9x9 -> 64 1x1 -> 1 5x5, valid"),
    "srcnn-955": ArchSpec(srcnn_955, "pre-upsampled", False,
                          "SRCNN paper (TPAMI 2016) 9-5-5, 64/32/1"),
    "srcnn-deep": ArchSpec(srcnn_deep, "pre-upsampled", False,
                           "6-layer SRCNN variant 128-64-64-32-32-1"),
    "fsrcnn": ArchSpec(fsrcnn, "lr", True, "FSRCNN d=56 s=12 m=4, transposed-conv upscaling"),
    "fsrcnn-s": ArchSpec(fsrcnn_s, "lr", True, "FSRCNN-s d=32 s=5 m=1"),
    "espcn": ArchSpec(espcn, "lr", True, "ESPCN 5-3-3 64/32, sub-pixel (depth_to_space)"),
    "abpn": ArchSpec(abpn, "lr", True, "anchor-based plain net 5x28 ReLU + anchor, int8-friendly (mobile)"),
    "srresnet": ArchSpec(srresnet, "lr", True, "SRResNet 16x64 residual blocks, RGB, sub-pixel stages"),
    "srgan": ArchSpec(srresnet, "lr", True, "SRGAN: SRResNet generator + discriminator, VGG + adversarial loss"),
    "srvgg": ArchSpec(srvgg, "lr", True, "Real-ESRGAN SRVGGNetCompact: 64 x 16 3x3 conv + per-channel PReLU, "
                                         "sub-pixel + nearest-upscaled input (int8-friendly)"),
    "realesrgan": ArchSpec(srvgg, "lr", True, "Real-ESRGAN stage 2: srvgg generator + U-Net discriminator (SN), "
                                              "L1 + perceptual + 0.1 GAN"),
    "rrdbnet": ArchSpec(rrdbnet, "lr", True, "ESRGAN RRDBNet: 64 feat, 23 RRDB blocks, growth 32 "
                                             "(x2: pixel-unshuffled input)"),
}


def get_architecture(name: str) -> ArchSpec:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise UsageError(
            f"unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)}"
        ) from None


def build_model(name: str, scale: int, channels: int = 1, **kwargs):
    """Build a registered architecture for ``scale`` (ignored by pre-upsampling models)."""
    spec = get_architecture(name)
    if spec.takes_scale:
        kwargs["scale"] = scale
    return spec.builder(channels=channels, **kwargs)


def border(model, probe: int = 64) -> int:
    """Pixels a pre-upsampling model loses on each side ('valid' convolutions), >= 0."""
    shape = model.compute_output_shape((1, probe, probe, model.input_shape[-1]))
    lost = probe - int(shape[1])
    if lost < 0 or lost % 2:
        raise ValueError(f"model {model.name} does not keep its input size (probe {probe} -> {shape[1]})")
    return lost // 2


__all__ = ["ARCHITECTURES", "ArchSpec", "ModelInfo", "abpn", "border", "build_model", "discriminator", "espcn",
           "fsrcnn", "rrdbnet", "srresnet", "srvgg", "unet_discriminator",
           "fsrcnn_s", "get_architecture", "read_info", "save_with_info", "srcnn", "srcnn_915",
           "srcnn_955", "srcnn_deep"]
