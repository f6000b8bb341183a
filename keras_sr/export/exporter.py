"""``export``: one call that writes the SavedModel, the TFLite files, metadata and parity."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from keras_sr import __version__
from keras_sr._backend import keras, tf
from keras_sr.data.color import y_of_uint8
from keras_sr.data.degradations import get_degradation
from keras_sr.data.io import list_images, read_image, staged_folder
from keras_sr.errors import KerasSRError, UsageError
from keras_sr.evaluation import metrics
from keras_sr.evaluation.protocol import modcrop
from keras_sr.export import (GPU_UNSUPPORTED, MODES, ExportConfig, check_exportable, convert,
                             interpreter, io_details, run_tflite, tflite_ops)
from keras_sr.export.graphs import FLOAT_MARKER, deconv_as_conv, photo_fn, prelu_as_relu, raw_fn, repeat_as_conv
from keras_sr.export.tflite_metadata import (METADATA_NAME, MIN_PARSER_VERSION, metadata_bytes, model_metadata,
                                             with_metadata)

PARITY_CROP = 192  # HR crop (px) of each parity image, to keep the check fast


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _images(source, fallback_samples: bool = True) -> list[np.ndarray]:
    from keras_sr.data.samples import sample_files

    files = list_images([source]) if source else (sample_files() if fallback_samples else [])
    images = []
    for f in files:
        img = read_image(f)
        if img.dtype == np.uint8:
            images.append(img[..., :3] if img.ndim == 3 else np.repeat(img[..., None], 3, axis=2))
    if not images:
        raise KerasSRError(f"no usable 8-bit images in {source or 'the built-in samples'}")
    return images


def _centre(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    i, j = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return img[i: i + size, j: j + size]


class _Reference:
    """The Keras model and its pre-processing: what every export is compared with."""

    def __init__(self, model):
        from keras_sr.inference import Upscaler

        self.up = Upscaler(model)
        self.info = self.up.info
        self.scale = self.up.scale
        self.deg = get_degradation("bicubic")

    def lr_photo(self, hr: np.ndarray) -> np.ndarray:
        lr = self.deg.downscale(hr.astype(np.float32) / 255.0, self.scale, quantize_output=True)
        return np.round(np.asarray(lr) * 255).astype(np.uint8)

    def model_input(self, lr_rgb: np.ndarray) -> np.ndarray:
        """[1, h', w', C] float: exactly what the raw signature receives."""
        from keras_sr.data.color import rgb_to_ycbcr

        x = lr_rgb.astype(np.float32) / 255.0
        if self.info.color_space != "rgb":
            x = np.asarray(rgb_to_ycbcr(x, self.info.color_space), np.float32)[..., :1]
        if self.info.input_mode == "pre-upsampled":
            x = self.up.pre_upscale(x)
        return self.up.model_batch(x)

    def hr_target(self, hr: np.ndarray) -> np.ndarray:
        """HR in the raw output's space (Y or RGB), 0..255."""
        if self.info.color_space == "rgb":
            return hr.astype(np.float64)
        return y_of_uint8(hr, self.info.color_space)[..., None]


def _representative(ref: _Reference, images, signature: str, n: int = 24, size: int = 48,
                    fixed: tuple | None = None):
    """Representative batches for int8 calibration: random LR crops of the calibration
    images (``fixed`` = the (h, w) of a fixed-shape signature; images smaller than that are
    mirrored out to it, so any --input-size can be calibrated)."""
    rng = np.random.default_rng(0)
    lrs = [ref.lr_photo(modcrop(img, ref.scale)) for img in images]
    if fixed:
        lrs = [_mirror_to(lr, fixed) for lr in lrs]

    def gen():
        for i in range(n):
            lr = lrs[i % len(lrs)]
            ch, cw = fixed or (min(size, lr.shape[0]), min(size, lr.shape[1]))
            y0 = rng.integers(0, lr.shape[0] - ch + 1)
            x0 = rng.integers(0, lr.shape[1] - cw + 1)
            crop = lr[y0: y0 + ch, x0: x0 + cw]
            yield [crop[None]] if signature.startswith("photo") else [ref.model_input(crop)]

    return gen


def _mirror_to(img: np.ndarray, size) -> np.ndarray:
    """``img`` extended by repeated symmetric mirroring to at least ``size`` (h, w)."""
    while img.shape[0] < size[0] or img.shape[1] < size[1]:
        ph, pw = (min(max(0, size[i] - img.shape[i]), img.shape[i]) for i in (0, 1))
        img = np.pad(img, ((0, ph), (0, pw)) + ((0, 0),) * (img.ndim - 2), mode="symmetric")
    return img


