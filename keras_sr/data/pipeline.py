"""tf.data training pipelines: image files -> (model input, label) patch batches.

Conventions: patches are float32 in [0, 1], channels last. ``color_space`` selects what the
model sees: Y of YCbCr (``"y-bt601"``/``"y-opencv"``, rounded to 8 bit as ``rgb2ycbcr``
does; gray images use their gray value) or ``"rgb"``. For pre-upsampling models (SRCNN)
the input is the degraded patch upscaled back to ``patch_size``, the label the HR patch
minus ``label_border`` px per side (what 'valid' convolutions remove); for LR-space models
the input is ``patch_size // scale`` and the label the full HR patch.

Modes:
``random``   random HR crops of every image, re-drawn every epoch (infinite dataset,
             bounded by ``steps_per_epoch``); random flips / 90-degree rotations.
``sliding``  SRCNN-keras: degrade each *whole* image, then cut ``patch_size`` windows with
             ``stride`` (positions ``range(0, size - patch, stride)``, as the original).
Everything random derives from ``seed`` (stateless ops), so a seed gives the same batches.

A stochastic degradation (``realworld``) is drawn per batch from a seed stream of its own
(:func:`degradation_seeds`), with ``degradation_params`` (overrides of
:class:`~keras_sr.data.realworld.RealWorldParams`); validation patches get a fixed seed each.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keras_sr._backend import tf
from keras_sr.data.color import y_of_uint8
from keras_sr.data.degradations import get_degradation
from keras_sr.data.io import eight_bit, image_size, read_image
from keras_sr.errors import ImageReadError, KerasSRError

MARGIN = 2  # LR pixels of context around random crops (bicubic support is 2 px per side)


def min_image_size(patch_size: int, scale: int, mode: str = "random") -> int:
    """Smallest image side the pipeline can cut a training patch from."""
    return patch_size + (2 * MARGIN * scale if mode == "random" else 0)


@dataclass
class PipelineConfig:
    scale: int
    patch_size: int = 32
    label_border: int = 0
    degradation: str = "bicubic"
    color_space: str = "y-bt601"
    input_mode: str = "pre-upsampled"
    mode: str = "random"
    stride: int = 16
    batch_size: int = 128
    augment: bool = True
    seed: int = 0
    cache: bool = True
    degradation_params: dict | None = None  # overrides of RealWorldParams (realworld only)
    pair_reuse: int = 1  # each degraded pair serves this many batches (reuse_pairs; hr_crop_dataset)

    def validate(self) -> None:
        if self.patch_size % self.scale:
            raise KerasSRError(f"patch size {self.patch_size} is not divisible by the scale {self.scale}")
        if self.patch_size - 2 * self.label_border <= 0:
            raise KerasSRError(f"patch size {self.patch_size} leaves no label after the "
                               f"{self.label_border}-px border of the model")
        if self.mode not in ("random", "sliding"):
            raise KerasSRError(f"unknown patch mode {self.mode!r} (random or sliding)")
        if self.mode == "sliding" and self.input_mode != "pre-upsampled":
            raise KerasSRError("sliding-window patches are only for pre-upsampling models (SRCNN)")
        deg = get_degradation(self.degradation)
        if deg.stochastic and self.mode == "sliding":
            raise KerasSRError(f"the {self.degradation} degradation is drawn per batch of random patches; "
                               "it does not work with sliding-window patches")
        if self.degradation_params and not deg.stochastic:
            raise KerasSRError(f"degradation parameters are for 'realworld(-accurate)' and 'light', "
                               f"not {self.degradation!r}")
        degradation_params(self)


def degradation_params(cfg: PipelineConfig):
    """The :class:`~keras_sr.data.realworld.RealWorldParams` of a stochastic degradation
    (its defaults with ``cfg.degradation_params`` applied; validated), else None."""
    deg = get_degradation(cfg.degradation)
    if not deg.stochastic:
        return None
    return deg.resolve_params(cfg.degradation_params)


def degradation_seeds(seed: int):
    """The stream of per-batch degradation seeds (``[2]`` int64) of a pipeline seeded ``seed``."""
    return tf().data.Dataset.random(seed=seed + 1_000_003).batch(2)


class DataWarning(UserWarning):
    """An input file was skipped."""


def scan_images(files, min_size: int) -> list[Path]:
    """Keep the files the pipeline can use; warn, naming each file skipped and why."""
    usable = []
    for f in files:
        f = Path(f)
        reason = None
        try:
            h, w = image_size(f)
            if min(h, w) < min_size:
                reason = f"smaller ({w}x{h}) than a {min_size}x{min_size} patch"
            else:
                read_image(f)  # full decode: catches truncated/corrupt files up front
        except ImageReadError as exc:
            reason = str(exc)
        if reason:
            warnings.warn(f"skipping {f}: {reason}", DataWarning, stacklevel=2)
        else:
            usable.append(f)
    return usable


def split_files(files, val_fraction: float, seed: int):
    """Deterministic train/validation split; with one file both use it."""
    files = list(files)
    if len(files) < 2 or val_fraction <= 0:
        return files, files
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(files))
    n_val = min(len(files) - 1, max(1, int(round(val_fraction * len(files)))))
    val = sorted(files[i] for i in order[:n_val])
    train = sorted(files[i] for i in order[n_val:])
    return train, val


def load_model_space(path, color_space: str) -> np.ndarray:
    """An image file as uint8 ``[H, W, C]`` in the model's space: Y of the given flavour
    (gray images: their gray value) or RGB (gray replicated; alpha dropped; 16-bit -> 8-bit)."""
    img = read_image(path)
    img = eight_bit(img)
    if img.ndim == 3:
        img = img[..., :3]
    if color_space == "rgb":
        return np.ascontiguousarray(img if img.ndim == 3 else np.repeat(img[..., None], 3, axis=2))
    return y_of_uint8(img, color_space).astype(np.uint8)[..., None]


def _load_fn(color_space: str):
    """Decode with Pillow (every format and mode :func:`read_image` knows), once per image:
    the decoded images are cached by the pipeline."""
    t = tf()
    channels = 3 if color_space == "rgb" else 1

    def load(path):
        img = t.numpy_function(lambda p: load_model_space(p.decode(), color_space), [path], t.uint8,
                               stateful=False)
        img.set_shape([None, None, channels])
        return img

    return load


class _Pairs:
    """Builds (input, label) from HR patches for one :class:`PipelineConfig`."""

    def __init__(self, cfg: PipelineConfig):
        self.cfg = cfg
        self.deg = get_degradation(cfg.degradation)
        self.params = degradation_params(cfg)

    def from_hr(self, hr, margin: int = 0, seed=None):
        """HR patch(es) ``[(N,) P + 2*margin*s, ..., C]`` float -> (input, label) for the central
        ``P`` (one patch or a batch: the resize is per image either way; a stochastic
        degradation draws from ``seed``).

        The margin (in LR pixels) keeps the resize kernel away from the crop's edges, so
        training pairs look like crops of a degraded *whole* image."""
        if self.deg.stochastic:
            lr = self.deg.downscale(hr, self.cfg.scale, seed=seed, params=self.params)
        else:
            lr = self.deg.downscale(hr, self.cfg.scale)
        return self.from_pair(hr, lr, margin)

    def from_pair(self, hr, lr, margin: int = 0):
        """HR patch(es) and their LR (``1/scale`` the size, aligned) -> (input, label) for the
        central ``P`` HR pixels; pre-upsampling models get the LR upscaled with the
        degradation's interpolation."""
        c = self.cfg
        s, p = c.scale, c.patch_size
        if c.input_mode == "pre-upsampled":
            size = p + 2 * margin * s
            x = self.deg.upscale(lr, size=(size, size), quantize_output=self.deg.quantize_lr)
            x = x[..., margin * s: margin * s + p, margin * s: margin * s + p, :]
        else:
            x = lr[..., margin: margin + p // s, margin: margin + p // s, :]
        hr = hr[..., margin * s: margin * s + p, margin * s: margin * s + p, :]
        return x, self._label(hr)

    def _label(self, hr):
        b = self.cfg.label_border
        return hr[..., b: self.cfg.patch_size - b, b: self.cfg.patch_size - b, :] if b else hr

    def augment(self, hr, seed):
        t = tf()
        k = t.random.stateless_uniform([], seed=seed, minval=0, maxval=4, dtype=t.int32)
        # rotated as float (exact for uint8): oneDNN's integer transpose logs an "only on AVX-512" error
        out = t.image.rot90(t.cast(hr, t.float32), k)
        return t.cast(t.image.stateless_random_flip_left_right(out, seed=seed[::-1]), hr.dtype)

    def sliding(self, img_u8):
        """Whole image -> degraded whole image -> aligned windows (SRCNN-keras mode)."""
        t = tf()
        c = self.cfg
        p, s = c.patch_size, c.stride
        hr = t.cast(img_u8, t.float32) / 255.0
        shape = t.shape(hr)
        lr = self.deg.downscale(hr, c.scale)
        up = self.deg.upscale(lr, size=shape[:2], quantize_output=self.deg.quantize_lr)
        # range(0, size - p, s) positions, as the original's loops.
        n_h = (shape[0] - p + s - 1) // s
        n_w = (shape[1] - p + s - 1) // s
        h_used, w_used = (n_h - 1) * s + p, (n_w - 1) * s + p
        pairs = []
        for img in (up, hr):
            cropped = img[None, :h_used, :w_used]
            patches = t.image.extract_patches(cropped, sizes=[1, p, p, 1], strides=[1, s, s, 1],
                                              rates=[1, 1, 1, 1], padding="VALID")
            pairs.append(t.reshape(patches, [-1, p, p, img.shape[-1]]))
        x, y = pairs
        b = c.label_border
        if b:
            y = y[:, b: p - b, b: p - b]
        return t.data.Dataset.from_tensor_slices((x, y))

    def grid(self, img_u8):
        """Non-overlapping HR patches on a grid (validation)."""
        t = tf()
        p = self.cfg.patch_size
        hr = t.cast(img_u8, t.float32)[None] / 255.0
        patches = t.image.extract_patches(hr, sizes=[1, p, p, 1], strides=[1, p, p, 1],
                                          rates=[1, 1, 1, 1], padding="VALID")
        return t.data.Dataset.from_tensor_slices(t.reshape(patches, [-1, p, p, img_u8.shape[-1]]))


@dataclass
class Shards:
    """A TFRecord shard folder as a pipeline source (see :mod:`keras_sr.data.shards`);
    ``val_every`` > 0 holds out every n-th record, ``validation`` selects that part."""

    folder: str
    count: int
    val_every: int = 0
    validation: bool = False
    min_size: int = 0

    def __len__(self) -> int:
        return self.count


@dataclass
class PairedFiles:
    """HR files and their low-resolution versions (same order) as a pipeline source: the LR
    files replace the on-the-fly degradation (``PipelineConfig.degradation`` then only names
    the interpolation pre-upsampling models use). See :func:`match_pairs`."""

    hr: list
    lr: list

    def __len__(self) -> int:
        return len(self.hr)

    def __iter__(self):
        return iter(self.hr)

    def split(self, val_fraction: float, seed: int):
        """(train, validation) with the same deterministic split as :func:`split_files`."""
        index = {str(h): i for i, h in enumerate(self.hr)}
        train, val = split_files(self.hr, val_fraction, seed)
        pick = lambda hs: PairedFiles(list(hs), [self.lr[index[str(h)]] for h in hs])  # noqa: E731
        return pick(train), pick(val)


_LR_SUFFIX = re.compile(r"(?:[_-]?(?:LR|lr))?(?:[_-]?[xX]\d+)?$")


def _hr_stem(lr_stem: str) -> str:
    """The HR stem an LR file name refers to: its stem without a scale/LR suffix
    (``0001x4``, ``0001_x4``, ``0001_LR``, ``0001_LRx4`` as public SR sets name them)."""
    return _LR_SUFFIX.sub("", lr_stem) or lr_stem


def match_pairs(hr_files, lr_files, scale: int) -> PairedFiles:
    """Match HR and LR files by file stem and check the scale from their sizes
    (LR = HR // scale, each side); every HR file needs its LR file."""
    by_stem: dict = {}
    for f in lr_files:
        by_stem.setdefault(_hr_stem(Path(f).stem), []).append(Path(f))
    dup = next((k for k, v in by_stem.items() if len(v) > 1), None)
    if dup:
        raise KerasSRError(f"several LR files have the stem {dup!r}: {', '.join(map(str, by_stem[dup]))}")
    hr_out, lr_out = [], []
    for h in hr_files:
        h = Path(h)
        lr = by_stem.get(h.stem, by_stem.get(_hr_stem(h.stem), [None]))[0]
        if lr is None:
            raise KerasSRError(f"no LR file for {h} (looked for {h.stem}.*, {h.stem}x{scale}.*, "
                               f"{h.stem}_LR.* among {len(lr_files)} LR files)")
        (hh, hw), (lh, lw) = image_size(h), image_size(lr)
        if (hh // scale, hw // scale) != (lh, lw):
            ratio = f"{hh / max(lh, 1):.2f}x{hw / max(lw, 1):.2f}"
            raise KerasSRError(f"{lr.name} is {lw}x{lh} but {h.name} is {hw}x{hh}: a x{ratio} pair, "
                               f"not x{scale}")
        hr_out.append(h)
        lr_out.append(lr)
    if not hr_out:
        raise KerasSRError("no HR images to pair")
    return PairedFiles(hr_out, lr_out)


def _paired_patches(files: PairedFiles, cfg: PipelineConfig, seed: int, augment: bool):
    """Aligned random crops of decoded (HR, LR) pairs: LR ``P/s + 2*MARGIN`` px, HR ``s`` times
    that at ``s`` times the offset; the same flip/rotation on both."""
    t = tf()
    s, q = cfg.scale, cfg.patch_size // cfg.scale + 2 * MARGIN
    load = _load_fn(cfg.color_space)
    ds = t.data.Dataset.from_tensor_slices(([str(f) for f in files.hr], [str(f) for f in files.lr]))
    ds = ds.map(lambda h, lr: (load(h), load(lr)), num_parallel_calls=t.data.AUTOTUNE)
    ds = ds.cache() if cfg.cache else ds
    ds = ds.repeat().shuffle(max(len(files), 1), seed=seed, reshuffle_each_iteration=True)
    ds = t.data.Dataset.zip((ds, t.data.Dataset.random(seed=seed).batch(2)))
    pairs = _Pairs(cfg)

    def crop(images, seed_pair):
        hr, lr = images
        shape = t.shape(lr)
        oy = t.random.stateless_uniform([], seed_pair, 0, shape[0] - q + 1, dtype=t.int32)
        ox = t.random.stateless_uniform([], seed_pair[::-1], 0, shape[1] - q + 1, dtype=t.int32)
        lr_c = t.cast(lr[oy:oy + q, ox:ox + q], t.float32) / 255.0
        hr_c = t.cast(hr[oy * s:(oy + q) * s, ox * s:(ox + q) * s], t.float32) / 255.0
        if augment:
            lr_c, hr_c = pairs.augment(lr_c, seed_pair), pairs.augment(hr_c, seed_pair)
        return hr_c, lr_c

    return ds.map(crop, num_parallel_calls=t.data.AUTOTUNE)


def _pair_batch_fn(pairs):
    """Per batch: (HR, LR) float crops -> (input, label)."""
    return lambda hr, lr: pairs.from_pair(hr, lr, MARGIN)


def _images(files, cfg: PipelineConfig):
    t = tf()
    if isinstance(files, Shards):
        from keras_sr.data.shards import shard_images

        ds = shard_images(files.folder, cfg.color_space, files.min_size, files.val_every, files.validation)
    else:
        ds = t.data.Dataset.from_tensor_slices([str(f) for f in files])
        ds = ds.map(_load_fn(cfg.color_space), num_parallel_calls=t.data.AUTOTUNE)
    return ds.cache() if cfg.cache else ds


def _finish(ds, cfg: PipelineConfig, drop_remainder: bool, per_batch=None, seeded: bool = False,
            reuse: bool = False, hold: int = 1):
    """Batch, map ``per_batch`` (with a degradation seed per batch when ``seeded``), re-use the
    pairs (:func:`reuse_pairs`, training only), yield each batch ``hold`` times in a row, prefetch."""
    t = tf()
    opts = t.data.Options()
    opts.deterministic = True
    ds = ds.batch(cfg.batch_size, drop_remainder=drop_remainder, num_parallel_calls=t.data.AUTOTUNE)
    if seeded:
        ds = t.data.Dataset.zip((ds, degradation_seeds(cfg.seed)))
    if per_batch is not None:
        ds = ds.map(per_batch, num_parallel_calls=t.data.AUTOTUNE)
    if reuse:
        ds = reuse_pairs(ds, cfg)
    if hold > 1:
        ds = ds.flat_map(lambda *b: t.data.Dataset.from_tensors(b if len(b) > 1 else b[0]).repeat(hold))
    return ds.prefetch(t.data.AUTOTUNE).with_options(opts)


def dihedral_pairs(x, y, seed):
    """The same random 90-degree rotation (per batch) and left-right flip (per image) of the
    input batch ``x`` and label batch ``y`` (aligned: same centre, any sizes), from ``seed``."""
    t = tf()
    seeds = t.random.experimental.stateless_split(seed, 2)
    k = t.random.stateless_uniform([], seeds[0], 0, 4, dtype=t.int32)
    flip = t.random.stateless_uniform([t.shape(x)[0], 1, 1, 1], seeds[1]) < 0.5

    def one(v):
        v = t.image.rot90(v, k)
        return t.where(flip, t.reverse(v, axis=[2]), v)

    return one(x), one(y)


def reuse_pairs(ds, cfg: PipelineConfig):
    """Each (input, label) batch of ``ds`` serves ``cfg.pair_reuse`` batches: its pairs are
    repeated, re-mixed in a shuffle buffer of ``pair_reuse`` batches (so a batch holds pairs of
    several degradation draws, as Real-ESRGAN's training pool does) and given a fresh random
    rotation/flip per batch. The degradation then costs ``1 / pair_reuse`` per step; the
    distribution of pairs is unchanged (the degradation's kernels, resizes and noise are
    rotation- and flip-invariant in distribution)."""
    n = cfg.pair_reuse
    if n <= 1:
        return ds
    t = tf()
    ds = ds.flat_map(lambda x, y: t.data.Dataset.from_tensors((x, y)).repeat(n).unbatch())
    ds = ds.shuffle(n * cfg.batch_size, seed=cfg.seed + 2_000_003, reshuffle_each_iteration=True)
    ds = ds.batch(cfg.batch_size, drop_remainder=True)
    ds = t.data.Dataset.zip((ds, t.data.Dataset.random(seed=cfg.seed + 3_000_017).batch(2)))
    return ds.map(lambda pair, seed: dihedral_pairs(*pair, seed), num_parallel_calls=t.data.AUTOTUNE)


def training_dataset(files, cfg: PipelineConfig):
    """Batches of (input, label) for training; infinite in 'random' mode, one pass in 'sliding'."""
    cfg.validate()
    if not files:
        raise KerasSRError("no usable training images")
    t = tf()
    pairs = _Pairs(cfg)
    if isinstance(files, PairedFiles):
        if cfg.mode != "random":
            raise KerasSRError("paired LR/HR data needs random patches (not 'sliding')")
        ds = _paired_patches(files, cfg, cfg.seed, cfg.augment)
        return _finish(ds, cfg, drop_remainder=True, per_batch=_pair_batch_fn(pairs), reuse=True)
    images = _images(files, cfg)
    if cfg.mode == "sliding":
        ds = images.flat_map(pairs.sliding)
        if cfg.cache:
            ds = ds.cache()
        ds = ds.shuffle(20000, seed=cfg.seed, reshuffle_each_iteration=True)
        return _finish(ds, cfg, drop_remainder=False)
    crop = cfg.patch_size + 2 * MARGIN * cfg.scale
    channels = 3 if cfg.color_space == "rgb" else 1
    ds = images.repeat().shuffle(max(len(files), 1), seed=cfg.seed, reshuffle_each_iteration=True)
    seeds = t.data.Dataset.random(seed=cfg.seed).batch(2)
    ds = t.data.Dataset.zip((ds, seeds))

    def sample(img, seed):  # per patch: crop and flip/rotate (uint8)
        patch = t.image.stateless_random_crop(img, [crop, crop, channels], seed=seed)
        return pairs.augment(patch, seed) if cfg.augment else patch

    def degrade(patches, seed=None):  # per batch: one resize call for all patches (same result, less overhead)
        return pairs.from_hr(t.cast(patches, t.float32) / 255.0, MARGIN, seed=seed)

    ds = ds.map(sample, num_parallel_calls=t.data.AUTOTUNE)
    return _finish(ds, cfg, drop_remainder=True, per_batch=degrade, seeded=pairs.deg.stochastic, reuse=True)


def validation_dataset(files, cfg: PipelineConfig, max_patches: int = 512):
    """Deterministic (input, label) batches from a patch grid over each image (no augmentation)."""
    cfg.validate()
    pairs = _Pairs(cfg)
    if isinstance(files, PairedFiles):  # fixed random crops (seeded), each LR file's own pixels
        ds = _paired_patches(files, cfg, cfg.seed + 1, augment=False).take(max_patches)
        ds = ds.cache() if cfg.cache else ds
        return _finish(ds, cfg, drop_remainder=False, per_batch=_pair_batch_fn(pairs))
    ds = _images(files, cfg).flat_map(pairs.grid).take(max_patches)
    if pairs.deg.stochastic:  # a fixed seed per patch: the same validation pairs every epoch
        t = tf()
        ds = ds.enumerate().map(lambda i, hr: pairs.from_hr(hr, seed=t.stack([t.constant(cfg.seed + 1, t.int64), i])),
                                num_parallel_calls=t.data.AUTOTUNE)
    else:
        ds = ds.map(lambda hr: pairs.from_hr(hr), num_parallel_calls=tf().data.AUTOTUNE)
    if cfg.cache:
        ds = ds.cache()
    return _finish(ds, cfg, drop_remainder=False)


def count_batches(ds) -> int:
    """Number of batches in a finite dataset (iterates it once)."""
    n = int(ds.cardinality())
    if n >= 0:
        return n
    return sum(1 for _ in ds)


def hr_crop_dataset(files, cfg: PipelineConfig):
    """Batches of random uint8 HR crops ``[B, P, P, C]`` only: flips, rotations and the
    degradation are left to the device (``SRGAN(device_augment=True)``, ``DeviceAugmented``).
    With ``cfg.pair_reuse`` N > 1 each batch is yielded N times in a row: the device step
    degrades only every N-th batch it gets (:class:`keras_sr.training.augment.PairCache`), so
    the crops of the others would be cut for nothing."""
    cfg.validate()
    t = tf()
    p = cfg.patch_size
    channels = 3 if cfg.color_space == "rgb" else 1
    ds = _images(files, cfg).repeat().shuffle(max(len(files), 1), seed=cfg.seed,
                                              reshuffle_each_iteration=True)
    ds = t.data.Dataset.zip((ds, t.data.Dataset.random(seed=cfg.seed).batch(2)))
    ds = ds.map(lambda img, seed: t.image.stateless_random_crop(img, [p, p, channels], seed=seed),
                num_parallel_calls=t.data.AUTOTUNE)
    return _finish(ds, cfg, drop_remainder=True, hold=cfg.pair_reuse)
