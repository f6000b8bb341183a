"""Evaluation reports: text tables, per-image CSV, summary JSON and figures (matplotlib PNG)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from keras_sr.data.io import atomic_write_text, replace_atomically
from keras_sr.errors import KerasSRError

_FMT = {"psnr": "{:.2f}", "ssim": "{:.4f}", "mse": "{:.2f}", "lpips": "{:.4f}", "niqe": "{:.4f}", "bias": "{:.2f}"}
_UNIT = {"psnr": "PSNR dB", "ssim": "SSIM", "mse": "MSE", "lpips": "LPIPS", "niqe": "NIQE",
         "bias": "colour bias"}


def format_table(result) -> str:
    """Per-image and mean metrics of bicubic and model, then the improvement summary."""
    has_model = bool(result.rows) and any(k.startswith("model_") for k in result.rows[0])
    shown = [m for m in result.metrics if m != "mse"] or ["psnr"]
    cols = [f"bicubic_{m}" for m in shown]
    if has_model:
        cols += [f"model_{m}" for m in shown] + [f"delta_{m}" for m in shown]
    width = max([len("mean")] + [len(r["name"]) for r in result.rows])
    head = {c: f"{c.split('_')[0].replace('delta', 'gain')} {_UNIT[c.split('_')[1]]}" for c in cols}
    cw = max(12, *(len(h) for h in head.values()))
    lines = [f"{result.model}  x{result.scale}  protocol={result.protocol}"
             + ("" if result.comparable else "  [NOT COMPARABLE: see warnings]"),
             f"{'image':<{width}}  " + "  ".join(f"{head[c]:>{cw}}" for c in cols)]

    def fmt(c, v):
        f = _FMT[c.split("_")[1]]
        return f"{(('+' if c.startswith('delta') and v >= 0 else '') + f.format(v)):>{cw}}"

    for r in result.rows:
        lines.append(f"{r['name']:<{width}}  " + "  ".join(fmt(c, r[c]) for c in cols))
    means = result.means()
    lines.append(f"{'mean':<{width}}  " + "  ".join(fmt(c, means[c]) for c in cols))
    summary = result.summary()
    if summary.get("per_metric"):
        lines.append("")
        lines.append("improved over bicubic: " + ", ".join(
            f"{_UNIT[m]} {s['improved_pct']:.0f}% of images (worse on {s['worse_count']})"
            for m, s in summary["per_metric"].items()))
    for w in result.warnings:
        lines.append(f"warning: {w}")
    return "\n".join(lines)


def report_folder(folder) -> Path:
    """``folder`` as a Path, checked before anything is written: not an existing file, and its
    parent exists (:class:`KerasSRError` otherwise)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise KerasSRError(f"report path exists and is not a folder: {folder}")
    if not folder.parent.is_dir():
        raise KerasSRError(f"report folder's parent does not exist: {folder.parent}")
    return folder


def write_report(result, folder, top: int = 4) -> dict:
    """Write ``per_image.csv``, ``summary.json``, ``summary.txt``, ``best_worst.png`` and
    ``gains_hist.png`` into ``folder``; return {name: path}."""
    folder = report_folder(folder)
    folder.mkdir(exist_ok=True)
    paths = {}
    rows = result.rows
    csv_path = folder / "per_image.csv"
    tmp = csv_path.with_name(".per_image.csv.part")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        writer.writeheader()
        writer.writerows(rows)
    replace_atomically(tmp, csv_path)
    paths["csv"] = csv_path
    summary = {k: v for k, v in result.to_dict().items() if k != "rows"}
    atomic_write_text(folder / "summary.json", json.dumps(summary, indent=2) + "\n")
    atomic_write_text(folder / "summary.txt", format_table(result) + "\n")
    paths["json"] = folder / "summary.json"
    paths["txt"] = folder / "summary.txt"
    if rows and "delta_psnr" in rows[0]:
        paths["hist"] = _histogram(result, folder / "gains_hist.png")
        if result.outputs:
            paths["best_worst"] = _best_worst(result, folder / "best_worst.png", top)
    return paths


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    tmp = path.with_name(f".{path.name}.part.png")
    fig.savefig(tmp, dpi=100)
    _plt().close(fig)
    replace_atomically(tmp, path)
    return path


