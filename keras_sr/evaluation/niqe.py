"""NIQE (Mittal, Soundararajan, Bovik, "Making a 'Completely Blind' Image Quality Analyzer",
IEEE SPL 2013): a no-reference quality score, **lower = more natural**.

Conventions (those of the official MATLAB release ``niqe_release.zip`` and of BasicSR's
``basicsr/metrics/niqe.py``, which this mirrors):

- scored on **Y of MATLAB ``rgb2ycbcr``** (ITU-R BT.601, studio swing, Y in 16..235) of the
  8-bit RGB image, **rounded to integers**, range **0-255** (gray images: their gray value);
- **no border crop**; the image is cut to whole **96x96 blocks** (bottom/right remainder
  dropped) and scored on non-overlapping blocks at **two scales**, the second made by MATLAB
  ``imresize(im, 0.5)`` (antialiased Keys cubic, a = -0.5; a float64 NumPy copy here);
- features: MSCN coefficients ``(im - mu) / (sigma + 1)`` with the official 7x7 Gaussian
  window (``replicate`` borders), an AGGD fit of them and of their products with the 4
  neighbours (18 features per scale); the distance of the fitted multivariate Gaussian to the
  pristine one (``mu_pris_param``, ``cov_pris_param``, the authors' fit on pristine images).

Flat regions: where a 7x7 neighbourhood is constant, ``im - mu`` is set to exactly 0, as MATLAB
gets it (float64 round-off left there puts tiny values in the AGGD's left/right sets and moves
NIQE by ~4e-4 on the calibration image and by up to ~0.2 on images with large flat areas).

Parameters come from a local ``niqe_pris_params.npz`` (never downloaded), looked up in order:
the ``params`` argument (``--niqe-params``), ``$KERAS_SR_WEIGHTS/niqe_pris_params.npz`` (or
``$KERAS_SR_WEIGHTS/niqe/...``), ``<cache>/weights/niqe_pris_params.npz`` (``$KERAS_SR_CACHE``
or ``~/.cache/keras_sr``), then ``../shared/weights/niqe/`` beside a source checkout.

NumPy/SciPy only (no TensorFlow): it is an evaluation metric.
"""

from __future__ import annotations

import os
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

from keras_sr.errors import KerasSRError

FILE = "niqe_pris_params.npz"
BLOCK = 96
_FLAT_TOL = 1e-9  # a 7x7 neighbourhood whose values span less than this (0-255 units) is flat
# Last place looked: ../shared/weights/niqe beside a source checkout (the research data folder).
CHECKOUT_SHARED = Path(__file__).resolve().parents[3] / "shared" / "weights" / "niqe"


def find_params(params=None) -> Path:
    """Path of ``niqe_pris_params.npz``; a clear error says where it was looked for."""
    if params:
        p = Path(params)
        if not p.is_file():
            raise KerasSRError(f"NIQE parameter file not found: {p}")
        return p
    from keras_sr.data.samples import cache_dir

    candidates = []
    if os.environ.get("KERAS_SR_WEIGHTS"):
        root = Path(os.environ["KERAS_SR_WEIGHTS"])
        candidates += [root / FILE, root / "niqe" / FILE]
    candidates.append(cache_dir() / "weights" / FILE)
    candidates.append(CHECKOUT_SHARED / FILE)
    for c in candidates:
        if c.is_file():
            return c
    raise KerasSRError(f"NIQE parameters {FILE} not found (looked in "
                       f"{', '.join(str(c.parent) for c in candidates)}); pass --niqe-params PATH "
                       "or copy the file there (nothing is downloaded)")


@lru_cache(maxsize=4)
def _read(path: str) -> tuple:
    try:
        with np.load(path, allow_pickle=False) as z:
            mu, cov, window = (np.asarray(z[k], np.float64) for k in
                               ("mu_pris_param", "cov_pris_param", "gaussian_window"))
    except (OSError, ValueError, KeyError) as exc:
        raise KerasSRError(f"not a readable NIQE parameter file: {path} ({exc})") from None
    if mu.size != 36 or cov.shape != (36, 36) or window.ndim != 2:
        raise KerasSRError(f"{path}: expected mu (1x36), cov (36x36), a 2-D window; got "
                           f"{mu.shape}, {cov.shape}, {window.shape}")
    return mu.reshape(36), cov, window


