"""Upscale image files: inputs are checked and outputs planned before any model work.

Outputs are written atomically and never replace existing files unless ``overwrite``;
an unreadable input is reported and skipped, the others continue.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from keras_sr.data.io import list_images, read_image, write_image
from keras_sr.errors import ImageReadError, KerasSRError


def plan_outputs(inputs, output, overwrite: bool = False) -> list[tuple[Path, Path]]:
    """(input file, output file) pairs; raise before any work when something is wrong."""
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
        if not output.exists():
            if not output.parent.is_dir():
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
    if not overwrite:
        for _, target in pairs:
            if target.exists():
                raise KerasSRError(f"output exists (use --overwrite to replace it): {target}")
    return pairs


def upscale_files(inputs, output, model, factor=None, overwrite: bool = False, progress=None,
                  tile: int | None = None, max_memory_mb: float = 1024.0):
    """Upscale files to ``output``; return (written paths, [(input, error message)])."""
    from keras_sr.inference import Upscaler

    pairs = plan_outputs(inputs, output, overwrite)
    upscaler = Upscaler(model, factor, tile=tile, max_memory_mb=max_memory_mb)
    if len(pairs) > 1:
        Path(output).mkdir(exist_ok=True)
    ok, failed = [], []
    show = sys.stderr.isatty() if progress is None else progress
    iterator = pairs
    if show and len(pairs) > 1:
        from tqdm import tqdm

        iterator = tqdm(pairs, desc="upscale", unit="img")
    for src, target in iterator:
        try:
            image = read_image(src)
        except ImageReadError as exc:
            failed.append((src, str(exc)))
            continue
        result = upscaler(image)
        ok.append(write_image(target, result, overwrite=overwrite))
    return ok, failed
