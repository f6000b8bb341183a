"""Inference: photo in, photo out, in stages (pre-process -> process -> post-process).

:class:`Upscaler` is the one place that knows how to feed a model: colour conversion
(Y models run on the Y of YCbCr with bicubic-upscaled chroma; gray stays gray), the
pre-upscaling a pre-upsampling model needs, the padding a 'valid' model needs so the
output is exactly ``scale x`` the input, clipping and rounding back to the input dtype.
The model runs through one ``tf.function`` with a ``None`` input signature, so images of
any size do not retrace.
"""

from __future__ import annotations

import warnings

import numpy as np

from keras_sr._backend import tf
from keras_sr.data import interp
from keras_sr.data.color import rgb_to_ycbcr, ycbcr_to_rgb
from keras_sr.data.degradations import get_degradation
from keras_sr.errors import KerasSRError, UsageError
from keras_sr.models import border as model_border
from keras_sr.models.loading import load_model

SUPPORTED_SCALES = (2, 3, 4, 6, 8)


class KerasSRWarning(UserWarning):
    """A result is valid but probably not what the user wants (e.g. wrong degradation)."""


def check_compatibility(info, scale: int | None = None, degradation: str | None = None) -> list[str]:
    """Warn (and return the messages) when a model is used off its training conditions."""
    msgs = []
    if scale and info.scale and scale != info.scale:
        msgs.append(f"model {info.architecture} was trained for x{info.scale}, used at x{scale}: "
                    "results will be worse than its recorded numbers")
    trained = set(info.degradation.split(",")) if info.degradation else set()
    if degradation and trained and not set(degradation.split(",")) <= trained:  # comma lists: mixed
        msgs.append(f"model was trained on the '{info.degradation}' degradation, used with "
                    f"'{degradation}': numbers are not comparable and quality will suffer")
    for m in msgs:
        warnings.warn(m, KerasSRWarning, stacklevel=2)
    return msgs


