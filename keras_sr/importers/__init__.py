"""Import community SR weights (PyTorch ``.pth``/``.pt``, ``.safetensors``; ncnn ``.param`` in
:mod:`keras_sr.importers.ncnn`) into the registry's Keras builders, safely.

``import_weights("RealESRGAN_x4plus.pth")`` returns a plain functional ``keras.Model`` like
the zoo's RGB models: RGB ``[N, H, W, 3]`` in [0, 1] -> ``[N, sH, sW, 3]``, the network's raw
(unclipped) output, with ``model.sr_info`` (:class:`~keras_sr.models.info.ModelInfo`: colour space
``rgb``, input mode ``lr``, degradation ``unknown`` unless given, and a record of the source file's
name and sha256, the layout and the inferred hyperparameters). The x2/x1 RRDBNets fold their input
by 2/4 (pixel-unshuffle): ``size_multiple`` tells the inference code to pad (reflect) to a multiple.

Nothing in the file is executed: ``.pth`` files go through the restricted unpickler of
:mod:`keras_sr.importers.torch_pickle`, ``.safetensors`` files through ``safetensors.numpy``.
"""

from __future__ import annotations

import json
from pathlib import Path

from keras_sr.errors import KerasSRError, ModelLoadError, UsageError

TORCH_SUFFIXES = (".pth", ".pt")
WEIGHT_SUFFIXES = TORCH_SUFFIXES + (".safetensors",)
NESTED = ("params_ema", "params")  # BasicSR checkpoints: EMA weights preferred