def export(cfg: ExportConfig, progress=None) -> dict:
    """Export ``cfg.model``; returns the parity report. Raises :class:`KerasSRError` when a
    variant is over its tolerance (the export folder and its report are kept)."""
    from keras_sr.models.loading import load_model

    for mode in cfg.modes:
        if mode not in MODES:
            raise UsageError(f"unknown quantization mode {mode!r}; known: {', '.join(MODES)}")
    if cfg.int8_io not in ("float", "int8"):
        raise UsageError(f"int8 I/O must be 'float' or 'int8', got {cfg.int8_io!r}")
    model = load_model(cfg.model)
    if cfg.factor is not None and model.sr_info.scale and model.sr_info.scale != cfg.factor:
        raise UsageError(f"model {cfg.model} upscales x{model.sr_info.scale}, not x{cfg.factor} (--factor)")
    if cfg.denoise is not None:
        from keras_sr.models.denoise import with_denoise

        model = with_denoise(model, cfg.denoise)
    check_exportable(model)
    float_layers = _int8_float_layers(cfg, model) if "int8" in cfg.modes else ()
    ref = _Reference(model)
    info, scale, channels, border = ref.info, ref.scale, ref.up.channels, ref.up.border
    calib = _images(cfg.calibration) if "int8" in cfg.modes else []
    parity_images = [_centre(modcrop(img, scale), PARITY_CROP) for img in _images(cfg.parity_data)]
    out = Path(cfg.out)
    say = progress or (lambda msg: None)
    with staged_folder(out, cfg.overwrite) as work:
        report = _export_into(work, cfg, model, ref, info, scale, channels, border, calib,
                              parity_images, say, float_layers)
    failed = [r for r in report["rows"] if not r["ok"]]
    if failed:
        worst = failed[0]
        raise KerasSRError(f"parity check failed for {len(failed)} variant(s), e.g. {worst['file']}: "
                           f"{worst['criterion']} {worst['value']:.4g} > {worst['limit']:.4g} "
                           f"(report: {out / 'parity.md'})")
    return report


def _int8_float_layers(cfg, model) -> tuple:
    """Layers int8 files keep float: ``cfg.int8_float_layers``, else the card's
    ``int8_float_layers`` (a shipped model whose int8 parity needs it); each must be a layer of
    the model."""
    names = cfg.int8_float_layers
    if names is None:
        source = model.sr_info.source
        names = _card(Path(source) if source else None).get("int8_float_layers") or ()
    names = tuple(names)
    known = {layer.name for layer in model.layers}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"--int8-float-layer: no layer {', '.join(map(repr, unknown))} in the model "
                         f"(its layers: {', '.join(sorted(known))})")
    return names


def _export_into(work: Path, cfg, model, ref, info, scale, channels, border, calib, parity_images, say,
                 float_layers=()):
    # exact rewrites: ABPN's anchor concat -> 1x1 conv; FSRCNN's deconvolution -> conv + DEPTH_TO_SPACE
    anchored = repeat_as_conv(model)
    deployed = deconv_as_conv(anchored)
    anchors = [layer.name for layer in anchored.layers if FLOAT_MARKER in layer.name]  # the rewritten concats
    rewrites = [f"{name.split('_as_conv_')[0]}: Concatenate of one tensor -> fixed 1x1 Conv2D (XNNPACK runs it)"
                for name in anchors]
    rewrites += [] if deployed is anchored else [f"{model.layers[-1].name}: Conv2DTranspose -> Conv2D + "
                                                 "DEPTH_TO_SPACE (equivalent weights)"]
    model = deployed
    saved_dir = work / "saved_model"
    say("writing SavedModel")
    signatures = _write_saved_model(model, saved_dir, cfg, info, scale, channels, border)
    int8_dir, scratch = saved_dir, None
    if "int8" in cfg.modes:  # int8 files only: per-channel PReLU -> ops XNNPACK runs in int8
        int8_model, prelus = prelu_as_relu(model)
        if prelus:
            rewrites.append(f"{len(prelus)} PReLU (int8 files only): relu(x) - a * relu(-x) as ReLU, two 1x1 "
                            "DepthwiseConv2D and Add (XNNPACK takes no int8 PRELU)")
            scratch = Path(tempfile.mkdtemp(prefix="int8_graph_", dir=work.parent))
            int8_dir = scratch / "saved_model"
            say("writing the int8 SavedModel")
    if float_layers:
        rewrites.append(f"int8 files keep layer(s) {', '.join(float_layers)} float (int8 parity; "
                        "the other convolutions are int8)")
    metadata = _metadata(info, scale, channels, border, rewrites, cfg.denoise)
    try:
        if scratch:
            _write_saved_model(int8_model, int8_dir, cfg, info, scale, channels, border)
        _convert_all(work, saved_dir, int8_dir, signatures, cfg, ref, calib, anchors, say, metadata, float_layers)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    say("checking parity")
    rows = _parity(work, saved_dir, metadata["files"], cfg, ref, parity_images)
    (work / "metadata.json").write_text(json.dumps(metadata, indent=2, default=str) + "\n")
    (work / "export_config.json").write_text(json.dumps(asdict(cfg), indent=2, default=str) + "\n")
    report = {"rows": rows, "tolerances": cfg.tolerances, "images": len(parity_images)}
    (work / "parity.json").write_text(json.dumps(report, indent=2) + "\n")
    (work / "parity.md").write_text(format_parity(report) + "\n")
    return report


