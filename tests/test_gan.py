"""SRResNet / discriminator builders and SRGAN through fit() (small instances)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from keras_sr.models import discriminator, srresnet


@pytest.mark.parametrize("scale", [2, 3, 4, 6, 8])
def test_generator_scales_and_sizes(scale):
    g = srresnet(scale, blocks=1, filters=8)
    for h, w in [(7, 9), (12, 5)]:
        assert g.predict(np.zeros((1, h, w, 3), np.float32), verbose=0).shape == (1, h * scale, w * scale, 3)
    assert not any(l.__class__.__name__ == "Lambda" for l in g.layers)


def test_paper_generator_size_and_discriminator_any_crop():
    assert srresnet(4).count_params() == 1_554_883
    d = discriminator(filters=8, dense=16)
    for size in [(48, 48), (40, 72), (96, 96)]:
        assert d.predict(np.zeros((2, *size, 3), np.float32), verbose=0).shape == (2, 1)


@pytest.fixture()
def small_gan():
    import keras

    from keras_sr.training.gan import SRGAN

    keras.utils.set_random_seed(0)
    gan = SRGAN(srresnet(2, blocks=1, filters=8), discriminator(filters=4, dense=8), scale=2)
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.Adam(1e-3))
    gan.build_all(8)
    return gan


def _data(n=8, size=16):
    rng = np.random.default_rng(0)
    hr = rng.random((n, size, size, 3), dtype=np.float32)
    lr = hr.reshape(n, size // 2, 2, size // 2, 2, 3).mean(axis=(2, 4))
    return lr, hr


def test_one_epoch_finite_losses_and_both_networks_learn(small_gan):
    lr, hr = _data()
    g0 = [w.copy() for w in small_gan.generator.get_weights()]
    d0 = [w.copy() for w in small_gan.discriminator.get_weights()]
    hist = small_gan.fit(lr, hr, batch_size=4, epochs=1, validation_data=(lr, hr), verbose=0).history
    for key in ("g_loss", "d_loss", "content_loss", "adversarial_loss", "val_psnr", "val_ssim"):
        assert np.isfinite(hist[key][0]), key
    assert any(not np.allclose(a, b) for a, b in zip(g0, small_gan.generator.get_weights()))
    assert any(not np.allclose(a, b) for a, b in zip(d0, small_gan.discriminator.get_weights()))
    assert int(small_gan.optimizer.iterations) == int(small_gan.d_optimizer.iterations) == 2


def test_backup_restores_both_optimizers(small_gan, tmp_path):
    import keras

    from keras_sr.training.gan import SRGAN

    lr, hr = _data()
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"), delete_checkpoint=False)
    small_gan.fit(lr, hr, batch_size=4, epochs=2, verbose=0, callbacks=[backup])
    fresh = SRGAN(srresnet(2, blocks=1, filters=8), discriminator(filters=4, dense=8), scale=2)
    fresh.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.Adam(1e-3))
    fresh.build_all(8)
    restore = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    restore.set_model(fresh)
    restore.on_train_begin()
    assert int(fresh.optimizer.iterations) == int(fresh.d_optimizer.iterations) == 4
    for a, b in zip(fresh.discriminator.get_weights(), small_gan.discriminator.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(fresh.d_optimizer.variables, small_gan.d_optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert fresh._initial_epoch == 2


def test_device_augmentation_matches_pipeline_shapes_and_ranges(small_gan):
    import tensorflow as tf

    small_gan.device_augment = True
    hr_u8 = np.random.default_rng(1).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    lr, hr = small_gan._pairs(tf.constant(hr_u8))
    assert lr.shape == (4, 8, 8, 3) and hr.shape == (4, 16, 16, 3)
    assert lr.dtype == hr.dtype == tf.float32
    assert 0.0 <= float(tf.reduce_min(lr)) and float(tf.reduce_max(lr)) <= 1.0
    np.testing.assert_allclose(np.asarray(lr) * 255, np.round(np.asarray(lr) * 255), atol=1e-3)  # 8-bit LR
    assert sorted(np.unique(np.asarray(hr) * 255).round().astype(int))[:3] == sorted(np.unique(hr_u8))[:3]


def test_device_pair_reuse_degrades_every_nth_step():
    """SRGAN(device_augment=True, reuse=PairCache(3, ...)): 6 steps of fit() degrade 2 batches; the
    cached pair is the last degraded batch (a rotation/flip of it is what the steps saw)."""
    import keras
    import tensorflow as tf

    from keras_sr.training.augment import PairCache
    from keras_sr.training.gan import SRGAN, _bicubic

    count = tf.Variable(0, dtype=tf.int64, trainable=False)

    def degrade(hr, scale, seed=None):
        count.assign_add(1)
        return _bicubic(hr, scale)

    keras.utils.set_random_seed(0)
    gan = SRGAN(srresnet(2, blocks=1, filters=8), discriminator(filters=4, dense=8), scale=2, device_augment=True,
                degrade=degrade, reuse=PairCache(3, (4, 8, 8, 3), (4, 16, 16, 3)))
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.Adam(1e-3))
    gan.build_all(8)
    hr_u8 = np.random.default_rng(1).integers(0, 256, (24, 16, 16, 3), dtype=np.uint8)
    hist = gan.fit(tf.data.Dataset.from_tensor_slices(hr_u8).batch(4), epochs=1, verbose=0).history
    assert np.isfinite(hist["g_loss"][0]) and int(gan.optimizer.iterations.numpy()) == 6
    assert int(count.numpy()) == 2
    cached = np.round(gan.reuse_hr.numpy() * 255).astype(np.uint8)
    assert sorted(cached.ravel()) == sorted(hr_u8[12:16].ravel())  # batch 3, the second degraded


def test_content_loss_from_local_vgg_and_bad_file(shared_path, tmp_path):
    from keras_sr.errors import KerasSRError
    from keras_sr.training.losses import VGGContentLoss

    loss = VGGContentLoss("conv2_2", str(shared_path("weights", "perceptual", "lpips_vgg16_v0.1.npz")))
    a = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    assert float(loss(a, a)) == pytest.approx(0.0, abs=1e-9) and float(loss(a, a[::-1])) > 0
    bad = tmp_path / "vgg.npz"
    arrays = {f"features/{n}/{p}": np.zeros((3, 3, 3, 8) if p == "kernel" else (8,), np.float32)
              for n in ("conv1_1", "conv1_2") for p in ("kernel", "bias")}
    np.savez(bad, **arrays, **{"content/imagenet_mean": np.zeros(3, np.float32),
                               "content/imagenet_std": np.ones(3, np.float32)})
    with pytest.raises(KerasSRError, match="expects"):
        VGGContentLoss("conv1_2", str(bad))


def test_cli_srresnet_then_srgan_and_generator_reload(tmp_path, tiny_data):
    from click.testing import CliRunner

    import keras_sr
    from keras_sr.cli.main import main

    common = ["--factor", "2", "--data", str(tiny_data), "--blocks", "1", "--filters", "8", "--epochs", "1",
              "--steps-per-epoch", "2", "--batch-size", "4", "--patch-size", "32"]
    r = CliRunner().invoke(main, ["train", "srresnet", *common, "--out", str(tmp_path / "pre")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["train", "srgan", *common, "--content", "pixel", "--augment-on", "device",
                                  "--ema", "0.99", "--d-filters", "4", "--pixel-weight", "0.5", "--pair-reuse", "2",
                                  "--init", str(tmp_path / "pre"), "--out", str(tmp_path / "gan")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "gan" / "config.json").read_text())["ema"] == 0.99
    record = json.loads((tmp_path / "gan" / "record.json").read_text())
    assert record["config"]["d_filters"] == 4 and record["config"]["pixel_weight"] == 0.5
    assert record["config"]["pair_reuse"] == 2
    assert record["discriminator_params"] == discriminator(filters=4).count_params()
    r = CliRunner().invoke(main, ["train", "srgan", *common, "--d-filters", "0", "--out", str(tmp_path / "d0")])
    assert r.exit_code == 2 and "d-filters must be >= 1" in r.stderr
    r = CliRunner().invoke(main, ["train", "srgan", *common, "--pixel-weight", "-1", "--out", str(tmp_path / "p")])
    assert r.exit_code == 2 and "--pixel-weight must be >= 0" in r.stderr
    r = CliRunner().invoke(main, ["train", "srgan", *common, "--lpips-weight", "-1", "--out", str(tmp_path / "l")])
    assert r.exit_code == 2 and "--lpips-weight must be >= 0" in r.stderr
    r = CliRunner().invoke(main, ["train", "srcnn", "--ema", "0.99", "--out", str(tmp_path / "no")])
    assert r.exit_code == 2 and "--ema is a momentum in (0, 1) for srgan" in r.stderr
    g = keras_sr.load_model(tmp_path / "gan" / "generator.keras")
    x = np.random.default_rng(0).random((1, 10, 12, 3), dtype=np.float32)
    again = keras_sr.load_model(tmp_path / "gan" / "generator.keras")
    np.testing.assert_array_equal(g.predict(x, verbose=0), again.predict(x, verbose=0))
    assert g.sr_info.architecture == "srgan" and g.sr_info.color_space == "rgb"
    r = CliRunner().invoke(main, ["train", "srgan", *common[:2], "--factor", "4", *common[4:],
                                  "--init", str(tmp_path / "pre"), "--out", str(tmp_path / "bad")])
    assert r.exit_code == 2 and "--init model is x2" in r.stderr


def test_generator_ema_is_updated_checkpointed_and_swapped_in(tmp_path):
    import keras

    from keras_sr.training.gan import SRGAN

    def make():
        keras.utils.set_random_seed(0)
        gan = SRGAN(srresnet(2, blocks=1, filters=8), discriminator(filters=4, dense=8), scale=2, ema=0.9)
        gan.compile(g_optimizer=keras.optimizers.Adam(1e-2), d_optimizer=keras.optimizers.Adam(1e-3))
        gan.build_all(8)
        return gan

    gan = make()
    start = [np.asarray(v).copy() for v in gan.generator.trainable_variables]
    lr, hr = _data()
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "b"), delete_checkpoint=False)
    gan.fit(lr, hr, batch_size=4, epochs=1, verbose=0, callbacks=[backup])
    raw = [np.asarray(v) for v in gan.generator.trainable_variables]
    ema = [np.asarray(e) for e in gan.ema_weights]
    # two steps of EMA with momentum 0.9 from the start weights: between start and raw, nearer start
    moved = [np.abs(r - s).sum() for r, s in zip(raw, start)]
    ema_moved = [np.abs(e - s).sum() for e, s in zip(ema, start)]
    assert sum(moved) > 0 and 0 < sum(ema_moved) < 0.5 * sum(moved)
    fresh = make()
    restore = keras.callbacks.BackupAndRestore(str(tmp_path / "b"))
    restore.set_model(fresh)
    restore.on_train_begin()
    for a, b in zip(fresh.ema_weights, ema):
        np.testing.assert_array_equal(np.asarray(a), b)
    gan.use_ema_weights()
    for v, e in zip(gan.generator.trainable_variables, ema):
        np.testing.assert_array_equal(np.asarray(v), e)


def test_validation_reports_lpips_when_given(small_gan):
    import keras

    from keras_sr.training.gan import SRGAN

    class FakeLPIPS:  # the graph-side distance the real LPIPS exposes
        def distance(self, a, b):
            import tensorflow as tf

            return tf.reduce_mean(tf.abs(a - b), axis=[1, 2, 3])

    gan = SRGAN(srresnet(2, blocks=1, filters=8), discriminator(filters=4, dense=8), scale=2, lpips=FakeLPIPS())
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.Adam(1e-3))
    gan.build_all(8)
    lr, hr = _data()
    logs = gan.evaluate(lr, hr, batch_size=4, verbose=0, return_dict=True)
    sr = np.clip(gan.generator.predict(lr, verbose=0), 0, 1)
    assert abs(logs["lpips"] - float(np.mean(np.abs(hr - sr)))) < 1e-5


def test_cli_srgan_killed_with_sigkill_resumes_both_optimizers(tmp_path, tiny_data):
    """`keras-sr train srgan` killed with kill -9 after 2 epochs: the same command resumes from
    the backup, and both optimizers end at epochs x steps iterations (a restart from scratch,
    or an optimizer left out of the checkpoint, would end with fewer)."""
    import csv
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "gan"
    epochs, steps = 6, 3
    cmd = [sys.executable, "-m", "keras_sr.cli.main", "train", "srgan", "--factor", "2", "--data", str(tiny_data),
           "--blocks", "1", "--filters", "8", "--d-filters", "4", "--content", "pixel", "--epochs", str(epochs),
           "--steps-per-epoch", str(steps), "--batch-size", "4", "--patch-size", "32", "--out", str(out)]

    def epochs_logged():
        if not (out / "log.csv").exists():
            return []
        with open(out / "log.csv") as f:
            return [int(r["epoch"]) for r in csv.DictReader(f)]

    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and len(epochs_logged()) < 2:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(epochs_logged())
    assert 2 <= done < epochs and not (out / "generator.keras").exists(), "not interrupted mid-way"
    resumed = subprocess.run(cmd, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Resuming the interrupted run" in resumed.stderr
    logged = epochs_logged()  # (a kill between the backup and the CSV row can drop one row)
    assert logged[-1] == epochs - 1 and len(set(logged)) == len(logged) >= epochs - 1
    record = json.loads((out / "record.json").read_text())
    assert record["optimizer_iterations"] == {"generator": epochs * steps, "discriminator": epochs * steps}


def test_pixel_weight_adds_pixel_mse_to_the_generator_loss():
    """g_loss = content + adv_weight * adversarial + pixel_weight * MSE (content = MSE here, so
    pixel_weight 1 doubles the content part of the logged loss)."""
    import keras

    from keras_sr.training.gan import SRGAN

    lr, hr = _data(n=4)
    logs = {}
    for w in (0.0, 1.0):
        keras.utils.set_random_seed(0)
        gan = SRGAN(srresnet(2, blocks=1, filters=8), discriminator(filters=4, dense=8), scale=2, pixel_weight=w)
        gan.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.Adam(1e-3))
        gan.build_all(8)
        logs[w] = gan.fit(lr, hr, batch_size=4, epochs=1, verbose=0).history
    for w, h in logs.items():
        expected = (1 + w) * h["content_loss"][0] + 1e-3 * h["adversarial_loss"][0]
        np.testing.assert_allclose(h["g_loss"][0], expected, rtol=1e-5)
    np.testing.assert_allclose(logs[0.0]["content_loss"][0], logs[1.0]["content_loss"][0], rtol=1e-5)


def test_discriminator_runs_in_training_mode_in_both_updates():
    """The generator is scored by the discriminator as the discriminator is trained (batch
    statistics), not by its inference-mode BN (which gave d_fake 0.88 against d_loss 0.002)."""
    import keras

    from keras_sr.training.gan import SRGAN

    class Spy(keras.Model):
        def __init__(self, inner):
            super().__init__()
            self.inner, self.seen = inner, []

        def call(self, x, training=None):
            self.seen.append(training)  # recorded while the step is traced
            return self.inner(x, training=training)

    spy = Spy(discriminator(filters=4, dense=8))
    gan = SRGAN(srresnet(2, blocks=1, filters=8), spy, scale=2)
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.Adam(1e-3))
    gan.build_all(8)
    spy.seen.clear()
    lr, hr = _data(n=4)
    gan.fit(lr, hr, batch_size=4, epochs=1, verbose=0)
    assert len(spy.seen) == 3 and all(s is True for s in spy.seen), spy.seen  # real, fake (D), fake (G)


def test_lpips_weight_adds_the_lpips_term_to_the_generator_loss():
    import keras
    import tensorflow as tf

    from keras_sr.training.gan import SRGAN

    def fake_lpips(a, b):  # any differentiable per-image distance
        return tf.reduce_mean(tf.abs(a - b), axis=[1, 2, 3])

    lr, hr = _data(n=4)
    keras.utils.set_random_seed(0)
    gan = SRGAN(srresnet(2, blocks=1, filters=8), discriminator(filters=4, dense=8), scale=2,
                lpips_loss=fake_lpips, lpips_weight=0.5)
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.Adam(1e-3))
    gan.build_all(8)
    h = gan.fit(lr, hr, batch_size=4, epochs=1, verbose=0).history
    assert h["lpips_loss"][0] > 0
    expected = h["content_loss"][0] + 1e-3 * h["adversarial_loss"][0] + 0.5 * h["lpips_loss"][0]
    np.testing.assert_allclose(h["g_loss"][0], expected, rtol=1e-5)
    assert gan.get_config()["lpips_weight"] == 0.5
    off = SRGAN(srresnet(2, blocks=1, filters=8), discriminator(filters=4, dense=8), lpips_loss=fake_lpips)
    assert "lpips_loss" not in off.trackers  # weight 0: no term, no metric
    with pytest.raises(ValueError, match="needs an lpips_loss"):
        SRGAN(srresnet(2, blocks=1, filters=8), discriminator(filters=4, dense=8), lpips_weight=1.0)


def test_lpips_loss_is_the_lpips_distance_and_has_gradients(shared_path):
    import tensorflow as tf

    from keras_sr.evaluation.lpips import get_lpips
    from keras_sr.training.losses import LPIPSLoss

    weights = str(shared_path("weights", "perceptual", "lpips_vgg16_v0.1.npz"))
    loss = LPIPSLoss("vgg", weights)  # the cached LPIPS-VGG test_lpips uses: the file loads once
    rng = np.random.default_rng(0)
    a = rng.random((2, 32, 32, 3), dtype=np.float32)
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1).astype(np.float32)
    assert float(loss(a, a)) == pytest.approx(0.0, abs=1e-7)
    assert float(loss(a, b)) == pytest.approx(float(np.mean(get_lpips("vgg", weights)(a, b))), rel=1e-5)
    x = tf.Variable(b)
    with tf.GradientTape() as tape:
        value = loss(a, x)
    grad = tape.gradient(value, x).numpy()
    assert np.isfinite(grad).all() and np.abs(grad).sum() > 0
    assert not loss.model.features.trainable_weights  # frozen: only the generator learns