def load_params(params=None) -> tuple:
    """``(mu_pris_param [36], cov_pris_param [36, 36], gaussian_window [7, 7])``, float64,
    read once per process."""
    return _read(str(find_params(params).resolve()))


# -- MATLAB imresize (bicubic, antialiased when shrinking), float64 --------------------------
def _cubic(x):
    a = np.abs(x)
    return ((1.5 * a**3 - 2.5 * a**2 + 1) * (a <= 1)
            + (-0.5 * a**3 + 2.5 * a**2 - 4 * a + 2) * ((a > 1) & (a <= 2)))


def _contributions(in_len: int, out_len: int, scale: float):
    """Weights ``[out, taps]`` and 0-based source indices, as MATLAB ``imresize.m`` builds them
    (kernel stretched by ``1/scale`` when shrinking, mirrored borders, zero columns dropped)."""
    width = 4.0 / scale if scale < 1 else 4.0
    u = np.arange(1, out_len + 1, dtype=np.float64) / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    idx = left[:, None] + np.arange(int(np.ceil(width)) + 2)[None, :]
    dist = u[:, None] - idx
    w = scale * _cubic(scale * dist) if scale < 1 else _cubic(dist)
    w = w / w.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len)[::-1]])
    idx = mirror[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]
    keep = np.any(w != 0, axis=0)
    return w[:, keep], idx[:, keep]