class StagedUpscaler:
    """Pre-process -> process -> post-process around a backend's ``_run(batch)``.

    Subclasses set ``info`` (:class:`~keras_sr.models.ModelInfo`), ``scale``, ``channels``
    and ``border`` and implement ``_run`` ([1, H, W, C] float32 -> [1, H', W', C]). The
    Keras :class:`Upscaler` and ``keras_sr.lite.Upscaler`` share everything else, so the two
    backends cannot drift apart. Interpolations (pre-upscaling, chroma) use the polyphase
    filters of :mod:`keras_sr.data.interp`, the same ones exported graphs contain.
    """

    info = None
    scale = 0
    channels = 1
    border = 0

    def _setup(self, factor):
        scale = factor or self.info.scale
        if not scale:
            raise UsageError("model records no scale; pass a factor")
        if scale not in SUPPORTED_SCALES:
            raise UsageError(f"factor must be one of {SUPPORTED_SCALES}, got {scale}")
        if self.info.input_mode == "lr" and self.info.scale and scale != self.info.scale:
            raise UsageError(f"model upscales x{self.info.scale}; it cannot produce x{scale}")
        check_compatibility(self.info, scale=scale)
        self.scale = int(scale)
        # The degradation's interpolation pre-upscales the input of pre-upsampling models; for
        # LR-input models it is only a label (an imported model's is often "unknown").
        if self.info.input_mode == "pre-upsampled":
            self.degradation = get_degradation(self.info.degradation or "bicubic")
            self.kernel = interp.kernel_for(self.degradation.name)
        else:
            self.degradation = None
            self.kernel = interp.kernel_for(self.info.degradation or "bicubic")

    @property
    def multiple(self) -> int:
        """Input height and width the model needs multiples of (``ModelInfo.size_multiple``)."""
        return max(1, int(getattr(self.info, "size_multiple", 1) or 1))

    def _run(self, batch: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- process ---------------------------------------------------------------------------
    # Every stage takes one image ``[H, W, C]`` or a batch ``[N, H, W, C]`` of equal-size ones.
    def model_batch(self, x: np.ndarray) -> np.ndarray:
        """Float image(s) -> the exact ``[N, H', W', C]`` tensor the model receives
        (border-padded for 'valid' models; bottom/right reflect-padded up to a multiple of
        ``size_multiple`` for models that fold their input, as spandrel pads them)."""
        x = x[None] if x.ndim == 3 else x
        b = self.border
        if b:
            x = np.pad(x, ((0, 0), (b, b), (b, b), (0, 0)), mode=self.info.pad_mode or "symmetric")
        m = self.multiple
        ph, pw = -x.shape[1] % m, -x.shape[2] % m
        if ph or pw:
            x = np.pad(x, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="reflect")
        return np.ascontiguousarray(x, np.float32)

    def run_model(self, x: np.ndarray) -> np.ndarray:
        """Model on float image(s) in [0, 1] (padded for 'valid' models and to ``size_multiple``;
        the output is cropped back to the input's size times the model's factor)."""
        batch = self.model_batch(x)
        out = self._run(batch)
        if self.multiple > 1:  # LR models that fold their input: crop the padding's output away
            r = out.shape[1] // batch.shape[1]
            out = out[:, : x.shape[-3] * r, : x.shape[-2] * r]
        return out[0] if x.ndim == 3 else out

    def pre_upscale(self, lr: np.ndarray) -> np.ndarray:
        """The interpolation a pre-upsampling model was trained on (``scale`` x)."""
        out = np.asarray(interp.upscale(lr[None] if lr.ndim == 3 else lr, self.scale, self.kernel))
        return out[0] if lr.ndim == 3 else out

    # -- tiling ------------------------------------------------------------------------------
    tile = None  # LR tile side (px); None = from max_memory_mb
    max_memory_mb = 256.0
    tile_batch = 1  # equal-size tiles run through the model together (memory budget shared)
    progress = None  # callable(done_tiles, total_tiles)

    def context(self) -> int:
        """LR pixels of context a tile needs so tiled == untiled: the measured receptive
        radius of pre-upscaling + model, plus 1. Probed with a one-pixel perturbation on two
        random images (ReLUs that happen to be off for one input cannot hide a path twice)."""
        if getattr(self, "_context", None) is None:
            n = 48
            rng = np.random.default_rng(0)
            centre = (n // 2 + 0.5) * self.scale
            radius_hr = 0.0
            for _ in range(2):
                a = rng.random((n, n, self.channels), dtype=np.float32)
                b = a.copy()
                b[n // 2, n // 2] += 0.5
                diff = np.abs(self.sr_channels(a) - self.sr_channels(b)).max(axis=-1)
                ys, xs = np.nonzero(diff > 0)
                if ys.size:
                    radius_hr = max(radius_hr, np.abs(ys + 0.5 - centre).max(), np.abs(xs + 0.5 - centre).max())
            # +1 safety; at least the polyphase chroma/alpha interpolation's reach (2 px) + 1;
            # a multiple of size_multiple, so that tiles keep the image's folding grid
            c = max(int(np.ceil(radius_hr / self.scale)) + 1, 3)
            self._context = -(-c // self.multiple) * self.multiple
        return self._context

    def bytes_per_lr_pixel(self) -> float:
        """Rough peak activation bytes per LR pixel (float32, largest layer output, in + out +
        workspace): read off the layers' output shapes, so a model with wide high-resolution
        layers (RRDBNet x4: 64 channels at 16x the LR pixels) gets proportionally smaller tiles."""
        if getattr(self, "_elements", None) is None:
            from keras_sr.models.cost import activation_elements_per_pixel

            try:
                self._elements = activation_elements_per_pixel(self.model, 64 * self.multiple)
            except Exception:  # noqa: BLE001 - a graph the probe cannot read: widest kernel
                self._elements = float(max([int(s[-1]) for s in getattr(self, "weight_shapes", [])] or [64]))
        pixels = self.scale**2 if self.info.input_mode == "pre-upsampled" else 1.0
        return 4.0 * self._elements * 3 * pixels + 4.0 * 8 * self.scale**2

    def tile_size(self) -> int:
        """LR tile side: ``tile`` or from the memory budget, rounded down to a multiple of
        ``size_multiple`` (tiles then start on the folding grid: tiled == untiled)."""
        m = self.multiple
        if self.tile:
            return max(m, int(self.tile) // m * m)
        budget = self.max_memory_mb / max(1, int(self.tile_batch))
        side = int(np.sqrt(budget * 2**20 / self.bytes_per_lr_pixel()))
        return max(16, side - 2 * self.context()) // m * m

    def sr_channels(self, lr: np.ndarray) -> np.ndarray:
        """Model-space channels ``[(N,) h, w, C]`` in [0, 1] -> SR ``[(N,) s*h, s*w, C]`` (not clipped)."""
        size = (lr.shape[-3] * self.scale, lr.shape[-2] * self.scale)
        if self.info.input_mode == "pre-upsampled":
            return self.run_model(self.pre_upscale(lr))
        out = self.run_model(lr)
        if out.shape[-3:-1] != size:
            raise KerasSRError(f"model output {out.shape[-3:-1]} != expected {size}")
        return out

    # -- whole images ------------------------------------------------------------------------
    def __call__(self, image: np.ndarray) -> np.ndarray:
        image = np.asarray(image)
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
            raise KerasSRError(f"expected an image [H,W], [H,W,3] or [H,W,4], got shape {image.shape}")
        dtype = image.dtype
        peak = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(dtype, 1.0)
        h, w = image.shape[:2]
        s, t = self.scale, self.tile_size()
        if h <= t and w <= t:
            return self._finish(self._whole(image, peak), dtype, peak)
        # Tiles carry `context` px of real neighbourhood on every inner side; it is cropped away
        # after processing, so the result equals the untiled one (image borders are padded as
        # without tiling). Only one tile is ever held in float: memory is bounded by the tile.
        # Tiles of equal size (all but the last row/column) go through the model `tile_batch`
        # at a time.
        c = self.context()
        out = np.empty((h * s, w * s) + image.shape[2:], dtype)
        groups: dict = {}
        for y in range(0, h, t):
            for x in range(0, w, t):
                box = (max(0, y - c), max(0, x - c), min(h, y + t + c), min(w, x + t + c), y, x)
                groups.setdefault((box[2] - box[0], box[3] - box[1]), []).append(box)
        total, done = sum(map(len, groups.values())), 0
        n = max(1, int(self.tile_batch))
        for boxes in groups.values():
            for i in range(0, len(boxes), n):
                chunk = boxes[i:i + n]
                srs = self._whole(np.stack([image[y0:y1, x0:x1] for y0, x0, y1, x1, _, _ in chunk]), peak,
                                  batched=True)
                for (y0, x0, _, _, y, x), sr in zip(chunk, srs):
                    ty, tx = min(t, h - y), min(t, w - x)
                    out[y * s:(y + ty) * s, x * s:(x + tx) * s] = self._finish(
                        sr[(y - y0) * s:(y - y0 + ty) * s, (x - x0) * s:(x - x0 + tx) * s], dtype, peak)
                done += len(chunk)
                if self.progress:
                    self.progress(done, total)
        return out

    def _whole(self, image: np.ndarray, peak: float, batched: bool = False) -> np.ndarray:
        """Untiled image(s) (or tiles; ``batched``: a leading N axis) -> float SR in [0, 1],
        same channel layout."""
        x = image.astype(np.float32) / peak
        if not batched:
            x = x[None]
        gray2d = x.ndim == 3
        if gray2d:
            x = x[..., None]
        alpha = x[..., 3:] if x.shape[-1] == 4 else None
        out = self._process_color(x[..., :3])
        if alpha is not None:
            out = np.concatenate([out, np.asarray(interp.upscale(alpha, self.scale))], axis=-1)
        out = np.clip(out, 0.0, 1.0)
        out = out[..., 0] if gray2d else out
        return out if batched else out[0]

    @staticmethod
    def _finish(out: np.ndarray, dtype, peak: float) -> np.ndarray:
        return out.astype(dtype) if peak == 1.0 else np.round(out * peak).astype(dtype)

    def _process_color(self, x: np.ndarray) -> np.ndarray:
        """``[N, h, w, 1 or 3]`` in [0, 1] -> ``[N, s*h, s*w, same]`` (not clipped)."""
        gray = x.shape[-1] == 1
        space = self.info.color_space
        if space == "rgb":
            rgb = np.repeat(x, 3, axis=-1) if gray else x
            out = self.sr_channels(rgb)
            return out.mean(axis=-1, keepdims=True) if gray else out
        if gray:  # the gray value is the luma
            return self.sr_channels(x)
        ycc = np.asarray(rgb_to_ycbcr(x, space), np.float32)
        y = self.sr_channels(ycc[..., :1])
        chroma = np.asarray(interp.upscale(ycc[..., 1:], self.scale))
        return np.asarray(ycbcr_to_rgb(np.concatenate([y, chroma], axis=-1), space))


class Upscaler(StagedUpscaler):
    """Run a Keras SR model on whole images.

    Parameters: ``model`` (anything :func:`keras_sr.load_model` accepts) and ``factor``
    (defaults to the model's recorded scale). ``__call__`` takes a uint8/uint16/float
    image ``[H, W]``, ``[H, W, 3]`` or ``[H, W, 4]`` and returns ``[sH, sW, ...]`` of the
    same dtype (floats in [0, 1]). The model runs through one ``tf.function`` with a
    ``None`` input signature: no retracing across image sizes.
    """

    def __init__(self, model, factor: int | None = None, tile: int | None = None,
                 max_memory_mb: float = 256.0, progress=None, tile_batch: int = 1):
        self.tile, self.max_memory_mb, self.progress = tile, max_memory_mb, progress
        self.tile_batch = tile_batch
        self.model = load_model(model)
        self.weight_shapes = [tuple(w.shape) for w in self.model.weights if len(w.shape) == 4]
        self.info = self.model.sr_info
        self.channels = int(self.model.input_shape[-1])
        self.border = model_border(self.model) if self.info.input_mode == "pre-upsampled" else 0
        self._setup(factor)
        t = tf()
        spec = t.TensorSpec([None, None, None, self.channels], t.float32)
        self._fn = t.function(lambda x: self.model(x, training=False), input_signature=[spec])

    def _run(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self._fn(tf().convert_to_tensor(batch, tf().float32)))


def upscale(image: np.ndarray, model, factor: int | None = None) -> np.ndarray:
    """Upscale one image array with ``model`` (path, name or ``keras.Model``); see :class:`Upscaler`."""
    return Upscaler(model, factor)(image)
