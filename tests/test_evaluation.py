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
