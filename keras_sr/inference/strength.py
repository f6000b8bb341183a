"""Automatic denoise strength (``upscale --denoise auto``): how damaged is this photo?

Three cues, each cheap and computed on the photo as it arrives (no downsampling: that would
remove the noise being measured):

* :func:`noise_sigma`: Gaussian noise level in 8-bit levels, by the weak-texture PCA
  estimator of Liu, Tanaka & Okutomi ("Single-image noise level estimation for blind
  denoising", IEEE TIP 2013): among 7x7 patches, keep those whose gradient energy is what
  noise alone would give (a gamma threshold on the current estimate), and take the smallest
  eigenvalue of their covariance as the noise variance; three rounds. Each colour channel's
  patches are pooled (the result is per-channel sigma, whether the noise is per-channel or
  gray). Patches touching a clipped value (0 or the peak) are left out: a blown-out sky has
  no noise left and would read as "clean". Patch *positions* are sampled on a regular grid
  (at most ``max_patches``), the pixels are not, so a 12 MP photo takes a fraction of a second.
* :func:`jpeg_quality`: the libjpeg (IJG) quality that best reproduces the file's own
  quantization tables (``quality -> scale = 5000/q if q < 50 else 200 - 2q``,
  ``table = clip((base * scale + 50) // 100, 1, 255)`` of the standard tables of JPEG Annex K);
  None when the file has no readable tables (not a JPEG, not 64 entries, 16-bit, or tables
  that follow no IJG scaling) and the pixel cue stands alone.
* :func:`pixel_severity`: the photo as a whole, from pixels alone (PNGs, re-saved files): a
  logistic regression (five numbers, ``PIXEL_WEIGHTS``, fitted by ``tools/fit_strength.py``
  on clean vs ``realworld`` LR, intercept shifted towards clean) of P(heavy) on four cues: ``log1p`` of the noise level and of the noise level of the 2x2 box
  means (``realworld`` noise is resized and JPEG-smoothed: it survives at the coarser scale),
  :func:`blockiness` on the 8-pixel grid, and :func:`sharpness` (``realworld`` LR is blurred;
  the noise level alone reads it as clean, JPEG having removed the finest noise).

:func:`strength_from` maps them to the blend weight of ``with_denoise`` (1 = the full-denoise
model, 0 = its weak-denoise sibling): the largest of

* noise ramp: 0 at ``sigma <= 3`` levels, 1 at ``sigma >= 10``, linear between (plain Gaussian
  noise on a sharp photo raises the sharpness cue, so the ramp carries it);
* JPEG-table ramp (files with tables): 0 at quality >= 90, 1 at quality <= 50, linear between;
* :func:`pixel_severity`.

Each is monotone in its cues (more noise, lower quality, more blocking or more blur never
lower the weight), and so is their maximum.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

# JPEG Annex K tables (natural, row-major order), the base of libjpeg's jpeg_set_quality
LUMA_BASE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.int64)
CHROMA_BASE = np.array([
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99] + [99] * 32, np.int64)

PATCH = 7
CONFIDENCE = 1 - 1e-6  # Liu et al.'s threshold confidence
ROUNDS = 3
NOISE_RAMP = (3.0, 10.0)  # sigma (8-bit levels): weight 0 .. 1
QUALITY_RAMP = (90, 50)  # JPEG quality: weight 0 .. 1


def ijg_tables(quality: int, baseline: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The (luminance, chrominance) tables libjpeg's ``jpeg_set_quality`` writes at ``quality``
    (1..100); ``baseline``: entries clipped to 255 (8-bit tables, what Pillow writes), else to
    32767 (16-bit tables)."""
    q = int(min(max(quality, 1), 100))
    scale = 5000 // q if q < 50 else 200 - 2 * q
    top = 255 if baseline else 32767
    return tuple(np.clip((base * scale + 50) // 100, 1, top) for base in (LUMA_BASE, CHROMA_BASE))


_ALL_TABLES = np.stack([np.stack(ijg_tables(q, b)) for b in (True, False) for q in range(1, 101)])  # [200, 2, 64]


def quality_from_tables(tables) -> int | None:
    """The IJG quality whose tables are nearest to ``tables`` (a list of 64-entry tables,
    luminance first, chrominance second if present, in natural order as Pillow gives them);
    nearest = smallest mean absolute difference of the logarithms, so tables of other encoders
    (cameras, Photoshop) get the IJG quality of the same coarseness. None when the tables are
    unreadable: not 64 entries, or entries outside 1..32767 (a zero step cannot come from any
    encoder's scaling)."""
    try:
        arrs = [np.asarray(t, np.int64).reshape(-1) for t in list(tables)[:2]]
    except (TypeError, ValueError):
        return None
    if not arrs or any(a.size != 64 for a in arrs) or any(a.min() < 1 or a.max() > 32767 for a in arrs):
        return None
    ref = np.log(_ALL_TABLES[:, : len(arrs)])
    err = np.abs(ref - np.log(np.stack(arrs))[None]).mean(axis=(1, 2))
    return int(np.argmin(err)) % 100 + 1


def jpeg_quality(source) -> tuple[int | None, str | None]:
    """``(quality, why_not)`` of a JPEG file (path or open PIL image) from its quantization
    tables; ``(None, reason)`` for other formats and unreadable tables."""
    from PIL import Image

    try:
        im = source if isinstance(source, Image.Image) else Image.open(source)
    except Exception as exc:  # noqa: BLE001 - any failure means: use the pixels
        return None, f"cannot open: {type(exc).__name__}"
    try:
        if (im.format or "").upper() != "JPEG":
            return None, "not a JPEG"
        q = getattr(im, "quantization", None)
        if not q:
            return None, "no quantization tables"
        quality = quality_from_tables([q[k] for k in sorted(q)])
        return (quality, None) if quality is not None else (None, "unreadable quantization tables")
    except Exception as exc:  # noqa: BLE001
        return None, f"unreadable quantization tables ({type(exc).__name__})"
    finally:
        if im is not source:
            im.close()


def _levels(image) -> tuple[np.ndarray, float]:
    """``image`` as ``[H, W, C]`` (C = 1 or 3, alpha dropped; no copy) and the factor to 8-bit levels."""
    a = np.asarray(image)
    peak = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(a.dtype, 1.0)
    a = a[..., None] if a.ndim == 2 else a[..., :3]
    return a, 255.0 / peak


def _texture_threshold(patch: int = PATCH, confidence: float = CONFIDENCE) -> float:
    """Liu et al.'s tau0: gradient energy of a pure unit-variance noise patch stays below this
    with probability ``confidence`` (Gamma(r/2, 2 tr(D'D)/r) approximation, forward differences)."""
    from scipy.stats import gamma

    eye = np.eye(patch)
    dh = np.kron(eye, np.diff(eye, axis=0))  # horizontal forward differences of a flattened patch
    dv = np.kron(np.diff(eye, axis=0), eye)
    dd = dh.T @ dh + dv.T @ dv
    r = np.linalg.matrix_rank(dd)
    return float(gamma.ppf(confidence, r / 2.0, scale=2.0 * np.trace(dd) / r))


_TAU0 = None


def _patches(image: np.ndarray, to_levels: float, max_patches: int) -> np.ndarray:
    """Sampled ``PATCH``x``PATCH`` patches ``[N, PATCH*PATCH]`` in 8-bit levels (each channel's
    pooled) that touch no clipped value; only the sampled patches are converted to float."""
    from numpy.lib.stride_tricks import sliding_window_view

    h, w, c = image.shape
    if h < PATCH or w < PATCH:
        return np.zeros((0, PATCH * PATCH))
    ny, nx = h - PATCH + 1, w - PATCH + 1
    stride = max(1, int(np.ceil(np.sqrt(c * ny * nx / max_patches))))
    win = sliding_window_view(image, (PATCH, PATCH), axis=(0, 1))[::stride, ::stride]  # [y, x, c, P, P]
    x = win.reshape(-1, PATCH * PATCH).astype(np.float64) * to_levels
    keep = (x.min(axis=1) > 0.5) & (x.max(axis=1) < 254.5)
    return x[keep]


def noise_sigma(image, max_patches: int = 200_000) -> float:
    """Gaussian noise standard deviation of ``image`` in 8-bit levels (uint8, uint16 or float
    in [0, 1]; gray or RGB(A), alpha ignored); see the module docstring. 0.0 when the image has
    too few unclipped 7x7 patches to tell."""
    global _TAU0
    if _TAU0 is None:
        _TAU0 = _texture_threshold()
    x = _patches(*_levels(image), max_patches)
    d = PATCH * PATCH
    if len(x) < 2 * d:
        return 0.0
    p = x.reshape(-1, PATCH, PATCH)
    texture = (np.diff(p, axis=2) ** 2).sum(axis=(1, 2)) + (np.diff(p, axis=1) ** 2).sum(axis=(1, 2))
    sig2 = _min_eig(x)
    for _ in range(ROUNDS - 1):
        keep = texture < sig2 * _TAU0
        if keep.sum() < 2 * d:
            break
        x, texture = x[keep], texture[keep]
        sig2 = _min_eig(x)
    # the smallest eigenvalue of a sample covariance of n white vectors in d dims is low by
    # about (1 - sqrt(d / n))^2 (Marchenko-Pastur edge)
    return float(np.sqrt(max(sig2, 0.0)) / (1.0 - np.sqrt(d / len(x))))


def _min_eig(x: np.ndarray) -> float:
    xc = x - x.mean(axis=0)
    return float(np.linalg.eigvalsh(xc.T @ xc / (len(x) - 1))[0])


def _luma(image) -> np.ndarray:
    """Luma (BT.601 weights) in 8-bit levels, float32 ``[H, W]``."""
    a, k = _levels(image)
    if a.shape[-1] == 1:
        return a[..., 0].astype(np.float32) * np.float32(k)
    w = np.float32(k) * np.array([0.299, 0.587, 0.114], np.float32)
    return a[..., 0] * w[0] + a[..., 1] * w[1] + a[..., 2] * w[2]


def blockiness(image) -> float:
    """JPEG blocking on the file's own 8-pixel grid (blocks from the top-left corner, as a
    decoded JPEG has them): per axis, the mean absolute luma step across block boundaries over
    the mean step at the other 7 phases, minus one; averaged over the two axes. About 0 for an
    image without that grid (a crop or resize after compression moves or blurs it away, and
    the cue then reads 0: the other cues stand alone). Images under 16 px on a side give 0.
    ``image``: as for :func:`noise_sigma`, or its float32 luma ``[H, W]`` in 8-bit levels."""
    y = image if getattr(image, "ndim", 0) == 2 and image.dtype == np.float32 else _luma(image)
    if min(y.shape) < 16:
        return 0.0
    out = []
    for axis in (0, 1):
        step = np.abs(np.diff(y, axis=axis)).mean(axis=1 - axis)
        phases = np.array([step[k::8].mean() for k in range(8)])
        inner = phases[:7].mean()
        out.append(float(phases[7] / inner - 1.0) if inner > 1e-6 else 0.0)
    return float(np.mean(out))


def sharpness(image, max_pixels: int = 1 << 21) -> float:
    """Edge crispness: on the stronger half of the luma gradients (|dx| + |dy|), mean |4-neighbour
    Laplacian| over mean gradient. About 1 on a sharp photo or a bicubic downscale of one, lower
    when blur took the finest detail (0.6 on ``realworld`` LR); noise raises it. Computed on
    rows sampled evenly when the image has more than ``max_pixels`` (rows, not pixels, are
    skipped: no resampling). ``image``: as for :func:`blockiness`."""
    y = image if getattr(image, "ndim", 0) == 2 and image.dtype == np.float32 else _luma(image)
    if min(y.shape) < 3:
        return 1.0
    rows = max(1, int(np.ceil(y.size / max_pixels)))
    centre = np.arange(1, y.shape[0] - 1)[::rows]
    c = y[centre, 1:-1]
    lap = np.abs(4 * c - y[centre - 1, 1:-1] - y[centre + 1, 1:-1] - y[centre, :-2] - y[centre, 2:])
    grad = np.abs(y[centre, 2:] - c) + np.abs(y[centre + 1, 1:-1] - c)
    strong = grad > np.median(grad)
    if not strong.any():
        return 1.0
    return float(lap[strong].mean() / grad[strong].mean())


def _binned(image) -> np.ndarray:
    """2x2 box means of the colour channels, float32 in [0, 1]: the noise that survives there
    is the low-frequency (resized, JPEG-smoothed) kind."""
    a, k = _levels(image)
    h, w = a.shape[0] // 2 * 2, a.shape[1] // 2 * 2
    acc = a[0:h:2, 0:w:2].astype(np.float32)
    for dy, dx in ((0, 1), (1, 0), (1, 1)):
        acc += a[dy:h:2, dx:w:2]
    return acc * np.float32(k / 4.0 / 255.0)


# Logistic regression P(heavy | pixel cues), clean = bicubic LR, heavy = ``realworld`` LR of
# 80 BSD200 photos at x2 and x4 (refit and checked on Set5/Set14 by tools/fit_strength.py);
# features: log1p(sigma), log1p(sigma of the 2x2 box means), blockiness, sharpness, 1. The
# fitted intercept (9.49) is lowered by log(9): the full model on a clean photo costs ~9x
# what its weak sibling costs on a heavy one (LPIPS, issue #24's x4 ladder), so doubt leans weak.
PIXEL_WEIGHTS = (0.40, 2.66, 14.97, -14.36, 7.29)


def pixel_features(image) -> dict:
    """The pixel cues of one image: ``sigma``, ``sigma_binned`` (8-bit levels), ``blockiness``,
    ``sharpness``."""
    y = _luma(image)
    return {"sigma": noise_sigma(image), "sigma_binned": noise_sigma(_binned(image)),
            "blockiness": blockiness(y), "sharpness": sharpness(y)}


def pixel_severity(features: dict) -> float:
    """P(heavy) in [0, 1] from :func:`pixel_features` (``PIXEL_WEIGHTS``): increasing in both
    noise levels and the blockiness, decreasing in the sharpness."""
    a, b, c, d, e = PIXEL_WEIGHTS
    z = (a * np.log1p(features["sigma"]) + b * np.log1p(features["sigma_binned"])
         + c * features["blockiness"] + d * features["sharpness"] + e)
    return float(1.0 / (1.0 + np.exp(-z)))


def _ramp(value, lo, hi) -> float:
    return float(np.clip((value - lo) / (hi - lo), 0.0, 1.0))


def strength_from(features: dict, quality: int | None = None) -> float:
    """The denoise weight in [0, 1]: the largest of the noise ramp, the JPEG-table ramp (when
    ``quality`` is known) and :func:`pixel_severity` (see the module docstring)."""
    w = [_ramp(features["sigma"], *NOISE_RAMP), pixel_severity(features)]
    if quality is not None:
        w.append(_ramp(quality, *QUALITY_RAMP))
    return max(w)


@dataclass
class Severity:
    """What ``--denoise auto`` decided for one image, and from what (``upscale --json``)."""

    strength: float  # the blend weight used (rounded to ``step``)
    sigma: float  # pixel noise estimate, 8-bit levels
    jpeg_quality: int | None  # from the file's quantization tables; None when not read
    source: str  # 'tables' (JPEG quality read from the file) or 'pixels' (pixel cues alone)
    pixel_severity: float  # P(heavy) from the pixel cues
    features: dict  # the pixel cues (pixel_features)
    fallback: str | None = None  # why no tables were used ('not a JPEG', 'unreadable quantization tables', ...)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["sigma"], d["pixel_severity"] = round(self.sigma, 3), round(self.pixel_severity, 3)
        d["features"] = {k: round(float(v), 4) for k, v in self.features.items()}
        return d


def estimate(pixels, path=None, step: float = 0.1) -> Severity:
    """The :class:`Severity` of one image (``pixels`` as decoded; ``path`` for its JPEG tables),
    its strength rounded to multiples of ``step`` (so a folder of photos reuses few blends)."""
    quality, why = jpeg_quality(path) if path is not None else (None, "no file")
    feats = pixel_features(pixels)
    w = strength_from(feats, quality)
    w = round(round(w / step) * step, 6) if step else w
    return Severity(w, feats["sigma"], quality, "tables" if quality is not None else "pixels",
                    pixel_severity(feats), feats, None if quality is not None else why)


class AutoDenoise:
    """``--denoise auto`` for one model: per image, the blend of the model with its weak-denoise
    sibling at the :func:`estimate`-d strength. Blends are made once per rounded strength (at
    most ``1 / step + 1`` of them) and cached with whatever ``make`` builds from each (e.g. an
    ``Upscaler``), so a folder of photos does not rebuild models."""

    def __init__(self, full, weak, step: float = 0.1):
        self.full, self.weak, self.step = full, weak, step
        self._cache: dict = {}

    @classmethod
    def for_model(cls, model, step: float = 0.1) -> "AutoDenoise | None":
        """None when ``model`` (name, path or loaded) names no weak-denoise sibling."""
        from keras_sr.models.denoise import sibling_of
        from keras_sr.models.loading import load_model

        full = load_model(model)
        sibling = sibling_of(full)
        if sibling is None:
            return None
        weak = load_model(sibling)
        if weak.sr_info.scale != full.sr_info.scale:
            from keras_sr.errors import ModelLoadError

            raise ModelLoadError(f"weak-denoise sibling {sibling} is x{weak.sr_info.scale}, "
                                 f"the model x{full.sr_info.scale}")
        return cls(full, weak, step)

    def model_for(self, strength: float):
        """The blended model at ``strength`` (its ``sr_info.record`` names strength and sibling)."""
        from keras_sr.models.denoise import blend_models, sibling_of

        import copy

        blended = blend_models(self.full, self.weak, float(strength))
        blended.sr_info = copy.copy(self.full.sr_info)  # blend_models shares the full model's
        blended.sr_info.record = dict(blended.sr_info.record or {}, denoise_strength=float(strength),
                                      denoise_sibling=sibling_of(self.full))
        return blended

    def get(self, strength: float, make=lambda model: model):
        """``make(model_for(strength))``, built once per strength."""
        key = round(float(strength), 6)
        if key not in self._cache:
            self._cache[key] = make(self.model_for(key))
        return self._cache[key]
