"""--denoise: weight interpolation between a real-world model and its weak-denoise sibling."""

from __future__ import annotations

import json

import numpy as np
import pytest

from keras_sr.models import ModelInfo, save_with_info, srvgg


@pytest.fixture()
def zoo(tmp_path, monkeypatch):
    """A private zoo with 'full' (naming its sibling 'weak'), 'weak' and 'other' (another size)."""
    from keras_sr.data.io import sha256_file

    rng = np.random.default_rng(0)
    for name, convs in (("full", 2), ("weak", 2), ("other", 3)):
        m = srvgg(2, filters=4, convs=convs)
        m.set_weights([rng.normal(0, 0.1, w.shape).astype(np.float32) for w in m.get_weights()])
        path = tmp_path / f"{name}.keras"
        save_with_info(m, path, ModelInfo(architecture="srvgg", scale=2, color_space="rgb", input_mode="lr",
                                          degradation="realworld"))
        card = {"name": name, "file": path.name, "sha256": sha256_file(path), "scale": 2}
        if name in ("full", "other"):
            card["denoise_sibling"] = "weak"
        (tmp_path / f"{name}.json").write_text(json.dumps(card))
    monkeypatch.setenv("KERAS_SR_ZOO_DIR", str(tmp_path))
    return tmp_path


def test_blend_is_the_weighted_weights_and_the_ends_are_the_two_models(zoo):
    import keras_sr
    from keras_sr.models.denoise import with_denoise

    full, weak = keras_sr.load_model("full"), keras_sr.load_model("weak")
    got = with_denoise("full", 0.3)
    for g, f, w in zip(got.get_weights(), full.get_weights(), weak.get_weights()):
        np.testing.assert_allclose(g, 0.3 * f + 0.7 * w, rtol=1e-6, atol=1e-7)
    x = np.random.default_rng(1).random((1, 6, 5, 3), dtype=np.float32)
    np.testing.assert_allclose(with_denoise("full", 1.0).predict(x, verbose=0), full.predict(x, verbose=0), atol=1e-6)
    np.testing.assert_allclose(with_denoise("full", 0.0).predict(x, verbose=0), weak.predict(x, verbose=0), atol=1e-6)
    assert got.sr_info.record["denoise_strength"] == 0.3 and got.sr_info.scale == 2


def test_denoise_bad_input_is_one_line(zoo, tmp_path):
    from click.testing import CliRunner
    from PIL import Image

    from keras_sr.cli.main import main

    img = tmp_path / "in.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(img)
    runner = CliRunner()
    r = runner.invoke(main, ["upscale", str(img), "-o", str(tmp_path / "o.png"), "--model", "full", "--denoise", "1.5"])
    assert r.exit_code == 2 and "--denoise is a strength in [0, 1], got 1.5" in r.stderr
    r = runner.invoke(main, ["upscale", str(img), "-o", str(tmp_path / "o.png"), "--model", "weak", "--denoise", "0.5"])
    assert r.exit_code == 2 and "needs a model with a weak-denoise sibling" in r.stderr
    r = runner.invoke(main, ["upscale", str(img), "-o", str(tmp_path / "o.png"), "--model", "other", "--denoise", "0.5"])
    assert r.exit_code == 1 and "different architectures" in r.stderr
    assert not (tmp_path / "o.png").exists()
    r = runner.invoke(main, ["upscale", str(img), "-o", str(tmp_path / "o.png"), "--model", "full", "--denoise", "0.5"])
    assert r.exit_code == 0, r.output
    assert Image.open(tmp_path / "o.png").size == (16, 16)


def test_evaluate_denoise_scores_the_blend(zoo, tmp_path):
    from click.testing import CliRunner
    from PIL import Image

    from keras_sr.cli.main import main

    data = tmp_path / "set"
    data.mkdir()
    rng = np.random.default_rng(2)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)).save(data / f"{i}.png")

    def psnr(*args):
        r = CliRunner().invoke(main, ["evaluate", "--data", str(data), "--factor", "2", "--color", "rgb", "--json",
                                      *args])
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)["mean"]["model_psnr"]

    weak, full = psnr("--model", "weak"), psnr("--model", "full")
    assert weak != full
    assert psnr("--model", "full", "--denoise", "0") == pytest.approx(weak, abs=1e-6)
    assert psnr("--model", "full", "--denoise", "1") == pytest.approx(full, abs=1e-6)
    r = CliRunner().invoke(main, ["evaluate", "--data", str(data), "--factor", "2", "--model", "full", "--denoise", "2"])
    assert r.exit_code == 2 and "--denoise is a strength in [0, 1], got 2" in r.stderr


@pytest.mark.parametrize("command", ["upscale", "evaluate", "export"])
@pytest.mark.parametrize("value", ["1.5", "-0.1", "nan", "inf", "abc", ""])
def test_denoise_outside_0_1_is_one_line_exit_2_in_every_command(zoo, tmp_path, command, value):
    """One parser (the DenoiseStrength option type) for the three commands; nothing is loaded."""
    from click.testing import CliRunner

    from keras_sr.cli.main import main

    args = {"upscale": ["upscale", str(tmp_path / "in.png"), "-o", str(tmp_path / "o.png"), "-m", "full"],
            "evaluate": ["evaluate", "-m", "full", "-d", str(tmp_path)],
            "export": ["export", "full", "-o", str(tmp_path / "exp")]}[command]
    r = CliRunner().invoke(main, args + ["--denoise", value])
    assert r.exit_code == 2, r.output
    auto = " (or auto)" if command == "upscale" else ""  # upscale's default is auto
    assert r.stderr.strip() == f"Error: --denoise is a strength in [0, 1], got {value or repr(value)}{auto}"
    assert not (tmp_path / "exp").exists() and not (tmp_path / "o.png").exists()


def test_export_denoise_bakes_the_blend_and_says_so(zoo, tmp_path):
    from click.testing import CliRunner

    from keras_sr.cli.main import main
    from keras_sr.inference import Upscaler
    from keras_sr.lite import Upscaler as LiteUpscaler
    from keras_sr.models.denoise import with_denoise

    out = tmp_path / "exp"
    r = CliRunner().invoke(main, ["export", "full", "--denoise", "0.3", "--tflite", "-o", str(out)])
    assert r.exit_code == 0, r.output
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["denoise"]["strength"] == 0.3 and meta["denoise"]["sibling"] == "weak"
    assert meta["model_info"]["record"]["denoise_strength"] == 0.3
    assert json.loads((out / "export_config.json").read_text())["denoise"] == 0.3
    img = np.random.default_rng(3).integers(0, 256, (12, 10, 3), dtype=np.uint8)
    lite = LiteUpscaler(out / "photo_fp32.tflite")(img).astype(int)
    blend = Upscaler(with_denoise("full", 0.3))(img).astype(int)
    full = Upscaler("full")(img).astype(int)
    assert np.abs(lite - blend).max() <= 1 and np.abs(lite - full).max() > 1
