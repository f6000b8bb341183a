"""Importing community weights: parity with PyTorch's own outputs (fixtures made once by
tools/make_import_fixtures.py with torch; no torch needed here), the restricted unpickler,
every bad input, blending, the CLI, size multiples, and export of an imported model."""

from __future__ import annotations

import json
import pickle
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cli_helpers import assert_one_line_error, run
from keras_sr.errors import ModelLoadError, UsageError
from keras_sr.importers import import_weights, parse_blend, read_state_dict

FIX = Path(__file__).resolve().parent / "fixtures" / "import"
MANIFEST = json.loads((FIX / "manifest.json").read_text())
PARITY = {  # fixture: (file, layout, nested)
    "rrdb_x4_basicsr": ("rrdb_x4_basicsr.pth", "basicsr-rrdbnet", "params_ema"),
    "rrdb_x2_basicsr": ("rrdb_x2_basicsr.pth", "basicsr-rrdbnet", None),
    "rrdb_x1_basicsr": ("rrdb_x1_basicsr.pth", "basicsr-rrdbnet", None),
    "rrdb_x4_esrgan_old": ("rrdb_x4_esrgan_old.pth", "esrgan-old", None),
    "rrdb_x4_esrgan_new": ("rrdb_x4_esrgan_new.safetensors", "esrgan-new", None),
    "srvgg_x4": ("srvgg_x4.pth", "srvgg", None),
    "srvgg_x2": ("srvgg_x2.pth", "srvgg", None),
    "srvgg_x3": ("srvgg_x3.pth", "srvgg", None),
}


def lr_input():
    return np.load(FIX / "input.npy").transpose(0, 2, 3, 1)  # NCHW -> NHWC


def torch_output(name):
    return np.load(FIX / f"{name}.out.npy").transpose(0, 2, 3, 1)


def test_fixtures_are_small():
    assert sum(p.stat().st_size for p in FIX.iterdir()) < 450_000


@pytest.mark.parametrize("name", list(PARITY))
def test_keras_output_equals_pytorch(name):
    """Each layout and scale: the imported model reproduces PyTorch's output (max abs < 1e-5)."""
    if name.endswith("esrgan_new"):
        pytest.importorskip("safetensors", reason="safetensors not installed")
    file, layout, nested = PARITY[name]
    model = import_weights(FIX / file)
    info = model.sr_info
    assert (info.architecture, info.color_space, info.input_mode, info.degradation) == \
        (file.split("_")[0].replace("rrdb", "rrdbnet"), "rgb", "lr", "unknown")
    assert info.record["layout"] == layout and info.record["imported_from"]["nested"] == nested
    assert len(info.record["imported_from"]["sha256"]) == 64
    assert info.size_multiple == {"rrdb_x2_basicsr": 2, "rrdb_x1_basicsr": 4}.get(name, 1)
    x = lr_input()
    out = np.asarray(model(x))
    ref = torch_output(name)
    assert out.shape == ref.shape and info.scale * x.shape[1] == out.shape[1]
    assert np.abs(out - ref).max() < 1e-5


@pytest.mark.parametrize("name, layer", [("srvgg_x4", "conv_last_x4"), ("rrdb_x2_basicsr", "conv_first")])
def test_channel_permutation_matters(name, layer, monkeypatch):
    """Without the PixelShuffle/pixel_unshuffle -> depth_to_space/space_to_depth reordering the
    fixtures do not match: they can catch a wrong channel order."""
    import keras_sr.importers.convert as convert

    monkeypatch.setattr(convert, "shuffle_perm", lambda c, s: np.arange(c * s * s))
    out = np.asarray(import_weights(FIX / PARITY[name][0])(lr_input()))
    assert np.abs(out - torch_output(name)).max() > 1e-2


def test_load_model_dispatches_weight_files():
    from keras_sr import load_model

    model = load_model(FIX / "srvgg_x2.pth")
    assert model.sr_info.scale == 2 and model.sr_info.architecture == "srvgg"
    with pytest.raises(ModelLoadError, match="no such model file"):
        load_model(FIX / "absent.pth")


def test_param_dispatch_is_guarded(tmp_path):
    """A .param goes to keras_sr.importers.ncnn; bad input (here: no .bin, or the module not
    merged yet) is a one-line ModelLoadError either way."""
    from keras_sr import load_model

    p = tmp_path / "x.param"
    p.write_text("7767517\n0 0\n")
    with pytest.raises(ModelLoadError):
        load_model(p)


# ---- the restricted unpickler -------------------------------------------------------------------
class _Evil:
    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        import os

        return (os.system, (self.cmd,))


def _zip_pth(path: Path, pkl: bytes):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")


