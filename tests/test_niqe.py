"""NIQE against the official MATLAB value and its conventions. Tests that need ../shared skip
with the reason."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from keras_sr.errors import KerasSRError
from keras_sr.evaluation import niqe as N

MATLAB_BABOON = 5.72957338  # official MATLAB R2021a niqe_release on calibration/baboon.png


@pytest.fixture()
def params(shared_path):
    return shared_path("weights", "niqe", "niqe_pris_params.npz")


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
