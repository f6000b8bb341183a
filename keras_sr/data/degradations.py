"""Named degradations: how a low-resolution (LR) image is made from a high-resolution (HR) one.

A model only works on the degradation it was trained on (SRCNN-keras's weights, fed a
bicubic input instead of their bilinear one, score ~5 dB *below their input*), so every
model records the name of its degradation and warns when used with another.

Conventions: images are float ``[H, W, C]`` or ``[N, H, W, C]`` in [0, 1] (NumPy or TF);
results are float32 TF tensors, clipped to [0, 1]. Resize arguments are passed by keyword
(SRCNN-keras passed ``cv2.INTER_CUBIC`` positionally into ``dst`` and silently got bilinear).

``bicubic`` (default, the paper protocol)
    MATLAB ``imresize(x, 1/s, 'bicubic')``: Keys cubic (a = -0.5) with antialiasing on
    downscaling. ``tf.image.resize(method="bicubic", antialias=True)`` computes exactly
    this kernel. Upscaling (the bicubic input of pre-upsampling models, and the baseline)
    uses the same kernel.
``bilinear-legacy``
    OpenCV ``cv2.resize`` INTER_LINEAR both ways (half-pixel centres, no antialias), on
    8-bit data: what SRCNN-keras trained on. LR size is ``(h // s, w // s)`` and the
    upscaled image is resized back to the *original* ``(h, w)``.
``realworld``
    Real-ESRGAN's random two-stage chain (blur, resize, noise, JPEG, twice; final sinc), see
    :mod:`keras_sr.data.realworld`. Stochastic: ``downscale`` needs a ``seed`` (a stateless
    seed, shape [2]) and ``params`` (:class:`~keras_sr.data.realworld.RealWorldParams`,
    default Real-ESRGAN x4plus); the LR is ``(h // s, w // s)`` on the 8-bit grid. The
    pre-upscaling of pre-upsampling models and the evaluation baseline is bicubic.
``realworld-accurate``
    ``realworld`` with its two JPEGs decoded with libjpeg's accurate IDCT
    (:meth:`~keras_sr.data.realworld.RealWorldParams.accurate`, ``jpeg_accurate``): the same
    draws for a seed, without the ~1 level drop of R and B that TensorFlow's default (fast) IDCT
    adds per JPEG and Real-ESRGAN's DiffJPEG does not. For training restorers that add no cast.
``light``
    Typical phone and web photos: the same module's one-stage chain
    (:meth:`~keras_sr.data.realworld.RealWorldParams.light`): MATLAB-bicubic downscale, then
    mild blur, Gaussian noise sigma 1-10 and one JPEG at quality 50-95 on the LR. Stochastic and
    seeded like ``realworld`` (its default ``params`` are ``RealWorldParams.light()``).

A stochastic degradation's ``params`` default to its own (:meth:`Degradation.default_params`);
:meth:`Degradation.resolve_params` applies a dict of overrides (a training config's
``degradation_params``, ``--degradation-param``) to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from keras_sr._backend import tf
from keras_sr.data.color import quantize
from keras_sr.errors import UsageError


def _resize(image, size, method: str, antialias: bool):
    t = tf()
    out = t.image.resize(t.convert_to_tensor(image, t.float32), size=size, method=method,
                         antialias=antialias)
    return t.clip_by_value(out, 0.0, 1.0)


def bicubic_resize(image, size):
    """MATLAB-style antialiased Keys-cubic resize to ``size = (h, w)``."""
    return _resize(image, size, method="bicubic", antialias=True)


def bilinear_legacy_resize(image, size):
    """OpenCV INTER_LINEAR-style resize (half-pixel centres, no antialias) to ``size``."""
    return _resize(image, size, method="bilinear", antialias=False)


@dataclass(frozen=True)
class Degradation:
    """How LR is made from HR (``resize`` down by ``1/s``) and how LR is pre-upscaled back.

    ``quantize_lr``: the LR image is stored as 8-bit (rounded) before pre-upscaling.
    ``stochastic``: ``downscale`` draws random parameters and needs a ``seed``.
    """

    name: str
    resize: Callable
    quantize_lr: bool
    description: str
    stochastic: bool = False
    params_name: str | None = None  # stochastic: the RealWorldParams preset ("default", "accurate" or "light")

    def default_params(self):
        """A stochastic degradation's own :class:`~keras_sr.data.realworld.RealWorldParams`
        (``realworld``: Real-ESRGAN x4plus; ``realworld-accurate``: ``RealWorldParams.accurate()``;
        ``light``: ``RealWorldParams.light()``); else None."""
        if not self.stochastic:
            return None
        from keras_sr.data import realworld

        presets = {"default": lambda: realworld.DEFAULT_PARAMS, "accurate": realworld.RealWorldParams.accurate,
                   "light": realworld.RealWorldParams.light}
        return presets[self.params_name]()

    def resolve_params(self, overrides: dict | None = None):
        """:meth:`default_params` with ``overrides`` (field name -> value) applied and validated;
        overrides of a deterministic degradation are a :class:`UsageError`."""
        if not self.stochastic:
            if overrides:
                raise UsageError(f"degradation parameters are for realworld(-accurate) and light, not {self.name!r}")
            return None
        return self.default_params().updated(overrides)

    def downscale(self, hr, scale: int, quantize_output: bool | None = None, seed=None, params=None):
        """HR ``[.., H, W, C]`` → LR of size ``(H // scale, W // scale)``; stochastic
        degradations draw from ``seed`` (always 8-bit: ``quantize_output`` does not apply)."""
        if self.stochastic:
            if seed is None:
                raise ValueError(f"the {self.name!r} degradation is random: downscale needs a seed")
            from keras_sr.data import realworld

            return realworld.degrade_batch(hr, seed, scale, params or self.default_params())
        h, w = _hw(hr)
        lr = self.resize(hr, size=(h // scale, w // scale))
        q = self.quantize_lr if quantize_output is None else quantize_output
        return quantize(lr) if q else lr

    def upscale(self, lr, size, quantize_output: bool = False):
        """Pre-upscale LR to ``size = (h, w)`` with this degradation's interpolation."""
        out = self.resize(lr, size=size)
        return quantize(out) if quantize_output else out


def _hw(x):
    """Height and width: Python ints when static, scalar tensors otherwise (tf.data graphs)."""
    shape = x.shape
    if shape[-3] is not None and shape[-2] is not None:
        return int(shape[-3]), int(shape[-2])
    dyn = tf().shape(x)
    return dyn[-3], dyn[-2]


DEGRADATIONS = {
    "bicubic": Degradation(
        "bicubic", bicubic_resize, quantize_lr=True,
        description="MATLAB imresize bicubic (antialiased Keys cubic, a=-0.5); paper protocol",
    ),
    "bilinear-legacy": Degradation(
        "bilinear-legacy", bilinear_legacy_resize, quantize_lr=True,
        description="OpenCV INTER_LINEAR down and up on 8-bit data (what SRCNN-keras trained on)",
    ),
    "realworld": Degradation(
        "realworld", bicubic_resize, quantize_lr=True, stochastic=True, params_name="default",
        description="Real-ESRGAN two-stage blur/resize/noise/JPEG chain, seeded (keras_sr.data.realworld); "
                    "bicubic pre-upscaling",
    ),
    "realworld-accurate": Degradation(
        "realworld-accurate", bicubic_resize, quantize_lr=True, stochastic=True, params_name="accurate",
        description="realworld with both JPEGs decoded by libjpeg's accurate IDCT (no R/B drop of TF's fast "
                    "IDCT; as DiffJPEG), same draws; bicubic pre-upscaling",
    ),
    "light": Degradation(
        "light", bicubic_resize, quantize_lr=True, stochastic=True, params_name="light",
        description="phone/web photos: bicubic downscale, mild blur, Gaussian noise sigma 1-10, one JPEG "
                    "q 50-95, seeded (RealWorldParams.light()); bicubic pre-upscaling",
    ),
}


def get_degradation(name: str) -> Degradation:
    """Look up a degradation by name; unknown names raise a :class:`UsageError`."""
    try:
        return DEGRADATIONS[name]
    except KeyError:
        raise UsageError(
            f"unknown degradation {name!r}; known: {', '.join(sorted(DEGRADATIONS))}"
        ) from None
