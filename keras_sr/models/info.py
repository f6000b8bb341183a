"""What a model needs to be used correctly: its :class:`ModelInfo`.

Stored inside every ``.keras`` file keras_sr writes (an extra ``keras_sr.json`` entry in
the archive, which Keras ignores) and beside it in run folders, so a model file carries
its scale, degradation, colour space and value range wherever it is copied.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from keras_sr.data.io import replace_atomically

INFO_ENTRY = "keras_sr.json"


@dataclass
class ModelInfo:
    """Conventions of a model.

    ``input_mode``: ``"pre-upsampled"`` (SRCNN: input already upscaled to the target size
    with the degradation's interpolation) or ``"lr"`` (the model upscales by ``scale``).
    ``color_space``: ``"y-bt601"``, ``"y-opencv"`` or ``"rgb"`` (see ``keras_sr.data.color``).
    ``value_range``: of inputs and outputs. ``pad_mode``: how the inference code extends the
    image border for 'valid' models (NumPy ``np.pad`` mode). ``size_multiple``: input height and
    width must be multiples of it (an imported x2/x1 RRDBNet folds its input by 2/4); the
    inference code pads the bottom/right border (reflect) up to a multiple and crops the output.
    ``record``: training record (config, versions, data hashes, metrics) when known.
    """

    architecture: str
    scale: int
    degradation: str = "bicubic"
    color_space: str = "y-bt601"
    input_mode: str = "pre-upsampled"
    value_range: tuple = (0.0, 1.0)
    pad_mode: str = "symmetric"
    size_multiple: int = 1
    source: str = ""
    record: dict = field(default_factory=dict)

    @property
    def channels(self) -> int:
        return 3 if self.color_space == "rgb" else 1

    def to_dict(self) -> dict:
        d = asdict(self)
        d["value_range"] = list(self.value_range)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelInfo":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        if "value_range" in known:
            known["value_range"] = tuple(known["value_range"])
        return cls(**known)


def save_with_info(model, path, info: ModelInfo) -> Path:
    """``model.save(path)`` (a ``.keras`` file) with ``info`` embedded in the archive."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    with zipfile.ZipFile(tmp, "a") as z:
        z.writestr(INFO_ENTRY, json.dumps(info.to_dict(), indent=2, default=str),
                   compress_type=zipfile.ZIP_DEFLATED)  # the record: ~50 KB of JSON stored, ~12 KB deflated
    replace_atomically(tmp, path)
    return path


def read_info(path) -> ModelInfo | None:
    """The :class:`ModelInfo` embedded in a ``.keras`` file, or ``None``."""
    try:
        with zipfile.ZipFile(path) as z:
            if INFO_ENTRY not in z.namelist():
                return None
            return ModelInfo.from_dict(json.loads(z.read(INFO_ENTRY)))
    except zipfile.BadZipFile:
        return None
