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

    def __init__(self, net: str = "vgg", weights: str | None = None, name: str = "lpips_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        from keras_sr.evaluation.lpips import get_lpips

        self.net, self.weights = net, weights
        self.model = get_lpips(net, str(weights) if weights else None)  # frozen networks

    def call(self, y_true, y_pred):
        ops = _k.ops
        return self.model.distance(ops.clip(y_true, 0.0, 1.0), ops.clip(y_pred, 0.0, 1.0))

    def get_config(self):
        return {**super().get_config(), "net": self.net, "weights": self.weights}


def pixel_loss(kind: str = "mse"):
    """``mse`` or ``l1`` as a Keras loss object."""
    from keras_sr.errors import UsageError

    if kind == "mse":
        return _k.losses.MeanSquaredError()
    if kind in ("l1", "mae"):
        return _k.losses.MeanAbsoluteError()
    raise UsageError(f"unknown pixel loss {kind!r} (mse or l1)")
