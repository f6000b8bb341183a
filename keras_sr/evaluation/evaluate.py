"""Score a model (and the interpolation baseline) on a set of HR images.

Rows hold, per image, ``<method>_<metric>`` for method ``bicubic`` (the protocol's
interpolation of the LR image: the model's input quality) and ``model``, plus
``delta_<metric>`` (model - bicubic). PSNR/SSIM/MSE are on the protocol's Y (see
:mod:`keras_sr.evaluation.protocol`); LPIPS on full RGB images, no shave; NIQE (no reference,
lower is better) on the 8-bit BT.601 Y of each output, no shave (:mod:`keras_sr.evaluation.niqe`);
``bias`` (colour bias, lower is better, :func:`keras_sr.evaluation.metrics.color_bias`) on the
8-bit RGB outputs against the RGB HR, in 8-bit levels, with the protocol's border shave.
Sets without HR images: :mod:`keras_sr.evaluation.no_reference`. With a stochastic
degradation (``realworld``) the result's ``degradation`` holds the seed, the parameters and
what was drawn for each image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from keras_sr.data.color import y_of_uint8
from keras_sr.data.degradations import get_degradation
from keras_sr.data.io import list_images, read_image, sha256_file
from keras_sr.errors import KerasSRError, UsageError
from keras_sr.evaluation import metrics
from keras_sr.evaluation.protocol import Protocol, get_protocol, modcrop

METRICS = ("mse", "psnr", "ssim", "lpips", "niqe", "bias")
HIGHER_IS_BETTER = {"mse": False, "psnr": True, "ssim": True, "lpips": False, "niqe": False, "bias": False}
CROP = 96
LPIPS_MIN_SIDE = 31  # AlexNet: conv1 11x11 stride 4 pad 2, then two 3x3 stride-2 max-pools
SSIM_WINDOW = 11


def min_side(scale: int, shave: int, metric_names=()) -> tuple[int, str]:
    """``(pixels, why)``: the smallest height and width (after the protocol's mod-crop) an HR
    image needs at ``scale`` with a ``shave``-px border for ``metric_names`` (at least one LR
    pixel and one scored pixel; SSIM's 11x11 window inside the shave; LPIPS's AlexNet input)."""
    need, why = max(scale, 2 * shave + 1), f"x{scale} with a {shave}-px border shave"
    if "ssim" in metric_names and 2 * shave + SSIM_WINDOW > need:
        need, why = 2 * shave + SSIM_WINDOW, f"SSIM's {SSIM_WINDOW}-px window inside a {shave}-px border shave"
    if "lpips" in metric_names and LPIPS_MIN_SIDE > need:
        need, why = LPIPS_MIN_SIDE, "LPIPS (AlexNet)"
    return need, why


def parse_metrics(text: str | None) -> tuple[str, ...]:
    """``"psnr,ssim,lpips"`` -> tuple; MSE is always computed (it is free)."""
    names = [m.strip().lower() for m in (text or "psnr,ssim").split(",") if m.strip()]
    bad = [m for m in names if m not in METRICS]
    if bad:
        raise UsageError(f"unknown metric {bad[0]!r}; known: {', '.join(METRICS)}")
    return tuple(m for m in METRICS if m in names or m == "mse")


@dataclass
class EvalResult:
    """Per-image rows, their means, and the guards' findings."""

    protocol: str
    scale: int
    model: str
    metrics: tuple = ("mse", "psnr", "ssim")
    rows: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    leaked_files: list = field(default_factory=list)
    comparable: bool = True
    outputs: dict = field(default_factory=dict, repr=False)
    degradation: dict = field(default_factory=dict)  # stochastic: name, seed, params, per-image draws

    def means(self) -> dict:
        if not self.rows:
            return {}
        keys = [k for k, v in self.rows[0].items() if isinstance(v, float)]
        return {k: float(np.mean([r[k] for r in self.rows])) for k in keys}

    def summary(self) -> dict:
        """Means, share of images improved over the input per metric, mean gain, count worse."""
        out = {"images": len(self.rows), "mean": self.means(), "per_metric": {}}
        if not self.rows or not any(k.startswith("delta_") for k in self.rows[0]):
            return out
        for m in self.metrics:
            gains = np.array([r[f"delta_{m}"] for r in self.rows])
            better = gains > 0 if HIGHER_IS_BETTER[m] else gains < 0
            worse = gains < 0 if HIGHER_IS_BETTER[m] else gains > 0
            out["per_metric"][m] = {"improved_pct": float(100.0 * better.mean()),
                                    "mean_gain": float(gains.mean()),
                                    "worse_count": int(worse.sum())}
        return out

    def to_dict(self) -> dict:
        return {"protocol": self.protocol, "scale": self.scale, "model": self.model,
                "metrics": list(self.metrics), "comparable": self.comparable,
                "leaked_files": self.leaked_files, "warnings": self.warnings,
                "rows": self.rows, "mean": self.means(), "summary": self.summary(),
                **({"degradation": self.degradation} if self.degradation else {})}


def _y01(image: np.ndarray, protocol: Protocol) -> np.ndarray:
    return (y_of_uint8(image, protocol.color_space) / 255.0)[..., None].astype(np.float32)


def leakage(info, files) -> list[str]:
    """Names of evaluation files whose sha256 is in the model's training record."""
    data = (info.record or {}).get("data") or {}
    trained = {f.get("sha256") for f in data.get("files", [])}
    trained.discard(None)
    if not trained:
        return []
    return [Path(f).name for f in files if sha256_file(f) in trained]


def eight_bit_images(files, desc: str, progress: bool = False):
    """``(path, image)`` for each file: 8-bit ``[H, W]`` or ``[H, W, 3]`` (alpha dropped); anything
    else is a :class:`KerasSRError`. ``progress``: a tqdm bar named ``desc``."""
    iterator = files
    if progress:
        from tqdm import tqdm

        iterator = tqdm(files, desc=desc, unit="img", leave=False)
    for path in iterator:
        image = read_image(path)
        if image.dtype != np.uint8:
            raise KerasSRError(f"evaluation expects 8-bit images: {path}")
        yield path, (image[..., :3] if image.ndim == 3 else image)


def evaluate(model, data, scale: int, protocol: str | Protocol = "paper", progress: bool = False,
             name: str | None = None, metric_names=("mse", "psnr", "ssim"), lpips_weights=None,
             keep_outputs: bool = False, strict_scale: bool = False, niqe_params=None) -> EvalResult:
    """PSNR/SSIM/MSE (and LPIPS, NIQE) of the interpolation baseline and of ``model``.

    ``data``: a folder or a list of files/folders. ``model``: anything
    :func:`keras_sr.load_model` accepts, an :class:`~keras_sr.inference.Upscaler`, or ``None``
    (baseline only). The model runs through one traced function for all image sizes.
    ``keep_outputs`` keeps, per image, the 8-bit Y of HR, bicubic and model (for figures).
    ``niqe_params``: path of ``niqe_pris_params.npz`` (default: looked up, see
    :func:`keras_sr.evaluation.niqe.find_params`).
    """
    import warnings

    proto = protocol if isinstance(protocol, Protocol) else get_protocol(protocol)
    files = list_images([data] if isinstance(data, (str, Path)) else data)
    if not files:
        raise KerasSRError(f"no images found in {data}")
    metric_names = tuple(m for m in METRICS if m in metric_names or m == "mse")
    upscaler = None
    label = name
    notes: list[str] = []
    leaked: list[str] = []
    comparable = True
    if model is not None:
        from keras_sr.inference import KerasSRWarning, Upscaler, check_compatibility

        upscaler = model if isinstance(model, Upscaler) else Upscaler(model, scale)
        info = upscaler.info
        if strict_scale and info.scale and info.scale != scale:
            raise UsageError(f"model is x{info.scale} but --factor is {scale}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", KerasSRWarning)
            notes = check_compatibility(info, scale=scale, degradation=proto.degradation)
        comparable = not notes
        leaked = leakage(info, files)
        if leaked:
            notes.append(f"LEAKAGE: {len(leaked)} evaluation image(s) were in the model's training "
                         f"data ({', '.join(leaked[:5])}{'...' if len(leaked) > 5 else ''}): "
                         "these numbers overstate the model")
            comparable = False
        for n in notes:
            warnings.warn(n, KerasSRWarning, stacklevel=2)
        if not label:
            label = info.source or upscaler.model.name
            note = getattr(upscaler, "note", None)  # an Outscaled model: "x4 -> x2 Lanczos"
            label = f"{label} ({note})" if note else label
    result = EvalResult(protocol=proto.name, scale=scale, model=str(label or "baseline"),
                        metrics=metric_names, warnings=notes, leaked_files=leaked,
                        comparable=comparable)
    lp = None
    if "lpips" in metric_names:
        from keras_sr.evaluation.lpips import get_lpips

        lp = get_lpips("alex", str(lpips_weights) if lpips_weights else None)
    niqe_p = None
    if "niqe" in metric_names:
        from keras_sr.evaluation.niqe import load_params

        if proto.color_space == "y-opencv":
            raise UsageError("NIQE is defined on the BT.601 Y of MATLAB rgb2ycbcr; it cannot "
                             "score y-opencv outputs (use --color y-bt601 or rgb)")
        niqe_p = load_params(niqe_params)
    deg = get_degradation(proto.degradation)
    if deg.stochastic:
        from keras_sr.data import realworld

        params = proto.params or deg.default_params()
        result.degradation = {"name": deg.name, "seed": proto.seed, "params": params.to_dict(),
                              "image_seed": "sha256(f'{seed}:{file name}'), first 8 bytes", "images": {}}
    shave = proto.shave_for(scale)
    need, why = min_side(scale, shave, metric_names)
    for path, hr in eight_bit_images(files, f"evaluate x{scale}", progress):
        if proto.modcrop:
            hr = modcrop(hr, scale)
        h, w = hr.shape[:2]
        if min(h, w) < need:
            raise KerasSRError(f"image {path.name} ({w}x{h}) is too small for {why} (needs {need} px)")
        lr8 = None
        if deg.stochastic:  # the degraded 8-bit LR photo, the same every run
            lr8, drawn = realworld.degrade_image(hr, scale, realworld.image_seed(proto.seed, path.name), params)
            result.degradation["images"][path.stem] = drawn
        # The full-RGB path (8-bit LR photo through the Upscaler) runs at most once per image.
        needs_rgb = proto.color_space == "rgb" or lp is not None or "bias" in metric_names or (
            upscaler is not None and not _fast_y(upscaler.info, proto, hr))
        rgb = _rgb_outputs(upscaler, hr, deg, scale, lr8) if needs_rgb else None
        if proto.color_space == "rgb":  # score all three channels of the 8-bit RGB outputs
            ref = _as_rgb(hr)
            outputs = dict(rgb)
        else:
            hr_y = _y01(hr, proto)
            if lr8 is not None:  # Y of the degraded LR photo
                lr = _y01(lr8, proto)
            else:
                lr = deg.downscale(hr_y, scale, quantize_output=proto.quantize_lr)
            up = np.asarray(deg.upscale(lr, size=(h, w), quantize_output=proto.quantize_upscaled))
            ref = hr_y[..., 0] * 255.0
            outputs = {"bicubic": proto.to_uint8_grid(up)[..., 0]}
            if upscaler is not None:
                outputs["model"] = proto.to_uint8_grid(_model_y(upscaler, hr, np.asarray(lr), up, proto, rgb))
        row = {"name": path.stem, "height": h, "width": w}
        for method, out in outputs.items():
            row[f"{method}_mse"] = metrics.mse(ref, out, shave=shave)
            row[f"{method}_psnr"] = metrics.psnr(ref, out, shave=shave)
            if "ssim" in metric_names:
                row[f"{method}_ssim"] = metrics.ssim(ref, out, shave=shave)
        if lp is not None:
            hr_rgb = _as_rgb(hr) / 255.0
            for method, out in rgb.items():
                row[f"{method}_lpips"] = float(lp(out / 255.0, hr_rgb))
        if "bias" in metric_names:
            hr_rgb = _as_rgb(hr)
            for method, out in rgb.items():
                row[f"{method}_bias"] = metrics.color_bias(hr_rgb, out, shave=shave)
        if niqe_p is not None:
            from keras_sr.evaluation.niqe import niqe, niqe_of_uint8

            for method, out in outputs.items():  # 8-bit values: RGB, or the protocol's BT.601 Y
                if out.ndim == 3 and hr.ndim == 2:  # gray image scored in RGB: its gray value
                    out = out[..., 0]
                row[f"{method}_niqe"] = (niqe_of_uint8(out.astype(np.uint8), niqe_p, name=path.name)
                                         if out.ndim == 3 else niqe(out, niqe_p, name=path.name))
        if upscaler is not None:
            for m in metric_names:
                row[f"delta_{m}"] = row[f"model_{m}"] - row[f"bicubic_{m}"]
            if keep_outputs:
                gray = (lambda a: y_of_uint8(a.astype(np.uint8), "y-bt601")) if ref.ndim == 3 else (lambda a: a)
                result.outputs[path.stem] = {"hr": gray(ref).astype(np.uint8),
                                             **{k: gray(v).astype(np.uint8) for k, v in outputs.items()}}
        if any(isinstance(v, float) and math.isinf(v) for v in row.values()):
            raise KerasSRError(f"image {path.name}: output identical to the reference (infinite PSNR)")
        result.rows.append(row)
    return result


def _as_rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(image[..., None], 3, axis=2).astype(np.float32) if image.ndim == 2 else image.astype(np.float32)


def _rgb_outputs(upscaler, hr, deg, scale, lr8=None) -> dict:
    """Full-RGB bicubic and model outputs (uint8 values as float) from the 8-bit LR photo
    (``lr8``, when given, else the degradation's downscale of ``hr``)."""
    if lr8 is not None:
        lr = _as_rgb(lr8) / 255.0
    else:
        lr = np.asarray(deg.downscale(_as_rgb(hr) / 255.0, scale, quantize_output=True))
    h, w = hr.shape[:2]
    out = {"bicubic": np.round(np.asarray(deg.upscale(lr, size=(h, w))) * 255.0)}
    if upscaler is not None:
        lr8 = np.round(lr * 255).astype(np.uint8)
        out["model"] = upscaler(lr8 if hr.ndim == 3 else lr8[..., 0]).astype(np.float32)
        if out["model"].ndim == 2:
            out["model"] = np.repeat(out["model"][..., None], 3, axis=2)
        out["model"] = out["model"][:h, :w]
    return out


def best_window(ref, base, sr, size: int = CROP) -> tuple[slice, slice]:
    """The ``size`` x ``size`` window where ``sr``'s squared error drops most vs ``base``."""
    from scipy.ndimage import uniform_filter

    ref, base, sr = (np.asarray(a, np.float64) for a in (ref, base, sr))
    h, w = ref.shape
    size = min(size, h, w)
    gain = uniform_filter((base - ref) ** 2 - (sr - ref) ** 2, size=size, mode="constant")
    half = size // 2
    valid = gain[half: h - size + half + 1, half: w - size + half + 1]
    i, j = np.unravel_index(np.argmax(valid), valid.shape)
    return slice(i, i + size), slice(j, j + size)


def _fast_y(info, proto: Protocol, hr: np.ndarray) -> bool:
    """Whether the model can run directly on the protocol's Y (exact paper path)."""
    return info.color_space == proto.color_space or (hr.ndim == 2 and info.color_space != "rgb")


def _model_y(upscaler, hr, lr, up, proto: Protocol, rgb: dict | None) -> np.ndarray:
    """The model's Y output ([H, W], [0, 1]) for one test image under ``proto``."""
    info = upscaler.info
    if _fast_y(info, proto, hr):
        if info.input_mode == "pre-upsampled":
            return upscaler.run_model(up)[..., 0]
        return upscaler.run_model(lr)[..., 0]
    # The model works in another colour space: use its output on the 8-bit RGB LR photo
    # (gray images: the gray value, channel 0 of the replicated output).
    out = rgb["model"].astype(np.uint8)
    return (out[..., 0] if hr.ndim == 2 else y_of_uint8(out, proto.color_space)) / 255.0
