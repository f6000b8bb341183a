"""LiteRT runner for exported ``.tflite`` files, with the Keras path's ``upscale`` contract.

``keras_sr.lite.Upscaler("export/model_fp32.tflite")(image)`` takes the same images as
:class:`keras_sr.inference.Upscaler` (uint8/uint16/float, gray/RGB/RGBA, any size) and shares
its pre-/post-processing code (it subclasses the same staged class); only the model call
runs in LiteRT (``ai_edge_litert``), resized to each input. The conventions come from the
``metadata.json`` that ``keras-sr export`` writes beside the file. End-to-end ``photo_*``
files take uint8 RGB directly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from keras_sr.errors import KerasSRError
from keras_sr.inference import StagedUpscaler
from keras_sr.models.info import ModelInfo


def read_metadata(path) -> tuple[dict, dict]:
    """(metadata.json, this file's entry) for an exported ``.tflite`` file."""
    path = Path(path)
    meta_path = path.with_name("metadata.json")
    if not meta_path.exists():
        raise KerasSRError(f"no metadata.json beside {path} (export it with keras-sr export)")
    meta = json.loads(meta_path.read_text())
    entry = meta.get("files", {}).get(path.name)
    if entry is None:
        raise KerasSRError(f"{path.name} is not listed in {meta_path}")
    return meta, entry


class Upscaler(StagedUpscaler):
    """Upscale images with an exported TFLite model (``threads``: LiteRT CPU threads, default:
    the cores this process may use, as TensorFlow)."""

    def __init__(self, path, threads: int | None = None, factor: int | None = None):
        from keras_sr.export import interpreter

        path = Path(path)
        if not path.exists():
            raise KerasSRError(f"no such file: {path}")
        with open(path, "rb") as f:
            head = f.read(8)
        if len(head) < 8 or head[4:8] != b"TFL3":
            raise KerasSRError(f"not a TFLite file: {path}")
        meta, entry = read_metadata(path)
        self.path = path
        self.kind = "photo" if entry["signature"].startswith("photo") else "raw"
        self.fixed = entry["signature"].endswith("fixed")
        self.info = ModelInfo.from_dict(meta["model_info"])
        self.info.scale = meta["scale"]
        self.channels = 3 if self.info.color_space == "rgb" else 1
        self.border = int(meta.get("border", 0))
        self._it = interpreter(path=path, threads=threads)
        self._setup(factor)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        from keras_sr.export import run_tflite

        return run_tflite(self._it, batch)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        if self.kind == "raw":
            return super().__call__(image)
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise KerasSRError(f"{self.path.name} is an end-to-end photo model: it takes uint8 RGB "
                               f"[H, W, 3], got {image.dtype} {image.shape} (use the model_* file)")
        return self._run(image[None])[0]