def read_state_dict(path) -> tuple[dict, str]:
    """``(flat state dict of NumPy arrays, where it was nested: "params_ema", "params" or "")``."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"no such weight file: {path}")
    if path.stat().st_size == 0:
        raise ModelLoadError(f"empty weight file (0 bytes): {path}")
    suffix = path.suffix.lower()
    if suffix in TORCH_SUFFIXES:
        from keras_sr.importers.torch_pickle import load_pth

        obj = load_pth(path)
    elif suffix == ".safetensors":
        obj = _load_safetensors(path)
    else:
        raise ModelLoadError(f"unsupported weight file type {suffix!r} (expected .pth, .pt or .safetensors): {path}")
    if not isinstance(obj, dict):
        raise ModelLoadError(f"{path.name}: holds a {type(obj).__name__}, not a state dict")
    nested = ""
    for key in NESTED:
        if isinstance(obj.get(key), dict):
            obj, nested = obj[key], key
            break
    return dict(obj), nested


def _load_safetensors(path: Path) -> dict:
    try:
        from safetensors.numpy import load_file
    except ImportError:
        raise ModelLoadError("reading .safetensors needs the 'safetensors' package "
                             "(pip install safetensors, or keras-sr[import])") from None
    try:
        sd = load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - the package raises its own error types
        raise ModelLoadError(f"{path.name}: not a readable safetensors file "
                             f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    import numpy as np

    return {k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in sd.items()}


def sha256(path) -> str:
    from keras_sr.data.io import sha256_file

    return sha256_file(path)


def _convert_one(path, arch: str, scale: int | None, model=None):
    """(layout, hyper, model, keras weights, source record) of one checkpoint."""
    from keras_sr.importers.convert import to_keras
    from keras_sr.importers.layouts import detect, infer

    path = Path(path)
    sd, nested = read_state_dict(path)
    layout = detect(sd, path.name, arch)
    hyper = infer(layout, sd, path.name)
    if scale is not None and scale != hyper["scale"]:
        raise ModelLoadError(f"{path.name} is a x{hyper['scale']} {layout.architecture} (inferred from its "
                             f"shapes), not x{scale}")
    model, weights = to_keras(sd, layout, hyper, path.name, model=model)
    source = {"file": path.name, "sha256": sha256(path), "layout": layout.name, "nested": nested or None}
    return layout, hyper, model, weights, source


def _info(layout, hyper, sources: list, degradation: str | None, blend=None, params: int = 0):
    from keras_sr.models.info import ModelInfo

    fold = {4: 1, 2: 2, 1: 4}.get(hyper["scale"], 1) if layout.architecture == "rrdbnet" else 1
    record = {"imported_from": sources[0] if len(sources) == 1 else sources,
              "hyperparameters": hyper, "layout": layout.name, "params": params}
    if blend:
        record["blend"] = blend
    return ModelInfo(architecture=layout.architecture, scale=hyper["scale"], degradation=degradation or "unknown",
                     color_space="rgb", input_mode="lr", size_multiple=fold,
                     source=", ".join(s["file"] for s in sources), record=record)


def _check_degradation(degradation):
    if degradation is not None and (not degradation or not all(c.isalnum() or c in "-_.+" for c in degradation)):
        raise UsageError(f"degradation must be a plain name (letters, digits, - _ . +), got {degradation!r}")


def import_weights(path, arch: str = "auto", scale: int | None = None, degradation: str | None = None):
    """A Keras model with the weights of a ``.pth``/``.pt``/``.safetensors`` checkpoint
    (``arch``: ``auto``, ``rrdbnet`` or ``srvgg``; ``scale``: checked against the inferred one)."""
    from keras_sr.importers.convert import assign

    _check_degradation(degradation)
    layout, hyper, model, weights, source = _convert_one(path, arch, scale)
    assign(model, weights)
    model.sr_info = _info(layout, hyper, [source], degradation, params=int(model.count_params()))
    return model


def parse_blend(items) -> list[tuple[str, float]]:
    """``["a.pth:0.3", "b.pth:0.7"]`` -> ``[("a.pth", 0.3), ("b.pth", 0.7)]``; weights must sum to 1."""
    parts = []
    for item in items:
        path, sep, w = str(item).rpartition(":")
        try:
            if not sep or not path:
                raise ValueError
            parts.append((path, float(w)))
        except ValueError:
            raise UsageError(f"--blend expects PATH:WEIGHT (e.g. a.pth:0.5), got {item!r}") from None
    if len(parts) < 2:
        raise UsageError(f"--blend needs at least two checkpoints, got {len(parts)}")
    total = sum(w for _, w in parts)
    if abs(total - 1.0) > 1e-6:
        raise UsageError(f"--blend weights must sum to 1 (got {total:g}): a blend interpolates checkpoints "
                         "(Real-ESRGAN's -dn uses dn and 1 - dn)")
    return parts


def blend_weights(parts, arch: str = "auto", scale: int | None = None, degradation: str | None = None):
    """Weight interpolation of checkpoints of one architecture and shape set (Real-ESRGAN's DNI):
    ``theta = sum_i w_i * theta_i`` over every weight, ``parts = [(path, w_i), ...]``, the
    ``w_i`` summing to 1 (negative weights extrapolate). Checkpoints may use different key
    layouts of the same network (they are compared after conversion)."""
    from keras_sr.importers.convert import assign, blend

    _check_degradation(degradation)
    converted, model, first = [], None, None
    for path, w in parts:
        layout, hyper, m, weights, source = _convert_one(path, arch, scale, model=None)
        if first is None:
            first, model = (layout, hyper, source), m
        elif layout.architecture != first[0].architecture or hyper != first[1]:
            raise ModelLoadError(f"cannot blend {first[2]['file']} ({_desc(first[0], first[1])}) with "
                                 f"{source['file']} ({_desc(layout, hyper)}): architectures or shapes differ")
        converted.append((weights, w, source))
    assign(model, blend([(wts, w) for wts, w, _ in converted]))
    sources = [dict(s, weight=w) for _, w, s in converted]
    model.sr_info = _info(first[0], first[1], sources, degradation,
                          blend=[{"file": s["file"], "weight": w} for _, w, s in converted],
                          params=int(model.count_params()))
    return model


def _desc(layout, hyper) -> str:
    return f"{layout.architecture} " + ", ".join(f"{k} {v}" for k, v in hyper.items())


def load_any(path, degradation: str | None = None):
    """A ``.pth``/``.pt``/``.safetensors`` checkpoint or an ncnn ``.param`` file as a Keras model."""
    path = Path(path)
    if path.suffix.lower() == ".param":
        model = load_ncnn_model(path)
        if degradation:
            _check_degradation(degradation)
            model.sr_info.degradation = degradation
        return model
    return import_weights(path, degradation=degradation)


def load_ncnn_model(path):
    """ncnn ``.param`` (+ ``.bin``) -> Keras model, through :mod:`keras_sr.importers.ncnn`."""
    try:
        from keras_sr.importers.ncnn import load_ncnn
    except ModuleNotFoundError as exc:
        if exc.name == "keras_sr.importers.ncnn":
            raise ModelLoadError("ncnn import is not available in this build (keras_sr.importers.ncnn "
                                 "is missing)") from None
        raise
    return load_ncnn(str(path))


def save_imported(model, out, overwrite: bool = False, command: str | None = None) -> dict:
    """Write ``model`` (with its ``sr_info``) to ``out`` (``.keras``) and a card ``<out stem>.json``
    beside it, like the zoo's cards (a folder of them works as ``$KERAS_SR_ZOO_DIR``). Both files
    appear together or not at all; existing ones are kept unless ``overwrite``."""
    from keras_sr import __version__
    from keras_sr.data.io import replace_atomically
    from keras_sr.models.info import save_with_info

    out = Path(out)
    if out.suffix.lower() != ".keras":
        raise UsageError(f"output must be a .keras file, got {out.name}")
    card_path = out.with_suffix(".json")
    if not out.resolve().parent.is_dir():
        raise KerasSRError(f"output folder does not exist: {out.parent}")
    if not overwrite and (out.exists() or card_path.exists()):
        raise KerasSRError(f"{out if out.exists() else card_path} exists (use --overwrite)")
    info = model.sr_info
    tmp = out.with_name(f".{out.stem}.import-tmp.keras")
    tmp_card = out.with_name(f".{out.stem}.import-tmp.json")
    try:
        save_with_info(model, tmp, info)
        record = info.record or {}
        card = {
            "name": out.stem, "file": out.name, "sha256": sha256(tmp), "bytes": tmp.stat().st_size,
            "architecture": info.architecture, "params": int(model.count_params()), "scale": info.scale,
            "degradation": info.degradation, "color_space": info.color_space,
            "value_range": list(info.value_range), "input_mode": info.input_mode,
            "size_multiple": info.size_multiple,
            "source": record.get("imported_from"), "layout": record.get("layout"),
            "hyperparameters": record.get("hyperparameters"), "blend": record.get("blend"),
            "imported_with": {"keras_sr": __version__, "command": command},
            "measured": {},
        }
        tmp_card.write_text(json.dumps(card, indent=2, default=str) + "\n")
        replace_atomically(tmp, out)
        replace_atomically(tmp_card, card_path)
    finally:
        for p in (tmp, tmp_card):
            if p.exists():
                p.unlink()
    return card


__all__ = ["blend_weights", "import_weights", "load_any", "parse_blend", "read_state_dict", "save_imported"]
