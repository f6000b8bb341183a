"""Paper protocol: bicubic baselines and the official SRCNN 9-5-5 numbers (need ../shared)."""

import numpy as np
import pytest

from keras_sr.data.datasets import resolve_dataset
from keras_sr.errors import KerasSRError, UsageError
from keras_sr.evaluation import metrics
from keras_sr.evaluation.evaluate import evaluate

# Published (../shared/datasets/README.md): PSNR dB, SSIM
BICUBIC = {("Set5", 2): (33.66, 0.9299), ("Set5", 3): (30.39, 0.8682), ("Set5", 4): (28.42, 0.8104),
           ("Set14", 2): (30.24, 0.8688), ("Set14", 3): (27.55, 0.7742), ("Set14", 4): (26.00, 0.7027)}
SRCNN_955 = {("Set5", 2): 36.66, ("Set5", 3): 32.75, ("Set5", 4): 30.48,
             ("Set14", 2): 32.45, ("Set14", 3): 29.30, ("Set14", 4): 27.50}


@pytest.mark.parametrize("dataset,scale", sorted(BICUBIC))
def test_bicubic_baseline_matches_published(shared_path, dataset, scale):
    means = evaluate(None, shared_path("datasets", dataset), scale).means()
    psnr, ssim = BICUBIC[(dataset, scale)]
    assert abs(means["bicubic_psnr"] - psnr) <= 0.02, means
    assert abs(means["bicubic_ssim"] - ssim) <= 0.001, means


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_official_srcnn_955_reproduces_published(shared_path, scale, tmp_path):
    from keras_sr.models.convert import srcnn_from_mat
    from keras_sr.models.info import save_with_info

    model = srcnn_from_mat(shared_path("weights", "srcnn-matlab", "9-5-5_ImageNet", f"x{scale}.mat"))
    path = save_with_info(model, tmp_path / "m.keras", model.sr_info)  # through a .keras file
    for dataset in ("Set5", "Set14"):
        means = evaluate(str(path), shared_path("datasets", dataset), scale).means()
        assert abs(means["model_psnr"] - SRCNN_955[(dataset, scale)]) <= 0.10, (dataset, means)


def test_psnr_and_ssim_hand_checked_values():
    a = np.zeros((10, 10))
    b = np.full((10, 10), 5.0)
    assert metrics.psnr(a, b) == pytest.approx(10 * np.log10(255**2 / 25))
    b[0, :] = 100  # only the border row differs after shaving 1 px -> identical inside
    b[1:, :] = 0
    assert metrics.psnr(a, b, shave=1) == float("inf")
    x = np.random.default_rng(0).random((32, 32)) * 255
    assert metrics.ssim(x, x) == pytest.approx(1.0)
    assert metrics.ssim(x, 255 - x) < 0
    with pytest.raises(ValueError, match="too small"):
        metrics.psnr(np.zeros((4, 4)), np.zeros((4, 4)), shave=2)


def test_color_bias_hand_checked_values():
    rng = np.random.default_rng(1)
    hr = rng.random((20, 24, 3)) * 200 + 20
    cast = hr + np.array([1.5, -1.5, 1.5])  # a magenta cast of 1.5 levels
    assert metrics.color_bias(hr, cast) == pytest.approx(1.5)
    assert metrics.color_bias(hr, hr + np.array([3.0, -2.0, 0.0])) == pytest.approx(5.0 / 3.0)
    noisy = hr + rng.normal(0, 20, hr.shape)  # strong zero-mean noise is no bias
    assert metrics.color_bias(hr, noisy) < 0.5 and metrics.psnr(hr, noisy) < 23
    border = hr.copy()
    border[0] += 50  # only the shaved border differs
    assert metrics.color_bias(hr, border) > 1 and metrics.color_bias(hr, border, shave=1) == 0
    assert metrics.color_bias(hr[..., 0], hr[..., 0] - 2) == pytest.approx(2.0)  # one channel


