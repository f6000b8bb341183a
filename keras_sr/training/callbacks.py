"""Callbacks keras_sr adds to ``fit``: a training-curve PNG (from the CSV log) and the wall time
of each epoch (``epoch_s`` in the log: training steps and validation)."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from keras_sr._backend import keras
from keras_sr.data.io import replace_atomically


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
    keys = [k for k in rows[0] if k != "epoch" and all(k in r for r in rows)]
    groups = ((axes[0], [k for k in keys if k.endswith("loss")], "loss"),
              (axes[1], [k for k in keys if k.endswith("psnr")], "PSNR (dB)"))
    for ax, names, ylabel in groups:
        for k in names:
            ax.plot(epochs, [r[k] for r in rows], "-s" if k.startswith("val_") else "-o", ms=3, label=k)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if names:
            ax.legend()
    losses = groups[0][1]
    if losses and all(r[k] > 0 for r in rows for k in losses):
        axes[0].set_yscale("log")
    fig.suptitle(title)
    fig.tight_layout()
    png_path = Path(png_path)
    tmp = png_path.with_name(f".{png_path.name}.part.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    replace_atomically(tmp, png_path)
    return png_path


def curve_plot_callback(log_path, png_path, title: str = "", every_s: float = 30.0):
    """A callback that redraws the curve PNG after an epoch when ``every_s`` seconds have passed
    since the last drawing (place it after CSVLogger; draw the final one after ``fit``). Drawing
    costs ~0.2 s: after every epoch of a few steps it was a third of the trainer's time."""

    class CurvePlot(keras().callbacks.Callback):
        last = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            if time.perf_counter() - self.last >= every_s:
                plot_curves(log_path, png_path, title)
                self.last = time.perf_counter()

    return CurvePlot()


def epoch_timer():
    """A callback that puts each epoch's wall time into its logs as ``epoch_s`` (seconds): from
    the epoch's start to this callback's ``on_epoch_end``, so list it just before ``CSVLogger``.
    It counts the steps, validation and the callbacks before it (backup, checkpoint), not the
    ones after it (log, curves: cheap, the curves drawn at most every 30 s)."""

    class EpochTime(keras().callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                logs["epoch_s"] = time.perf_counter() - self.t0

    return EpochTime()


def throttled_backup(backup_dir, every_s: float = 30.0):
    """Keras ``BackupAndRestore`` that saves at the end of an epoch only when ``every_s`` seconds
    have passed since its last save (and after the first epoch): saving weights and optimizer
    costs ~0.1 s, a large share of an epoch of a few steps. After a kill the run resumes from the
    last saved epoch; :func:`trim_log` drops the log rows of the epochs after it, which run again."""

    class ThrottledBackup(keras().callbacks.BackupAndRestore):
        last = None

        def on_epoch_end(self, epoch, logs=None):
            self._current_epoch = epoch + 1
            self._last_batch_seen = 0
            now = time.perf_counter()
            if self.last is None or now - self.last >= every_s:
                self._save_model()
                self.last = now

    return ThrottledBackup(str(backup_dir), delete_checkpoint=True)


def backup_epoch(backup_dir) -> int | None:
    """The number of epochs a ``BackupAndRestore`` folder holds (None: no metadata)."""
    import json

    path = Path(backup_dir) / "training_metadata.json"
    try:
        return int(json.loads(path.read_text())["epoch"])
    except (OSError, ValueError, KeyError):
        return None


def trim_log(log_path, epochs: int) -> list[dict]:
    """Keep the first ``epochs`` rows of a CSV log (epochs a resumed run will not repeat); return
    the rows kept."""
    path = Path(log_path)
    if not path.exists():
        return []
    with open(path, newline="") as f:
        lines = f.read().splitlines(keepends=True)
    if len(lines) - 1 > epochs:
        from keras_sr.data.io import atomic_write_text

        atomic_write_text(path, "".join(lines[:epochs + 1]))
    return read_log(path)