COLOUR = {"rgb": "RGB",
          "y-bt601": "Y (luma) of YCbCr, ITU-R BT.601 studio swing as MATLAB rgb2ycbcr (Y in [16, 235]/255)",
          "y-opencv": "Y (luma) of YCbCr, full range as OpenCV COLOR_RGB2YCrCb / JPEG (Y in [0, 255]/255)"}


def _card(source: Path | None) -> dict:
    """The model card beside ``source`` (``<stem>.json`` naming it as its ``file``), or ``{}``."""
    if source is None or not source.is_file():
        return {}
    try:
        card = json.loads(source.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}
    return card if isinstance(card, dict) and card.get("file") == source.name else {}


def _metadata(info, scale: int, channels: int, border: int, rewrites: list, denoise=None) -> dict:
    """The export's metadata: written as ``metadata.json`` and, per file, as the TFLite Metadata
    inside each ``.tflite`` (:mod:`keras_sr.export.tflite_metadata` reads it, with the file's
    entry that :func:`_convert_all` adds under ``"files"``)."""
    source = Path(info.source) if info.source else None
    source_sha = hashlib.sha256(source.read_bytes()).hexdigest() if source and source.is_file() else None
    record = dict(info.record or {})
    record.pop("data", None)
    record.pop("validation_files", None)
    card = _card(source)
    name = card.get("name") or (source.stem if source else None) or info.architecture
    author = card.get("author") or record.get("author") or ("keras_sr" if "config" in record else None)
    lo, hi = (float(v) for v in info.value_range)
    colour = COLOUR.get(info.color_space, info.color_space) if channels == 1 else "RGB"
    imported = record.get("imported_from")
    files = [s.get("file") for s in (imported if isinstance(imported, list) else [imported]) if isinstance(s, dict)]
    parts = [f"{name}: {info.architecture} x{scale} single-image super-resolution, exported by keras_sr "
             f"{__version__}", f"network colour: {colour}"]
    if channels == 1:
        parts.append("photo files convert RGB to it and upscale the chroma bicubically")
    if info.input_mode == "pre-upsampled":
        parts.append(f"the network takes the LR image already upscaled x{scale} (interpolation of "
                     f"'{info.degradation}')")
    parts.append(f"degradation: {info.degradation}")
    if files:
        parts.append(f"imported from {', '.join(files)}")
    description = "; ".join(parts) + "."
    return {
        "keras_sr_version": __version__,
        "name": name, "description": description,
        "version": card.get("version") or (f"sha256:{source_sha[:16]}" if source_sha else f"keras_sr {__version__}"),
        "author": author, "license": card.get("license") or card.get("licence") or record.get("license"),
        "scale": scale, "color_space": info.color_space, "value_range": [lo, hi],
        "layout": "NHWC", "input_mode": info.input_mode, "degradation": info.degradation,
        "border": border, "graph_rewrites": rewrites,
        "raw_contract": (f"float32 [1, h, w, {channels}] in [0, 1] ({'Y of ' + info.color_space if channels == 1 else 'RGB'}"
                         f"{', already upscaled x%d and padded by %d px' % (scale, border) if info.input_mode == 'pre-upsampled' else ''})"
                         f" -> float32 [1, H, W, {channels}] in [0, 1] (clip before use)"),
        "photo_contract": f"uint8 RGB [1, h, w, 3] -> uint8 RGB [1, {scale}h, {scale}w, 3] (h, w >= 2)",
        "tensor_colour": colour,
        # raw float tensors <-> 8-bit pixels: tensor = (pixel - mean) / std ([0, 1]: mean 0, std 255)
        "pixel_normalization": {"mean": (0.0 - lo) * 255.0 / (hi - lo) + 0.0, "std": 255.0 / (hi - lo)},
        "tflite_metadata": {"schema": "TFLite Support metadata_schema.fbs", "buffer": METADATA_NAME,
                            "min_parser_version": MIN_PARSER_VERSION},
        "source_model": str(source) if source else None,
        "source_sha256": source_sha,
        "model_info": {**info.to_dict(), "record": record},
        "denoise": ({"strength": denoise, "sibling": record.get("denoise_sibling"),
                     "note": "weights = strength * source_model + (1 - strength) * sibling, baked in"}
                    if denoise is not None else None),
        "files": {},
    }


