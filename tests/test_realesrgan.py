"""Real-ESRGAN training through the generalized SRGAN step: unsharp-masked targets, the VGG16
perceptual loss, the U-Net discriminator, and both stages through the CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from scipy.signal import convolve2d

from keras_sr.data.realworld import gaussian_kernel_1d
from keras_sr.data.realworld import usm_sharpen as usm_sharp


def _usm_reference(img, weight=0.5, radius=51, threshold=10):
    """BasicSR ``usm_sharp`` written out in NumPy/SciPy (reflect padding, 2-D kernel)."""
    sigma = 0.3 * ((radius - 1) * 0.5 - 1) + 0.8
    x = np.arange(radius) - (radius - 1) / 2
    g = np.exp(-x**2 / (2 * sigma**2))
    g /= g.sum()
    k2 = np.outer(g, g)
    r = radius // 2

    def blur(a):
        out = np.empty_like(a)
        for c in range(a.shape[-1]):
            out[..., c] = convolve2d(np.pad(a[..., c], r, mode="reflect"), k2, mode="valid")
        return out

    residual = img - blur(img)
    soft = blur((np.abs(residual) * 255 > threshold).astype(np.float64))
    sharp = np.clip(img + weight * residual, 0, 1)
    return soft * sharp + (1 - soft) * img


def test_usm_matches_basicsr_formula_and_sharpens_edges():
    assert gaussian_kernel_1d(51).sum() == pytest.approx(1.0, abs=1e-6)
    rng = np.random.default_rng(0)
    img = np.clip(np.kron(rng.random((6, 6, 3)), np.ones((12, 12, 1))) + rng.normal(0, 0.01, (72, 72, 3)), 0, 1)
    got = np.asarray(usm_sharp(img[None].astype(np.float32)))[0]
    np.testing.assert_allclose(got, _usm_reference(img), atol=2e-5)
    assert np.abs(np.diff(got, axis=1)).max() > np.abs(np.diff(img, axis=1)).max()  # steeper edges
    flat = np.full((1, 40, 40, 3), 0.3, np.float32)
    np.testing.assert_allclose(np.asarray(usm_sharp(flat)), flat, atol=1e-6)  # flat stays flat


def test_perceptual_taps_match_the_post_relu_vgg_and_loss_behaves(shared_path):
    from keras_sr.evaluation.lpips import vgg16_features, vgg16_taps
    from keras_sr.training.losses import REALESRGAN_VGG16_LAYERS, PerceptualLoss

    weights = str(shared_path("weights", "perceptual", "lpips_vgg16_v0.1.npz"))
    x = np.random.default_rng(1).random((2, 32, 32, 3), dtype=np.float32)
    taps = vgg16_taps(("conv2_2", "conv3_3"), weights, True)(x)
    np.testing.assert_allclose(np.maximum(np.asarray(taps[1]), 0),
                               np.asarray(vgg16_features("conv3_3", weights)(x)), rtol=1e-4, atol=1e-4)
    assert np.asarray(taps[1]).min() < 0  # pre-activation, as BasicSR's convX_Y taps
    loss = PerceptualLoss(weights)
    assert list(loss.layers) == list(REALESRGAN_VGG16_LAYERS)
    assert float(loss(x, x)) == pytest.approx(0.0, abs=1e-7)
    manual = sum(w * np.mean(np.abs(np.asarray(a) - np.asarray(b)))
                 for w, a, b in zip(REALESRGAN_VGG16_LAYERS.values(),
                                    vgg16_taps(tuple(REALESRGAN_VGG16_LAYERS), weights, True)(x),
                                    vgg16_taps(tuple(REALESRGAN_VGG16_LAYERS), weights, True)(x[::-1])))
    assert float(loss(x, x[::-1])) == pytest.approx(manual, rel=1e-4)
    # --precision bf16: the VGG16 runs in bf16 (its convs), the loss stays float32 and close
    bf16 = PerceptualLoss(weights, precision="bf16")
    convs = [layer for layer in bf16.features.layers if layer.weights]
    assert convs and all(layer.compute_dtype == "bfloat16" for layer in convs) and not bf16.features.trainable
    value = bf16(x, x[::-1])
    assert "float32" in str(value.dtype) and float(value) == pytest.approx(manual, rel=0.03)
    assert float(value) != pytest.approx(manual, rel=1e-5)  # really computed in bf16


def _log(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_realesrgan_step_lowers_the_generator_loss_on_fixed_data(shared_path):
    import keras

    from keras_sr.models import srvgg, unet_discriminator
    from keras_sr.training.gan import SRGAN
    from keras_sr.training.losses import PerceptualLoss

    keras.utils.set_random_seed(0)
    vgg = PerceptualLoss(str(shared_path("weights", "perceptual", "lpips_vgg16_v0.1.npz")))
    gan = SRGAN(srvgg(2, filters=8, convs=2), unet_discriminator(filters=4), keras.losses.MeanAbsoluteError(),
                0.1, perceptual_loss=vgg, perceptual_weight=1.0, usm_targets=True, ema=0.999, scale=2)
    gan.compile(g_optimizer=keras.optimizers.Adam(2e-3), d_optimizer=keras.optimizers.Adam(1e-4))
    gan.build_all(16)
    rng = np.random.default_rng(0)
    hr = np.clip(np.kron(rng.random((4, 4, 4, 3)), np.ones((1, 8, 8, 1))), 0, 1).astype(np.float32)
    lr = hr.reshape(4, 16, 2, 16, 2, 3).mean(axis=(2, 4))

    def generator_terms():
        sr = gan.generator(lr)
        target = usm_sharp(hr)
        return float(keras.losses.MeanAbsoluteError()(target, sr)) + float(vgg(target, sr))

    before = generator_terms()
    gan.fit(lr, hr, batch_size=4, epochs=15, verbose=0)
    assert generator_terms() < 0.8 * before
    assert gan.ema_weights and not np.allclose(gan.ema_weights[0].numpy(),
                                               gan.generator.trainable_variables[0].numpy())


def test_cli_realesrnet_then_realesrgan_lower_their_losses(tmp_path, tiny_data, shared_path):
    from click.testing import CliRunner

    import keras_sr
    from keras_sr.cli.main import main
    from keras_sr.models import unet_discriminator

    vgg = str(shared_path("weights", "perceptual", "lpips_vgg16_v0.1.npz"))
    common = ["--factor", "2", "--data", str(tiny_data), "--filters", "8", "--convs", "2",
              "--steps-per-epoch", "6", "--batch-size", "4", "--patch-size", "32", "--lr", "2e-3", "--seed", "1"]
    r = CliRunner().invoke(main, ["train", "srvgg", *common, "--epochs", "3", "--degradation", "realworld",
                                  "--out", str(tmp_path / "net")])
    assert r.exit_code == 0, r.output
    rows = _log(tmp_path / "net" / "log.csv")
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    record = json.loads((tmp_path / "net" / "record.json").read_text())
    assert record["config"]["loss"] == "l1" and record["config"]["color_space"] == "rgb"

    r = CliRunner().invoke(main, ["train", "realesrgan", *common, "--epochs", "3", "--d-filters", "4",
                                  "--vgg-weights", vgg, "--augment-on", "device",
                                  "--init", str(tmp_path / "net"), "--out", str(tmp_path / "gan")])
    assert r.exit_code == 0, r.output
    rows = _log(tmp_path / "gan" / "log.csv")
    for key in ("g_loss", "d_loss", "content_loss", "adversarial_loss", "perceptual_loss"):
        assert all(np.isfinite(float(row[key])) for row in rows), key
    record = json.loads((tmp_path / "gan" / "record.json").read_text())
    cfg = record["config"]
    assert (cfg["adv_weight"], cfg["perceptual_weight"], cfg["ema"], cfg["usm_targets"]) == (0.1, 1.0, 0.999, True)
    assert cfg["degradation"] == "realworld" and cfg["augment_on"] == "device"  # realworld in the GAN step
    assert record["discriminator_params"] == unet_discriminator(filters=4).count_params()
    assert record["optimizer_iterations"] == {"generator": 18, "discriminator": 18}
    g = keras_sr.load_model(tmp_path / "gan" / "generator.keras")
    assert g.sr_info.architecture == "realesrgan" and g.predict(np.zeros((1, 6, 7, 3), np.float32),
                                                                 verbose=0).shape == (1, 12, 14, 3)


def test_realesrgan_options_are_checked(tmp_path):
    from click.testing import CliRunner

    from keras_sr.cli.main import main

    r = CliRunner().invoke(main, ["train", "srcnn", "--perceptual-weight", "1", "--out", str(tmp_path / "a")])
    assert r.exit_code == 2 and "--perceptual-weight is a weight >= 0 for srgan/realesrgan" in r.stderr
    r = CliRunner().invoke(main, ["train", "realesrgan", "--perceptual-weight", "-1", "--out", str(tmp_path / "b")])
    assert r.exit_code == 2 and "--perceptual-weight" in r.stderr
    r = CliRunner().invoke(main, ["train", "espcn", "--usm-targets", "--out", str(tmp_path / "c")])
    assert r.exit_code == 2 and "--usm-targets is for srgan/realesrgan" in r.stderr
    r = CliRunner().invoke(main, ["train", "srvgg", "--blocks", "3", "--out", str(tmp_path / "d")])
    assert r.exit_code == 2 and "srvgg takes no --blocks" in r.stderr
