"""Callbacks keras_sr adds to ``fit``: a training-curve PNG (from the CSV log)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from keras_sr._backend import keras


def read_log(path) -> list[dict]:
    """Rows of a Keras ``CSVLogger`` file as dicts of floats (missing file: [])."""
    path = Path(path)
    if not path.exists():
        return []
    with open(path, newline="") as f:
        rows = []
        for row in csv.DictReader(f):
            try:
                rows.append({k: float(v) for k, v in row.items() if v not in ("", None)})
            except ValueError:
                continue
        return rows


def plot_curves(log_path, png_path, title: str = "") -> Path | None:
    """Plot loss and PSNR (train and validation) per epoch from a CSV log into ``png_path``."""
    rows = read_log(log_path)
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key, ylabel in ((axes[0], "loss", "loss (MSE)"), (axes[1], "psnr", "PSNR (dB)")):
        for prefix, style in (("", "-o"), ("val_", "-s")):
            k = prefix + key
            if all(k in r for r in rows):
                ax.plot(epochs, [r[k] for r in rows], style, ms=3, label=k)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    if "loss" in rows[0] and all(r.get("loss", 0) > 0 for r in rows):
        axes[0].set_yscale("log")
    fig.suptitle(title)
    fig.tight_layout()
    png_path = Path(png_path)
    tmp = png_path.with_name(f".{png_path.name}.part.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, png_path)
    return png_path


def curve_plot_callback(log_path, png_path, title: str = ""):
    """A callback that redraws the curve PNG after every epoch (place it after CSVLogger)."""

    class CurvePlot(keras().callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            plot_curves(log_path, png_path, title)

    return CurvePlot()