def test_evaluate_reports_color_bias_of_a_cast(tmp_path, tiny_set):
    """A model that adds a fixed cast scores that cast (within 8-bit rounding), bicubic ~0."""
    from keras_sr._backend import keras
    from keras_sr.models import ModelInfo, save_with_info
    from keras_sr.models.layers import DepthToSpace

    k = keras()
    x = inputs = k.Input((None, None, 3))
    cast = k.layers.Conv2D(12, 1, name="cast")  # each channel 4 times, plus the cast: nearest x2
    x = DepthToSpace(2)(cast(x))
    model = k.Model(inputs, x)
    cast.set_weights([np.tile(np.eye(3, dtype=np.float32), (1, 4))[None, None],
                      np.tile(np.array([2, -1, 0], np.float32) / 255.0, 4)])
    path = save_with_info(model, tmp_path / "cast.keras", ModelInfo("custom", 2, color_space="rgb", input_mode="lr"))
    r = evaluate(str(path), [tiny_set / "one.png", tiny_set / "two.png"], 2, metric_names=("psnr", "bias"))
    m = r.means()
    assert m["bicubic_bias"] < 0.1
    assert m["model_bias"] == pytest.approx(1.0, abs=0.1)  # (2 + 1 + 0) / 3
    assert m["delta_bias"] == pytest.approx(m["model_bias"] - m["bicubic_bias"])
    assert r.summary()["per_metric"]["bias"]["worse_count"] == 2  # higher bias is worse


def test_dataset_names_resolve_from_a_root(tmp_path, monkeypatch):
    (tmp_path / "Set5").mkdir()
    assert resolve_dataset("set5", tmp_path) == tmp_path / "Set5"
    monkeypatch.setenv("KERAS_SR_DATA", str(tmp_path))
    assert resolve_dataset("Set5") == tmp_path / "Set5"
    with pytest.raises(KerasSRError, match="'Urban100' not found .*found: Set5"):
        resolve_dataset("Urban100")
    monkeypatch.delenv("KERAS_SR_DATA")
    with pytest.raises(UsageError, match="--data-root"):
        resolve_dataset("Urban100")