def imresize(image: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB ``imresize(image, scale)`` (bicubic, antialiasing on) of a 2-D float array, in
    float64, no clipping. Output size ``ceil(scale * size)``; rows are resized first."""
    x = np.asarray(image, np.float64)
    for axis in (0, 1):
        n = x.shape[axis]
        w, idx = _contributions(n, int(np.ceil(scale * n)), scale)
        moved = np.moveaxis(x, axis, 0)  # [n, other]
        out = np.einsum("ot,otk->ok", w, moved[idx])
        x = np.moveaxis(out, 0, axis)
    return x


# -- features ------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _gamma_table():
    from scipy.special import gamma

    gam = (200 + np.arange(9801)) / 1000.0  # MATLAB 0.2:0.001:10
    r_gam = gamma(2 / gam) ** 2 / (gamma(1 / gam) * gamma(3 / gam))
    return gam, r_gam


def aggd_params(values: np.ndarray) -> tuple[float, float, float]:
    """``(alpha, beta_left, beta_right)`` of an asymmetric generalized Gaussian fitted by moment
    matching on the grid 0.2:0.001:10 (MATLAB ``estimateaggdparam.m``). Exact zeros count in
    the moments but in neither side; a side with no values gives NaN (as in MATLAB)."""
    from scipy.special import gamma

    v = np.asarray(values, np.float64).ravel()
    gam, r_gam = _gamma_table()
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # mean of an empty side: NaN, as MATLAB
        left = np.sqrt(np.mean(v[v < 0] ** 2))
        right = np.sqrt(np.mean(v[v > 0] ** 2))
        gammahat = left / right
        rhat = np.mean(np.abs(v)) ** 2 / np.mean(v**2)
        rhatnorm = rhat * (gammahat**3 + 1) * (gammahat + 1) / (gammahat**2 + 1) ** 2
    if np.isnan(rhatnorm):
        return float("nan"), float("nan"), float("nan")
    alpha = gam[np.argmin((r_gam - rhatnorm) ** 2)]
    k = np.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    return float(alpha), float(left * k), float(right * k)


def block_features(mscn_block: np.ndarray) -> list[float]:
    """The 18 NIQE features of one block of MSCN coefficients (MATLAB ``computefeature.m``)."""
    from scipy.special import gamma

    alpha, bl, br = aggd_params(mscn_block)
    feat = [alpha, (bl + br) / 2]
    for shift in ((0, 1), (1, 0), (1, 1), (1, -1)):  # MATLAB circshift of the block
        pair = mscn_block * np.roll(mscn_block, shift, axis=(0, 1))
        alpha, bl, br = aggd_params(pair)
        mean = (br - bl) * (gamma(2 / alpha) / gamma(1 / alpha)) if not np.isnan(alpha) else np.nan
        feat += [alpha, mean, bl, br]
    return feat


def mscn(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalized coefficients ``(im - mu) / (sigma + 1)`` with
    ``replicate`` borders; exactly 0 where the window's neighbourhood is flat."""
    from scipy.ndimage import correlate, maximum_filter, minimum_filter

    im = np.asarray(image, np.float64)
    mu = correlate(im, window, mode="nearest")
    sigma = np.sqrt(np.abs(correlate(im * im, window, mode="nearest") - mu * mu))
    centred = im - mu
    size = window.shape
    flat = (maximum_filter(im, size=size, mode="nearest")
            - minimum_filter(im, size=size, mode="nearest")) <= _FLAT_TOL
    centred[flat] = 0.0
    return centred / (sigma + 1)


def niqe(y: np.ndarray, params=None, block_size: int = BLOCK, name: str = "image") -> float:
    """NIQE of a 2-D luma array ``y`` (values 0-255, float or int; see the module docstring).

    ``params``: a path to ``niqe_pris_params.npz`` or the ``(mu, cov, window)`` tuple of
    :func:`load_params`. ``name`` names the image in errors. Raises :class:`KerasSRError`
    when the image holds no whole ``block_size`` block or when NIQE is undefined (every
    block flat).
    """
    y = np.asarray(y, np.float64)
    if y.ndim != 2:
        raise KerasSRError(f"NIQE needs a 2-D luma image; {name} has shape {y.shape}")
    h, w = y.shape
    nh, nw = h // block_size, w // block_size
    if nh == 0 or nw == 0:
        raise KerasSRError(f"image {name} ({w}x{h}) is smaller than one {block_size}x{block_size} "
                           "NIQE block")
    mu_pris, cov_pris, window = params if isinstance(params, tuple) else load_params(params)
    im = y[: nh * block_size, : nw * block_size]
    feats = []
    for scale in (1, 2):
        coeffs = mscn(im, window)
        b = block_size // scale
        feats.append(np.array([block_features(coeffs[i * b:(i + 1) * b, j * b:(j + 1) * b])
                               for j in range(nw) for i in range(nh)]))
        if scale == 1:
            im = imresize(im, 0.5)
    dist = np.concatenate(feats, axis=1)
    complete = dist[~np.isnan(dist).any(axis=1)]
    if len(complete) == 0:
        raise KerasSRError(f"NIQE is undefined for image {name} ({w}x{h}): every block has a "
                           "flat side (no positive or no negative MSCN values)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mu_dist = np.nanmean(dist, axis=0)
    if len(complete) == 1:
        # MATLAB nancov of a single 1x36 row treats it as a vector: its (scalar) variance.
        cov_dist = np.var(complete[0], ddof=1)
    else:
        cov_dist = np.cov(complete, rowvar=False)
    diff = mu_pris - mu_dist
    inv = np.linalg.pinv((cov_pris + cov_dist) / 2)
    return float(np.sqrt(diff @ inv @ diff))


def niqe_of_uint8(image: np.ndarray, params=None, name: str = "image") -> float:
    """NIQE of an 8-bit RGB (``[H, W, 3+]``) or gray (``[H, W]``) image: Y of MATLAB
    ``rgb2ycbcr`` rounded to integers, no crop, 96x96 blocks."""
    from keras_sr.data.color import y_of_uint8

    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise KerasSRError(f"NIQE expects an 8-bit image; {name} is {image.dtype}")
    return niqe(y_of_uint8(image, "y-bt601"), params, name=name)
