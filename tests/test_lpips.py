"""LPIPS v0.1 against the official values on the calibration pairs (needs ../shared)."""

import json

import numpy as np
import pytest
from PIL import Image

from keras_sr.errors import KerasSRError
from keras_sr.evaluation.lpips import get_lpips, lpips


def _pairs(shared_path):
    root = shared_path("weights", "perceptual", "calibration")
    cal = json.loads((root / "calibration.json").read_text())
    for p in cal["pairs"]:
        ref = np.asarray(Image.open(root / p["reference"]), np.float32) / 255.0
        dist = np.asarray(Image.open(root / p["distorted"]), np.float32) / 255.0
        yield p, ref, dist


def test_lpips_alex_matches_official_calibration_values(shared_path):
    weights = shared_path("weights", "perceptual", "lpips_alex_v0.1.npz")
    for p, ref, dist in _pairs(shared_path):
        ours = float(lpips(dist, ref, weights=weights))
        official = p["official"]["lpips_alex_v0.1"]
        decimals = len(repr(official).split(".")[1])  # agree to the official value's printed precision
        assert abs(ours - official) <= 0.5 * 10.0**-decimals + 1e-9, (p["name"], ours, official)
        assert float(lpips(ref, dist, weights=weights)) == pytest.approx(ours, abs=1e-5)  # symmetric


def test_lpips_vgg_matches_regression_values(shared_path):
    weights = shared_path("weights", "perceptual", "lpips_vgg16_v0.1.npz")
    model = get_lpips("vgg", str(weights))  # the 59 MB file is loaded once
    for p, ref, dist in _pairs(shared_path):
        assert float(model(dist, ref)) == pytest.approx(p["measured_here"]["lpips_vgg_v0.1"], abs=1e-5)


def test_lpips_identical_images_is_zero_and_batches(shared_path):
    model = get_lpips("alex", str(shared_path("weights", "perceptual", "lpips_alex_v0.1.npz")))
    x = np.random.default_rng(0).random((2, 64, 80, 3), dtype=np.float32)
    np.testing.assert_allclose(model(x, x), 0.0, atol=1e-7)
    assert model(x, x[::-1]).shape == (2,)


def test_missing_or_wrong_weight_files(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_SR_CACHE", str(tmp_path))
    monkeypatch.delenv("KERAS_SR_WEIGHTS", raising=False)
    with pytest.raises(KerasSRError, match="not found .*nothing is downloaded"):
        get_lpips.__wrapped__("alex")
    bad = tmp_path / "bad.npz"
    np.savez(bad, **{"features/conv1/kernel": np.zeros((3, 3, 3, 64), np.float32)})
    with pytest.raises(KerasSRError, match="missing array|expects"):
        get_lpips.__wrapped__("alex", str(bad))


def test_the_vgg16_file_is_read_once_for_lpips_and_the_content_loss(shared_path, monkeypatch):
    """LPIPS-VGG (metric and loss term) and the VGG content loss share one read of the 59 MB file."""
    import keras_sr.evaluation.lpips as lp

    weights = str(shared_path("weights", "perceptual", "lpips_vgg16_v0.1.npz"))
    reads = []
    real = np.load
    monkeypatch.setattr(lp.np, "load", lambda *a, **k: reads.append(a[0]) or real(*a, **k))
    lp.get_lpips.__wrapped__("vgg", weights)  # fresh models, not the cached ones
    lp.vgg16_features.__wrapped__("conv2_2", weights)
    assert len(reads) <= 1, reads  # 0 when an earlier test already read it