@pytest.mark.parametrize("fmt", ["zip", "legacy"])
def test_forbidden_global_is_refused_and_nothing_runs(tmp_path, fmt):
    marker = tmp_path / "pwned"
    pkl = pickle.dumps({"params": {"conv.weight": _Evil(f"touch {marker}")}}, protocol=2)
    path = tmp_path / "evil.pth"
    if fmt == "zip":
        _zip_pth(path, pkl)
    else:
        path.write_bytes(pkl)
    glob = f"{_Evil.__reduce__(_Evil(''))[0].__module__}.system"  # posix.system (nt.system on Windows)
    with pytest.raises(ModelLoadError, match=f"pickle wants global '{glob}'"):
        read_state_dict(path)
    out = tmp_path / "out.keras"
    err = assert_one_line_error(run("import", path, "-o", out), 1, f"'{glob}'", "only tensor/container globals")
    assert "refusing to load evil.pth" in err
    assert not marker.exists() and not out.exists() and not out.with_suffix(".json").exists()


def test_builtins_eval_and_model_classes_are_refused(tmp_path):
    for module, name in (("builtins", "eval"), ("basicsr.archs.rrdbnet_arch", "RRDBNet"),
                         ("torch", "load")):
        path = tmp_path / f"{name}.pth"
        _zip_pth(path, b"\x80\x02c" + f"{module}\n{name}\n".encode() + b")R.")
        with pytest.raises(ModelLoadError, match=f"'{module}.{name}'"):
            read_state_dict(path)


def test_legacy_format_and_fp16_storages_are_read():
    sd, nested = read_state_dict(FIX / "rrdb_x4_esrgan_old.pth")  # torch < 1.6 format
    assert nested == "" and sd["model.0.weight"].shape == (6, 3, 3, 3)
    assert sd["model.0.weight"].dtype == np.float32
    sd, _ = read_state_dict(FIX / "rrdb_x2_basicsr.pth")  # fp16 storages -> float32
    assert sd["conv_first.weight"].dtype == np.float32 and sd["conv_first.weight"].shape == (6, 12, 3, 3)


# ---- bad input -----------------------------------------------------------------------------------
def _bad(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", ["truncated-zip", "truncated-legacy", "garbage", "empty", "zip-no-pkl",
                                  "not-a-state-dict"])
def test_bad_files_are_one_line_errors_without_output(tmp_path, case):
    src = (FIX / "srvgg_x4.pth").read_bytes()
    legacy = (FIX / "rrdb_x4_esrgan_old.pth").read_bytes()
    if case == "truncated-zip":
        path = _bad(tmp_path, "t.pth", src[: len(src) // 2])
    elif case == "truncated-legacy":
        path = _bad(tmp_path, "t.pth", legacy[: len(legacy) - 1000])
    elif case == "garbage":
        path = _bad(tmp_path, "g.pth", np.random.default_rng(0).bytes(5000))
    elif case == "empty":
        path = _bad(tmp_path, "e.pth", b"")
    elif case == "zip-no-pkl":
        path = tmp_path / "z.pth"
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("a.txt", "hello")
    else:
        path = tmp_path / "list.pth"
        _zip_pth(path, pickle.dumps([1, 2, 3], protocol=2))
    out = tmp_path / "out.keras"
    assert_one_line_error(run("import", path, "-o", out), 1)
    assert not out.exists() and not out.with_suffix(".json").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


def _save_st(path, sd):
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v) for k, v in sd.items()}, str(path))
    return path


@pytest.fixture()
def srvgg_sd():
    pytest.importorskip("safetensors", reason="safetensors not installed")
    return read_state_dict(FIX / "srvgg_x4.pth")[0]


def test_missing_keys(tmp_path, srvgg_sd):
    del srvgg_sd["body.4.bias"]
    path = _save_st(tmp_path / "m.safetensors", srvgg_sd)
    assert_one_line_error(run("import", path, "-o", tmp_path / "o.keras"), 1, "missing", "body.4.bias")
    assert not (tmp_path / "o.keras").exists()


def test_shapes_that_do_not_fit(tmp_path, srvgg_sd):
    srvgg_sd["body.4.weight"] = srvgg_sd["body.4.weight"][:, :5]
    path = _save_st(tmp_path / "s.safetensors", srvgg_sd)
    assert_one_line_error(run("import", path, "-o", tmp_path / "o.keras"), 1, "do not fit", "body.4.weight",
                          "(8, 8, 3, 3)")
    assert not (tmp_path / "o.keras").exists()


