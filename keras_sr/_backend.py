"""Lazy, quiet TensorFlow import.

TensorFlow costs seconds to import, so nothing at package import time touches
it; modules call :func:`tf` when they need it. TensorFlow 2.21 writes oneDNN and
CPU-feature notices to file descriptor 2 *before* its logging is configured, so
``TF_CPP_MIN_LOG_LEVEL`` cannot hide them: we capture fd 2 during the import and
re-emit every line that is not one of those known notices. oneDNN itself stays on.
"""

from __future__ import annotations

import os
import sys
import tempfile

_NOTICES = (
    "oneDNN custom operations are on",
    "All log messages before absl::InitializeLog()",
    "cpu_feature_guard.cc",
    "To enable the following instructions",
    "rebuild TensorFlow with the appropriate compiler flags",
    "Unable to register cu",  # cuDNN/cuFFT/cuBLAS factory notices on GPU builds
    "computation placer already registered",
    "could not find cuda drivers",
    "TF-TRT Warning",
)

_tf = None


def _is_notice(line: str) -> bool:
    return any(n in line for n in _NOTICES)


def tf():
    """Return the ``tensorflow`` module, importing it once with its notices filtered."""
    global _tf
    if _tf is not None:
        return _tf
    if "tensorflow" in sys.modules:
        _tf = sys.modules["tensorflow"]
        return _tf
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (e.g. some notebooks)
        saved = None
    if saved is None:
        _tf = _import_tf()
        return _tf
    with tempfile.TemporaryFile(mode="w+b") as cap:
        os.dup2(cap.fileno(), 2)
        try:
            _tf = _import_tf()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            cap.seek(0)
            text = cap.read().decode("utf-8", "replace")
            kept = [ln for ln in text.splitlines() if ln.strip() and not _is_notice(ln)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
    return _tf


def _import_tf():
    try:
        import tensorflow as tf_module
    except ImportError as exc:  # pragma: no cover - depends on the install
        from keras_sr.errors import KerasSRError

        raise KerasSRError(
            "TensorFlow is not installed: pip install 'keras-sr[cpu]' (or 'keras-sr[gpu]' "
            f"on a CUDA machine) ({exc})"
        ) from exc
    tf_module.get_logger().setLevel("ERROR")
    return tf_module


def keras():
    """Return ``keras`` after TensorFlow has been imported quietly."""
    tf()
    import keras as keras_module

    return keras_module
