"""Training losses as Keras loss objects (they reduce correctly under distribution strategies).

Conventions: ``y_true``/``y_pred`` are RGB (or Y) in [0, 1], ``[N, H, W, C]``.
"""

from __future__ import annotations

from keras_sr._backend import keras

_k = keras()


@_k.saving.register_keras_serializable(package="keras_sr")
class VGGContentLoss(_k.losses.Loss):
    """MSE between VGG feature maps of the HR and SR images (SRGAN's content loss).

    ``layer``: VGG16 layer (default ``conv5_3``, post-ReLU; SRGAN's "VGG54" is VGG19
    ``block5_conv4``, available with ``vgg19_weights``). ``rescale``: features are multiplied
    by it before the MSE (SRGAN: 1/12.75, so the loss is comparable to pixel MSE).
    """

    def __init__(self, layer: str = "conv5_3", weights: str | None = None, vgg19_weights: str | None = None,
                 rescale: float = 1 / 12.75, name: str = "vgg_content", **kwargs):
        super().__init__(name=name, **kwargs)
        from keras_sr.evaluation.lpips import vgg16_features, vgg19_features

        self.layer, self.weights, self.vgg19_weights, self.rescale = layer, weights, vgg19_weights, rescale
        if vgg19_weights:
            self.features = vgg19_features(vgg19_weights, layer if layer.startswith("block") else "block5_conv4")
        else:
            self.features = vgg16_features(layer, weights)

    def call(self, y_true, y_pred):
        ops = _k.ops
        a = self.features(ops.clip(y_true, 0.0, 1.0)) * self.rescale
        b = self.features(ops.clip(y_pred, 0.0, 1.0)) * self.rescale
        return ops.mean(ops.square(a - b), axis=[1, 2, 3])

    def get_config(self):
        return {**super().get_config(), "layer": self.layer, "weights": self.weights,
                "vgg19_weights": self.vgg19_weights, "rescale": self.rescale}


@_k.saving.register_keras_serializable(package="keras_sr")
class LPIPSLoss(_k.losses.Loss):
    """LPIPS v0.1 distance as a training loss (the SRGAN seed project's "future work").

    ``net``: ``vgg`` (default; the same torchvision VGG16 file as :class:`VGGContentLoss`) or
    ``alex``. Note that ``alex`` is the network the package *evaluates* LPIPS with, so a model
    trained on it is scored by its own loss; ``vgg`` keeps the evaluation network independent.
    Inputs are clipped to [0, 1]; the networks are frozen (only the generator is updated).
    """

    def __init__(self, net: str = "vgg", weights: str | None = None, name: str = "lpips_loss",
                 precision: str = "fp32", **kwargs):
        super().__init__(name=name, **kwargs)
        from keras_sr.evaluation.lpips import LPIPS, get_lpips
        from keras_sr.training.precision import frozen_at_precision

        self.net, self.weights, self.precision = net, weights, precision
        if precision == "fp32":
            self.model = get_lpips(net, str(weights) if weights else None)  # frozen networks
        else:  # its own copy: the feature network at the training precision, distances in float32
            self.model = LPIPS(net, str(weights) if weights else None)
            self.model.features = frozen_at_precision(self.model.features, precision)

    def call(self, y_true, y_pred):
        ops = _k.ops
        return self.model.distance(ops.clip(y_true, 0.0, 1.0), ops.clip(y_pred, 0.0, 1.0))

    def get_config(self):
        return {**super().get_config(), "net": self.net, "weights": self.weights, "precision": self.precision}


# Real-ESRGAN's perceptual loss (options/train_realesrgan_x4plus.yml): VGG19 conv1_2, conv2_2,
# conv3_4, conv4_4, conv5_4 (pre-ReLU) weighted 0.1, 0.1, 1, 1, 1, L1. keras_sr has VGG16 weights
# locally (LPIPS's torchvision copy), so the same weights go on VGG16's last conv of each stage.
REALESRGAN_VGG16_LAYERS = {"conv1_2": 0.1, "conv2_2": 0.1, "conv3_3": 1.0, "conv4_3": 1.0, "conv5_3": 1.0}


@_k.saving.register_keras_serializable(package="keras_sr")
class PerceptualLoss(_k.losses.Loss):
    """Weighted L1 between VGG16 feature maps (pre-ReLU) of HR and SR: Real-ESRGAN's perceptual
    loss with VGG16 in place of VGG19 (the deviation: VGG19 weights are not available locally;
    ``conv3_3``/``conv4_3``/``conv5_3`` stand in for ``conv3_4``/``conv4_4``/``conv5_4``).
    ``layers``: ``{layer: weight}``; each term is the mean absolute difference of that layer's
    features (BasicSR ``PerceptualLoss`` with ``criterion: l1``). Inputs clipped to [0, 1].
    ``precision``: of the VGG16 itself (``train/distill --precision``; bf16 features, float32
    differences and loss)."""

    def __init__(self, weights: str | None = None, layers: dict | None = None, name: str = "perceptual",
                 precision: str = "fp32", **kwargs):
        super().__init__(name=name, **kwargs)
        from keras_sr.evaluation.lpips import vgg16_taps
        from keras_sr.training.precision import frozen_at_precision

        self.weights = weights
        self.precision = precision
        self.layers = dict(layers or REALESRGAN_VGG16_LAYERS)
        self.features = frozen_at_precision(vgg16_taps(tuple(self.layers), str(weights) if weights else None, True),
                                            precision)

    def call(self, y_true, y_pred):
        ops = _k.ops
        a = self.features(ops.clip(y_true, 0.0, 1.0))
        b = self.features(ops.clip(y_pred, 0.0, 1.0))
        a, b = (a, b) if isinstance(a, (list, tuple)) else ([a], [b])
        f32 = lambda v: ops.cast(v, "float32")  # noqa: E731
        terms = [w * ops.mean(ops.abs(f32(fa) - f32(fb)), axis=[1, 2, 3])
                 for w, fa, fb in zip(self.layers.values(), a, b)]
        return sum(terms[1:], terms[0])

    def get_config(self):
        return {**super().get_config(), "weights": self.weights, "layers": self.layers, "precision": self.precision}


def pixel_loss(kind: str = "mse"):
    """``mse`` or ``l1`` as a Keras loss object."""
    from keras_sr.errors import UsageError

    if kind == "mse":
        return _k.losses.MeanSquaredError()
    if kind in ("l1", "mae"):
        return _k.losses.MeanAbsoluteError()
    raise UsageError(f"unknown pixel loss {kind!r} (mse or l1)")