def test_unused_keys_and_unrecognised_layouts(tmp_path, srvgg_sd):
    srvgg_sd["extra.weight"] = np.zeros(3, np.float32)
    path = _save_st(tmp_path / "x.safetensors", srvgg_sd)
    assert_one_line_error(run("import", path, "-o", tmp_path / "o.keras"), 1, "not part of", "extra.weight")
    path = _save_st(tmp_path / "u.safetensors", {"a.b": np.zeros(2, np.float32), "c.d": np.ones(1, np.float32)})
    assert_one_line_error(run("import", path, "-o", tmp_path / "o.keras"), 1, "unrecognised state dict",
                          "conv_first.weight", "body.0.rdb1.conv1.weight", "model.0.weight", "body.0.weight",
                          "found: a.b, c.d")
    assert_one_line_error(run("import", FIX / "srvgg_x4.pth", "--arch", "rrdbnet", "-o", tmp_path / "o.keras"), 1,
                          "expected basicsr-rrdbnet keys")
    assert_one_line_error(run("import", FIX / "srvgg_x4.pth", "--scale", "2", "-o", tmp_path / "o.keras"), 1,
                          "x4 srvgg", "not x2")
    assert not (tmp_path / "o.keras").exists()


def test_missing_safetensors_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ModelLoadError, match="needs the 'safetensors' package"):
        read_state_dict(FIX / "rrdb_x4_esrgan_new.safetensors")


# ---- blending ------------------------------------------------------------------------------------
def test_blend_equals_pytorch_dni(tmp_path):
    """Real-ESRGAN's DNI (0.3 * a + 0.7 * b, key by key) computed in PyTorch vs --blend."""
    out = tmp_path / "mix.keras"
    r = run("import", "--blend", f"{FIX / 'srvgg_x4.pth'}:0.3", "--blend", f"{FIX / 'srvgg_x4_b.pth'}:0.7",
            "-o", out)
    assert r.exit_code == 0, r.output
    from keras_sr import load_model

    model = load_model(out)
    assert np.abs(np.asarray(model(lr_input())) - torch_output("srvgg_x4_blend_0.3_0.7")).max() < 1e-5
    card = json.loads(out.with_suffix(".json").read_text())
    assert [b["weight"] for b in card["blend"]] == [0.3, 0.7]
    a, b = (import_weights(FIX / f) for f in ("srvgg_x4.pth", "srvgg_x4_b.pth"))
    for wa, wb, wm in zip(a.get_weights(), b.get_weights(), model.get_weights()):
        np.testing.assert_allclose(wm, 0.3 * wa + 0.7 * wb, atol=1e-6)


def test_blend_refuses_other_architectures_shapes_and_weights(tmp_path):
    out = tmp_path / "mix.keras"
    assert_one_line_error(run("import", "--blend", f"{FIX / 'srvgg_x4.pth'}:0.5", "--blend",
                              f"{FIX / 'rrdb_x1_basicsr.pth'}:0.5", "-o", out), 1, "cannot blend", "architectures")
    assert_one_line_error(run("import", "--blend", f"{FIX / 'srvgg_x4.pth'}:0.5", "--blend",
                              f"{FIX / 'srvgg_x2.pth'}:0.5", "-o", out), 1, "cannot blend", "shapes differ")
    assert_one_line_error(run("import", "--blend", f"{FIX / 'srvgg_x4.pth'}:0.5", "--blend",
                              f"{FIX / 'srvgg_x4_b.pth'}:0.4", "-o", out), 2, "sum to 1")
    assert_one_line_error(run("import", "--blend", f"{FIX / 'srvgg_x4.pth'}", "-o", out), 2, "PATH:WEIGHT")
    assert_one_line_error(run("import", FIX / "srvgg_x4.pth", "--blend", f"{FIX / 'srvgg_x4.pth'}:1", "-o", out), 2)
    assert not out.exists() and not out.with_suffix(".json").exists()
    with pytest.raises(UsageError, match="at least two"):
        parse_blend(["a.pth:1"])


# ---- CLI import, then upscale / odd sizes / export -----------------------------------------------
@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    d = tmp_path_factory.mktemp("imported")
    paths = {}
    for name in ("srvgg_x2", "rrdb_x2_basicsr"):
        out = d / f"{name}.keras"
        r = run("import", FIX / PARITY[name][0], "-o", out, "--degradation", "realesrgan")
        assert r.exit_code == 0, r.output
        paths[name] = out
    return paths


