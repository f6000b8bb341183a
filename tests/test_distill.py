"""keras_sr.training.distill and `keras-sr distill`: the teacher pool (cache key, growth, rebuild,
resampling), init from the teacher, a short distillation, resume after kill -9, bad input; the GAN
stage (the discriminator's real = the pool's teacher crops, resume, float32 student, bad input)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from keras_sr._backend import tf
from keras_sr.models import ModelInfo, build_model, save_with_info
from keras_sr.training import distill as D

CLI = [sys.executable, "-m", "keras_sr.cli.main"]


def _teacher(path: Path, scale=4, filters=8, convs=2, seed=0) -> Path:
    import keras

    keras.utils.set_random_seed(seed)
    model = build_model("srvgg", scale, channels=3, filters=filters, convs=convs)
    save_with_info(model, path, ModelInfo(architecture="srvgg", scale=scale, color_space="rgb", input_mode="lr",
                                          degradation="realworld"))
    return path


def _images(tiny_data):
    from keras_sr.data.io import list_images

    return D.load_images(list_images([tiny_data]), "rgb", 48)


class _Cfg:
    factor, patch_size, degradation, degradation_params, color_space, seed = 2, 16, "bicubic,realworld", {}, "rgb", 0


def test_pool_is_keyed_by_teacher_grows_and_is_rebuilt_for_another(tiny_data, tmp_path, capsys):
    from keras_sr.models.loading import load_model

    images = _images(tiny_data)
    t1 = load_model(_teacher(tmp_path / "t1.keras", seed=1))
    key = D.pool_key(D.weights_sha256(t1), 4, _Cfg, "files", validation=False)
    D.build_pool(tmp_path / "pool", t1, images, key, 32, progress=False)
    first = D.read_pool(tmp_path / "pool", 32)
    assert first["lr"].shape == (32, 8, 8, 3) and first["teacher"].shape == first["hr"].shape == (32, 16, 16, 3)
    assert first["lr"].dtype == np.uint8
    # the same key: a hit (the teacher is not called again), and growing keeps the first entries
    calls = []

    class Spy:
        def __call__(self, x, training=False):
            calls.append(int(x.shape[0]))
            return t1(x, training=training)

    D.build_pool(tmp_path / "pool", Spy(), images, key, 32, progress=False)
    assert calls == []
    D.build_pool(tmp_path / "pool", Spy(), images, key, 64, progress=False)
    assert calls == [D.CHUNK]  # one new chunk only
    grown = D.read_pool(tmp_path / "pool", 64)
    for k in first:
        np.testing.assert_array_equal(grown[k][:32], first[k])
    # entries are a function of (key, i): mixed degradations alternate (bicubic, realworld, ...)
    assert key["degradations"] == ["bicubic", "realworld"]
    # another teacher: rebuilt from scratch with a note, never mixed
    t2 = load_model(_teacher(tmp_path / "t2.keras", seed=2))
    key2 = D.pool_key(D.weights_sha256(t2), 4, _Cfg, "files", validation=False)
    assert key2 != key
    D.build_pool(tmp_path / "pool", t2, images, key2, 32, progress=False)
    assert "rebuilding" in capsys.readouterr().err
    other = D.read_pool(tmp_path / "pool", 32)
    np.testing.assert_array_equal(other["hr"], first["hr"])  # same crops and LR ...
    np.testing.assert_array_equal(other["lr"], first["lr"])
    assert not np.array_equal(other["teacher"], first["teacher"])  # ... another teacher's output
    assert json.loads((tmp_path / "pool" / "manifest.json").read_text())["key"] == key2


def test_a_larger_teacher_is_resampled_down_with_lanczos(tiny_data, tmp_path):
    from keras_sr.models.loading import load_model

    teacher = load_model(_teacher(tmp_path / "t.keras"))
    images = _images(tiny_data)
    key = D.pool_key(D.weights_sha256(teacher), 4, _Cfg, "f", validation=False)
    D.build_pool(tmp_path / "pool", teacher, images, key, 32, progress=False)
    pool = D.read_pool(tmp_path / "pool", 32)
    # entry 0 again by hand: LR with context -> teacher x4 -> antialiased Lanczos to x2 -> centre
    m, p, s = D.POOL_MARGIN, 16, 2
    crop = (p // s + 2 * m) * s
    hr = D._entry_hr(images, 0, 0, crop)
    lr = D._degrade(hr, "bicubic", s, [0, 0], {})
    out = teacher(lr[None])
    assert out.shape[1] == 4 * lr.shape[0]
    expect = tf().image.resize(tf().clip_by_value(out, 0.0, 1.0), (crop, crop), method="lanczos3", antialias=True)
    expect = D._u8(tf().clip_by_value(expect, 0.0, 1.0))[0, m * s:m * s + p, m * s:m * s + p]
    assert np.abs(expect.astype(int) - pool["teacher"][0].astype(int)).max() <= 1
    np.testing.assert_array_equal(pool["hr"][0], hr[m * s:m * s + p, m * s:m * s + p])


def test_init_from_teacher_copies_the_kept_layers_exactly(tmp_path):
    from keras_sr.models.loading import load_model

    teacher = load_model(_teacher(tmp_path / "t.keras", filters=8, convs=5))
    student = build_model("srvgg", 4, channels=3, filters=8, convs=2)
    w = lambda m: [layer for layer in m.layers if layer.weights]  # noqa: E731
    assert D.init_from_teacher(student, teacher) == 2 + 2 * 2  # first conv+prelu, 2 x (conv+prelu)
    for s_layer, t_layer in zip(w(student)[:-1], w(teacher)[:6]):
        for a, b in zip(s_layer.get_weights(), t_layer.get_weights()):
            np.testing.assert_array_equal(a, b)
    assert all(not v.any() for v in w(student)[-1].get_weights())  # layers dropped: output conv zeroed,
    x = np.random.default_rng(0).random((1, 6, 6, 3), np.float32)  # so the student is its nearest base
    np.testing.assert_allclose(student(x).numpy(), np.repeat(np.repeat(x, 4, 1), 4, 2), atol=1e-6)
    same = build_model("srvgg", 4, channels=3, filters=8, convs=5)  # nothing dropped: everything copied
    assert D.init_from_teacher(same, teacher) == 2 + 5 * 2 + 1
    np.testing.assert_array_equal(same(np.ones((1, 6, 6, 3), np.float32)), teacher(np.ones((1, 6, 6, 3), np.float32)))
    narrow = build_model("srvgg", 4, channels=3, filters=4, convs=2)
    assert D.init_from_teacher(narrow, teacher) == 0  # other widths: nothing fits


def _distill(data, out, teacher, *extra):
    return CLI + ["distill", "-t", str(teacher), "-s", "srvgg", "--filters", "8", "--convs", "2", "-f", "2",
                  "-d", str(data), "--patch-size", "16", "--batch-size", "8", "--pool-size", "64",
                  "--steps-per-epoch", "8", "--track", "none", "-o", str(out), *map(str, extra)]


def test_distill_records_the_teacher_and_resumes_after_kill_9(tiny_data, tmp_path):
    teacher = _teacher(tmp_path / "t.keras")
    out = tmp_path / "run"
    cmd = _distill(tiny_data, out, teacher, "--epochs", 40, "--teacher-license", "BSD-3-Clause", "--lr", "2e-3")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not ((out / "backup").exists() and (out / "log.csv").exists()
                                          and len((out / "log.csv").read_text().splitlines()) >= 4):
        time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len((out / "log.csv").read_text().splitlines()) - 1
    assert 3 <= done < 40, done
    chunks = sorted(p.stat().st_mtime for p in (out / "pool").glob("chunk_*.npz"))
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "Resuming" in again.stderr
    assert sorted(p.stat().st_mtime for p in (out / "pool").glob("chunk_*.npz")) == chunks  # pool reused
    from keras_sr.training.callbacks import read_log

    rows = read_log(out / "log.csv")
    assert [int(r["epoch"]) for r in rows] == list(range(40))
    assert rows[-1]["loss"] < rows[0]["loss"] and rows[-1]["val_psnr"] > rows[0]["val_psnr"]
    rec = json.loads((out / "record.json").read_text())
    from keras_sr.models.loading import load_model

    assert rec["teacher"]["weights_sha256"] == D.weights_sha256(load_model(teacher))
    assert rec["teacher"]["file_sha256"] == __import__("keras_sr.data.io", fromlist=["x"]).sha256_file(teacher)
    assert rec["teacher"]["license"] == "BSD-3-Clause" and rec["teacher"]["scale"] == 4
    assert rec["config"]["teacher"] and rec["params"] < rec["teacher"]["params"] * 2


@pytest.mark.parametrize("extra, words", [
    (["-t", "no_such_model.keras"], "teacher no_such_model.keras"),
    (["--color-space", "y-bt601"], "channel"),
    (["-f", "8"], "above the teacher's x4"),
])
def test_bad_teachers_are_one_line_exit_2(tiny_data, tmp_path, extra, words):
    teacher = extra[1] if extra[0] == "-t" else _teacher(tmp_path / "t.keras")
    cmd = _distill(tiny_data, tmp_path / "run", teacher, "--epochs", 1, *(extra if extra[0] != "-t" else ()))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr[-1500:]
    assert words in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("Error:")
    assert not (tmp_path / "run" / "model.keras").exists()


def test_unknown_licence_is_a_one_line_warning(tmp_path, capsys):
    from keras_sr.models.loading import load_model

    teacher = load_model(_teacher(tmp_path / "t.keras"))
    assert D.teacher_license(teacher, None) == "unknown"
    assert "licence is unknown" in capsys.readouterr().err
    assert D.teacher_license(teacher, "CC-BY-NC-4.0") == "CC-BY-NC-4.0"
    assert "commercially" in capsys.readouterr().err


def test_a_short_x2_distill_of_realesr_x4_beats_bicubic_by_1_db_on_other_photos(shared_path, tmp_path):
    """The issue's tool check: a 16x4 SRVGG x2 student of realesr-x4 (realworld, 64-px crops, batch 8,
    150 steps on 20 BSD200 photos, Adam 2e-3) is >= 1 dB closer (PSNR, RGB) than bicubic to the
    teacher's x4 output resized to x2 (Lanczos), on 6 other BSD200 photos degraded the same way.
    (At srvgg's default 2e-4, 150 steps are too few: mean -0.29 dB, measured.)"""
    from keras_sr.data.io import list_images
    from keras_sr.data.pipeline import load_model_space
    from keras_sr.models.loading import load_model

    files = sorted(list_images([shared_path("datasets", "BSD200")]))
    train, other = tmp_path / "train", files[20:26]
    train.mkdir()
    for f in files[:20]:
        (train / f.name).symlink_to(f)
    out = tmp_path / "run"
    cmd = CLI + ["distill", "-t", "realesr-x4", "-s", "srvgg", "--filters", "16", "--convs", "4", "-f", "2",
                 "-d", str(train), "--patch-size", "64", "--batch-size", "8", "--epochs", "3",
                 "--steps-per-epoch", "50", "--pool-size", "256", "--lr", "2e-3", "--track", "none", "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    student, teacher = load_model(out), load_model("realesr-x4")
    t = tf()
    gains = []
    for i, f in enumerate(other):
        hr = load_model_space(f, "rgb")[:160, :160]
        lr = D._degrade(hr, "realworld", 2, [99, i], {})[None]
        target = D.resample(t.clip_by_value(teacher(lr), 0.0, 1.0), (160, 160))
        bicubic = t.clip_by_value(t.image.resize(lr, (160, 160), method="bicubic"), 0.0, 1.0)
        mine = t.clip_by_value(student(lr), 0.0, 1.0)
        psnr = lambda a: float(t.image.psnr(a, target, 1.0)[0])  # noqa: E731
        gains.append(psnr(mine) - psnr(bicubic))
    print(f"student - bicubic PSNR to the teacher: {np.mean(gains):+.2f} dB mean", [round(g, 2) for g in gains])
    assert np.mean(gains) >= 1.0, gains


def test_distill_loss_terms():
    """L1 to the teacher, L1 to HR, and the colour term: 8x8 means of the output vs the HR's."""
    rng = np.random.default_rng(0)
    hr = rng.random((2, 16, 16, 3), np.float32) * 0.8 + 0.1
    teacher = np.clip(hr + 0.05, 0, 1)
    y_true = np.concatenate([teacher, hr], -1)
    texture = np.tile(np.array([[1, -1], [-1, 1]], np.float32), (8, 8))[None, :, :, None] * 0.03  # zero mean per 8x8
    loss = lambda **kw: float(D.DistillLoss(**kw)(y_true, hr + texture))  # noqa: E731
    assert abs(loss(teacher_weight=0, color_weight=1)) < 1e-6  # the HR's colour, other detail: no colour loss
    assert abs(loss(teacher_weight=0, hr_weight=1) - 0.03) < 1e-5
    assert abs(loss(teacher_weight=1) - float(np.mean(np.abs(hr + texture - teacher)))) < 1e-5
    cast = float(D.DistillLoss(teacher_weight=0, color_weight=1)(y_true, hr + 0.01))
    assert abs(cast - 0.01) < 1e-5  # a uniform cast is what it measures


def test_distill_lpips_term_is_lpips_to_the_teacher_at_the_training_precision(shared_path):
    """``--lpips-weight`` adds weight x LPIPS(teacher, SR) (the LPIPS module's own distance, not the
    HR's); under bf16 its VGG16 runs in bf16 and the term stays within 3% of float32."""
    from keras_sr.evaluation.lpips import lpips

    vgg = str(shared_path("weights", "perceptual", "lpips_vgg16_v0.1.npz"))
    rng = np.random.default_rng(0)
    hr = rng.random((2, 32, 32, 3), np.float32)
    teacher = np.clip(hr + rng.normal(0, 0.1, hr.shape).astype(np.float32), 0, 1)
    sr = np.clip(hr + rng.normal(0, 0.2, hr.shape).astype(np.float32), 0, 1)
    y_true = np.concatenate([teacher, hr], -1)
    expected = 0.5 * float(np.mean(lpips(teacher, sr, "vgg", vgg)))
    assert expected > 0.01 and abs(expected - 0.5 * float(np.mean(lpips(hr, sr, "vgg", vgg)))) > 1e-3
    got = float(D.DistillLoss(teacher_weight=0, lpips_weight=0.5, lpips_weights=vgg)(y_true, sr))
    assert got == pytest.approx(expected, rel=1e-4)
    loss = D.DistillLoss(teacher_weight=0, lpips_weight=0.5, lpips_weights=vgg, precision="bf16")
    assert all(layer.compute_dtype == "bfloat16" for layer in loss.lpips.model.features.layers if layer.weights)
    bf16 = float(loss(y_true, sr))
    assert bf16 == pytest.approx(expected, rel=0.03) and bf16 != pytest.approx(expected, rel=1e-6)


# ---------------------------------------------------------------- the GAN stage (--adv-weight > 0)

def test_gan_stage_discriminator_sees_the_pools_teacher_crops_as_real(tiny_data, tmp_path):
    """SRGAN's own train_step on a pool batch: the discriminator's "real" input is exactly the
    teacher channels of the label (not HR), its "fake" ones are the student's outputs."""
    import keras

    from keras_sr.models import unet_discriminator
    from keras_sr.models.loading import load_model

    teacher = load_model(_teacher(tmp_path / "t.keras"))
    cfg = type("Cfg", (_Cfg,), {"degradation": "bicubic"})
    key = D.pool_key(D.weights_sha256(teacher), 4, cfg, "f", validation=False)
    D.build_pool(tmp_path / "pool", teacher, _images(tiny_data), key, 32, progress=False)
    pool = D.read_pool(tmp_path / "pool", 32)
    lr, y = next(iter(D.pool_dataset(pool, 8, 0, training=False)))
    np.testing.assert_array_equal(y[..., :3].numpy(), pool["teacher"][:8] / np.float32(255))
    assert not np.array_equal(pool["teacher"][:8], pool["hr"][:8])

    class Spy(keras.Model):
        def __init__(self, inner):
            super().__init__()
            self.inner, self.seen = inner, []

        def call(self, x, training=False):
            self.seen.append(keras.ops.convert_to_numpy(x))
            return self.inner(x, training=training)

    spy = Spy(unet_discriminator(3, filters=4))
    student = build_model("srvgg", 2, channels=3, filters=8, convs=2)
    gan = D.DistillGAN(student, spy, D.DistillLoss(hr_weight=0.5, color_weight=1.0), 0.1, ema=0.9, scale=2)
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.Adam(1e-3))
    gan.build_all(8)
    spy.seen.clear()
    d0 = [w.copy() for w in spy.inner.get_weights()]
    before = student(lr).numpy()
    logs = gan.train_step((lr, y))  # eager: the step train and distill-GAN runs share
    real, fake = spy.seen[0], spy.seen[1]
    assert len(spy.seen) == 3 and real.shape == fake.shape == (8, 16, 16, 3)
    np.testing.assert_array_equal(real, pool["teacher"][:8] / np.float32(255))
    np.testing.assert_allclose(fake, before, atol=1e-5)  # the student's output before its update
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert any(not np.array_equal(a, b) for a, b in zip(d0, spy.inner.get_weights()))
    assert int(gan.optimizer.iterations) == int(gan.d_optimizer.iterations) == 1
    val = gan.test_step((lr, y))  # validation: PSNR to the teacher and to HR
    assert set(val) == {"psnr", "ssim", "psnr_hr"} and float(val["psnr"]) != float(val["psnr_hr"])


def test_gan_stage_is_on_only_with_an_explicit_adv_weight():
    """Plain distill configs keep srgan's 1e-3 default and gan_stage False, so runs started before
    the GAN stage existed still resume (their config.json has no gan_stage)."""
    from keras_sr.training.config import TrainConfig
    from keras_sr.training.trainer import _same_config

    plain = TrainConfig.resolve("srvgg", teacher="t.keras")
    assert not plain.gan_stage and plain.adv_weight == 1e-3
    old = {k: v for k, v in plain.to_dict().items() if k != "gan_stage"}
    assert _same_config(old, plain)
    gan = TrainConfig.resolve("srvgg", teacher="t.keras", adv_weight=0.1)
    assert gan.gan_stage and not _same_config(old, gan)
    assert not TrainConfig.resolve("srvgg", teacher="t.keras", adv_weight=0.0).gan_stage
    assert not TrainConfig.resolve("realesrgan").gan_stage  # train's GANs: unchanged


def test_distill_gan_stage_resumes_after_kill_9_and_saves_a_float32_student(tiny_data, tmp_path):
    teacher = _teacher(tmp_path / "t.keras")
    out = tmp_path / "run"
    cmd = _distill(tiny_data, out, teacher, "--epochs", 30, "--steps-per-epoch", 4, "--degradation", "bicubic",
                   "--adv-weight", 0.1, "--d-filters", 8, "--ema", 0.9, "--precision", "bf16",
                   "--hr-weight", 0.5, "--teacher-license", "BSD-3-Clause")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not ((out / "backup").exists() and (out / "log.csv").exists()
                                          and len((out / "log.csv").read_text().splitlines()) >= 4):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len((out / "log.csv").read_text().splitlines()) - 1
    assert 3 <= done < 30, done
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "Resuming" in again.stderr
    from keras_sr.training.callbacks import read_log

    rows = read_log(out / "log.csv")
    assert [int(r["epoch"]) for r in rows] == list(range(30))
    assert {"g_loss", "d_loss", "d_real", "val_psnr", "val_psnr_hr"} <= set(rows[-1])
    rec = json.loads((out / "record.json").read_text())
    # both optimizers came back from the backup: every step of the run counted once
    assert rec["optimizer_iterations"] == {"generator": 30 * 4, "discriminator": 30 * 4}
    assert rec["gan_stage"]["adv_weight"] == 0.1 and rec["gan_stage"]["discriminator_init"] == "scratch"
    assert rec["teacher"]["license"] == "BSD-3-Clause" and rec["discriminator_params"] > 0
    from keras_sr.models.loading import load_model

    student = load_model(out)  # the generator (its EMA), float32, naming its teacher
    assert student.count_params() == rec["params"]
    assert {w.dtype for w in student.weights} == {"float32"}
    assert {layer.dtype_policy.name for layer in student.layers} == {"float32"}
    assert student.sr_info.record["teacher"]["weights_sha256"] == rec["teacher"]["weights_sha256"]
    assert not (out / "backup").exists() and not (out / "generator.keras").exists()


@pytest.mark.parametrize("extra, words", [
    (["--adv-weight", "-0.1"], "--adv-weight must be >= 0"),
    (["--adv-weight", "0.1", "--precision", "fp16"], "--precision fp16 needs loss scaling"),
    (["--ema", "0.9"], "--ema is a momentum"),
])
def test_gan_stage_bad_input_is_one_line_exit_2(tiny_data, tmp_path, extra, words):
    from click.testing import CliRunner

    from keras_sr.cli.main import main

    args = _distill(tiny_data, tmp_path / "run", tmp_path / "t.keras", "--epochs", 1, *extra)[len(CLI):]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, r.stderr[-1500:]
    assert words in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("Error:")
    assert not (tmp_path / "run").exists()
