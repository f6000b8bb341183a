"""Benchmark sets by name (``Set5``, ``Set14``, ``BSD100``, ``Urban100``, ...) from a data root.

Nothing is downloaded: the root is ``--data-root`` or ``$KERAS_SR_DATA``, a folder holding
one sub-folder of HR images per set. A path to a folder works too.
"""

from __future__ import annotations

import os
from pathlib import Path

from keras_sr.errors import KerasSRError, UsageError

KNOWN_BENCHMARKS = ("Set5", "Set14", "BSD100", "B100", "Urban100", "Manga109", "DIV2K")

# Sets of real low-quality images without ground truth, by folder name (case-insensitive): their
# images are the LR inputs and are scored with no-reference NIQE only
# (:mod:`keras_sr.evaluation.no_reference`). Any other folder: ``keras-sr evaluate --no-reference``.
NO_REFERENCE_SETS = {
    "realsrset": "RealSRSet (BSRGAN): 20 real low-quality photos, comics and screenshots, no HR",
}


def is_no_reference(folder) -> bool:
    """Whether ``folder`` is a known set without ground truth (by its name)."""
    return Path(folder).name.lower() in NO_REFERENCE_SETS


def resolve_dataset(name_or_path, data_root=None) -> Path:
    """A folder for a set name or path; errors list what the data root holds."""
    p = Path(name_or_path)
    if p.is_dir():
        return p
    if p.exists():
        raise UsageError(f"dataset must be a folder or a set name, got a file: {p}")
    if os.sep in str(name_or_path) or str(name_or_path).startswith("."):
        raise KerasSRError(f"no such dataset folder: {p}")
    root = data_root or os.environ.get("KERAS_SR_DATA")
    if not root:
        raise UsageError(f"dataset {name_or_path!r} is not a folder; give --data-root (or set "
                         "KERAS_SR_DATA) to the folder that holds the benchmark sets")
    root = Path(root)
    if not root.is_dir():
        raise KerasSRError(f"data root is not a folder: {root}")
    found = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    for d in found:
        if d.lower() == str(name_or_path).lower():
            return root / d
    raise KerasSRError(f"dataset {name_or_path!r} not found in {root}; found: "
                       f"{', '.join(found) or 'no sets'}")
