"""The severity ladder: models and bicubic on one set at clean, light and heavy degradation.

Severities (:data:`SEVERITIES`): ``clean`` = ``bicubic`` (the paper protocol's MATLAB-bicubic
downscale), ``light`` = ``light`` (phone and web photos:
:meth:`~keras_sr.data.realworld.RealWorldParams.light`), ``heavy`` = ``realworld``
(Real-ESRGAN's two-stage chain with its x4plus ranges). Each severity is one
:func:`~keras_sr.evaluation.evaluate.evaluate` per model under the protocol with that
degradation (``get_protocol(protocol, degradation=..., seed=seed)``), so a ladder row *is* the
mean of ``keras-sr evaluate --degradation X --seed S``. Stochastic LR images come from
per-image seeds of (``seed``, file name): every run and every model sees the same LR.

Metrics (per severity, set means): PSNR and SSIM on the protocol's Y (paper: BT.601, shave =
scale), LPIPS-Alex on RGB (lower is better; only when its weights are found, else left out
with a note), colour bias (:func:`~keras_sr.evaluation.metrics.color_bias`: mean over images of
the mean |per-channel mean error| of the 8-bit RGB output vs the HR, in 8-bit levels, lower is
better). Gains are model - bicubic on the same LR (negative is better for LPIPS and bias).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from keras_sr.errors import KerasSRError, UsageError

SEVERITIES = {"clean": "bicubic", "light": "light", "heavy": "realworld"}
DEFAULT_METRICS = ("psnr", "ssim", "lpips", "bias")
LOWER_IS_BETTER = ("lpips", "bias")
_FMT = {"psnr": ("PSNR dB", "{:.2f}"), "ssim": ("SSIM", "{:.4f}"), "lpips": ("LPIPS", "{:.4f}"),
        "bias": ("bias", "{:.2f}"), "niqe": ("NIQE", "{:.3f}"), "mse": ("MSE", "{:.2f}")}


@dataclass
class Ladder:
    """The evaluations behind one ladder: ``results[severity]`` holds one
    :class:`~keras_sr.evaluation.evaluate.EvalResult` per model (in ``models`` order)."""

    dataset: str
    scale: int
    seed: int
    protocol: str
    metrics: tuple
    models: list
    results: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    trained_on: dict = field(default_factory=dict)  # model label -> its training degradation

    def rows(self) -> list[dict]:
        """One dict per (severity, method): bicubic first, then each model with its gains."""
        out = []
        for sev, deg in SEVERITIES.items():
            results = self.results[sev]
            base = results[0].means()
            out.append({"severity": sev, "degradation": deg, "method": "bicubic",
                        **{m: base[f"bicubic_{m}"] for m in self.metrics}})
            for label, r in zip(self.models, results):
                mean = r.means()
                out.append({"severity": sev, "degradation": deg, "method": label,
                            **{m: mean[f"model_{m}"] for m in self.metrics},
                            **{f"gain_{m}": mean[f"delta_{m}"] for m in self.metrics}})
        return out

    def to_dict(self) -> dict:
        first = self.results[next(iter(SEVERITIES))][0]
        warnings = sorted({w for rs in self.results.values() for r in rs for w in r.warnings})
        return {"dataset": self.dataset, "images": len(first.rows), "scale": self.scale, "seed": self.seed,
                "protocol": self.protocol, "metrics": list(self.metrics), "severities": dict(SEVERITIES),
                "models": list(self.models), "trained_on": dict(self.trained_on), "rows": self.rows(), "notes": list(self.notes),
                "warnings": warnings}


def model_labels(specs) -> list[str]:
    """Names of models as given on the command line: a ``.keras``/``.h5`` file's stem, else as
    typed (zoo name, run folder without its trailing slash); all as typed when two would clash."""
    names = [Path(m).stem if str(m).lower().endswith((".keras", ".h5")) else str(m).rstrip("/") for m in specs]
    return names if len(set(names)) == len(names) else [str(m) for m in specs]


def _lpips_available(lpips_weights) -> str | None:
    """None when the LPIPS-Alex weights are found, else why not (one line)."""
    from keras_sr.evaluation.lpips import find_weights

    try:
        find_weights("alex", str(lpips_weights) if lpips_weights else None)
    except KerasSRError as exc:
        return str(exc).split("\n")[0]
    return None


def check_sizes(files, dataset: str, scale: int, proto, metric_names) -> None:
    """A one-line :class:`KerasSRError` naming ``dataset`` when any image (after the
    protocol's mod-crop) is smaller than the protocol and metrics need; read from the file
    headers, before any scoring."""
    from PIL import Image

    from keras_sr.evaluation.evaluate import min_side

    need, why = min_side(scale, proto.shave_for(scale), metric_names)
    small = []
    for f in files:
        try:
            with Image.open(f) as im:
                w, h = im.size
        except OSError as exc:
            raise KerasSRError(f"cannot read {f}: {exc}") from None
        if proto.modcrop:
            h, w = h - h % scale, w - w % scale
        if min(h, w) < need:
            small.append(f"{Path(f).name} {w}x{h}")
    if small:
        shown = ", ".join(small[:3]) + (", ..." if len(small) > 3 else "")
        raise KerasSRError(f"{dataset}: {len(small)} of {len(files)} images are smaller than the {need} px "
                           f"the ladder needs at x{scale} ({why}): {shown}")


def ladder(models, data, scale: int | None = None, seed: int = 0, protocol: str = "paper",
           color: str | None = None, shave: int | None = None, metric_names=None, lpips_weights=None,
           names=None, progress: bool = False, echo=None, outscale: int | None = None) -> Ladder:
    """Score ``models`` (anything :class:`~keras_sr.inference.Upscaler` takes; several share one
    scale) and bicubic on ``data`` (a folder or files) at every severity of :data:`SEVERITIES`.

    ``scale``: the factor (default: the first model's). ``metric_names``: default
    :data:`DEFAULT_METRICS`, LPIPS left out (with a note) when its weights are not found.
    ``names``: labels of the models (default: each model's source). ``echo``: progress lines.
    ``outscale``: score every model at this factor (:func:`~keras_sr.inference.outscale.upscaler_at`):
    a model of a larger scale runs at its own and its output is resampled down with antialiased
    Lanczos-3 (:class:`~keras_sr.inference.outscale.Outscaled`, the filter of ``keras-sr distill``),
    its label gets `` (x4 -> x2 Lanczos)``; a model of a smaller scale is a ``UsageError``.
    """
    import warnings

    from keras_sr.data.io import list_images
    from keras_sr.evaluation.evaluate import evaluate, parse_metrics
    from keras_sr.evaluation.protocol import get_protocol
    from keras_sr.inference import KerasSRWarning, Upscaler, check_compatibility

    files = list_images([data] if isinstance(data, (str, Path)) else data)
    dataset = Path(data).name if isinstance(data, (str, Path)) else "images"
    if not files:
        raise KerasSRError(f"no images found in {data}")
    notes = []
    if metric_names is None:
        metric_names = DEFAULT_METRICS
        missing = _lpips_available(lpips_weights)
        if missing:
            metric_names = tuple(m for m in metric_names if m != "lpips")
            notes.append(f"LPIPS left out: {missing}")
    metrics = tuple(m for m in parse_metrics(",".join(metric_names)) if m != "mse")
    if "niqe" in metrics:
        raise UsageError("the ladder scores against the HR: psnr, ssim, lpips, bias (not niqe)")
    if outscale is not None:
        from keras_sr.inference.outscale import upscaler_at

        if scale is not None and scale != outscale:
            raise UsageError(f"--factor {scale} and --outscale {outscale} disagree (--outscale is the factor)")
        scale = outscale
        ups = [m if isinstance(m, Upscaler) else upscaler_at(m, outscale) for m in models]
    else:
        ups = [m if isinstance(m, Upscaler) else Upscaler(m, scale) for m in models]
    scales = sorted({u.scale for u in ups})
    if scale is None:
        if len(scales) > 1:
            raise UsageError(f"the models upscale x{' and x'.join(map(str, scales))}: give one --factor")
        scale = scales[0] if scales else 2
    labels = list(names) if names is not None else [str(u.info.source or u.model.name) for u in ups]
    if len(labels) != len(ups):
        raise UsageError(f"{len(labels)} names for {len(ups)} models")
    from keras_sr.inference.outscale import Outscaled

    labels = [f"{label} ({up.note})" if isinstance(up, Outscaled) else label for label, up in zip(labels, ups)]
    protos = {sev: get_protocol(protocol, color, shave, degradation=deg, seed=seed)
              for sev, deg in SEVERITIES.items()}
    check_sizes(files, dataset, scale, protos["clean"], metrics)
    out = Ladder(dataset=dataset, scale=int(scale), seed=int(seed), protocol=protos["clean"].name,
                 metrics=metrics, models=labels, notes=notes,
                 trained_on={label: up.info.degradation for label, up in zip(labels, ups)})
    for sev, proto in protos.items():
        out.results[sev] = []
        for label, up in list(zip(labels, ups)) or [("bicubic", None)]:  # no model: the baseline alone
            if echo:
                echo(f"{sev} ({SEVERITIES[sev]}): {label}")
            with warnings.catch_warnings():  # off-degradation use is the point of a ladder: no warning
                warnings.simplefilter("ignore", KerasSRWarning)
                r = evaluate(up, files, scale, protocol=proto, progress=progress,
                             name=label if up is not None else None, metric_names=metrics,
                             lpips_weights=lpips_weights, strict_scale=True)
                expected = check_compatibility(up.info, degradation=proto.degradation) if up is not None else []
            r.warnings = [w for w in r.warnings if w not in expected]  # others (leakage) stay
            out.results[sev].append(r)
    return out


def ladder_lr(hr, scale: int, severity: str, seed: int = 0, name: str = "") -> np.ndarray:
    """The 8-bit RGB LR ``[H // scale, W // scale, 3]`` that ``severity`` of :func:`ladder` (with
    ``seed``) gives an RGB model for one test image, as :func:`~keras_sr.evaluation.evaluate.evaluate`
    makes it: ``hr`` is the mod-cropped 8-bit HR (``[H, W]`` or ``[H, W, 3]``), ``name`` its file
    name (stochastic severities draw from (``seed``, ``name``)). ``clean``: MATLAB-bicubic downscale
    of the RGB, rounded to 8 bits; ``light`` / ``heavy``: the degradation's own parameters. Gray
    images: the gray LR, replicated to RGB."""
    from keras_sr.data import realworld
    from keras_sr.data.degradations import get_degradation
    from keras_sr.evaluation.evaluate import _as_rgb

    if severity not in SEVERITIES:
        raise UsageError(f"unknown severity {severity!r}; known: {', '.join(SEVERITIES)}")
    deg = get_degradation(SEVERITIES[severity])
    hr = np.asarray(hr)
    if deg.stochastic:
        lr8, _ = realworld.degrade_image(hr, scale, realworld.image_seed(seed, name), deg.default_params())
        return _as_rgb(lr8).astype(np.uint8)
    lr = deg.downscale(_as_rgb(hr) / 255.0, scale, quantize_output=True)
    return np.clip(np.round(np.asarray(lr) * 255.0), 0, 255).astype(np.uint8)


def format_ladder(lad: Ladder) -> str:
    """One line per (severity, method): each metric and, for models, its gain over bicubic."""
    d = lad.to_dict()
    width = max([len("method")] + [len(m) for m in lad.models] + [len("bicubic")])
    cols = []
    for m in lad.metrics:
        cols += [(m, _FMT[m][0]), (f"gain_{m}", "gain")]
    cw = {c: max(len(h), 8) for c, h in cols}
    lines = [f"Severity ladder x{lad.scale} on {lad.dataset} ({d['images']} images), protocol {lad.protocol}, "
             f"seed {lad.seed}: clean = bicubic, light = light, heavy = realworld",
             f"{'severity':<8}  {'method':<{width}}  " + "  ".join(f"{h:>{cw[c]}}" for c, h in cols)]
    for row in d["rows"]:
        cells = []
        for c, _ in cols:
            v = row.get(c)
            if v is None:
                cells.append(" " * cw[c])
                continue
            text = _FMT[c.replace("gain_", "")][1].format(v)
            cells.append(f"{('+' if c.startswith('gain') and v >= 0 else '') + text:>{cw[c]}}")
        lines.append(f"{row['severity']:<8}  {row['method']:<{width}}  " + "  ".join(cells).rstrip())
    lines.append("PSNR/SSIM on Y; LPIPS-Alex on RGB; bias = mean |per-channel mean error| of the RGB output, "
                 "8-bit levels; gain = model - bicubic (LPIPS, bias: lower is better)")
    if lad.trained_on:
        lines.append("trained on: " + ", ".join(f"{k} {v or 'unknown'}" for k, v in lad.trained_on.items()))
    lines += [f"note: {n}" for n in d["notes"]] + [f"warning: {w}" for w in d["warnings"]]
    return "\n".join(lines)


def ladder_figure(lad: Ladder, path) -> Path:
    """PNG: one panel per metric, the gain over bicubic (model - bicubic) at each severity,
    one line per model; written atomically. A ladder without models is a :class:`UsageError`."""
    from keras_sr.evaluation.report import _plt, _save

    if not lad.models:
        raise UsageError("the ladder figure plots models' gains: give at least one --model")
    path = Path(path)
    if not path.resolve().parent.is_dir():
        raise KerasSRError(f"figure folder does not exist: {path.parent}")
    plt = _plt()
    sevs = list(SEVERITIES)
    rows = lad.rows()
    fig, axes = plt.subplots(1, len(lad.metrics), figsize=(3.6 * len(lad.metrics), 3.4), squeeze=False)
    for ax, m in zip(axes[0], lad.metrics):
        for label in lad.models:
            gains = [next(r[f"gain_{m}"] for r in rows if r["method"] == label and r["severity"] == s)
                     for s in sevs]
            ax.plot(np.arange(len(sevs)), gains, marker="o", label=label)
        ax.axhline(0, color="k", lw=1, ls="--")
        ax.set_xticks(np.arange(len(sevs)), sevs)
        ax.set_title(f"{_FMT[m][0]} gain" + (" (lower is better)" if m in LOWER_IS_BETTER else ""), fontsize=9)
        ax.set_xlabel("severity")
    axes[0][0].set_ylabel("model - bicubic")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=8, frameon=False)
    fig.suptitle(f"severity ladder x{lad.scale} on {lad.dataset} (seed {lad.seed}): gain over bicubic", fontsize=10)
    rows_of_legend = -(-len(labels) // 4)
    fig.tight_layout(rect=(0, 0.06 + 0.05 * rows_of_legend, 1, 1))
    return _save(fig, path)
