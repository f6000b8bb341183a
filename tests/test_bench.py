"""keras_sr.bench and keras_sr.export.delegate_info: which delegate runs each TFLite variant."""

from __future__ import annotations

import re

import numpy as np
import pytest

from keras_sr.export import DELEGATES, delegate_info, interpreter, run_tflite


def _tflite(fn, spec) -> bytes:
    from keras_sr._backend import tf

    t = tf()
    concrete = t.function(fn, input_signature=[spec]).get_concrete_function()
    return t.lite.TFLiteConverter.from_concrete_functions([concrete]).convert()


def _conv_graph(cast: bool) -> bytes:
    from keras_sr._backend import tf

    t = tf()
    w = t.constant(np.random.default_rng(0).normal(size=(3, 3, 3, 8)).astype(np.float32))

    def fn(x):
        x = t.cast(x, t.float32) if cast else x
        return t.nn.relu(t.nn.conv2d(x, w, 1, "SAME"))

    return _tflite(fn, t.TensorSpec([1, 16, 16, 3], t.uint8 if cast else t.float32))


def test_delegate_info_tells_xnnpack_from_builtin_kernels():
    content = _conv_graph(cast=False)
    it = interpreter(content)
    run_tflite(it, np.zeros((1, 16, 16, 3), np.float32))
    d = delegate_info(it)
    assert d["delegate"] == "XNNPACK" and d["partitions"] == 1
    assert d["delegated"] == d["ops"] >= 1 and d["cpu_ops"] == []
    off = interpreter(content, delegates=False)  # BUILTIN_WITHOUT_DEFAULT_DELEGATES
    run_tflite(off, np.zeros((1, 16, 16, 3), np.float32))
    d = delegate_info(off)
    assert d["delegate"] == "none (builtin kernels)" and d["delegated"] == 0 and d["partitions"] == 0


def test_delegate_info_names_the_ops_left_to_builtin_kernels():
    # XNNPACK has no uint8 -> float CAST: that op stays on LiteRT's kernels, the conv does not
    it = interpreter(_conv_graph(cast=True))
    run_tflite(it, np.zeros((1, 16, 16, 3), np.uint8))
    d = delegate_info(it)
    assert d["delegate"] == "XNNPACK" and d["cpu_ops"] == ["CAST"]
    assert d["delegated"] == d["ops"] - 1


@pytest.fixture(scope="module")
def tiny_abpn(tmp_path_factory):
    from keras_sr.models import ModelInfo, build_model, save_with_info

    model = build_model("abpn", 3, filters=4, convs=1)
    return save_with_info(model, tmp_path_factory.mktemp("abpn") / "abpn.keras",
                          ModelInfo("abpn", 3, input_mode="lr", color_space="y-bt601"))


def test_bench_rows_say_which_delegate_ran(tiny_abpn):
    from keras_sr.bench import bench, format_bench

    result = bench(str(tiny_abpn), sizes=(24,), modes=("fp32", "int8"), runs=3, warmup=1, threads=2)
    rows = [r for r in result["rows"] if r["backend"].startswith("tflite")]
    assert {r["backend"] for r in rows} == {"tflite fp32", "tflite int8"}
    for r in rows:
        assert r["delegate"] in DELEGATES
        k, n = (int(v) for v in re.fullmatch(r"(\d+)/(\d+)", r["delegated_ops"]).groups())
        assert 0 <= k <= n and isinstance(r["cpu_ops"], list)
    assert "XNNPACK (" in format_bench(result)
    # ABPN's 9-way anchor concat is exported as a 1x1 conv: the fp32 model runs whole in XNNPACK
    fp32 = next(r for r in rows if r["backend"] == "tflite fp32")
    assert fp32["delegate"] == "XNNPACK" and fp32["cpu_ops"] == []


def test_bench_of_one_mode_without_fp32(tiny_abpn):
    """`keras-sr bench MODEL --modes int8` (no fp32 row): the export's SavedModel check still has
    its fp32 tolerance (it was a KeyError)."""
    from keras_sr.bench import bench

    result = bench(str(tiny_abpn), sizes=(24,), modes=("int8",), runs=3, warmup=1, threads=2)
    assert [r["backend"] for r in result["rows"]] == ["keras fp32", "tflite int8"]


def test_anchor_rewrite_is_exact_and_delegated(tiny_abpn):
    from keras_sr.export.graphs import repeat_as_conv
    from keras_sr.models.loading import load_model

    model = load_model(str(tiny_abpn))
    rewritten = repeat_as_conv(model)
    assert rewritten is not model
    assert "Concatenate" not in {type(layer).__name__ for layer in rewritten.layers}
    x = np.random.default_rng(1).random((2, 9, 11, 1)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(rewritten(x)), np.asarray(model(x)))
    espcn = load_model("espcn-x2")
    assert repeat_as_conv(espcn) is espcn