def _write_saved_model(model, saved_dir: Path, cfg, info, scale, channels, border) -> list[str]:
    """SavedModel of ``model`` with the raw (``serve``) and ``photo`` signatures (and their
    fixed-shape twins with ``cfg.input_size``); returns the signature names."""
    k, t = keras(), tf()
    archive = k.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name="serve", fn=raw_fn(model),
                         input_signature=[t.TensorSpec([None, None, None, channels], t.float32, name="image")])
    archive.add_endpoint(name="photo", fn=photo_fn(model, info, scale, border),
                         input_signature=[t.TensorSpec([1, None, None, 3], t.uint8, name="rgb")])
    signatures = ["serve", "photo"]
    if cfg.input_size:
        h, w = cfg.input_size
        hin, win = (h * scale + 2 * border, w * scale + 2 * border) if info.input_mode == "pre-upsampled" \
            else (h, w)
        archive.add_endpoint(name="serve_fixed", fn=raw_fn(model),
                             input_signature=[t.TensorSpec([1, hin, win, channels], t.float32, name="image")])
        archive.add_endpoint(name="photo_fixed", fn=photo_fn(model, info, scale, border),
                             input_signature=[t.TensorSpec([1, h, w, 3], t.uint8, name="rgb")])
        signatures += ["serve_fixed", "photo_fixed"]
    from keras_sr.export import _quiet

    _quiet(archive.write_out, str(saved_dir), verbose=False)
    return signatures


def _convert_all(work: Path, saved_dir: Path, int8_dir: Path, signatures, cfg, ref, calib, anchors, say,
                 metadata: dict, float_layers=()) -> dict:
    """Every (signature, mode) TFLite file into ``work``; int8 ones from ``int8_dir``. Each
    file's entry goes into ``metadata["files"]``, and the TFLite Metadata made from
    ``metadata`` into the file (bytes and sha256 are those of the file written)."""
    files = metadata["files"]
    for sig in signatures:
        if cfg.only and sig not in cfg.only:
            continue
        for mode in cfg.modes:
            name = f"{'model' if sig.startswith('serve') else 'photo'}{'_fixed' if sig.endswith('fixed') else ''}_{mode}.tflite"
            say(f"converting {name}")
            rep = _representative(ref, calib, sig, fixed=cfg.input_size if sig.endswith("fixed") else None) \
                if mode == "int8" else None
            content = convert(int8_dir if mode == "int8" else saved_dir, sig, mode, rep, cfg.int8_io,
                              float_nodes=bool(anchors), float_layers=tuple(float_layers))
            ops = tflite_ops(content)
            files[name] = {"signature": sig, "mode": mode, "bytes": None, "sha256": None, "io": io_details(content),
                           "ops": ops, "gpu_delegate_flags": [op for op in ops if op in GPU_UNSUPPORTED]}
            content = with_metadata(content, metadata_bytes(model_metadata(metadata, name)))
            files[name].update(bytes=len(content), sha256=_sha256(content))
            (work / name).write_bytes(content)
    return files


def _psnr(out255: np.ndarray, target: np.ndarray, shave: int) -> float:
    return metrics.psnr(target, np.clip(np.round(out255), 0, 255), shave=shave)


