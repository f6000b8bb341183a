"""``keras-sr export --web DIR``: a static folder that upscales photos in a browser.

LiteRT.js (``@litertjs/core``, npm) runs ``.tflite`` files in WebAssembly (XNNPACK) but only
with fixed input shapes, so the page runs a fixed-shape tile model (the int8 ``photo_fixed``
signature: uint8 RGB ``[1, N, N, 3]`` -> ``[1, sN, sN, 3]``) over the photo, tile by tile. A
tile's window is its core plus ``context`` px of real neighbourhood on every side that is not
an image edge (:meth:`~keras_sr.inference.StagedUpscaler.context`: the measured receptive
radius + 1), so tiled == untiled. :func:`tile_plan` and :func:`upscale_tiled` are the Python
twins of ``web_assets/tiler.js``: the tests hold the page to them.

Folder layout::

    index.html, app.js, tiler.js   the page (web_assets/); app.js sets window.kerasSR
    tile_int8.tflite               the tile model (photo_fixed_int8.tflite of the export)
    model.json                     scale, window, context, name, runtime version, metadata
    litert/                        LiteRT.js from npm: core.js, wasm-utils.js, wasm/*.js|wasm

The runtime is copied from a ``node_modules`` folder holding ``@litertjs/core``: ``--web-runtime
DIR``, else ``$KERAS_SR_WEB_RUNTIME``, else ``web/node_modules`` of the source checkout this
module runs from or of the current folder (``npm ci`` in ``web/``). Nothing is fetched from a CDN.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from keras_sr.errors import KerasSRError, ModelLoadError, UsageError

ASSETS = Path(__file__).with_name("web_assets")
PAGE_FILES = ("index.html", "app.js", "tiler.js")
TILE = 64  # LR core of a tile (px); the window adds the model's context on both sides
TILE_MODEL = "tile_int8.tflite"
# node_modules-relative source -> path in the export's litert/ folder. The plain (relaxed-SIMD)
# and compat (no relaxed SIMD) WASM builds are the two LiteRT.js picks without threads or JSPI.
RUNTIME_FILES = {
    "@litertjs/core/dist/index.js": "core.js",
    "@litertjs/wasm-utils/dist/index.js": "wasm-utils.js",
    "@litertjs/core/wasm/litert_wasm_internal.js": "wasm/litert_wasm_internal.js",
    "@litertjs/core/wasm/litert_wasm_internal.wasm": "wasm/litert_wasm_internal.wasm",
    "@litertjs/core/wasm/litert_wasm_compat_internal.js": "wasm/litert_wasm_compat_internal.js",
    "@litertjs/core/wasm/litert_wasm_compat_internal.wasm": "wasm/litert_wasm_compat_internal.wasm",
    "@litertjs/core/package.json": "package.json",
}
CHECKOUT_RUNTIME = Path(__file__).resolve().parents[2] / "web" / "node_modules"


def find_runtime(folder=None) -> Path:
    """The ``node_modules`` folder to copy LiteRT.js from (see the module docstring); raises
    :class:`UsageError` naming how to provide it."""
    candidates = [Path(folder)] if folder else (
        [Path(os.environ["KERAS_SR_WEB_RUNTIME"])] if os.environ.get("KERAS_SR_WEB_RUNTIME")
        else [CHECKOUT_RUNTIME, Path.cwd() / "web" / "node_modules"])
    for base in candidates:
        for root in (base, base / "node_modules"):
            if all((root / src).is_file() for src in RUNTIME_FILES):
                return root
    where = f"{candidates[0]} has no @litertjs/core 2.5.3 files" if folder else "LiteRT.js not found"
    raise UsageError(f"{where}: run `npm ci` in web/ of the keras_sr source tree, or pass --web-runtime "
                     "NODE_MODULES (a folder where `npm install @litertjs/core@2.5.3` was run)")


def runtime_version(root: Path) -> str:
    return json.loads((root / "@litertjs/core/package.json").read_text()).get("version", "unknown")


def check_web_model(model) -> None:
    """Raise :class:`UsageError` when the page cannot run ``model``: it needs the end-to-end
    photo graph (uint8 RGB in and out), which needs 3 RGB or 1 Y input channels."""
    from keras_sr.export.graphs import photo_model

    try:
        photo_model(model)
    except ModelLoadError as exc:
        raise UsageError(f"the web page cannot run this model (it needs an RGB photo graph): {exc}") from None


def tile_plan(length: int, window: int, context: int, step: int | None = None) -> list[tuple[int, int, int]]:
    """``[(core0, core1, win0)]`` along one axis of ``length`` px (``tiler.js`` ``tilePlan``):
    cores of ``step`` px (default ``window - 2 * context``), each inside the window
    ``[win0, win0 + window)`` that reaches ``context`` px past it or to an image edge. Sides
    shorter than ``window`` are mirrored out to it (``win0`` is then 0)."""
    step = window - 2 * context if step is None else step
    if not 1 <= step <= window - 2 * context:
        raise UsageError(f"tile step must be in [1, {window - 2 * context}], got {step}")
    padded = max(length, window)
    return [(c0, min(c0 + step, length), min(max(c0 - context, 0), padded - window))
            for c0 in range(0, length, step)]


def mirror_index(i: np.ndarray, n: int) -> np.ndarray:
    """Position ``i`` in a side of ``n`` px extended by repeated symmetric mirroring."""
    j = np.asarray(i) % (2 * n)
    return np.where(j < n, j, 2 * n - 1 - j)


def upscale_tiled(run, rgb: np.ndarray, scale: int, window: int, context: int, step: int | None = None):
    """The page's tiling in Python: ``run`` maps uint8 ``[1, N, N, 3]`` -> ``[1, sN, sN, 3]``
    (e.g. a LiteRT interpreter of the tile file); ``rgb`` is uint8 ``[h, w, 3]``."""
    h, w = rgb.shape[:2]
    s = scale
    out = np.empty((h * s, w * s, 3), np.uint8)
    for r0, r1, wy in tile_plan(h, window, context, step):
        rows = mirror_index(np.arange(wy, wy + window), h)
        for c0, c1, wx in tile_plan(w, window, context, step):
            tile = rgb[rows][:, mirror_index(np.arange(wx, wx + window), w)]
            sr = np.asarray(run(tile[None]))[0]
            out[r0 * s:r1 * s, c0 * s:c1 * s] = sr[(r0 - wy) * s:(r1 - wy) * s, (c0 - wx) * s:(c1 - wx) * s]
    return out


def write_web(export_dir: Path, web_dir: Path, runtime: Path, window: int, context: int,
              overwrite: bool = False) -> Path:
    """Assemble the web folder from a finished export (``photo_fixed_int8.tflite`` of size
    ``window``) next to ``web_dir`` and rename it into place."""
    from keras_sr.data.io import staged_folder

    meta = json.loads((export_dir / "metadata.json").read_text())
    with staged_folder(web_dir, overwrite) as work:
        shutil.copyfile(export_dir / "photo_fixed_int8.tflite", work / TILE_MODEL)
        for name in PAGE_FILES:
            shutil.copyfile(ASSETS / name, work / name)
        for src, dst in RUNTIME_FILES.items():
            (work / "litert" / dst).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(runtime / src, work / "litert" / dst)
        config = {"name": meta["name"], "scale": meta["scale"], "window": window, "context": context,
                  "tile": window - 2 * context, "tile_model": TILE_MODEL,
                  "runtime": "@litertjs/core", "runtime_version": runtime_version(runtime),
                  "contract": f"uint8 RGB [1, {window}, {window}, 3] -> uint8 RGB "
                              f"[1, {window * meta['scale']}, {window * meta['scale']}, 3]",
                  "metadata": {k: meta.get(k) for k in ("description", "version", "author", "license",
                                                        "color_space", "degradation", "source_sha256")},
                  "parity": json.loads((export_dir / "parity.json").read_text())}
        (work / "model.json").write_text(json.dumps(config, indent=2) + "\n")
    return web_dir


def export_web(cfg, web_dir, runtime=None, tile: int = TILE, progress=None) -> dict:
    """Export ``cfg.model`` as a web folder (see the module docstring); ``cfg.out`` None keeps
    only the web folder (the export runs in a temporary folder, tile file only). Returns the
    model.json dict."""
    from keras_sr.export.exporter import export
    from keras_sr.inference import Upscaler
    from keras_sr.models.loading import load_model

    web_dir = Path(web_dir)
    if web_dir.exists() and not cfg.overwrite:
        raise KerasSRError(f"web folder exists (use --overwrite): {web_dir}")
    if tile < 8:
        raise UsageError(f"web tile must be >= 8 px, got {tile}")
    model = load_model(cfg.model)
    check_web_model(model)
    root = find_runtime(runtime)  # before the slow part
    context = Upscaler(model, factor=cfg.factor).context()
    window = tile + 2 * context
    scratch = None
    if cfg.out is None:
        scratch = Path(tempfile.mkdtemp(prefix=".web-export-", dir=web_dir.resolve().parent))
        cfg = replace(cfg, out=str(scratch / "export"), modes=["int8"], only=("photo_fixed",))
    elif "int8" not in cfg.modes:
        cfg = replace(cfg, modes=list(cfg.modes) + ["int8"])
    cfg = replace(cfg, input_size=(window, window))
    try:
        try:
            export(cfg, progress=progress)
        except KerasSRError:
            if scratch and (Path(cfg.out) / "parity.md").exists() and progress:
                progress((Path(cfg.out) / "parity.md").read_text())
            raise
        if progress:
            progress(f"writing the web folder {web_dir}")
        write_web(Path(cfg.out), web_dir, root, window, context, cfg.overwrite)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return json.loads((web_dir / "model.json").read_text())
