"""Upscale image files: inputs are checked and outputs planned before any model work.

Outputs are written atomically (temporary file + rename) with the input's ICC profile and
EXIF; nothing is overwritten unless ``overwrite``. Writing into a folder skips outputs that
already exist, so a killed batch resumes where it stopped (its half-written temporary
file is removed). An unreadable input (or a failed
write, e.g. a full disk) is reported and skipped; the others continue.
"""

from __future__ import annotations

import glob
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from keras_sr.data.io import list_images
from keras_sr.errors import KerasSRError


@dataclass
class BatchSummary:
    written: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # outputs that already existed
    failed: list = field(default_factory=list)  # (input, message)
    seconds: float = 0.0
    denoise: list = field(default_factory=list)  # --denoise auto: (input, Severity) per image
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        d = {"written": [str(p) for p in self.written], "skipped": [str(p) for p in self.skipped],
             "failed": [{"input": str(i), "error": m} for i, m in self.failed],
             "seconds": round(self.seconds, 2)}
        if self.denoise:
            d["denoise"] = [{"input": str(i), **sev.to_dict()} for i, sev in self.denoise]
        if self.notes:
            d["notes"] = list(self.notes)
        return d


def plan_outputs(inputs, output, overwrite: bool = False):
    """((input, output) pairs to run, outputs skipped, output is a folder); raise before any
    work when something is wrong."""
    inputs = [Path(p) for p in inputs]
    for p in inputs:
        if not p.exists():
            raise KerasSRError(f"no such file or folder: {p}")
    files = list_images(inputs)
    if not files:
        raise KerasSRError(f"no image files in {', '.join(map(str, inputs))}")
    output = Path(output)
    to_folder = len(inputs) > 1 or inputs[0].is_dir() or output.is_dir()
    if to_folder:
        if output.exists() and not output.is_dir():
            raise KerasSRError(f"several inputs need an output folder, but {output} is a file")
        if not output.exists() and not output.parent.is_dir():
            raise KerasSRError(f"output folder's parent does not exist: {output.parent}")
        pairs = [(f, output / f.name) for f in files]
        names = [t.name for _, t in pairs]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise KerasSRError(f"several inputs would write the same output name: {sorted(dup)[0]}")
    else:
        pairs = [(files[0], output)]
    folder = output if to_folder else (output.parent if str(output.parent) else Path("."))
    if folder.exists() and not os.access(folder, os.W_OK):
        raise KerasSRError(f"output folder is not writable: {folder}")
    if not to_folder and not folder.is_dir():
        raise KerasSRError(f"output folder does not exist: {folder}")
    for src, target in pairs:
        if target.exists() and src.resolve() == target.resolve():
            raise KerasSRError(f"input and output are the same file: {src}")
    skipped = []
    if not overwrite:
        existing = [t for _, t in pairs if t.exists()]
        if existing and not to_folder:
            raise KerasSRError(f"output exists (use --overwrite to replace it): {existing[0]}")
        skipped = existing
        pairs = [(s, t) for s, t in pairs if not t.exists()]
    return pairs, skipped, to_folder


def upscale_files(inputs, output, model, factor=None, overwrite: bool = False, progress=None,
                  tile: int | None = None, max_memory_mb: float = 256.0, quality: int = 95,
                  max_pixels: int | None = None, tile_batch: int = 1, denoise=None) -> BatchSummary:
    """Upscale files to ``output`` (a file, or a folder for several inputs).

    ``denoise="auto"``: each image gets ``model`` blended with its weak-denoise sibling at the
    strength :func:`keras_sr.inference.strength.estimate` picks from that image (its JPEG
    tables and pixels), recorded in ``summary.denoise``; a model without a sibling runs as
    it is (``summary.notes`` says so). A number or None: ``model`` runs as given (blend it
    beforehand with :func:`keras_sr.models.denoise.with_denoise`).
    """
    from keras_sr.data.photo import open_photo, save_photo
    from keras_sr.inference import Upscaler
    from keras_sr.inference import strength

    t0 = time.time()
    pairs, skipped, to_folder = plan_outputs(inputs, output, overwrite)
    summary = BatchSummary(skipped=skipped)
    if not pairs:
        return summary

    def make(m):
        return Upscaler(m, factor, tile=tile, max_memory_mb=max_memory_mb, tile_batch=tile_batch)

    auto = None
    if denoise == "auto":
        from keras_sr.models.loading import load_model

        model = load_model(model)  # once: the sibling lookup and the Upscaler share it
        auto = strength.AutoDenoise.for_model(model)
        if auto is None:
            summary.notes.append("--denoise auto ignored: the model has no weak-denoise sibling")
    upscaler = auto.get(1.0, make) if auto else make(model)  # factor/model errors before any image
    if to_folder:
        Path(output).mkdir(exist_ok=True)
    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=len(pairs), desc="upscale", unit="img", file=sys.stderr)

        def tiles(i, n):
            bar.set_postfix_str(f"tile {i}/{n}")
    for src, target in pairs:
        for stale in target.parent.glob(f".{glob.escape(target.name)}.*.part"):  # left by a killed run
            stale.unlink(missing_ok=True)
        try:
            photo = open_photo(src, max_pixels=max_pixels)
            run = upscaler
            if auto:
                severity = strength.estimate(photo.pixels, src, step=auto.step)
                run = auto.get(severity.strength, make)
                summary.denoise.append((src, severity))
            if bar:
                run.progress = tiles
            result = run(photo.pixels)
            summary.written.append(save_photo(target, photo, result, overwrite=overwrite, quality=quality))
        except KerasSRError as exc:
            summary.failed.append((src, str(exc)))
        if bar:
            bar.update(1)
    if bar:
        bar.close()
    summary.seconds = time.time() - t0
    return summary