def _parity(work, saved_dir, files, cfg, ref, images) -> list[dict]:
    t = tf()
    loaded = t.saved_model.load(str(saved_dir))
    scale = ref.scale
    rows = []
    keras_raw, keras_photo, targets, inputs, lrs = [], [], [], [], []
    for hr in images:
        lr = ref.lr_photo(hr)
        lrs.append(lr)
        inputs.append(ref.model_input(lr))
        keras_raw.append(ref.up._run(inputs[-1])[0])
        keras_photo.append(ref.up(lr))
        targets.append((ref.hr_target(hr), hr))
    # SavedModel signatures vs Keras
    sm_raw = [next(iter(loaded.signatures["serve"](image=t.constant(x)).values())).numpy()[0] for x in inputs]
    sm_photo = [next(iter(loaded.signatures["photo"](rgb=t.constant(lr[None])).values())).numpy()[0] for lr in lrs]
    rows.append(_row("saved_model:serve", "fp32", "max_abs", _max_abs(sm_raw, keras_raw),
                     cfg.tolerances["fp32"], 0.0))
    rows.append(_row("saved_model:photo", "fp32", "max_abs_levels",
                     _max_abs(sm_photo, keras_photo, 1.0), 1.0, 0.0))
    for name, meta in files.items():
        it = interpreter(path=work / name)
        fixed = meta["signature"].endswith("fixed")
        photo = meta["signature"].startswith("photo")
        pairs = []
        for x, lr, kr, kp, (target, hr) in zip(inputs, lrs, keras_raw, keras_photo, targets):
            if fixed:
                h, w = cfg.input_size
                if lr.shape[0] < h or lr.shape[1] < w:
                    continue
                sl_lr = (slice(0, h), slice(0, w))
                lr_c = lr[sl_lr]
                kp_c = ref.up(lr_c)
                x_c = ref.model_input(lr_c)
                kr_c = ref.up._run(x_c)[0]
                tgt = (ref.hr_target(hr[: h * scale, : w * scale]), hr[: h * scale, : w * scale])
            else:
                lr_c, kp_c, x_c, kr_c, tgt = lr, kp, x, kr, (target, hr)
            if photo:
                out = run_tflite(it, lr_c[None])[0]
                pairs.append((out.astype(np.float64), kp_c.astype(np.float64),
                              y_of_uint8(tgt[1], "y-bt601")[..., None], True))
            else:
                out = run_tflite(it, x_c)[0]
                pairs.append((out, kr_c, tgt[0], False))
        if not pairs:
            rows.append({"file": name, "mode": meta["mode"], "criterion": "skipped (images smaller "
                         "than --input-size)", "value": 0.0, "limit": 0.0, "ok": True,
                         "delta_psnr_db": None, "max_abs": None})
            continue
        max_abs = max(float(np.abs(o - k).max()) for o, k, _, _ in pairs)
        dps = []
        for o, k, tgt, is_photo in pairs:
            if is_photo:
                o_y = y_of_uint8(o.astype(np.uint8), "y-bt601")[..., None]
                k_y = y_of_uint8(k.astype(np.uint8), "y-bt601")[..., None]
                dps.append(_psnr(o_y, tgt, scale) - _psnr(k_y, tgt, scale))
            else:
                dps.append(_psnr(o * 255, tgt, scale) - _psnr(k * 255, tgt, scale))
        dpsnr = float(np.mean(dps))
        mode = meta["mode"]
        if mode == "fp32":
            crit, value, limit = ("max_abs_levels", max_abs, 1.0) if photo else ("max_abs", max_abs, cfg.tolerances["fp32"])
        else:
            crit, value, limit = "psnr_loss_db", max(0.0, -dpsnr), cfg.tolerances[mode]
        rows.append(_row(name, mode, crit, value, limit, dpsnr, max_abs))
    return rows


def _max_abs(outs, refs, scale: float = 1.0) -> float:
    return max(float(np.abs(o.astype(np.float64) - r.astype(np.float64)).max()) for o, r in zip(outs, refs)) / scale


def _row(name, mode, criterion, value, limit, dpsnr, max_abs=None) -> dict:
    return {"file": name, "mode": mode, "criterion": criterion, "value": float(value), "limit": float(limit),
            "ok": bool(value <= limit), "delta_psnr_db": None if dpsnr is None else float(dpsnr),
            "max_abs": float(value if max_abs is None else max_abs)}


def format_parity(report: dict) -> str:
    lines = [f"Parity vs the Keras model on {report['images']} images "
             "(raw: values in [0, 1]; photo: 8-bit levels)", "",
             "| file | mode | max abs diff | dPSNR vs Keras (dB) | criterion | limit | ok |",
             "|---|---|---|---|---|---|---|"]
    for r in report["rows"]:
        d = "" if r["delta_psnr_db"] is None else f"{r['delta_psnr_db']:+.4f}"
        m = "" if r["max_abs"] is None else f"{r['max_abs']:.3g}"
        lines.append(f"| {r['file']} | {r['mode']} | {m} | {d} | {r['criterion']} | {r['limit']:g} | "
                     f"{'yes' if r['ok'] else 'NO'} |")
    return "\n".join(lines)