def test_cli_import_writes_model_and_card(imported):
    from keras_sr import load_model
    from keras_sr.data.io import sha256_file

    out = imported["rrdb_x2_basicsr"]
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["sha256"] == sha256_file(out) and card["file"] == out.name
    assert (card["architecture"], card["scale"], card["degradation"], card["size_multiple"]) == \
        ("rrdbnet", 2, "realesrgan", 2)
    assert card["source"]["file"] == "rrdb_x2_basicsr.pth" and len(card["source"]["sha256"]) == 64
    assert card["hyperparameters"] == {"scale": 2, "channels": 3, "filters": 6, "blocks": 1, "growth": 4}
    model = load_model(out)  # the .keras reloads with its info and the same output
    assert model.sr_info.size_multiple == 2 and model.sr_info.degradation == "realesrgan"
    assert np.abs(np.asarray(model(lr_input())) - torch_output("rrdb_x2_basicsr")).max() < 1e-5
    before = out.read_bytes()
    assert_one_line_error(run("import", FIX / "rrdb_x2_basicsr.pth", "-o", out), 1, "exists", "--overwrite")
    assert out.read_bytes() == before
    assert run("import", FIX / "rrdb_x2_basicsr.pth", "-o", out, "--overwrite",
               "--degradation", "realesrgan").exit_code == 0


def test_cli_upscale_with_imported_model(imported, tmp_path, photo):
    src = tmp_path / "in.png"
    Image.fromarray(photo[:21, :17]).save(src)  # odd size
    for name, path in imported.items():
        out = tmp_path / f"{name}.png"
        r = run("upscale", src, "-o", out, "--model", path)
        assert r.exit_code == 0, r.output
        assert np.asarray(Image.open(out)).shape == (42, 34, 3)


def test_odd_sizes_pad_reflect_and_tiles_match(imported, photo):
    """x2 RRDBNet folds its input by 2: odd images are reflect-padded at the bottom/right and
    the output cropped; tiles start on the folding grid, so tiled == untiled."""
    from keras_sr.inference import Upscaler

    img = photo[:23, :19].astype(np.float32) / 255
    up = Upscaler(imported["rrdb_x2_basicsr"])
    assert up.multiple == 2 and up.context() % 2 == 0 and up.tile_size() % 2 == 0
    padded = np.pad(img, ((0, 1), (0, 1), (0, 0)), mode="reflect")
    ref = np.asarray(up.model(padded[None]))[0, :46, :38]
    np.testing.assert_allclose(up.sr_channels(img), ref, atol=1e-6)
    whole = Upscaler(imported["rrdb_x2_basicsr"], tile=1000)(photo[:23, :19])
    tiled = Upscaler(imported["rrdb_x2_basicsr"], tile=7)(photo[:23, :19])  # 6-px tiles
    np.testing.assert_array_equal(whole, tiled)


def test_imported_srvgg_exports_to_tflite(imported, tmp_path, tiny_data):
    """fp32/fp16/int8 within the zoo's default tolerances (fp32 max |d| <= 1e-4, fp16 <= 0.02 dB,
    int8 <= 0.2 dB PSNR loss; a tiny random net, so int8 on a trained one is measured elsewhere)."""
    from keras_sr.export import ExportConfig
    from keras_sr.export.exporter import export

    cfg = ExportConfig(model=str(imported["srvgg_x2"]), out=str(tmp_path / "exp"), modes=["fp32", "fp16", "int8"],
                       calibration=str(tiny_data), parity_data=str(tiny_data))
    report = export(cfg)  # raises when a variant is over its tolerance
    rows = {r["file"]: r for r in report["rows"]}
    assert all(r["ok"] for r in report["rows"]) and rows["model_fp32.tflite"]["max_abs"] <= 1e-4
    assert {"model_int8.tflite", "photo_int8.tflite", "model_fp16.tflite"} <= set(rows)
    meta = json.loads((tmp_path / "exp" / "metadata.json").read_text())
    assert meta["model_info"]["architecture"] == "srvgg" and meta["degradation"] == "realesrgan"
    shutil.rmtree(tmp_path / "exp")


def test_imported_x2_rrdbnet_photo_tflite_pads_odd_sizes(imported, tmp_path, photo):
    """The exported photo graph pads to the folding multiple as the Keras Upscaler does."""
    from keras_sr.export import ExportConfig
    from keras_sr.export.exporter import export
    from keras_sr.inference import Upscaler
    from keras_sr.lite import Upscaler as LiteUpscaler

    out, parity = tmp_path / "exp", tmp_path / "parity"
    parity.mkdir()
    Image.fromarray(photo[:64, :64]).save(parity / "p.png")
    export(ExportConfig(model=str(imported["rrdb_x2_basicsr"]), out=str(out), modes=["fp32"],
                        parity_data=str(parity)))
    img = photo[:23, :19]
    keras_sr_out = Upscaler(imported["rrdb_x2_basicsr"])(img).astype(int)
    for name in ("photo_fp32.tflite", "model_fp32.tflite"):
        lite = LiteUpscaler(out / name)(img).astype(int)
        assert lite.shape == (46, 38, 3) and np.abs(lite - keras_sr_out).max() <= 1, name
