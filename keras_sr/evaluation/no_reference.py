"""Score a model on real low-quality images that have no ground truth (e.g. RealSRSet).

The images of such a set **are the LR inputs**: each is upscaled ``scale`` x by the model
and by bicubic (MATLAB ``imresize``, Keys a = -0.5, the ``bicubic`` degradation's
interpolation), both rounded to 8-bit RGB, and scored with NIQE only
(:mod:`keras_sr.evaluation.niqe`: BT.601 Y of MATLAB ``rgb2ycbcr`` rounded, 0-255, no crop,
96x96 blocks; lower is better). PSNR/SSIM/LPIPS need ground truth and are refused.

A set is treated this way when it is a known no-reference set
(:data:`keras_sr.data.datasets.NO_REFERENCE_SETS`, by folder name) or when the caller asks for
it (``keras-sr evaluate --no-reference``). Rows: ``name``, ``height``/``width`` of the scored
(upscaled) image, ``bicubic_niqe``, ``model_niqe``, ``delta_niqe`` (model - bicubic).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_sr.data.degradations import get_degradation
from keras_sr.data.io import list_images
from keras_sr.errors import KerasSRError, UsageError
from keras_sr.evaluation.evaluate import EvalResult, eight_bit_images, leakage

PROTOCOL = "no-reference"
METRICS = ("niqe",)


def parse_metrics(text: str | None) -> tuple[str, ...]:
    """Metrics asked for on a set without ground truth: only NIQE (the default)."""
    names = [m.strip().lower() for m in (text or "niqe").split(",") if m.strip()]
    other = [m for m in names if m != "niqe"]
    if other:
        raise UsageError(f"{other[0]} needs ground truth, which this set has none of: NIQE is the "
                         "only metric without ground truth (--metrics niqe)")
    return METRICS


def evaluate_no_reference(model, data, scale: int | None = None, progress: bool = False,
                          name: str | None = None, niqe_params=None,
                          strict_scale: bool = False) -> EvalResult:
    """NIQE of the bicubic and of the model upscale of every image in ``data`` (LR inputs).

    ``model``: anything :func:`keras_sr.load_model` accepts, an
    :class:`~keras_sr.inference.Upscaler`, or ``None`` (bicubic only; ``scale`` required).
    ``niqe_params``: path of ``niqe_pris_params.npz`` (default: looked up).
    """
    import warnings

    from keras_sr.evaluation.niqe import load_params, niqe_of_uint8

    files = list_images([data] if isinstance(data, (str, Path)) else data)
    if not files:
        raise KerasSRError(f"no images found in {data}")
    params = load_params(niqe_params)
    upscaler, notes, leaked, label = None, [], [], name
    if model is not None:
        from keras_sr.inference import KerasSRWarning, Upscaler, check_compatibility

        upscaler = model if isinstance(model, Upscaler) else Upscaler(model, scale)
        info = upscaler.info
        if strict_scale and info.scale and scale and info.scale != scale:
            raise UsageError(f"model is x{info.scale} but --factor is {scale}")
        scale = scale or upscaler.scale
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", KerasSRWarning)
            notes = check_compatibility(info, scale=scale)  # real inputs: no degradation to match
        leaked = leakage(info, files)
        if leaked:
            notes.append(f"LEAKAGE: {len(leaked)} evaluation image(s) were in the model's training "
                         f"data ({', '.join(leaked[:5])}{'...' if len(leaked) > 5 else ''})")
        for n in notes:
            warnings.warn(n, KerasSRWarning, stacklevel=2)
        label = label or info.source or upscaler.model.name
    if not scale:
        raise UsageError("give the upscaling factor (--factor) for the bicubic baseline")
    result = EvalResult(protocol=PROTOCOL, scale=scale, model=str(label or "baseline"),
                        metrics=METRICS, warnings=notes, leaked_files=leaked, comparable=not notes)
    deg = get_degradation("bicubic")
    for path, lr in eight_bit_images(files, f"NIQE x{scale}", progress):
        h, w = lr.shape[0] * scale, lr.shape[1] * scale
        planes = lr[..., None] if lr.ndim == 2 else lr
        bic = np.asarray(deg.upscale(planes.astype(np.float32) / 255.0, size=(h, w)))
        outputs = {"bicubic": np.clip(np.round(bic * 255.0), 0, 255).astype(np.uint8)}
        if lr.ndim == 2:
            outputs["bicubic"] = outputs["bicubic"][..., 0]
        if upscaler is not None:
            outputs["model"] = np.asarray(upscaler(lr))[:h, :w]
        row = {"name": path.stem, "height": h, "width": w}
        for method, out in outputs.items():
            row[f"{method}_niqe"] = niqe_of_uint8(out, params, name=f"{path.name} upscaled x{scale}")
        if upscaler is not None:
            row["delta_niqe"] = row["model_niqe"] - row["bicubic_niqe"]
        result.rows.append(row)
    return result
