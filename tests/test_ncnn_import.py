"""ncnn ``.param``/``.bin`` import (keras_sr.importers.ncnn).

Synthetic graphs written here with NumPy (fp32 and fp16 storage) are checked against a NumPy
re-implementation of ncnn's layer definitions and, when the ``ncnn`` package is installed,
against ncnn itself; Real-ESRGAN's released ncnn models in ../shared are checked against ncnn
running the same files on CPU (skipped with the reason when either is absent).
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest

from keras_sr.errors import ModelLoadError
from keras_sr.importers.ncnn import TAG_FP16, layer_name, load_ncnn

FP16_TAG = TAG_FP16.to_bytes(4, "little")


# ------------------------------------------------------------------------------ file writers

class _Model:
    """Builds a .param text and its .bin in ncnn's layout (tagged weights, fp32 biases/slopes)."""

    def __init__(self, storage: str, seed: int = 0):
        self.storage, self.rng = storage, np.random.default_rng(seed)
        self.lines, self.bin, self.w = [], bytearray(), {}
        self.blobs = set()

    def layer(self, type_, name, ins, outs, params=""):
        self.lines.append(f"{type_:<14} {name:<10} {len(ins)} {len(outs)} {' '.join(ins + outs)} {params}".rstrip())
        self.blobs.update(ins + outs)

    def tagged(self, a):
        a = np.asarray(a, np.float32).ravel()
        if self.storage == "fp16":
            h = a.astype("<f2")
            data = h.tobytes()
            self.bin += FP16_TAG + data + b"\0" * (-len(data) % 4)
            return h.astype(np.float32)  # what the file holds
        self.bin += b"\0\0\0\0" + a.astype("<f4").tobytes()
        return a

    def raw(self, a):
        a = np.asarray(a, np.float32).ravel()
        self.bin += a.astype("<f4").tobytes()
        return a

    def conv(self, name, ins, outs, c_in, c_out, k=3, bias=True, extra=""):
        w = self.tagged(self.rng.normal(0, 0.3, (c_out, c_in, k, k)))
        b = self.raw(self.rng.normal(0, 0.1, c_out)) if bias else None
        self.w[name] = (w.reshape(c_out, c_in, k, k), b)
        self.layer("Convolution", name, ins, outs,
                   f"0={c_out} 1={k} 4={k // 2} 5={int(bias)} 6={w.size} {extra}")

    def prelu(self, name, ins, outs, c):
        self.w[name] = self.raw(self.rng.uniform(0.05, 0.5, c))
        self.layer("PReLU", name, ins, outs, f"0={c}")

    def write(self, folder, stem="net"):
        text = "7767517\n" + f"{len(self.lines)} {len(self.blobs)}\n" + "\n".join(self.lines) + "\n"
        (folder / f"{stem}.param").write_text(text)
        (folder / f"{stem}.bin").write_bytes(bytes(self.bin))
        return folder / f"{stem}.param", folder / f"{stem}.bin"


def _graph_a(storage):
    """SRVGG/RRDB-like: fused LeakyReLU, PReLU, Eltwise sum with coeffs, conv -> PixelShuffle
    (mode 0, folded into the conv's weights), nearest Interp of the input, BinaryOp add."""
    m = _Model(storage, seed=1)
    m.layer("Input", "in", [], ["data"])
    m.layer("Split", "split0", ["data"], ["d0", "d1"])
    m.conv("conv0", ["d0"], ["c0"], 3, 8, extra="9=2 -23310=1,2.000000e-01")
    m.prelu("prelu0", ["c0"], ["p0"], 8)
    m.layer("Split", "split1", ["p0"], ["p0a", "p0b"])
    m.conv("conv1", ["p0a"], ["c1"], 8, 8)
    m.layer("Eltwise", "elt", ["c1", "p0b"], ["e0"], "0=1 -23301=2,2.000000e-01,1.000000e+00")
    m.conv("conv2", ["e0"], ["c2"], 8, 12)
    m.layer("PixelShuffle", "shuffle", ["c2"], ["s0"], "0=2")
    m.layer("Interp", "up", ["d1"], ["u0"], "0=1 1=2.000000e+00 2=2.000000e+00")
    m.layer("BinaryOp", "add", ["s0", "u0"], ["output"], "0=0")
    return m