# -- MATLAB imresize reference (1-D contributions, as in MATLAB's imresize.m) ----------------
def _matlab_resize_1d(vec, out_len):
    scale = out_len / len(vec)
    width = 4.0 / scale if scale < 1 else 4.0

    def cubic(x):
        a = np.abs(x)
        return ((1.5 * a**3 - 2.5 * a**2 + 1) * (a <= 1)
                + (-0.5 * a**3 + 2.5 * a**2 - 4 * a + 2) * ((a > 1) & (a <= 2)))

    kernel = (lambda x: scale * cubic(scale * x)) if scale < 1 else cubic
    x = np.arange(1, out_len + 1)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    idx = left[:, None] + np.arange(int(np.ceil(width)) + 2)[None]
    w = kernel(u[:, None] - idx)
    w /= w.sum(1, keepdims=True)
    mirror = np.concatenate([np.arange(len(vec)), np.arange(len(vec))[::-1]])
    idx = mirror[(idx.astype(int) - 1) % len(mirror)]
    return (w * vec[idx]).sum(1)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_matches_matlab_imresize_on_known_vectors(scale):
    from keras_sr.data.degradations import get_degradation

    rng = np.random.default_rng(scale)
    row = rng.random(48 * scale // 2 * 2).astype(np.float64)
    img = np.tile(row[None, :, None], (4 * scale, 1, 1)).astype(np.float32)
    ours = np.asarray(get_degradation("bicubic").downscale(img, scale, quantize_output=False))[1, :, 0]
    ref = _matlab_resize_1d(row, len(row) // scale)
    inner = slice(2, -2)  # MATLAB mirrors at the borders; interiors must agree exactly
    np.testing.assert_allclose(ours[inner], np.clip(ref[inner], 0, 1), atol=2e-6)
    up = np.asarray(get_degradation("bicubic").upscale(ours[None, :, None].repeat(4, 0), size=(4, len(row))))
    np.testing.assert_allclose(up[1, 8:-8, 0], np.clip(_matlab_resize_1d(ours.astype(np.float64), len(row)), 0, 1)[8:-8],
                               atol=2e-6)


# -- reports, guards ---------------------------------------------------------------------
@pytest.fixture()
def tiny_set(tmp_path, photo):
    d = tmp_path / "set"
    d.mkdir()
    from PIL import Image

    Image.fromarray(photo[:, :96]).save(d / "one.png")
    Image.fromarray(photo[:64, 32:]).save(d / "two.png")
    Image.fromarray(photo[10:74, 10:90, 1]).save(d / "three.png")
    return d


def _identity_plus(tmp_path, record=None, degradation="bicubic", scale=2):
    """A 'same' SRCNN whose weights make it nearly the identity, saved with a record."""
    from keras_sr.models import ModelInfo, build_model, save_with_info

    model = build_model("srcnn", scale, padding="same")
    w = [np.zeros_like(a) for a in model.get_weights()]
    w[0][4, 4, 0, 0] = 1.0
    w[2][1, 1, 0, 0] = 1.0
    w[4][2, 2, 0, 0] = 1.02  # slight contrast boost: changes numbers a little, per image
    model.set_weights(w)
    info = ModelInfo("srcnn", scale, degradation=degradation, record=record or {})
    return save_with_info(model, tmp_path / "m.keras", info)


def test_report_files_and_contents(tmp_path, tiny_set):
    import csv
    import json

    from keras_sr.evaluation.report import write_report

    result = evaluate(str(_identity_plus(tmp_path)), tiny_set, 2, keep_outputs=True)
    paths = write_report(result, tmp_path / "report")
    rows = list(csv.DictReader(open(paths["csv"])))
    assert [r["name"] for r in rows] == ["one", "three", "two"]
    for col in ("bicubic_mse", "model_mse", "bicubic_psnr", "model_ssim", "delta_psnr", "delta_mse"):
        assert col in rows[0]
    summary = json.loads(paths["json"].read_text())
    deltas = [float(r["delta_mse"]) for r in rows]
    assert summary["summary"]["per_metric"]["mse"]["improved_pct"] == pytest.approx(
        100 * np.mean([d < 0 for d in deltas]))
    assert summary["summary"]["per_metric"]["psnr"]["worse_count"] == sum(float(r["delta_psnr"]) < 0 for r in rows)
    assert summary["comparable"] is True and summary["leaked_files"] == []
    for key in ("hist", "best_worst"):
        assert paths[key].stat().st_size > 10_000
    assert "improved over bicubic" in paths["txt"].read_text()


def test_leakage_guard_warns_and_marks(tmp_path, tiny_set):
    from keras_sr.data.io import sha256_file
    from keras_sr.inference import KerasSRWarning

    record = {"data": {"files": [{"name": "x.png", "sha256": sha256_file(tiny_set / "two.png")}]}}
    with pytest.warns(KerasSRWarning, match="LEAKAGE: 1 evaluation image.*two.png"):
        result = evaluate(str(_identity_plus(tmp_path, record)), tiny_set, 2)
    assert result.leaked_files == ["two.png"] and result.comparable is False
    from keras_sr.evaluation.report import format_table

    assert "NOT COMPARABLE" in format_table(result)


def test_degradation_and_scale_guards(tmp_path, tiny_set):
    from keras_sr.inference import KerasSRWarning

    path = _identity_plus(tmp_path, degradation="bilinear-legacy")
    with pytest.warns(KerasSRWarning, match="'bilinear-legacy' degradation.*not comparable"):
        result = evaluate(str(path), tiny_set, 2)
    assert result.comparable is False
    with pytest.raises(UsageError, match="model is x2 but --factor is 3"):
        evaluate(str(path), tiny_set, 3, strict_scale=True)


def test_compare_counts_wins_and_ties(tmp_path, tiny_set):
    from keras_sr.evaluation.report import compare

    names = ("psnr", "ssim", "bias")
    a = evaluate(str(_identity_plus(tmp_path)), tiny_set, 2, metric_names=names)
    b = evaluate(None, tiny_set, 2, metric_names=names)
    for r in b.rows:  # the baseline as "model B"
        for m in ("mse",) + names:
            r[f"model_{m}"] = r[f"bicubic_{m}"]
    cmp = compare(a, b)
    psnr = cmp["per_metric"]["psnr"]
    assert psnr["a_wins"] + psnr["ties"] + psnr["b_wins"] == 3
    assert psnr["mean_a_minus_b"] == pytest.approx(np.mean([r["delta_psnr"] for r in a.rows]))
    bias = cmp["per_metric"]["bias"]  # lower is better: A's extra contrast is a cast on most images
    assert bias["mean_a_minus_b"] == pytest.approx(np.mean([r["delta_bias"] for r in a.rows]))
    assert bias["b_wins"] == sum(r["delta_bias"] > 0.01 for r in a.rows)


def test_protocol_overrides_rgb_and_shave(tmp_path, tiny_set):
    from keras_sr.evaluation.protocol import get_protocol

    model = str(_identity_plus(tmp_path))
    y = evaluate(model, tiny_set, 2).means()
    rgb = evaluate(model, tiny_set, 2, protocol=get_protocol("paper", color="rgb")).means()
    no_shave = evaluate(model, tiny_set, 2, protocol=get_protocol("paper", shave=0)).means()
    # RGB PSNR of bicubic is lower than Y PSNR (chroma errors), and the border costs dB
    assert rgb["bicubic_psnr"] < y["bicubic_psnr"] - 0.3
    assert no_shave["bicubic_psnr"] < y["bicubic_psnr"]
    with pytest.raises(UsageError, match="shave must be >= 0"):
        get_protocol("paper", shave=-1)
