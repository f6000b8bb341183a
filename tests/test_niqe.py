"""NIQE against the official MATLAB value, its conventions, and ``keras-sr evaluate --metrics niqe``
on sets with and without ground truth. Tests that need ../shared skip with the reason."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from cli_helpers import assert_one_line_error, run
from keras_sr.errors import KerasSRError
from keras_sr.evaluation import niqe as N

MATLAB_BABOON = 5.72957338  # official MATLAB R2021a niqe_release on calibration/baboon.png
PUBLISHED_REALSRSET_BICUBIC_X4 = 7.72  # mean of the 20 images, Y, no crop


@pytest.fixture()
def params(shared_path):
    return shared_path("weights", "niqe", "niqe_pris_params.npz")


def _realsrset(shared_path, tmp_path, names):
    """A folder named RealSRSet holding links to some of the shared RealSRSet images."""
    src = shared_path("datasets", "RealSRSet")
    d = tmp_path / "RealSRSet"
    d.mkdir()
    for n in names:
        (d / n).symlink_to(src / n)
    return d


# -- the metric -----------------------------------------------------------------------------
def test_calibration_matches_matlab(params, shared_path):
    img = np.asarray(Image.open(shared_path("weights", "niqe", "calibration", "baboon.png")))
    ours = N.niqe_of_uint8(img, str(params))
    # The issue asks for 0.001; 1e-4 also catches the flat-region round-off (~4e-4 here).
    assert abs(ours - MATLAB_BABOON) <= 1e-4, ours


def test_flat_regions_give_exact_zero_mscn(params):
    _, _, window = N.load_params(str(params))
    rng = np.random.default_rng(0)
    im = np.round(rng.random((60, 60)) * 255)
    im[:, 30:] = 117.0  # flat right half
    coeffs = N.mscn(im, window)
    assert np.all(coeffs[:, 34:] == 0.0)  # neighbourhood entirely flat: exactly zero
    assert np.all(coeffs[:, :27] != 0.0)


def test_aggd_fit_recovers_known_shapes():
    """Gaussian samples fit alpha = 2 with beta = sigma * sqrt(2); Laplacian ones alpha = 1."""
    rng = np.random.default_rng(1)
    alpha, bl, br = N.aggd_params(rng.normal(0, 3, 200_000))
    assert alpha == pytest.approx(2.0, abs=0.05)
    assert bl == pytest.approx(3 * np.sqrt(2), rel=0.02)
    assert br == pytest.approx(3 * np.sqrt(2), rel=0.02)
    assert N.aggd_params(rng.laplace(0, 1, 200_000))[0] == pytest.approx(1.0, abs=0.05)
    assert all(np.isnan(N.aggd_params(np.zeros(100))))  # no side: undefined, as MATLAB


def test_imresize_half_matches_tf_antialiased_bicubic():
    """The float64 MATLAB imresize used for the second scale agrees with the TF one that
    test_evaluation pins to MATLAB (interior; the borders are mirrored only here)."""
    from keras_sr.data.degradations import bicubic_resize

    rng = np.random.default_rng(2)
    im = rng.random((96, 192))
    ours = N.imresize(im, 0.5)
    tf_out = np.asarray(bicubic_resize(im[..., None].astype(np.float32), (48, 96)))[..., 0]
    assert ours.shape == (48, 96)
    np.testing.assert_allclose(ours[3:-3, 3:-3], np.clip(tf_out, 0, 1)[3:-3, 3:-3], atol=2e-6)
    assert np.all(N.imresize(np.full((96, 96), 117.0), 0.5) == 117.0)


def test_image_smaller_than_one_block_is_one_line_error(params):
    with pytest.raises(KerasSRError, match=r"image small\.png \(200x95\) is smaller than one 96x96"):
        N.niqe(np.zeros((95, 200)), str(params), name="small.png")
    flat = np.full((96, 96), 50.0)
    with pytest.raises(KerasSRError, match="undefined for image flat"):
        N.niqe(flat, str(params), name="flat")


def test_params_lookup(tmp_path, monkeypatch, params):
    monkeypatch.setattr(N, "CHECKOUT_SHARED", tmp_path / "none")
    monkeypatch.setenv("KERAS_SR_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("KERAS_SR_WEIGHTS", raising=False)
    with pytest.raises(KerasSRError, match="niqe_pris_params.npz not found .*--niqe-params"):
        N.find_params()
    (tmp_path / "w" / "niqe").mkdir(parents=True)
    (tmp_path / "w" / "niqe" / N.FILE).symlink_to(params)
    monkeypatch.setenv("KERAS_SR_WEIGHTS", str(tmp_path / "w"))  # the shared weights root works
    assert N.find_params() == tmp_path / "w" / "niqe" / N.FILE
    with pytest.raises(KerasSRError, match="not found: .*nope.npz"):
        N.find_params(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, mu_pris_param=np.zeros(3))
    with pytest.raises(KerasSRError, match="not a readable NIQE parameter file"):
        N.load_params(bad)


# -- keras-sr evaluate ----------------------------------------------------------------------
@pytest.fixture()
def hr_folder(tmp_path):
    import skimage.data

    d = tmp_path / "hr"
    d.mkdir()
    Image.fromarray(skimage.data.astronaut()[20:220, 150:370]).save(d / "astro.png")
    Image.fromarray(skimage.data.camera()[100:292, 200:392]).save(d / "camera_gray.png")
    return d


def test_evaluate_niqe_on_a_set_with_hr(hr_folder, params):
    r = run("evaluate", "-m", "fsrcnn-x2", "--dataset", hr_folder, "-f", "2", "--metrics", "psnr,niqe",
            "--niqe-params", params, "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["metrics"] == ["mse", "psnr", "niqe"]
    for row in data["rows"]:
        assert 2 < row["bicubic_niqe"] < 20 and 2 < row["model_niqe"] < 20
        assert row["delta_niqe"] == pytest.approx(row["model_niqe"] - row["bicubic_niqe"])
    assert "niqe" in data["summary"]["per_metric"]
    # the bicubic column is NIQE of the protocol's 8-bit bicubic Y (independent recomputation)
    from keras_sr.evaluation.evaluate import evaluate

    res = evaluate(None, hr_folder, 2, metric_names=("niqe",), niqe_params=params)
    assert [x["bicubic_niqe"] for x in res.rows] == pytest.approx([x["bicubic_niqe"] for x in data["rows"]])
    table = run("evaluate", "-m", "fsrcnn-x2", "--dataset", hr_folder, "-f", "2", "--metrics", "niqe",
                "--niqe-params", params).stdout
    assert "bicubic NIQE" in table and "gain NIQE" in table


def test_realsrset_scores_model_and_bicubic_upscales(shared_path, tmp_path, params):
    names = ["chip.png", "comic1.png", "Lincoln.png"]
    folder = _realsrset(shared_path, tmp_path, names)
    r = run("evaluate", "-m", "fsrcnn-x4", "--dataset", folder, "-f", "4", "--niqe-params", params,
            "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["protocol"] == "no-reference" and data["metrics"] == ["niqe"]
    assert [row["name"] for row in data["rows"]] == ["Lincoln", "chip", "comic1"]
    for row, n in zip(data["rows"], sorted(names)):
        lr = np.asarray(Image.open(folder / n).convert("RGB"))
        assert (row["height"], row["width"]) == (4 * lr.shape[0], 4 * lr.shape[1])
        # independent bicubic: float64 MATLAB imresize x4 of each RGB plane, rounded to 8 bit
        up = np.stack([np.clip(np.round(N.imresize(lr[..., c].astype(np.float64), 4)), 0, 255)
                       for c in range(3)], axis=-1).astype(np.uint8)
        # TF's float32 resize rounds a few pixels the other way: <= 0.01 NIQE on these images
        assert row["bicubic_niqe"] == pytest.approx(N.niqe_of_uint8(up, str(params)), abs=0.02)
        assert "model_niqe" in row and "bicubic_psnr" not in row
    # --no-reference makes any folder a set without ground truth: the same numbers
    other = tmp_path / "photos"
    other.mkdir()
    (other / "chip.png").symlink_to(folder / "chip.png")
    r2 = run("evaluate", "-m", "fsrcnn-x4", "--dataset", other, "-f", "4", "--no-reference",
             "--metrics", "niqe", "--niqe-params", params, "--json")
    assert r2.exit_code == 0, r2.output
    assert json.loads(r2.stdout)["rows"][0]["model_niqe"] == pytest.approx(data["rows"][1]["model_niqe"])


def test_realsrset_bicubic_mean(shared_path, params):
    """Bicubic x4 on all 20 images (~10 s). The published 7.72 does not say which bicubic:
    measured here, MATLAB imresize gives 7.805, PIL 7.747, OpenCV/PyTorch (a = -0.75) 7.937,
    so implementations span about +-0.1 and that is the tolerance against the published value;
    our own number (MATLAB-equivalent bicubic, calibrated NIQE) is pinned tighter."""
    from keras_sr.evaluation.no_reference import evaluate_no_reference

    res = evaluate_no_reference(None, shared_path("datasets", "RealSRSet"), 4, niqe_params=params)
    mean = res.means()["bicubic_niqe"]
    assert len(res.rows) == 20
    assert abs(mean - PUBLISHED_REALSRSET_BICUBIC_X4) <= 0.1, mean
    assert mean == pytest.approx(7.806, abs=0.005)


def test_no_reference_set_refuses_other_metrics(tmp_path):
    d = tmp_path / "RealSRSet"
    d.mkdir()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(d / "a.png")
    for metrics in ("psnr", "niqe,ssim", "lpips"):
        assert_one_line_error(run("evaluate", "-m", "fsrcnn-x4", "--dataset", d, "-f", "4", "--metrics",
                                  metrics), 2, "NIQE is the only metric without ground truth")
    assert_one_line_error(run("evaluate", "-m", "fsrcnn-x4", "--dataset", tmp_path, "-f", "4",
                              "--no-reference", "--shave", "4"), 2, "do not apply")
    assert_one_line_error(run("compare", "fsrcnn-x4", "srcnn-x4", "--dataset", d, "-f", "4", "--figure",
                              tmp_path / "f.png"), 2, "--figure needs a set with ground truth")
    assert not (tmp_path / "f.png").exists()


def test_small_real_image_error_names_it(tmp_path, params):
    d = tmp_path / "RealSRSet"
    d.mkdir()
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(d / "tiny.png")
    assert_one_line_error(run("evaluate", "-m", "fsrcnn-x4", "--dataset", d, "-f", "4",
                              "--niqe-params", params),
                          1, "image tiny.png upscaled x4 (120x80) is smaller than one 96x96")