def _graph_b(storage):
    """The other paths: PixelShuffle after a non-conv (1x1 permutation conv), mode 1, ReLU with
    slope, BinaryOp with a scalar, 1x1 conv without bias, Concat, fused ReLU, odd fp16 weight count."""
    m = _Model(storage, seed=2)
    m.layer("Input", "in", [], ["data"])
    m.conv("conv0", ["data"], ["c0"], 3, 12)
    m.layer("ReLU", "relu0", ["c0"], ["r0"], "0=1.000000e-01")
    m.layer("Split", "split", ["r0"], ["ra", "rb", "rc"])
    m.layer("PixelShuffle", "ps0", ["ra"], ["a"], "0=2")
    m.layer("PixelShuffle", "ps1", ["rb"], ["b"], "0=2 1=1")
    m.layer("BinaryOp", "half", ["rc"], ["h"], "0=2 1=1 2=5.000000e-01")
    m.conv("conv1", ["h"], ["c1"], 12, 3, k=1, bias=False)
    m.layer("Interp", "near", ["c1"], ["u"], "0=1 1=2.000000e+00 2=2.000000e+00")
    m.layer("Concat", "cat", ["a", "b", "u"], ["cc"], "0=0")
    m.conv("conv2", ["cc"], ["output"], 9, 3, k=1, extra="9=1")  # 27 weights: fp16 padding
    return m


# --------------------------------------------------------------- NumPy reference (NCHW, ncnn)

def _conv(x, w, b, pad):
    c_out, c_in, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    h, wd = xp.shape[1] - k + 1, xp.shape[2] - k + 1
    out = np.zeros((c_out, h, wd), np.float64)
    for i in range(k):
        for j in range(k):
            out += np.einsum("oc,chw->ohw", w[:, :, i, j], xp[:, i:i + h, j:j + wd])
    return out + (0 if b is None else b[:, None, None])


def _shuffle(x, r, mode):
    c = x.shape[0] // (r * r)
    out = np.zeros((c, x.shape[1] * r, x.shape[2] * r))
    for p in range(c):
        for i in range(r):
            for j in range(r):
                q = p * r * r + i * r + j if mode == 0 else (i * r + j) * c + p
                out[p, i::r, j::r] = x[q]
    return out


def _leaky(x, s):
    return np.where(x > 0, x, x * s)


def _reference(graph, m, x):
    """Run graph a/b on ``x`` [C, H, W] with NumPy, following ncnn's layer definitions."""
    w = m.w
    if graph == "a":
        c0 = _leaky(_conv(x, *w["conv0"], 1), 0.2)
        p0 = np.where(c0 > 0, c0, c0 * w["prelu0"][:, None, None])
        e0 = 0.2 * _conv(p0, *w["conv1"], 1) + p0
        s0 = _shuffle(_conv(e0, *w["conv2"], 1), 2, 0)
        return s0 + x.repeat(2, 1).repeat(2, 2)
    r0 = _leaky(_conv(x, *w["conv0"], 1), 0.1)
    a, b = _shuffle(r0, 2, 0), _shuffle(r0, 2, 1)
    c1 = _conv(0.5 * r0, *w["conv1"], 0)
    u = c1.repeat(2, 1).repeat(2, 2)
    return np.maximum(_conv(np.concatenate([a, b, u]), *w["conv2"], 0), 0)


def _ncnn_run(param, bin_, x_hwc, **opts):
    """ncnn on CPU: input blob 'data' (NCHW float), output blob 'output'; returns HWC."""
    import ncnn

    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    for k, v in opts.items():
        setattr(net.opt, k, v)
    assert net.load_param(str(param)) == 0 and net.load_model(str(bin_)) == 0
    chw = np.ascontiguousarray(x_hwc.transpose(2, 0, 1), np.float32)
    mat = ncnn.Mat(chw)  # wraps chw's memory: keep chw alive until extract returns
    ex = net.create_extractor()
    ex.input("data", mat)
    rc, out = ex.extract("output")
    assert rc == 0
    return np.array(out).copy().transpose(1, 2, 0)


# The reference arithmetic: fp32 blobs and direct convolution (no fp16 storage/arithmetic,
# no Winograd/sgemm transforms, no packed layout); see the module docstring of the report.
NCNN_REFERENCE_OPTS = dict(use_fp16_storage=False, use_fp16_arithmetic=False, use_fp16_packed=False,
                           use_winograd_convolution=False, use_sgemm_convolution=False,
                           use_packing_layout=False)


# --------------------------------------------------------------------------------- synthetic

