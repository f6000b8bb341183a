"""Score a model (and the bicubic/interpolation baseline) on a set of HR images."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from keras_sr.data.color import y_of_uint8
from keras_sr.data.degradations import get_degradation
from keras_sr.data.io import list_images, read_image
from keras_sr.errors import KerasSRError
from keras_sr.evaluation import metrics
from keras_sr.evaluation.protocol import Protocol, get_protocol, modcrop


@dataclass
class EvalResult:
    """Per-image rows and their means. PSNR in dB, SSIM in [0, 1], both on the protocol's Y."""

    protocol: str
    scale: int
    model: str
    rows: list = field(default_factory=list)

    def means(self) -> dict:
        keys = [k for k in self.rows[0] if isinstance(self.rows[0][k], float)] if self.rows else []
        return {k: float(np.mean([r[k] for r in self.rows])) for k in keys}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mean"] = self.means()
        return d


def _y01(image: np.ndarray, protocol: Protocol) -> np.ndarray:
    return (y_of_uint8(image, protocol.color_space) / 255.0)[..., None].astype(np.float32)


def evaluate(model, data, scale: int, protocol: str | Protocol = "paper", progress: bool = False,
             name: str | None = None) -> EvalResult:
    """PSNR/SSIM of the interpolation baseline and (if ``model`` is given) of the model.

    ``data``: an image folder, a list of files/folders. ``model``: anything
    :func:`keras_sr.load_model` accepts, an :class:`~keras_sr.inference.Upscaler`, or
    ``None`` (baseline only). See :mod:`keras_sr.evaluation.protocol` for the conventions.
    """
    proto = protocol if isinstance(protocol, Protocol) else get_protocol(protocol)
    if proto.color_space == "rgb":
        raise KerasSRError("RGB-space scoring is not supported yet; use a Y protocol")
    files = list_images([data] if isinstance(data, (str, Path)) else data)
    if not files:
        raise KerasSRError(f"no images found in {data}")
    upscaler = None
    if model is not None:
        from keras_sr.inference import Upscaler, check_compatibility

        upscaler = model if isinstance(model, Upscaler) else Upscaler(model, scale)
        check_compatibility(upscaler.info, scale=scale, degradation=proto.degradation)
    deg = get_degradation(proto.degradation)
    shave = proto.shave_for(scale)
    label = name or (upscaler.info.source or upscaler.model.name if upscaler else "baseline")
    result = EvalResult(protocol=proto.name, scale=scale, model=str(label))
    iterator = files
    if progress:
        from tqdm import tqdm

        iterator = tqdm(files, desc=f"evaluate x{scale}", unit="img", leave=False)
    for path in iterator:
        hr = read_image(path)
        if hr.dtype != np.uint8:
            raise KerasSRError(f"evaluation expects 8-bit images: {path}")
        hr = hr[..., :3] if hr.ndim == 3 else hr
        if proto.modcrop:
            hr = modcrop(hr, scale)
        h, w = hr.shape[:2]
        if min(h // scale, w // scale) < 1 or min(h, w) <= 2 * shave:
            raise KerasSRError(f"image {path.name} ({w}x{h}) is too small for x{scale} with a "
                               f"{shave}-px border shave")
        hr_y = _y01(hr, proto)
        lr = deg.downscale(hr_y, scale, quantize_output=proto.quantize_lr)
        up = np.asarray(deg.upscale(lr, size=(h, w), quantize_output=proto.quantize_upscaled))
        ref = hr_y[..., 0] * 255.0
        base = proto.to_uint8_grid(up)[..., 0]
        row = {"name": path.stem, "height": h, "width": w,
               "bicubic_psnr": metrics.psnr(ref, base, shave=shave),
               "bicubic_ssim": metrics.ssim(ref, base, shave=shave)}
        if upscaler is not None:
            sr = proto.to_uint8_grid(_model_y(upscaler, hr, hr_y, np.asarray(lr), up, proto, scale))
            row["model_psnr"] = metrics.psnr(ref, sr, shave=shave)
            row["model_ssim"] = metrics.ssim(ref, sr, shave=shave)
            row["delta_psnr"] = row["model_psnr"] - row["bicubic_psnr"]
            row["delta_ssim"] = row["model_ssim"] - row["bicubic_ssim"]
        if any(isinstance(v, float) and math.isinf(v) for v in row.values()):
            raise KerasSRError(f"image {path.name}: identical images (infinite PSNR)")
        result.rows.append(row)
    return result


def _model_y(upscaler, hr, hr_y, lr, up, proto: Protocol, scale: int) -> np.ndarray:
    """The model's Y output ([H, W], [0, 1]) for one test image under ``proto``."""
    info = upscaler.info
    if info.color_space == proto.color_space or (hr.ndim == 2 and info.color_space != "rgb"):
        # Fast, exact path: the model works on the protocol's own Y.
        if info.input_mode == "pre-upsampled":
            return upscaler.run_model(up)[..., 0]
        return upscaler.run_model(lr)[..., 0]
    # The model works in another colour space: run it on the 8-bit RGB LR photo.
    deg = get_degradation(proto.degradation)
    lr_rgb = np.asarray(deg.downscale(hr.astype(np.float32) / 255.0, scale, quantize_output=True))
    out = upscaler(np.round(lr_rgb * 255).astype(np.uint8))
    out = out[: hr.shape[0], : hr.shape[1]]
    return y_of_uint8(out, proto.color_space) / 255.0
