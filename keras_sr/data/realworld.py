"""The ``realworld`` degradation: Real-ESRGAN's two-stage pipeline in TensorFlow, on a batch.

What it mirrors: xinntao/Real-ESRGAN ``RealESRGANModel.feed_data`` (the chain),
``RealESRGANDataset.__getitem__`` (kernel sampling), BasicSR ``data/degradations.py``
(``random_mixed_kernels``, bivariate Gaussian / generalized Gaussian / plateau kernels,
``circular_lowpass_kernel``, ``random_add_gaussian_noise_pt``, ``random_add_poisson_noise_pt``),
BasicSR ``utils/img_process_util.py`` (``filter2D``, ``USMSharp``), with the ranges of
``options/train_realesrgan_x4plus.yml``: they are the defaults of :class:`RealWorldParams`.

The chain, HR ``[B, H, W, C]`` float in [0, 1] -> LR ``[B, H // s, W // s, C]`` on the 8-bit grid:

0. unsharp mask (Real-ESRGAN degrades ``usm_sharpener(gt)``: weight 0.5, threshold 10,
   51x51 Gaussian with OpenCV's sigma 8);
1. blur (kernel 1), random resize (up/down/keep, area/bilinear/bicubic), Gaussian or Poisson
   noise (colour or gray), JPEG;
2. blur (kernel 2, with ``second_blur_prob``), random resize relative to the target size,
   noise; then in one of two orders (50/50): [resize to ``(H // s, W // s)`` + final sinc
   filter] then JPEG, or JPEG then [resize + sinc]; clip and round to 8 bits.

The ``light`` degradation (``RealWorldParams.light()``, ``stages=1``) is one stage of the same
ops for typical phone and web photos: MATLAB-bicubic downscale, then mild blur, Gaussian noise
sigma 1-10 and one JPEG (quality 50-95, decoded with libjpeg's accurate IDCT) on the LR.

Layout: one frozen :class:`RealWorldParams` holds every range and probability (validated,
:class:`~keras_sr.errors.UsageError` on a bad value; ``RealWorldParams.mild()`` is the
weak-denoise variant, ``RealWorldParams.light()`` the one-stage light chain). :func:`sample` draws the parameters of a batch from a stateless seed
*in-graph* (``tf.random.stateless_*``; auto-selected algorithm, Philox on CPU and GPU), :func:`apply` runs the small ops
(:func:`usm_sharpen`, :func:`blur`, :func:`resize`, :func:`gaussian_noise`,
:func:`poisson_noise`, :func:`jpeg`, :func:`quantize8`) on the batch, and :func:`degrade_batch`
is both. It is one TF-graph function, so the same code runs in ``tf.data`` (``--augment-on
pipeline``), inside a compiled ``train_step`` (``--augment-on device``), and eagerly (``keras-sr
degrade``, ``evaluate --degradation realworld``): the two training modes draw from one
distribution (tested). :func:`records` turns sampled parameters into one JSON-serialisable dict
per image (kernels as arrays summing to 1, cropped to their size).

Deviations from Real-ESRGAN, each deliberate:

* JPEG: Real-ESRGAN runs DiffJPEG (a PyTorch re-implementation, on the GPU, on float input,
  float quality). Here libjpeg through ``EncodeJpegVariableQuality``/``DecodeJpeg`` (what
  ``tf.image.adjust_jpeg_quality`` uses), per image (``tf.map_fn``), on the image rounded to
  8 bits, integer quality drawn uniformly among the integers of the range, 4:2:0 chroma.
  ``DecodeJpeg``'s default fast integer IDCT lowers the mean of R and B by ~1 level on natural
  photos (measured in :func:`jpeg`'s docstring); DiffJPEG's float round trip does not: a colour
  deviation of this chain, kept so that its LR images stay byte-identical. ``jpeg_accurate=True``
  (the ``realworld-accurate`` degradation, :meth:`RealWorldParams.accurate`; ``light`` too)
  decodes with libjpeg's accurate IDCT instead: same draws, only the decode differs.

Colour (channel means, 8-bit levels; ``tools/color_steps.py`` on 29 colour photos of Set5, Set14,
BSD200 and scikit-image, vs BasicSR's own functions and DiffJPEG; tests in test_realworld.py):

* Blur (every kernel type, sinc included), resize (area/bilinear/bicubic, down and up, clipped
  and rounded) and the final rounding keep channel means within 0.05 on average (a 1/4
  bicubic or bilinear downscale without antialias: within 0.7 per photo from aliasing, not bias).
* JPEG: TensorFlow's default decode R -1.1, G 0.0, B -1.1 at every quality 30-95, per JPEG
  (two per chain); the accurate decode and Pillow agree with DiffJPEG within 0.3 (q 30: B +0.35
  vs +0.11 on average; a single small image at q 30 can move ~1 level either way).
* Unsharp mask: its clip to [0, 1] shifts a photo with large white/black areas (astronaut:
  R +0.2, G +0.8, B +1.1; 29-photo mean R -0.36, up to 4.5 on one), as BasicSR's ``USMSharp``.
  Real-ESRGAN takes the sharpened HR as the pixel target too (``usm_targets``), which cancels
  it; a model trained on plain-HR targets learns it (``usm_weight=0`` removes it).
* Noise clipped to [0, 1], as BasicSR (``clip=True``), shifts means by design: Gaussian sigma 30
  R -0.2, G +0.4, B +0.8 on average (astronaut +1.1, +2.3, +2.6: its dark areas are clipped up),
  sigma 10 within 0.1; Poisson scale 3: R -2.1, G -1.0, B -0.8 (bright areas clipped down), scale
  1: -0.3 / -0.2 / -0.2; BasicSR's functions give the same within 0.05. BasicSR's Poisson noise
  is degenerate on flat images: one grey level gives ``vals`` = 1, whole-unit noise (a flat
  128 becomes 0 or 255, its mean -28 levels at scale 1); reproduced here as there.
* Over a whole draw (x4, 96 seeds, bicubic-upscaled LR vs HR, astronaut): ``realworld`` R -1.5,
  G +2.1, B +0.5; ``realworld-accurate`` R +0.5, G +2.1, B +2.7 (the fast decode's R/B drop was
  partly cancelling the USM and noise clipping on this dark-and-white photo); accurate without
  noise R +0.5, G +1.3, B +1.9; and without USM too +0.3, +0.4, +0.6. On Set14 (96 draws over
  its 14 images): ``realworld`` R -2.8, G +0.1, B -2.0 (mean |.| 1.63), ``realworld-accurate``
  R -0.7, G +0.2, B +0.3 (0.40), with ``usm_weight=0`` R -0.5, G -0.1, B +0.1 (0.24). The
  fast-IDCT decode is the chain's systematic cast (R and B down in the LR, so a model learns R and
  B up); clipping (USM, noise) depends on the photo and mostly averages out.
  Those ops have CPU kernels only: inside a GPU train step TensorFlow places them on the host
  (soft placement), so each step copies the batch to the host and back twice and runs two
  serial encode/decode loops; and they cannot be XLA-compiled, so a step that degrades on the
  device must be compiled with ``jit_compile=False`` (the trainer does). In ``tf.data`` they
  run on the CPU workers anyway. libjpeg's integer DCT is the one step whose bits depend on the
  library build (bit-exact across x86 machines with the same libjpeg-turbo is expected, not
  guaranteed). ``tf.random.stateless_poisson`` is also a CPU-only op.
* Per batch vs per image: as in ``feed_data``, the resize kind/scale/mode of both stages, the
  Gaussian-vs-Poisson choice of both stages, whether the second blur runs, the final order and
  final resize mode are drawn once per batch (one batch, one image size); kernels, noise sigma /
  Poisson scale, the gray flag and JPEG qualities per image. A batch of one (``keras-sr
  degrade``, evaluation) therefore draws everything per image. Real-ESRGAN's 180-pair training
  pool that re-mixes batches is not reproduced (in ``pipeline`` mode, shuffle after batching
  does the same job if wanted).
* Gray Gaussian noise: BasicSR draws one ``[H, W]`` field and scales it per image, so all
  gray-noise images of a batch share the same noise pattern; here each image gets its own.
* Kernels are built in-graph from the sampled parameters (float64, then float32), on the
  21x21 grid Real-ESRGAN pads them to (zeros outside the sampled size); values match BasicSR's
  NumPy functions to float32 precision (tested against BasicSR when it is installed).
* Resizes reproduce PyTorch ``F.interpolate`` (``align_corners=False``; bicubic with
  a = -0.75 and clamped borders; bilinear without antialiasing; area = adaptive average
  pooling; the first resize uses ``scale_factor`` for the sampling grid as PyTorch does) as
  separable resampling matrices, not ``tf.image.resize`` (Keys a = -0.5, other borders).
* Reflect padding of the blurs works on any size (PyTorch's ``reflect`` fails when the pad
  exceeds the image, which 256-px training crops never hit but small test images do), and
  every intermediate size is at least 1 px.
* Channels: RGB (3) as Real-ESRGAN; 1-channel (Y or gray) images go through the same chain
  (gray JPEG; colour and gray noise coincide).

Determinism: the same seed gives the same LR on the same machine and TensorFlow build (all
random draws are stateless; the float ops are deterministic on CPU). Across machines
the float ops may differ in the last bits, which the final 8-bit rounding almost always hides,
and JPEG depends on the libjpeg build as said above.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from keras_sr._backend import tf
from keras_sr.errors import UsageError

KERNEL_TYPES = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")
SINC = len(KERNEL_TYPES)  # kernel type index of a sinc (circular low-pass) kernel
RESIZE_KINDS = ("up", "down", "keep")
RESIZE_MODES = ("area", "bilinear", "bicubic")
NOISE_KINDS = ("gaussian", "poisson")
FINAL_ORDERS = ("resize+sinc,jpeg", "jpeg,resize+sinc")
_PI = math.pi


@dataclass(frozen=True)
class RealWorldParams:
    """Every range and probability of the ``realworld`` degradation (Real-ESRGAN x4plus options).

    Ranges are ``(low, high)``, sampled uniformly. ``kernel_range``: odd blur/sinc kernel sizes
    (every odd size in it equally likely; kernels are padded to the largest). ``*_prob`` tuples
    are categorical: ``kernel_prob`` over :data:`KERNEL_TYPES`, ``resize_prob`` over
    up/down/keep; ``final_order_prob`` is the probability of [resize + sinc] before the last
    JPEG. Noise sigma is on the 0..255 scale; JPEG qualities are 1..100.
    """

    kernel_range: tuple = (7, 21)
    kernel_prob: tuple = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
    sinc_prob: float = 0.1
    blur_sigma: tuple = (0.2, 3.0)
    betag_range: tuple = (0.5, 4.0)
    betap_range: tuple = (1.0, 2.0)
    kernel_prob2: tuple = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
    sinc_prob2: float = 0.1
    blur_sigma2: tuple = (0.2, 1.5)
    betag_range2: tuple = (0.5, 4.0)
    betap_range2: tuple = (1.0, 2.0)
    second_blur_prob: float = 0.8
    final_sinc_prob: float = 0.8
    resize_prob: tuple = (0.2, 0.7, 0.1)
    resize_range: tuple = (0.15, 1.5)
    resize_prob2: tuple = (0.3, 0.4, 0.3)
    resize_range2: tuple = (0.3, 1.2)
    gaussian_noise_prob: float = 0.5
    noise_range: tuple = (1.0, 30.0)
    poisson_scale_range: tuple = (0.05, 3.0)
    gray_noise_prob: float = 0.4
    gaussian_noise_prob2: float = 0.5
    noise_range2: tuple = (1.0, 25.0)
    poisson_scale_range2: tuple = (0.05, 2.5)
    gray_noise_prob2: float = 0.4
    jpeg_range: tuple = (30, 95)
    jpeg_range2: tuple = (30, 95)
    final_order_prob: float = 0.5
    usm_weight: float = 0.5  # 0 = degrade the HR as it is (no unsharp mask)
    usm_threshold: float = 10.0
    usm_radius: int = 51
    stages: int = 2  # 1 = the one-stage ``light`` chain (see :meth:`light`)
    jpeg_accurate: bool = False  # decode JPEG with libjpeg's accurate IDCT (see :func:`jpeg`); False: TF's default

    def __post_init__(self):
        for f in fields(self):  # JSON lists -> tuples, so equal params compare and hash equal
            v = getattr(self, f.name)
            if isinstance(v, list):
                object.__setattr__(self, f.name, tuple(v))
        self.validate()

    def validate(self) -> None:
        def bad(name, why):
            raise UsageError(f"realworld parameter {name}: {why} (got {getattr(self, name)!r})")

        def pair(name):
            v = getattr(self, name)
            if not (isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v)):
                bad(name, "expected two numbers (low, high)")
            if v[0] > v[1]:
                bad(name, "low > high")
            return v

        def prob(name):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                bad(name, "a probability must be in [0, 1]")

        def probs(name, n):
            v = getattr(self, name)
            if not (isinstance(v, tuple) and len(v) == n and all(isinstance(x, (int, float)) for x in v)):
                bad(name, f"expected {n} probabilities")
            if any(x < 0 for x in v) or abs(sum(v) - 1.0) > 1e-6:
                bad(name, f"probabilities must be >= 0 and sum to 1 (sum {sum(v):g})")

        lo, hi = pair("kernel_range")
        if any(int(k) != k or k % 2 == 0 for k in (lo, hi)):
            bad("kernel_range", "kernel sizes must be odd integers")
        if lo < 1 or hi > 41:
            bad("kernel_range", "kernel sizes must be in 1..41")
        for name in ("blur_sigma", "blur_sigma2"):
            if pair(name)[0] <= 0:
                bad(name, "blur sigma must be > 0")
        for name in ("betag_range", "betag_range2", "betap_range", "betap_range2"):
            b = pair(name)
            if b[0] <= 0 or not b[0] <= 1.0 <= b[1]:  # BasicSR samples [low, 1] or [1, high]
                bad(name, "shape beta needs 0 < low <= 1 <= high")
        for name in ("noise_range", "noise_range2"):
            if pair(name)[0] < 0:
                bad(name, "noise sigma must be >= 0")
        for name in ("poisson_scale_range", "poisson_scale_range2"):
            if pair(name)[0] < 0:
                bad(name, "Poisson scale must be >= 0")
        for name in ("jpeg_range", "jpeg_range2"):
            q = pair(name)
            if q[0] < 1 or q[1] > 100:
                bad(name, "JPEG quality must be in 1..100")
            if math.ceil(q[0]) > math.floor(q[1]):
                bad(name, "the range holds no integer quality")
        for name in ("resize_range", "resize_range2"):
            r = pair(name)
            if r[0] <= 0 or not r[0] <= 1.0 <= r[1]:
                bad(name, "resize scales need 0 < low <= 1 <= high")
        probs("kernel_prob", len(KERNEL_TYPES))
        probs("kernel_prob2", len(KERNEL_TYPES))
        probs("resize_prob", 3)
        probs("resize_prob2", 3)
        for name in ("sinc_prob", "sinc_prob2", "second_blur_prob", "final_sinc_prob", "gaussian_noise_prob",
                     "gaussian_noise_prob2", "gray_noise_prob", "gray_noise_prob2", "final_order_prob"):
            prob(name)
        if not isinstance(self.usm_weight, (int, float)) or self.usm_weight < 0:
            bad("usm_weight", "must be >= 0")
        if not isinstance(self.usm_threshold, (int, float)) or self.usm_threshold < 0:
            bad("usm_threshold", "must be >= 0")
        if not isinstance(self.usm_radius, int) or self.usm_radius < 1 or self.usm_radius % 2 == 0:
            bad("usm_radius", "must be an odd integer >= 1")
        if self.stages not in (1, 2):
            bad("stages", "must be 1 (the light chain) or 2 (Real-ESRGAN's)")
        if not isinstance(self.jpeg_accurate, bool):
            bad("jpeg_accurate", "must be true or false (1 or 0)")

    @classmethod
    def mild(cls, strength: float = 0.5, **overrides) -> "RealWorldParams":
        """The weak-denoise variant: noise sigma and Poisson scale ranges times ``strength``,
        JPEG qualities moved towards 100 (``100 - strength * (100 - q)``): halved by default."""
        d = cls()
        s = float(strength)
        if not 0 <= s <= 1:
            raise UsageError(f"mild strength must be in [0, 1], got {strength}")
        scale = lambda r: (r[0] * s, r[1] * s)  # noqa: E731
        q = lambda r: (math.ceil(100 - s * (100 - r[0])), math.floor(100 - s * (100 - r[1])))  # noqa: E731
        return replace(d, noise_range=scale(d.noise_range), noise_range2=scale(d.noise_range2),
                       poisson_scale_range=scale(d.poisson_scale_range),
                       poisson_scale_range2=scale(d.poisson_scale_range2),
                       jpeg_range=q(d.jpeg_range), jpeg_range2=q(d.jpeg_range2), **overrides)

    @classmethod
    def light(cls, **overrides) -> "RealWorldParams":
        """The ``light`` degradation, typical phone and web photos: one stage (``stages=1``) of
        the chain, in this order: MATLAB-bicubic downscale to ``(H // s, W // s)`` (the clean
        protocol's resize, antialiased), then on the LR photo a mild blur (Gaussian kernels, 70 %
        isotropic / 30 % anisotropic, sigma 0.2-1.0 LR px, sizes 5-9, no sinc), Gaussian noise
        sigma 1-10 (colour noise; gray on 20 % of images), one JPEG at quality 50-95 (decoded
        with the accurate IDCT, :func:`jpeg`); no unsharp mask. Blur and noise act on the LR, so a light photo is equally light at every factor.
        Only ``kernel_range``, ``kernel_prob``, ``blur_sigma``, ``betag_range``,
        ``betap_range``, ``sinc_prob``, ``noise_range``, ``gaussian_noise_prob``,
        ``poisson_scale_range``, ``gray_noise_prob``, ``jpeg_range`` and the ``usm_*`` fields act
        in one stage; the others (second stage, first resize, final sinc) are unused. Not
        :meth:`mild`: that keeps both stages of Real-ESRGAN's chain (blur, resampling, Poisson
        noise, two JPEGs) at half strength, for the weak-denoise sibling."""
        light = dict(stages=1, kernel_range=(5, 9), kernel_prob=(0.7, 0.3, 0.0, 0.0, 0.0, 0.0), sinc_prob=0.0,
                     blur_sigma=(0.2, 1.0), gaussian_noise_prob=1.0, noise_range=(1.0, 10.0), gray_noise_prob=0.2,
                     jpeg_range=(50, 95), usm_weight=0.0, jpeg_accurate=True)
        return replace(cls(), **{**light, **overrides})

    @classmethod
    def accurate(cls, **overrides) -> "RealWorldParams":
        """The ``realworld-accurate`` degradation: Real-ESRGAN's two-stage chain with every range
        of the defaults, its two JPEGs decoded with libjpeg's accurate IDCT (``jpeg_accurate``)
        instead of TensorFlow's default fast one: what DiffJPEG does to channel means (nothing
        measurable), so a model trained on it does not learn to undo a colour cast the chain
        added. Same draws as ``realworld`` for a seed; only the JPEG decode differs."""
        return replace(cls(), **{"jpeg_accurate": True, **overrides})

    def updated(self, changes: dict | None) -> "RealWorldParams":
        """This instance with the fields in ``changes`` (a JSON dict, e.g. a training config's
        ``degradation_params``) replaced and validated; unknown names are a :class:`UsageError`."""
        changes = dict(changes or {})
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise UsageError(f"unknown realworld parameter(s): {', '.join(sorted(unknown))}")
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "RealWorldParams":
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise UsageError(f"unknown realworld parameter(s): {', '.join(sorted(unknown))}")
        return cls(**d)

    def with_overrides(self, items) -> "RealWorldParams":
        """``["noise_range=1,10", "sinc_prob=0"]`` (the CLI's ``--param``) -> a new, validated
        instance; a one-line :class:`UsageError` on an unknown name or a bad value."""
        kinds = {f.name: getattr(self, f.name) for f in fields(self)}
        changes = {}
        for item in items:
            name, sep, text = item.partition("=")
            name = name.strip()
            if not sep or name not in kinds:
                raise UsageError(f"--param expects NAME=VALUE with NAME one of {', '.join(kinds)}; got {item!r}")
            try:
                values = [float(x) for x in text.split(",")]
            except ValueError:
                raise UsageError(f"--param {name}: expected number(s), got {text!r}") from None
            default = kinds[name]
            if isinstance(default, bool):
                if len(values) != 1 or values[0] not in (0.0, 1.0):
                    raise UsageError(f"--param {name}: expected 1 or 0, got {text!r}")
                changes[name] = bool(values[0])
            elif isinstance(default, tuple):
                changes[name] = tuple(values)
            elif len(values) != 1:
                raise UsageError(f"--param {name}: expected one number, got {text!r}")
            elif isinstance(default, int) and not isinstance(default, bool):
                changes[name] = int(values[0]) if values[0] == int(values[0]) else values[0]
            else:
                changes[name] = values[0]
        return replace(self, **changes)


DEFAULT_PARAMS = RealWorldParams()


# ---------------------------------------------------------------- random draws (stateless)

class _Draws:
    """Successive independent stateless draws from one seed: draw ``i`` uses row ``i`` of
    ``stateless_split(seed, 128)`` (Philox), so adding a draw at the end changes none before it."""

    SLOTS = 128

    def __init__(self, seed):
        t = tf()
        self.seeds = t.random.experimental.stateless_split(t.cast(t.convert_to_tensor(seed), t.int64), self.SLOTS)
        self.i = 0

    def next_seed(self):
        if self.i >= self.SLOTS:
            raise RuntimeError("realworld: more random draws than seed slots")
        self.i += 1
        return self.seeds[self.i - 1]

    def uniform(self, shape, lo=0.0, hi=1.0, dtype=None):
        t = tf()
        return t.random.stateless_uniform(shape, self.next_seed(), minval=lo, maxval=hi,
                                          dtype=dtype or t.float32)

    def integers(self, shape, lo, hi):
        """Uniform integers in [lo, hi] (inclusive)."""
        t = tf()
        return t.random.stateless_uniform(shape, self.next_seed(), minval=int(lo), maxval=int(hi) + 1,
                                          dtype=t.int32)

    def choice(self, shape, probs):
        """Indices drawn with the categorical probabilities ``probs``."""
        t = tf()
        u = self.uniform(shape, dtype=t.float64)
        edges = t.constant(np.cumsum(probs)[:-1], t.float64)
        return t.cast(t.reduce_sum(t.cast(u[..., None] >= edges, t.int32), axis=-1), t.int32)


# ---------------------------------------------------------------- kernels

def _grid(size_max: int):
    """x (column) and y (row) offsets of a ``size_max`` x ``size_max`` grid centred on 0."""
    ax = np.arange(size_max, dtype=np.float64) - size_max // 2
    xx, yy = np.meshgrid(ax, ax)
    return xx, yy


def kernels_from(ktype, size, sigma_x, sigma_y, theta, beta, omega, size_max: int):
    """Per-image kernels ``[B, size_max, size_max]`` (float32, each summing to 1) from sampled
    parameters: ``ktype`` indexes :data:`KERNEL_TYPES` (or :data:`SINC`), ``size`` the odd
    support (zeros outside it, centred), Gaussian-family shape from ``sigma_x, sigma_y, theta``
    (radians) and ``beta``; sinc cutoff ``omega`` (radians). BasicSR's formulas: quadratic form
    ``Q = v^T Sigma^-1 v`` with ``Sigma = R diag(sx^2, sy^2) R^T``; Gaussian ``exp(-Q/2)``,
    generalized ``exp(-Q^beta/2)``, plateau ``1 / (1 + Q^beta)``; sinc ``omega J1(omega r) /
    (2 pi r)`` (``omega^2 / 4 pi`` at 0)."""
    t = tf()
    f64 = t.float64
    xx, yy = (t.constant(a, f64)[None] for a in _grid(size_max))
    e = lambda v: t.cast(v, f64)[:, None, None]  # noqa: E731
    sx, sy, th, be, om = e(sigma_x), e(sigma_y), e(theta), e(beta), e(omega)
    c, s = t.cos(th), t.sin(th)
    p, q = 1.0 / sx**2, 1.0 / sy**2
    a, b, d = p * c**2 + q * s**2, c * s * (p - q), p * s**2 + q * c**2
    quad = a * xx**2 + 2.0 * b * xx * yy + d * yy**2
    kt = t.cast(ktype, t.int32)[:, None, None]
    qb = t.pow(quad, be)
    gauss = t.exp(-0.5 * quad)
    general = t.exp(-0.5 * qb)
    plateau = 1.0 / (qb + 1.0)
    r = t.sqrt(xx**2 + yy**2)
    safe_r = t.where(r > 0, r, t.ones_like(r))
    sinc = t.where(r > 0, om * t.math.special.bessel_j1(om * safe_r) / (2.0 * _PI * safe_r),
                   om**2 / (4.0 * _PI) + 0.0 * r)
    k = t.where(kt <= 1, gauss, t.where(kt <= 3, general, t.where(kt <= 5, plateau, sinc)))
    half = t.cast(t.convert_to_tensor(size) // 2, f64)[:, None, None]
    inside = t.logical_and(t.abs(xx) <= half, t.abs(yy) <= half)
    k = t.where(inside, k, t.zeros_like(k))
    k = k / t.reduce_sum(k, axis=[1, 2], keepdims=True)
    return t.cast(k, t.float32)


def _pulse(batch, size_max: int):
    t = tf()
    delta = np.zeros((size_max, size_max), np.float32)
    delta[size_max // 2, size_max // 2] = 1.0
    return t.tile(t.constant(delta)[None], [batch, 1, 1])


def _sample_kernel(d: _Draws, batch, p: RealWorldParams, stage: int) -> dict:
    """One blur kernel per image, as ``RealESRGANDataset`` draws kernel 1 / kernel 2."""
    t = tf()
    sfx = "" if stage == 1 else "2"
    probs = getattr(p, "kernel_prob" + sfx)
    sig = getattr(p, "blur_sigma" + sfx)
    bg, bp = getattr(p, "betag_range" + sfx), getattr(p, "betap_range" + sfx)
    lo, hi = p.kernel_range
    size = 2 * d.integers([batch], lo // 2, hi // 2) + 1
    mixed = d.choice([batch], probs)
    sigma_x = d.uniform([batch], sig[0], sig[1])
    sigma_y_draw = d.uniform([batch], sig[0], sig[1])
    theta_draw = d.uniform([batch], -_PI, _PI)
    low_half = d.uniform([batch]) < 0.5
    beta_g = t.where(low_half, d.uniform([batch], bg[0], 1.0), d.uniform([batch], 1.0, bg[1]))
    beta_p = t.where(low_half, d.uniform([batch], bp[0], 1.0), d.uniform([batch], 1.0, bp[1]))
    use_sinc = d.uniform([batch]) < getattr(p, "sinc_prob" + sfx)
    omega = t.where(size < 13, d.uniform([batch], _PI / 3, _PI), d.uniform([batch], _PI / 5, _PI))
    iso = t.equal(mixed % 2, 0)
    ktype = t.where(use_sinc, SINC, mixed)
    sigma_y = t.where(iso, sigma_x, sigma_y_draw)
    theta = t.where(iso, t.zeros_like(theta_draw), theta_draw)
    beta = t.where(mixed >= 4, beta_p, t.where(mixed >= 2, beta_g, t.ones_like(beta_g)))
    kernel = kernels_from(ktype, size, sigma_x, sigma_y, theta, beta, omega, hi)
    return {"type": ktype, "size": size, "sigma_x": sigma_x, "sigma_y": sigma_y, "theta": theta,
            "beta": beta, "omega": omega, "kernel": kernel}


def _sample_resize(d: _Draws, probs, rng) -> dict:
    kind = d.choice([], probs)
    up, down = d.uniform([], 1.0, rng[1]), d.uniform([], rng[0], 1.0)
    scale = tf().where(kind == 0, up, tf().where(kind == 1, down, 1.0))
    return {"kind": kind, "scale": scale, "mode": d.integers([], 0, 2)}


def _sample_noise(d: _Draws, batch, gauss_prob, sigma, poisson, gray_prob) -> dict:
    t = tf()
    return {"kind": t.cast(d.uniform([]) >= gauss_prob, t.int32),  # 0 gaussian, 1 poisson
            "sigma": d.uniform([batch], sigma[0], sigma[1]),
            "poisson_scale": d.uniform([batch], poisson[0], poisson[1]),
            "gray": d.uniform([batch]) < gray_prob,
            "seed": t.cast(d.next_seed(), t.int64)}


def _quality(d: _Draws, batch, rng):
    return d.integers([batch], math.ceil(rng[0]), math.floor(rng[1]))


def sample(seed, batch, params: RealWorldParams = DEFAULT_PARAMS) -> dict:
    """Draw the parameters of one batch of ``batch`` images from ``seed`` (shape [2] ints),
    in-graph. Returns a dict of tensors: per image (leading dim ``batch``) and per batch
    (scalars); see the module docstring for which is which and :func:`records` for JSON."""
    t = tf()
    p = params
    d = _Draws(seed)
    batch = t.convert_to_tensor(batch, t.int32)
    out = {"kernel1": _sample_kernel(d, batch, p, 1),
           "resize1": _sample_resize(d, p.resize_prob, p.resize_range),
           "noise1": _sample_noise(d, batch, p.gaussian_noise_prob, p.noise_range, p.poisson_scale_range,
                                   p.gray_noise_prob),
           "jpeg1": _quality(d, batch, p.jpeg_range),
           "blur2": d.uniform([]) < p.second_blur_prob,
           "kernel2": _sample_kernel(d, batch, p, 2),
           "resize2": _sample_resize(d, p.resize_prob2, p.resize_range2),
           "noise2": _sample_noise(d, batch, p.gaussian_noise_prob2, p.noise_range2, p.poisson_scale_range2,
                                   p.gray_noise_prob2),
           "jpeg2": _quality(d, batch, p.jpeg_range2),
           "order": t.cast(d.uniform([]) >= p.final_order_prob, t.int32),  # 0: resize+sinc first
           "final_mode": d.integers([], 0, 2)}
    lo, hi = p.kernel_range
    size = 2 * d.integers([batch], lo // 2, hi // 2) + 1
    omega = d.uniform([batch], _PI / 3, _PI)
    applied = d.uniform([batch]) < p.final_sinc_prob
    zeros = t.zeros([batch])
    sinc = kernels_from(t.fill([batch], SINC), size, zeros + 1, zeros + 1, zeros, zeros + 1, omega, hi)
    out["sinc"] = {"applied": applied, "size": size, "omega": omega,
                   "kernel": t.where(applied[:, None, None], sinc, _pulse(batch, hi))}
    return out


# ---------------------------------------------------------------- ops on a batch [B, H, W, C]

def _reflect_index(n, pad: int):
    """Indices of a reflect padding (no edge repeat) by ``pad``, for any ``n >= 1``."""
    t = tf()
    i = t.range(-pad, n + pad)
    period = t.maximum(2 * (n - 1), 1)
    m = t.math.floormod(i, period)
    m = t.where(m >= n, period - m, m)
    return t.where(n > 1, m, t.zeros_like(m))


def reflect_pad(x, pad: int):
    """Reflect-pad ``[B, H, W, C]`` by ``pad`` px on every side (PyTorch ``mode='reflect'``)."""
    t = tf()
    shape = t.shape(x)
    x = t.gather(x, _reflect_index(shape[1], pad), axis=1)
    return t.gather(x, _reflect_index(shape[2], pad), axis=2)


def blur(x, kernels):
    """BasicSR ``filter2D``: per-image kernels ``[B, K, K]`` (K odd) correlated with ``x``
    ``[B, H, W, C]`` (each channel alike) after reflect padding by ``K // 2``; same size out."""
    t = tf()
    k = int(kernels.shape[-1])
    xp = reflect_pad(x, k // 2)
    shape = t.shape(x)
    b, h, w = shape[0], shape[1], shape[2]
    c = x.shape[-1] if x.shape[-1] is not None else shape[3]
    hp, wp = h + 2 * (k // 2), w + 2 * (k // 2)
    stacked = t.reshape(t.transpose(xp, [1, 2, 0, 3]), [1, hp, wp, b * c])
    f = t.repeat(t.transpose(t.cast(kernels, x.dtype), [1, 2, 0])[..., None], c, axis=-1)
    out = t.nn.depthwise_conv2d(stacked, t.reshape(f, [k, k, b * c, 1]), [1, 1, 1, 1], "VALID")
    return t.transpose(t.reshape(out, [h, w, b, c]), [2, 0, 1, 3])


def _separable(x, kernel_1d):
    """Correlate every image and channel with the same 1-D kernel along H, then along W
    (reflect borders), as two matrix products: far faster on CPU than a 51-tap depthwise conv."""
    shape = tf().shape(x)
    return _apply_hw(x, _filter_matrix(shape[1], kernel_1d), _filter_matrix(shape[2], kernel_1d))


def _filter_matrix(n, kernel_1d):
    """``[n, n]`` matrix of a 1-D correlation with reflect padding folded in."""
    t = tf()
    k = len(kernel_1d)
    idx = t.range(n)[:, None] + t.range(k)[None, :]  # positions in the padded signal
    src = t.gather(_reflect_index(n, k // 2), idx)  # [n, k] source pixels
    return t.einsum("ijm,j->im", t.one_hot(src, n, dtype=t.float32), t.constant(np.asarray(kernel_1d, np.float32)))


def _apply_hw(x, mh, mw):
    """``out[b] = mh @ x[b] @ mw^T`` per channel, for ``x`` [B, H, W, C], as two large matmuls."""
    t = tf()
    shape = t.shape(x)
    b, h, w, c = shape[0], shape[1], shape[2], shape[3]
    ho, wo = t.shape(mh)[0], t.shape(mw)[0]
    y = t.linalg.matmul(mh, t.reshape(x, [b, h, w * c]))  # [B, ho, W*C] (mh broadcast over B)
    y = t.transpose(t.reshape(y, [b, ho, w, c]), [0, 1, 3, 2])  # [B, ho, C, W]
    y = t.linalg.matmul(t.reshape(y, [-1, w]), mw, transpose_b=True)  # [B*ho*C, wo]
    return t.transpose(t.reshape(y, [b, ho, c, wo]), [0, 1, 3, 2])


def gaussian_kernel_1d(size: int, sigma: float = 0.0) -> np.ndarray:
    """OpenCV ``getGaussianKernel(size, sigma)`` (``sigma <= 0``: OpenCV's default for the size)."""
    if sigma <= 0:
        sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def usm_sharpen(x, weight: float = 0.5, threshold: float = 10.0, radius: int = 51):
    """BasicSR ``USMSharp``: ``x + weight * (x - blur)`` (clipped) where ``|x - blur| * 255 >
    threshold``, blended with a blurred mask; separable Gaussian (same result as the 2-D one)."""
    t = tf()
    if weight == 0:
        return x
    g = gaussian_kernel_1d(radius)
    residual = x - _separable(x, g)
    mask = t.cast(t.abs(residual) * 255.0 > threshold, x.dtype)
    soft = _separable(mask, g)
    sharp = t.clip_by_value(x + weight * residual, 0.0, 1.0)
    return soft * sharp + (1.0 - soft) * x


def _cubic(x, a=-0.75):
    x = tf().abs(x)
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
    return tf().where(x <= 1.0, near, far)


def resize_matrix(n_in, n_out, mode, inv_scale=None):
    """``[n_out, n_in]`` float32 weights of PyTorch ``F.interpolate`` along one axis
    (``align_corners=False``). ``mode``: index into :data:`RESIZE_MODES` (a tensor is fine).
    ``inv_scale``: the source step per output pixel (default ``n_in / n_out``; PyTorch uses
    ``1 / scale_factor`` when given one)."""
    t = tf()
    f64 = t.float64
    n_in = t.cast(n_in, t.int32)
    n_out = t.cast(n_out, t.int32)
    step = t.cast(n_in, f64) / t.cast(n_out, f64) if inv_scale is None else t.cast(inv_scale, f64)
    dst = t.cast(t.range(n_out), f64)
    last = n_in - 1

    def area():
        i = t.range(n_out)
        start = (i * n_in) // n_out
        end = ((i + 1) * n_in + n_out - 1) // n_out
        j = t.range(n_in)[None]
        inside = t.logical_and(j >= start[:, None], j < end[:, None])
        return t.cast(inside, f64) / t.cast(end - start, f64)[:, None]

    def taps():  # bilinear (source clamped at 0, triangle) and bicubic share 4 taps at -1..2
        linear = t.equal(t.cast(mode, t.int32), 1)
        src = (dst + 0.5) * step - 0.5
        src = t.where(linear, t.maximum(src, 0.0), src)
        fl = t.floor(src)
        frac = src - fl
        i = t.cast(fl, t.int32)
        out = 0.0
        for k in (-1, 0, 1, 2):
            d = frac - k
            w = t.where(linear, t.maximum(1.0 - t.abs(d), 0.0), _cubic(d))
            out += t.one_hot(t.clip_by_value(i + k, 0, last), n_in, dtype=f64) * w[:, None]
        return out

    m = t.where(t.equal(t.cast(mode, t.int32), 0), area(), taps())
    return t.cast(m, t.float32)


def resize(x, size, mode, inv_scale=None):
    """Resize ``[B, H, W, C]`` to ``size = (h, w)`` as PyTorch ``F.interpolate`` with ``mode``
    (index into :data:`RESIZE_MODES`); ``inv_scale`` as in :func:`resize_matrix` (both axes)."""
    shape = tf().shape(x)
    out = _apply_hw(x, resize_matrix(shape[1], size[0], mode, inv_scale),
                    resize_matrix(shape[2], size[1], mode, inv_scale))
    out.set_shape([x.shape[0], None, None, x.shape[-1]])
    return out


def gaussian_noise(x, sigma, gray, seed):
    """Add N(0, sigma/255) noise per image (``sigma``, ``gray`` shaped [B]); gray images get
    one field for all channels. Clipped to [0, 1], not rounded (as Real-ESRGAN)."""
    t = tf()
    shape = t.shape(x)
    s = t.cast(sigma, x.dtype)[:, None, None, None] / 255.0
    g = t.cast(gray, x.dtype)[:, None, None, None]
    seeds = t.random.experimental.stateless_split(seed, 2)
    color = t.random.stateless_normal(shape, seeds[0], dtype=x.dtype)
    mono = t.random.stateless_normal(t.concat([shape[:3], [1]], 0), seeds[1], dtype=x.dtype)
    return t.clip_by_value(x + s * (color * (1.0 - g) + mono * g), 0.0, 1.0)


def _shot(img, seed):
    """BasicSR's Poisson noise field for ``img`` [B, H, W, c]: ``poisson(img * v) / v - img``
    on the 8-bit-rounded image, ``v`` = distinct 8-bit levels rounded up to a power of two."""
    t = tf()
    img = t.clip_by_value(t.round(img * 255.0), 0.0, 255.0) / 255.0
    levels = t.cast(t.round(img * 255.0), t.int32)
    counts = t.math.bincount(t.reshape(levels, [t.shape(img)[0], -1]), minlength=256, maxlength=256, axis=-1)
    distinct = t.cast(t.math.count_nonzero(counts, axis=1), t.float32)
    vals = t.pow(2.0, t.math.ceil(t.math.log(distinct) / math.log(2.0)))[:, None, None, None]
    out = t.random.stateless_poisson(t.shape(img), seed, lam=img * vals, dtype=t.float32) / vals
    return out - img


def poisson_noise(x, scale, gray, seed):
    """Add BasicSR's Poisson (shot) noise times ``scale`` per image; ``gray`` images get the
    noise of their luma (``0.2989 R + 0.587 G + 0.114 B``) on every channel. Clipped to [0, 1]."""
    t = tf()
    seeds = t.random.experimental.stateless_split(seed, 2)
    noise = _shot(x, seeds[0])
    if x.shape[-1] == 3:
        luma = x[..., 0:1] * 0.2989 + x[..., 1:2] * 0.587 + x[..., 2:3] * 0.114
        g = t.cast(gray, x.dtype)[:, None, None, None]
        noise = noise * (1.0 - g) + _shot(luma, seeds[1]) * g
    return t.clip_by_value(x + noise * t.cast(scale, x.dtype)[:, None, None, None], 0.0, 1.0)


def _noise(x, n: dict):
    t = tf()
    return t.cond(t.equal(n["kind"], 0),
                  lambda: gaussian_noise(x, n["sigma"], n["gray"], n["seed"]),
                  lambda: poisson_noise(x, n["poisson_scale"], n["gray"], n["seed"]))


def jpeg(x, quality, accurate: bool = False):
    """libjpeg round trip per image at integer ``quality`` ([B]); input clipped to [0, 1] and
    rounded to 8 bits first (CPU-only ops: see the module docstring). ``accurate``: decode with
    libjpeg's accurate integer IDCT (``JDCT_ISLOW``, what Pillow and browsers use); the default
    is ``tf.io.decode_jpeg``'s own default, the fast integer IDCT, which lowers R and B by about
    1 level on average on natural RGB photos at any quality (Set14, q 50-100: R -1.1, G 0.0,
    B -1.1 levels of channel mean; accurate: within 0.06). The two-stage ``realworld`` chain
    keeps the default (its LR images stay what they were); ``realworld-accurate`` and ``light``
    (``RealWorldParams.jpeg_accurate``) decode accurately."""
    t = tf()
    c = x.shape[-1]
    u8 = t.cast(t.round(t.clip_by_value(x, 0.0, 1.0) * 255.0), t.uint8)

    def one(args):
        img, q = args
        data = t.raw_ops.EncodeJpegVariableQuality(images=img, quality=q)
        if accurate:
            return t.io.decode_jpeg(data, channels=c, dct_method="INTEGER_ACCURATE")
        return t.io.decode_jpeg(data, channels=c)

    out = t.map_fn(one, (u8, t.cast(quality, t.int32)), fn_output_signature=t.TensorSpec([None, None, c], t.uint8))
    out = t.cast(out, x.dtype) / 255.0
    out.set_shape(x.shape)
    return out


def quantize8(x):
    """Clip to [0, 1] and round to the 8-bit grid (``round(x * 255) / 255``)."""
    t = tf()
    return t.clip_by_value(t.round(x * 255.0), 0.0, 255.0) / 255.0


def apply(hr, s: dict, scale: int, params: RealWorldParams = DEFAULT_PARAMS):
    """Run the chain on ``hr`` [B, H, W, C] (float, [0, 1]) with sampled parameters ``s``
    (from :func:`sample`); returns LR [B, H // scale, W // scale, C] on the 8-bit grid."""
    t = tf()
    p = params
    x = t.cast(hr, t.float32)
    shape = t.shape(x)
    h, w = shape[1], shape[2]
    x = usm_sharpen(x, p.usm_weight, p.usm_threshold, p.usm_radius)
    if p.stages == 1:
        return _set_lr_shape(_one_stage(x, s, (h // scale, w // scale), p), hr, scale)
    # first degradation
    x = blur(x, s["kernel1"]["kernel"])
    r1 = s["resize1"]
    s1 = t.cast(r1["scale"], t.float64)
    size1 = [t.maximum(t.cast(t.floor(t.cast(n, t.float64) * s1), t.int32), 1) for n in (h, w)]
    x = resize(x, size1, r1["mode"], inv_scale=1.0 / s1)
    x = _noise(x, s["noise1"])
    x = jpeg(x, s["jpeg1"], accurate=p.jpeg_accurate)
    # second degradation (a skipped blur is a blur with the unit pulse: exact, no tf.cond)
    pulse = _pulse(shape[0], int(s["kernel2"]["kernel"].shape[-1]))
    x = blur(x, t.where(s["blur2"], s["kernel2"]["kernel"], pulse))
    r2 = s["resize2"]
    s2 = t.cast(r2["scale"], t.float64)
    size2 = [t.maximum(t.cast(t.cast(n, t.float64) / scale * s2, t.int32), 1) for n in (h, w)]
    x = resize(x, size2, r2["mode"])
    x = _noise(x, s["noise2"])
    # The two final orders as one fixed sequence, [resize + sinc] -> JPEG -> [resize + sinc],
    # where the step that the order skips is exact identity (bilinear resize to the same size,
    # unit-pulse blur): no tf.cond around the JPEG loop, one small graph.
    target = (h // scale, w // scale)
    first = t.equal(s["order"], 0)
    sinc, bilinear = s["sinc"]["kernel"], RESIZE_MODES.index("bilinear")

    def resize_sinc(v, active):
        vs = t.shape(v)
        size = [t.where(active, target[0], vs[1]), t.where(active, target[1], vs[2])]
        v = resize(v, size, t.where(active, s["final_mode"], bilinear))
        return blur(v, t.where(active, sinc, _pulse(vs[0], int(sinc.shape[-1]))))

    x = resize_sinc(x, first)
    x = jpeg(x, s["jpeg2"], accurate=p.jpeg_accurate)
    x = resize_sinc(x, t.logical_not(first))
    return _set_lr_shape(quantize8(x), hr, scale)


def _one_stage(x, s: dict, target, p: RealWorldParams):
    """The ``light`` chain (``stages=1``): antialiased MATLAB-bicubic downscale to ``target``,
    then blur (kernel 1), noise (noise 1) and one JPEG (quality 1, decoded with the accurate
    IDCT unless ``p.jpeg_accurate`` is overridden: see :func:`jpeg`) on the LR; 8-bit out."""
    from keras_sr.data.degradations import bicubic_resize

    x = bicubic_resize(x, size=target)
    x = blur(x, s["kernel1"]["kernel"])
    x = _noise(x, s["noise1"])
    return quantize8(jpeg(x, s["jpeg1"], accurate=p.jpeg_accurate))


def _set_lr_shape(out, hr, scale: int):
    static = hr.shape
    if static.rank == 4:
        out.set_shape([static[0], None if static[1] is None else static[1] // scale,
                       None if static[2] is None else static[2] // scale, static[3]])
    return out


def degrade_batch(hr, seed, scale: int, params: RealWorldParams = DEFAULT_PARAMS, return_params: bool = False):
    """HR ``[B, H, W, C]`` (or ``[H, W, C]``) float in [0, 1] -> LR ``(H // scale, W // scale)``
    on the 8-bit grid, degraded with parameters drawn from ``seed`` (shape [2] ints). TF-graph
    code: usable in ``tf.data``, in a ``tf.function``/train step and eagerly. With
    ``return_params`` also the sampled parameters (see :func:`records`)."""
    t = tf()
    hr = t.convert_to_tensor(hr)
    single = hr.shape.rank == 3
    x = hr[None] if single else hr
    x = t.cast(x, t.float32)
    s = sample(seed, t.shape(x)[0], params)
    lr = apply(x, s, scale, params)
    lr = lr[0] if single else lr
    return (lr, s) if return_params else lr


# ---------------------------------------------------------------- parameters as data

def _kernel_record(k: dict, i: int) -> dict:
    size = int(k["size"][i])
    ktype = int(k["type"][i])
    full = np.asarray(k["kernel"][i], np.float64)
    c = full.shape[0] // 2
    crop = full[c - size // 2: c + size // 2 + 1, c - size // 2: c + size // 2 + 1]
    rec = {"type": "sinc" if ktype == SINC else KERNEL_TYPES[ktype], "size": size}
    if ktype == SINC:
        rec["omega"] = float(k["omega"][i])
    else:
        rec.update(sigma_x=float(k["sigma_x"][i]), sigma_y=float(k["sigma_y"][i]),
                   theta=float(k["theta"][i]), beta=float(k["beta"][i]))
    rec["kernel"] = [[float(v) for v in row] for row in crop]
    return rec


def _noise_record(n: dict, i: int) -> dict:
    kind = NOISE_KINDS[int(n["kind"])]
    rec = {"kind": kind, "gray": bool(n["gray"][i])}
    if kind == "gaussian":
        rec["sigma"] = float(n["sigma"][i])
    else:
        rec["scale"] = float(n["poisson_scale"][i])
    return rec


def records(sampled: dict, params: RealWorldParams = DEFAULT_PARAMS) -> list[dict]:
    """One JSON-serialisable dict per image of what :func:`sample` drew (eager tensors or
    NumPy): kernels cropped to their sampled size (summing to 1), noise kind and sigma /
    Poisson scale, gray flag, JPEG qualities, resize kinds/scales/modes, second blur, final
    order, final sinc. Per-batch draws are repeated in every image's dict. One-stage
    ``params`` (``light``): only what that chain uses (``stages``, ``resize``, ``kernel1``,
    ``noise1``, ``jpeg1_quality``)."""
    s = {k: ({kk: np.asarray(vv) for kk, vv in v.items()} if isinstance(v, dict) else np.asarray(v))
         for k, v in sampled.items()}
    out = []
    for i in range(len(s["jpeg1"])):
        if params.stages == 1:
            out.append({"stages": 1, "resize": "bicubic (MATLAB imresize, antialiased)",
                        "kernel1": _kernel_record(s["kernel1"], i), "noise1": _noise_record(s["noise1"], i),
                        "jpeg1_quality": int(s["jpeg1"][i])})
            continue
        r1, r2 = s["resize1"], s["resize2"]
        rec = {
            "kernel1": _kernel_record(s["kernel1"], i),
            "resize1": {"kind": RESIZE_KINDS[int(r1["kind"])], "scale": float(r1["scale"]),
                        "mode": RESIZE_MODES[int(r1["mode"])]},
            "noise1": _noise_record(s["noise1"], i),
            "jpeg1_quality": int(s["jpeg1"][i]),
            "blur2": bool(s["blur2"]),
            "kernel2": _kernel_record(s["kernel2"], i) if bool(s["blur2"]) else None,
            "resize2": {"kind": RESIZE_KINDS[int(r2["kind"])], "scale": float(r2["scale"]),
                        "mode": RESIZE_MODES[int(r2["mode"])]},
            "noise2": _noise_record(s["noise2"], i),
            "jpeg2_quality": int(s["jpeg2"][i]),
            "final_order": FINAL_ORDERS[int(s["order"])],
            "final_mode": RESIZE_MODES[int(s["final_mode"])],
            "final_sinc": None,
        }
        sinc = s["sinc"]
        if bool(sinc["applied"][i]):
            rec["final_sinc"] = _kernel_record({**sinc, "type": np.full(len(sinc["size"]), SINC)}, i)
        out.append(rec)
    return out


def image_seed(seed: int, name: str) -> list[int]:
    """A stateless seed ``[2]`` for one image from the run's ``seed`` and the image's file
    name (not its path or order), so a file degrades the same wherever and with whatever else."""
    import hashlib

    digest = hashlib.sha256(f"{int(seed)}:{name}".encode()).digest()
    return [int.from_bytes(digest[:4], "little") & 0x7FFFFFFF, int.from_bytes(digest[4:8], "little") & 0x7FFFFFFF]


def degrade_image(image_u8: np.ndarray, scale: int, seed, params: RealWorldParams = DEFAULT_PARAMS):
    """One 8-bit image ``[H, W]`` or ``[H, W, C]`` -> (8-bit LR of the same layout, its record).
    Eager, batch of one (every draw per image)."""
    img = np.asarray(image_u8)
    gray = img.ndim == 2
    x = (img[..., None] if gray else img).astype(np.float32) / 255.0
    if min(x.shape[:2]) < scale:
        raise UsageError(f"image {x.shape[1]}x{x.shape[0]} is smaller than the factor {scale}")
    lr, s = degrade_batch(x[None], seed, scale, params, return_params=True)
    lr8 = np.round(np.asarray(lr[0]) * 255.0).astype(np.uint8)
    return (lr8[..., 0] if gray else lr8), records(s, params)[0]