@pytest.mark.parametrize("storage", ["fp32", "fp16"])
@pytest.mark.parametrize("graph", ["a", "b"])
def test_synthetic_graph_matches_numpy_reference_and_ncnn(tmp_path, graph, storage):
    m = (_graph_a if graph == "a" else _graph_b)(storage)
    param, bin_ = m.write(tmp_path)
    model = load_ncnn(param)
    x = np.random.default_rng(3).random((9, 11, 3), dtype=np.float32)
    y = model.predict(x[None], verbose=0)[0]
    ref = _reference(graph, m, x.transpose(2, 0, 1).astype(np.float64)).transpose(1, 2, 0)
    assert y.shape == (18, 22, 3) and model.sr_info.scale == 2
    assert np.abs(y - ref).max() < 1e-5
    try:
        import ncnn  # noqa: F401
    except ImportError:
        return  # the NumPy reference above still ran
    out = _ncnn_run(param, bin_, x, **NCNN_REFERENCE_OPTS)
    assert np.abs(out - ref).max() < 1e-5  # the NumPy reference reads ncnn's semantics right
    assert np.abs(y - out).max() < 1e-5


def test_synthetic_info_layers_and_keras_round_trip(tmp_path):
    import keras

    from keras_sr.export import check_exportable

    param, bin_ = _graph_a("fp16").write(tmp_path)
    model = load_ncnn(param)
    info = model.sr_info
    assert (info.architecture, info.scale, info.color_space, info.input_mode, info.degradation) == \
        ("ncnn-graph", 2, "rgb", "lr", "unknown")
    files = {s["file"]: s["sha256"] for s in info.record["imported_from"]}
    assert files == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (param, bin_)}
    assert info.record["storage"] == "fp16"
    # the mode-0 shuffle was folded into conv2's output order: no extra permutation layer
    assert not [layer.name for layer in model.layers if layer.name.endswith("_order")]
    check_exportable(model)  # no Lambda layers
    model.save(tmp_path / "m.keras")
    import keras_sr.models  # noqa: F401  (registers DepthToSpace)

    again = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    x = np.random.default_rng(0).random((1, 7, 5, 3), dtype=np.float32)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


# -------------------------------------------------------------------------------- bad input

def _one_line_error(param, bin_=None) -> str:
    with pytest.raises(ModelLoadError) as e:
        load_ncnn(param, bin_)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_param_without_its_bin(tmp_path):
    param, bin_ = _graph_a("fp32").write(tmp_path)
    bin_.unlink()
    assert "ncnn weights file not found" in _one_line_error(param)


