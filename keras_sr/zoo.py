"""The shipped model zoo: model cards and checksummed ``.keras`` files.

The files live in the repository's ``saved_models/`` folder, installed as the package
``keras_sr.saved_models`` (so they load from a wheel, not only from the source tree).
``$KERAS_SR_ZOO_DIR`` points elsewhere (tests, private zoos). Every load checks the file's
sha256 against its card: a tampered or truncated file is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keras_sr.errors import ModelLoadError


def zoo_dir() -> Path:
    if os.environ.get("KERAS_SR_ZOO_DIR"):
        return Path(os.environ["KERAS_SR_ZOO_DIR"])
    from importlib import resources

    try:
        return Path(str(resources.files("keras_sr.saved_models")))
    except ModuleNotFoundError:  # pragma: no cover - broken install
        return Path(__file__).resolve().parents[1] / "saved_models"


def cards() -> dict[str, dict]:
    """``{name: card}`` for every shipped model (cards are ``<name>.json`` with a ``file``)."""
    out = {}
    folder = zoo_dir()
    if not folder.is_dir():
        return out
    for p in sorted(folder.glob("*.json")):
        try:
            card = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(card, dict) and card.get("file") and card.get("sha256"):
            out[p.stem] = card
    return out


def zoo_path(name: str) -> Path:
    """The verified path of a shipped model; raises :class:`ModelLoadError` otherwise."""
    from keras_sr.data.io import sha256_file

    known = cards()
    if name not in known:
        raise ModelLoadError(f"unknown model name {name!r}; shipped: {', '.join(known) or 'none yet'} "
                             "(or give a .keras/.h5 file or a run folder)")
    card = known[name]
    path = zoo_dir() / card["file"]
    if not path.exists():
        raise ModelLoadError(f"shipped model file missing: {path}")
    digest = sha256_file(path)
    if digest != card["sha256"]:
        raise ModelLoadError(f"checksum mismatch for {name}: {path} has sha256 {digest[:12]}..., its card "
                             f"says {card['sha256'][:12]}... (file tampered with or truncated)")
    return path


# What `keras-sr upscale photo.jpg` / `keras-sr export` use without --model, per factor: the
# real-world restorer (trained on the realworld degradation: blur, noise, JPEG) where one is
# shipped, else the bicubic-trained benchmark model of that factor (with a note saying so).
PHOTO_MODELS = {2: "restore-x2", 3: "restore-x3", 4: "restore-x4"}  # the `upscale` defaults for photos
BENCHMARK_MODELS = {2: "fsrcnn-x2", 3: "fsrcnn-x3", 4: "fsrcnn-x4"}
DEFAULT_FACTOR = 2


def default_model(factor: int | None = None) -> tuple[str, str | None]:
    """``(name, note)``: the shipped model used when none is named, for ``factor`` (default 2).

    Real photos: the ``realworld``-trained model of that factor (``PHOTO_MODELS``). A factor
    without one gets the bicubic-trained ``BENCHMARK_MODELS`` entry and ``note`` says so (meant
    for stderr; never a silent substitution). Raises :class:`ModelLoadError` when neither is
    shipped.
    """
    factor = int(factor or DEFAULT_FACTOR)
    known = cards()
    photo, bench = PHOTO_MODELS.get(factor), BENCHMARK_MODELS.get(factor)
    if photo in known:
        return photo, None
    if bench in known:
        return bench, (f"no real-world x{factor} model shipped; using {bench} (trained on clean bicubic "
                       "downscales: it will not remove noise, blur or JPEG artefacts)")
    raise ModelLoadError(f"no MODEL given and no shipped x{factor} model is installed "
                         f"(looked for {', '.join(n for n in (photo, bench) if n)}); pass --model")


PUBLISHED = {  # Set5 / Set14 PSNR (Y, paper protocol) of each architecture's paper
    ("fsrcnn", 2): (37.00, 32.63), ("fsrcnn", 3): (33.06, 29.37), ("fsrcnn", 4): (30.72, 27.61),
    ("espcn", 3): (33.13, 29.49), ("espcn", 4): (30.90, 27.73),
    ("srcnn-955", 2): (36.66, 32.45), ("srcnn-955", 3): (32.75, 29.30), ("srcnn-955", 4): (30.48, 27.50),
    # Ledig et al. 2017, Table 2 (Y, 4 px shaved; their 16x64 generator)
    ("srresnet", 4): (32.05, 28.49), ("srgan", 4): (29.40, 26.02),
}
PUBLISHED_LPIPS = {  # Set5 / Set14 LPIPS (AlexNet v0.1) of the paper's released SRGAN outputs
    ("srgan", 4): (0.0882, 0.1663),
}
MAX_BYTES = 1 << 20  # the phone-sized zoo (SRCNN, FSRCNN, ESPCN, abpn)
MAX_BYTES_RESTORER = 2 << 20  # SRVGG photo restorers up to ~300k params (1.2 MB of float32 weights)
MAX_BYTES_GAN = 8 << 20  # SRResNet/SRGAN generators (the paper's 16 x 64 one is ~6 MB)


def max_bytes(architecture: str) -> int:
    """Largest ``.keras`` file the zoo ships for ``architecture``."""
    if architecture in ("srresnet", "srgan"):
        return MAX_BYTES_GAN
    return MAX_BYTES_RESTORER if architecture in ("srvgg", "realesrgan") else MAX_BYTES


def ship(model_file, name: str, measured: dict, dest=None, overwrite: bool = False) -> dict:
    """Put a trained ``model.keras`` into the zoo as ``<name>.keras`` (weights and record only:
    the optimizer state a training run saves is dropped) and write its card.

    ``measured``: ``{"Set5": {"psnr":..., "ssim":...}, "Set14": {...}}`` from the paper
    protocol, with ``"command"`` entries saying how they were measured.
    """
    from keras_sr._backend import keras
    from keras_sr.data.io import atomic_write_text, replace_atomically, sha256_file
    from keras_sr.errors import KerasSRError
    from keras_sr.models.info import read_info, save_with_info

    src = Path(model_file)
    if src.is_dir():
        src = src / "model.keras"
    info = read_info(src)
    if info is None:
        raise KerasSRError(f"{src} has no keras_sr record (train it with keras-sr train)")
    dest = Path(dest) if dest else zoo_dir()
    target, card_path = dest / f"{name}.keras", dest / f"{name}.json"
    if (target.exists() or card_path.exists()) and not overwrite:
        raise KerasSRError(f"{name} is already shipped (use overwrite)")
    tmp = dest / f".{name}.shipping.keras"
    from dataclasses import replace

    from keras_sr.training.provenance import portable_record

    info = replace(info, record=portable_record(info.record or {}))  # no machine paths in zoo files
    save_with_info(keras().saving.load_model(src, compile=False), tmp, info)  # no optimizer state
    limit = max_bytes(info.architecture)
    if tmp.stat().st_size > limit:
        size = tmp.stat().st_size
        tmp.unlink()
        raise KerasSRError(f"{src} is {size} bytes without its optimizer state; {info.architecture} zoo "
                           f"models must be <= {limit >> 20} MB")
    replace_atomically(tmp, target)
    record = dict(info.record or {})
    from keras_sr.models import build_model

    # the trained model's count (a reduced srresnet, say), not the architecture's default size
    params = record.get("params") or int(build_model(info.architecture, info.scale).count_params())
    card = {
        "name": name, "file": target.name, "sha256": sha256_file(target), "bytes": target.stat().st_size,
        "architecture": info.architecture, "params": params, "scale": info.scale,
        "degradation": info.degradation, "color_space": info.color_space,
        "value_range": list(info.value_range), "input_mode": info.input_mode,
        "training_data": {k: v for k, v in (record.get("data") or {}).items() if k != "files"},
        "training_config": record.get("config"), "training_command": record.get("command"),
        "epochs": record.get("epochs_completed"), "steps_per_epoch": record.get("steps_per_epoch"),
        "wall_time_s": record.get("wall_time_s_total", record.get("wall_time_s_this_invocation")),
        "versions": record.get("versions"),
        "measured": measured,
        "published": dict(zip(("Set5", "Set14"), PUBLISHED.get((info.architecture, info.scale), (None, None)))),
    }
    if record.get("teacher"):  # distilled: the teacher, its licence and the pool
        teacher = record["teacher"]
        card["teacher"] = {k: teacher.get(k) for k in ("source", "architecture", "scale", "params",
                                                        "weights_sha256", "file_sha256", "license", "pool")}
    if (info.architecture, info.scale) in PUBLISHED_LPIPS:
        card["published_lpips"] = dict(zip(("Set5", "Set14"), PUBLISHED_LPIPS[(info.architecture, info.scale)]))
    atomic_write_text(card_path, json.dumps(card, indent=2) + "\n")
    return card