def _histogram(result, path: Path) -> Path:
    plt = _plt()
    shown = [m for m in result.metrics if m != "mse"]
    fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 3.2), squeeze=False)
    for ax, m in zip(axes[0], shown):
        gains = [r[f"delta_{m}"] for r in result.rows]
        ax.hist(gains, bins=min(30, max(5, len(gains))), color="tab:blue", alpha=0.8)
        ax.axvline(0, color="k", lw=1)
        ax.set_title(f"gain in {_UNIT[m]} (model - bicubic)")
        ax.set_xlabel(_UNIT[m] + (" (lower is better)" if m in ("lpips", "niqe", "bias") else ""))
        ax.set_ylabel("images")
    fig.suptitle(f"{Path(str(result.model)).name} x{result.scale}: per-image gains")
    fig.tight_layout()
    return _save(fig, path)


def _best_worst(result, path: Path, top: int) -> Path:
    plt = _plt()
    key = "delta_ssim" if "delta_ssim" in result.rows[0] else "delta_psnr"
    ranked = sorted(result.rows, key=lambda r: r[key], reverse=True)
    n = min(top, len(ranked))
    worst = [r for r in ranked[::-1][:n] if r not in ranked[:n]]
    picks = [("best", r) for r in ranked[:n]] + [("worst", r) for r in worst]
    fig, axes = plt.subplots(len(picks), 3, figsize=(7.5, 2.6 * len(picks)), squeeze=False)
    for (kind, r), row_axes in zip(picks, axes):
        from keras_sr.evaluation.evaluate import best_window

        o = result.outputs[r["name"]]
        win = best_window(o["hr"], o["bicubic"], o["model"])
        titles = ["HR", f"bicubic {r['bicubic_psnr']:.2f} dB", f"model {r['model_psnr']:.2f} dB"]
        for ax, img, title in zip(row_axes, (o["hr"][win], o["bicubic"][win], o["model"][win]), titles):
            ax.imshow(img, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            ax.set_title(title, fontsize=8)
            ax.axis("off")
        metric = key.split("_")[1].upper()
        row_axes[0].set_ylabel(kind)
        row_axes[0].set_title(f"{kind}: {r['name']} ({metric} {r[key]:+.4f})", fontsize=8)
    fig.suptitle(f"best and worst images by {key.replace('delta_', '').upper()} gain (Y crops)")
    fig.tight_layout()
    return _save(fig, path)


def over_draws(results) -> dict:
    """Mean and sample standard deviation, over independent degradation draws, of each
    draw's set mean (``results``: one evaluation per seed of a stochastic degradation, same
    images and model). The spread is how much a single-draw number (one seed) can move."""
    if not results:
        raise KerasSRError("no draws to summarize")
    means = [r.means() for r in results]
    keys = [k for k in means[0] if not k.endswith("_mse")]
    seeds = [r.degradation.get("seed") for r in results]
    out = {"draws": len(results), "seeds": seeds, "images": len(results[0].rows),
           "mean": {k: float(np.mean([m[k] for m in means])) for k in keys},
           "sd": {k: float(np.std([m[k] for m in means], ddof=1)) if len(means) > 1 else 0.0 for k in keys},
           "per_draw": [{"seed": s, **{k: m[k] for k in keys}} for s, m in zip(seeds, means)]}
    return out


def format_draws(results, agg: dict) -> str:
    """One line per draw (the set means of bicubic, model and the gain), then mean +- sd."""
    r0 = results[0]
    shown = [m for m in r0.metrics if m != "mse"] or ["psnr"]
    cols = [c for c in (f"{k}_{m}" for m in shown for k in ("bicubic", "model", "delta")) if c in agg["mean"]]
    head = {c: f"{c.split('_')[0].replace('delta', 'gain')} {_UNIT[c.split('_')[1]]}" for c in cols}
    cw = max(12, *(len(h) for h in head.values()))

    def fmt(c, v, sign=True):
        f = _FMT[c.split("_")[1]]
        return (("+" if sign and c.startswith("delta") and v >= 0 else "") + f.format(v))

    seeds = agg["seeds"]
    lines = [f"{r0.model}  x{r0.scale}  protocol={r0.protocol.split('-seed')[0]}  {agg['draws']} "
             f"degradation draws (seeds {seeds[0]}-{seeds[-1]}) of {agg['images']} images"
             + ("" if r0.comparable else "  [NOT COMPARABLE: see warnings]"),
             f"{'draw':<10}  " + "  ".join(f"{head[c]:>{cw}}" for c in cols)]
    for d in agg["per_draw"]:
        lines.append(f"{'seed ' + str(d['seed']):<10}  " + "  ".join(f"{fmt(c, d[c]):>{cw}}" for c in cols))
    lines.append(f"{'mean':<10}  " + "  ".join(f"{fmt(c, agg['mean'][c]):>{cw}}" for c in cols))
    lines.append(f"{'sd':<10}  " + "  ".join(f"{fmt(c, agg['sd'][c], sign=False):>{cw}}" for c in cols))
    for w in r0.warnings:
        lines.append(f"warning: {w}")
    return "\n".join(lines)


def compare(result_a, result_b, tol=None) -> dict:
    """Image-by-image comparison of two evaluations on the same images.

    Per metric: wins/ties/losses of A vs B (tie: |difference| below ``tol``: 0.01 dB PSNR,
    1e-4 SSIM, 1e-3 LPIPS, 0.01 MSE, 0.01 NIQE, 0.01 levels colour bias) and the mean
    difference A - B.
    """
    tol = tol or {"psnr": 0.01, "ssim": 1e-4, "lpips": 1e-3, "mse": 0.01, "niqe": 0.01, "bias": 0.01}
    from keras_sr.evaluation.evaluate import HIGHER_IS_BETTER

    names_a = [r["name"] for r in result_a.rows]
    if names_a != [r["name"] for r in result_b.rows]:
        raise KerasSRError("the two evaluations are not on the same images")
    out = {"a": result_a.model, "b": result_b.model, "images": len(names_a), "per_metric": {}, "rows": []}
    for m in result_a.metrics:
        diff = np.array([ra[f"model_{m}"] - rb[f"model_{m}"] for ra, rb in zip(result_a.rows, result_b.rows)])
        sign = 1 if HIGHER_IS_BETTER[m] else -1
        out["per_metric"][m] = {"a_wins": int((sign * diff > tol[m]).sum()),
                                "ties": int((np.abs(diff) <= tol[m]).sum()),
                                "b_wins": int((sign * diff < -tol[m]).sum()),
                                "mean_a_minus_b": float(diff.mean())}
    for ra, rb in zip(result_a.rows, result_b.rows):
        row = {"name": ra["name"]}
        for m in result_a.metrics:
            row[f"a_{m}"], row[f"b_{m}"] = ra[f"model_{m}"], rb[f"model_{m}"]
            row[f"diff_{m}"] = ra[f"model_{m}"] - rb[f"model_{m}"]
        out["rows"].append(row)
    return out


def format_compare(cmp: dict) -> str:
    ms = list(cmp["per_metric"])
    width = max([len("image")] + [len(r["name"]) for r in cmp["rows"]])
    lines = [f"A = {cmp['a']}", f"B = {cmp['b']}",
             f"{'image':<{width}}  " + "  ".join(f"{'A ' + _UNIT[m]:>12}  {'B ' + _UNIT[m]:>12}  {'A-B':>9}" for m in ms)]
    for r in cmp["rows"]:
        lines.append(f"{r['name']:<{width}}  " + "  ".join(
            f"{_FMT[m].format(r['a_' + m]):>12}  {_FMT[m].format(r['b_' + m]):>12}  {r['diff_' + m]:>+9.4f}" for m in ms))
    lines.append("")
    for m, s in cmp["per_metric"].items():
        lines.append(f"{_UNIT[m]:>8}: A wins {s['a_wins']}, ties {s['ties']}, B wins {s['b_wins']}; "
                     f"mean A-B {s['mean_a_minus_b']:+.4f}")
    return "\n".join(lines)


def compare_figure(result_a, result_b, cmp: dict, path, top: int = 4) -> Path:
    """Crops (HR | A | B) of the images where the two models' PSNR differ most."""
    plt = _plt()
    rows = sorted(cmp["rows"], key=lambda r: abs(r["diff_psnr"]), reverse=True)[:top]
    fig, axes = plt.subplots(len(rows), 3, figsize=(7.5, 2.6 * len(rows)), squeeze=False)
    from keras_sr.evaluation.evaluate import best_window

    for r, row_axes in zip(rows, axes):
        oa, ob = result_a.outputs[r["name"]], result_b.outputs[r["name"]]
        better, worse = (oa["model"], ob["model"]) if r["diff_psnr"] >= 0 else (ob["model"], oa["model"])
        win = best_window(oa["hr"], worse, better)
        for ax, img, title in zip(row_axes, (oa["hr"][win], oa["model"][win], ob["model"][win]),
                                  ("HR", f"A {r['a_psnr']:.2f} dB", f"B {r['b_psnr']:.2f} dB")):
            ax.imshow(img, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            ax.set_title(f"{r['name']}: {title}" if title == "HR" else title, fontsize=8)
            ax.axis("off")
    fig.suptitle("images where A and B differ most (PSNR), Y crops")
    fig.tight_layout()
    return _save(fig, Path(path))