@pytest.mark.parametrize("storage", ["fp32", "fp16"])
def test_bin_of_the_wrong_length(tmp_path, storage):
    param, bin_ = _graph_a(storage).write(tmp_path)
    data = bin_.read_bytes()
    bin_.write_bytes(data[:-6])
    assert "too short" in _one_line_error(param)
    bin_.write_bytes(data + b"\0" * 8)
    assert "8 bytes after the last weight" in _one_line_error(param)
    other = tmp_path / "other.bin"  # an explicit bin_path that does not fit
    other.write_bytes(data[: len(data) // 2])
    assert "other.bin is too short" in _one_line_error(param, other)


def test_bad_magic_and_empty_and_missing_param(tmp_path):
    param, _ = _graph_a("fp32").write(tmp_path)
    text = param.read_text()
    param.write_text(text.replace("7767517", "7767518", 1))
    assert "not an ncnn text param file" in _one_line_error(param)
    param.write_bytes(b"\x00\x01\x02\xff")
    assert "not an ncnn text param file" in _one_line_error(param)
    param.write_text("")
    assert "not an ncnn text param file" in _one_line_error(param)
    assert "no such ncnn param file" in _one_line_error(tmp_path / "nope.param")


def test_unknown_layer_types_are_named(tmp_path):
    param, _ = _graph_a("fp32").write(tmp_path)
    lines = param.read_text().splitlines()
    lines[-1] = "Deconvolution3D add 2 1 s0 u0 output 0=0"
    lines[-3] = lines[-3].replace("PixelShuffle", "Reorg", 1)
    param.write_text("\n".join(lines) + "\n")
    msg = _one_line_error(param)
    assert msg.startswith("unsupported ncnn layer type(s) Deconvolution3D, Reorg in net.param; supported: ")


@pytest.mark.parametrize("bad, expected", [
    ("Convolution conv9 1", "malformed layer line"),
    ("Convolution conv9 x 1 a b", "malformed layer line"),
    ("BinaryOp add 2 1 s0 u0", "fewer"),
    ("BinaryOp add 2 1 s0 u0 output 0=", "malformed parameter"),
    ("BinaryOp add 2 1 s0 u0 output -23300=3,1.0", "count says 3"),
])
def test_malformed_lines(tmp_path, bad, expected):
    param, _ = _graph_a("fp32").write(tmp_path)
    lines = param.read_text().splitlines()
    lines[-1] = bad
    param.write_text("\n".join(lines) + "\n")
    msg = _one_line_error(param)
    assert expected in msg and "line 13" in msg


def test_layer_count_and_unsupported_parameters(tmp_path):
    param, _ = _graph_a("fp32").write(tmp_path)
    text = param.read_text()
    param.write_text(text.replace("\n11 ", "\n12 ", 1))
    assert "announces 12 layers" in _one_line_error(param)
    for resize_type in (2, 3):  # bilinear, bicubic
        param.write_text(text.replace("0=1 1=2.000000e+00", f"0={resize_type} 1=2.000000e+00"))
        assert f"resize_type {resize_type} is not supported" in _one_line_error(param)
    param.write_text(text.replace("0=1 1=2.000000e+00 2=2.000000e+00", "0=1 1=1.500000e+00 2=1.500000e+00"))
    assert "integer upscales" in _one_line_error(param)


# ---------------------------------------------------------------- Real-ESRGAN's ncnn models

REAL = {  # stem: (architecture, hyper, params from the README / the released PyTorch networks, crop)
    "realesr-animevideov3-x4": ("srvgg", {"scale": 4, "filters": 64, "convs": 16}, 621_424, 32),
    # ONNX-style layer names (/body.0/Conv): issue #25
    "realesr-general-x4v3": ("srvgg", {"scale": 4, "filters": 64, "convs": 32}, 1_213_296, 32),
    # RRDBNet: ~17 GMAC per 32x32 tile, and ncnn's direct convolution is slow: a 16x16 crop
    "realesrgan-x4plus": ("rrdbnet", {"scale": 4, "filters": 64, "blocks": 23, "growth": 32}, 16_697_987, 16),
}


@pytest.fixture(scope="module")
def real_model():
    """``real_model(folder, stem)``: the ncnn model ``folder/stem.param`` imported once per
    module (the RRDBNet takes ~9 s); tests get ``folder`` from ``shared_path`` (skip when absent)."""
    cache = {}

    def get(folder, stem):
        if stem not in cache:
            cache[stem] = load_ncnn(folder / f"{stem}.param")
        return cache[stem]

    return get


@pytest.mark.parametrize("stem", sorted(REAL))
def test_real_esrgan_ncnn_models_match_ncnn(shared_path, real_model, stem):
    folder = shared_path("weights", "realesrgan-ncnn")
    set5 = shared_path("datasets", "Set5")
    pytest.importorskip("ncnn", reason="the ncnn package (pip install ncnn) is the reference runtime")
    from PIL import Image

    arch, hyper, params, size = REAL[stem]
    x = np.asarray(Image.open(set5 / "baby_GT.bmp").convert("RGB"))[200:200 + size, 200:200 + size]
    x = x.astype(np.float32) / 255.0
    model = real_model(folder, stem)
    info = model.sr_info
    assert (info.architecture, info.scale, info.record["hyperparameters"]) == (arch, 4, hyper)
    assert info.record["storage"] == "fp16" and model.count_params() == params
    y = np.asarray(model(x[None], training=False))[0]  # eager: tracing 1,000 layers costs more
    ref = _ncnn_run(folder / f"{stem}.param", folder / f"{stem}.bin", x, **NCNN_REFERENCE_OPTS)
    assert y.shape == ref.shape == (4 * size, 4 * size, 3)
    assert np.abs(y - ref).max() <= 2e-3


def _fp32_tflite(model, folder) -> bytes:
    """``model``'s raw signature as fp32 TFLite, through a SavedModel written as
    ``keras-sr export`` writes it (where issue #25's invalid scope names failed)."""
    from keras_sr._backend import keras, tf
    from keras_sr.export import _quiet, check_exportable, convert
    from keras_sr.export.graphs import raw_fn

    check_exportable(model)
    archive = keras().export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name="serve", fn=raw_fn(model),
                         input_signature=[tf().TensorSpec([None, None, None, 3], tf().float32)])
    _quiet(archive.write_out, str(folder))
    return convert(folder, "serve", "fp32")


@pytest.mark.parametrize("graph", ["a", "b"])
def test_synthetic_models_convert_to_tflite_builtins_with_parity(tmp_path, graph):
    pytest.importorskip("ai_edge_litert", reason="LiteRT (ai-edge-litert) runs the converted model")
    from keras_sr.export import interpreter, run_tflite, tflite_ops

    param, _ = (_graph_a if graph == "a" else _graph_b)("fp16").write(tmp_path)
    model = load_ncnn(param)
    content = _fp32_tflite(model, tmp_path / "saved")
    ops = tflite_ops(content)
    assert "DEPTH_TO_SPACE" in ops and not [op for op in ops if op.startswith("Flex")]
    x = np.random.default_rng(4).random((1, 10, 12, 3), dtype=np.float32)
    out = run_tflite(interpreter(content), x)
    np.testing.assert_allclose(out, model.predict(x, verbose=0), atol=1e-5)


# ------------------------------------------------------------------ layer names (issue #25)

# What every format accepts: Keras refuses "/", TensorFlow's SavedModel a variable scope that
# starts with "_" or "-" ('_body_54_Conv/kernel' is not a valid root scope name); written
# here, not imported from keras_sr, so the test does not share the importer's rule.
VALID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@pytest.mark.parametrize("base, expected", [
    ("/body.54/Conv", "body_54_Conv"), ("/upsampler/DepthToSpace", "upsampler_DepthToSpace"),
    ("/Add", "Add"), ("Conv_0", "Conv_0"), ("703", "n703"), ("_x__y_", "x__y"), ("..", "layer"),
    ("/0/Conv", "n0_Conv"), ("conv0_relu", "conv0_relu")])
def test_layer_name_of_onnx_style_and_odd_names(base, expected):
    assert layer_name(base) == expected and VALID.match(expected)


def test_onnx_style_names_import_and_export(tmp_path):
    """Graph a with the names an ONNX -> ncnn conversion writes (/body.0/Conv, /Add), plus a
    layer called 'lr' (the Input's name) and two that clean to the same name."""
    pytest.importorskip("ai_edge_litert", reason="LiteRT (ai-edge-litert) runs the converted model")
    from keras_sr.export import interpreter, run_tflite

    m = _graph_a("fp32")
    param, bin_ = m.write(tmp_path, "plain")
    renames = {"conv0": "/body.0/Conv", "prelu0": "/body.1/PRelu", "conv1": "lr", "elt": "/body.2/Add",
               "conv2": "/body.2.Add", "shuffle": "/upsampler/DepthToSpace", "up": "/Resize", "add": "/Add"}
    lines = param.read_text().splitlines()
    for i, line in enumerate(lines[2:], 2):
        tok = line.split()
        tok[1] = renames.get(tok[1], tok[1])
        lines[i] = " ".join(tok)
    onnx = tmp_path / "onnx.param"
    onnx.write_text("\n".join(lines) + "\n")
    (tmp_path / "onnx.bin").write_bytes(bin_.read_bytes())
    model = load_ncnn(onnx)
    names = [layer.name for layer in model.layers]
    assert all(VALID.match(n) for n in names), names
    assert len(set(names)) == len(names) and names.count("lr") == 1
    assert {"body_0_Conv", "body_2_Add", "body_2_Add_2", "Add"} <= set(names)
    x = np.random.default_rng(5).random((1, 9, 7, 3), dtype=np.float32)
    y = model.predict(x, verbose=0)
    # the names change nothing else: same output as the plainly named file
    np.testing.assert_array_equal(y, load_ncnn(param).predict(x, verbose=0))
    out = run_tflite(interpreter(_fp32_tflite(model, tmp_path / "saved")), x)
    np.testing.assert_allclose(out, y, atol=1e-5)


# The 16.7M-parameter RRDBNet's SavedModel + fp32 conversion took 32-58 s on 2 shared cores
# (plus 5-9 s of import; a 67 MB file): its names are checked here, its export is not repeated in every CI run.
EXPORTED = ("realesr-animevideov3-x4", "realesr-general-x4v3")


@pytest.mark.parametrize("stem", sorted(REAL))
def test_real_esrgan_ncnn_names_valid_and_compact_models_export(tmp_path, shared_path, real_model, stem):
    model = real_model(shared_path("weights", "realesrgan-ncnn"), stem)
    bad = [layer.name for layer in model.layers if not VALID.match(layer.name)]
    assert not bad and VALID.match(model.name), bad[:5]
    if stem not in EXPORTED:
        return
    pytest.importorskip("ai_edge_litert", reason="LiteRT (ai-edge-litert) runs the converted model")
    from keras_sr.export import interpreter, run_tflite, tflite_ops

    content = _fp32_tflite(model, tmp_path / "saved")
    assert not [op for op in tflite_ops(content) if op.startswith("Flex")]
    x = np.random.default_rng(6).random((1, 12, 10, 3), dtype=np.float32)
    out = run_tflite(interpreter(content), x)
    assert out.shape == (1, 48, 40, 3)
    np.testing.assert_allclose(out, np.asarray(model(x, training=False)), atol=1e-4)
