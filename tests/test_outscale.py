"""A model at its own scale resampled to a smaller factor (keras_sr.inference.outscale,
``keras-sr evaluate [--ladder] --outscale N``): the output is distill's resample of the model's
output, tiles equal the whole image, the ladder labels it, bad factors are one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from keras_sr.cli.main import main
from keras_sr.errors import UsageError
from keras_sr.inference import Upscaler
from keras_sr.inference.outscale import Outscaled, upscaler_at
from keras_sr.models import ModelInfo, build_model, save_with_info
from keras_sr.training.distill import resample

FAST = ("--metrics", "psnr,bias")


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    """A tiny random x4 SRVGG (RGB, LR input), saved with its card."""
    import keras

    keras.utils.set_random_seed(0)
    model = build_model("srvgg", 4, channels=3, filters=8, convs=2)
    path = tmp_path_factory.mktemp("outscale") / "tiny-x4.keras"
    save_with_info(model, path, ModelInfo(architecture="srvgg", scale=4, color_space="rgb", input_mode="lr",
                                          degradation="realworld"))
    return path


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("outscale", [2, 3])
def test_output_is_distill_resample_of_the_model_output(teacher, photo, outscale):
    up = Outscaled(teacher, outscale)
    assert (up.scale, up.info.scale, up.native_scale, up.note) == (outscale, outscale, 4, f"x4 -> x{outscale} Lanczos")
    lr = photo[:30, :41].astype(np.float32) / 255.0  # odd sizes
    native = np.asarray(up.model(lr[None], training=False))
    assert native.shape == (1, 120, 164, 3)
    expected = np.asarray(resample(np.clip(native, 0, 1), (30 * outscale, 41 * outscale)))[0]
    got = up(lr)
    assert got.shape == (30 * outscale, 41 * outscale, 3)
    np.testing.assert_allclose(got, expected, atol=2e-6)
    # independent reference: PIL's Lanczos (a = 3, kernel stretched when downscaling), per channel
    from PIL import Image

    pil = np.stack([np.asarray(Image.fromarray(np.clip(native[0, ..., c], 0, 1)).resize(
        (41 * outscale, 30 * outscale), Image.LANCZOS)) for c in range(3)], axis=-1)
    np.testing.assert_allclose(got, np.clip(pil, 0, 1), atol=2e-5)
    # uint8 photos: the same, rounded
    lr8 = photo[:30, :41]
    exp8 = np.round(np.asarray(resample(np.clip(up.model(lr8[None] / 255.0, training=False), 0, 1),
                                        (30 * outscale, 41 * outscale)))[0] * 255)
    assert np.abs(up(lr8).astype(int) - exp8).max() <= 1


def test_tiles_equal_the_whole_image(teacher, photo):
    image = photo[:60, :57].astype(np.float32) / 255.0  # float in -> float out: no rounding
    whole = Outscaled(teacher, 3)(image)
    tiled = Outscaled(teacher, 3, tile=24)(image)  # tiles start at 24, 48: 96, 192 model px, 72, 144 output px
    assert whole.shape == tiled.shape == (180, 171, 3)
    assert np.abs(whole - tiled).max() <= 1e-4


def test_upscaler_at_and_refusals(teacher):
    assert type(upscaler_at(teacher, 4)) is Upscaler and upscaler_at(teacher, 4).scale == 4
    assert isinstance(upscaler_at(teacher, 2), Outscaled)
    x2 = build_model("srvgg", 2, channels=3, filters=4, convs=1)
    x2.sr_info = ModelInfo(architecture="srvgg", scale=2, color_space="rgb", input_mode="lr")
    with pytest.raises(UsageError, match="above the model's x2"):
        upscaler_at(x2, 3)
    with pytest.raises(UsageError, match="one of"):
        Outscaled(teacher, 1)


def test_ladder_rows_with_the_label_equal_evaluate(teacher, tiny_data):
    out = run("evaluate", "--ladder", "-m", teacher, "--outscale", 2, "-d", tiny_data, *FAST, "--json")
    assert out.exit_code == 0, out.output
    lad = json.loads(out.stdout[out.stdout.index("{"):])
    label = "tiny-x4 (x4 -> x2 Lanczos)"
    assert lad["scale"] == 2 and lad["models"] == [label]
    rows = {(r["severity"], r["method"]): r for r in lad["rows"]}
    assert {s for s, m in rows if m == label} == {"clean", "light", "heavy"}
    one = run("evaluate", "-m", teacher, "--outscale", 2, "-d", tiny_data, "--degradation", "light", *FAST, "--json")
    mean = json.loads(one.stdout[one.stdout.index("{"):])["mean"]
    assert rows[("light", label)]["psnr"] == mean["model_psnr"]
    assert rows[("light", label)]["bias"] == mean["model_bias"]
    assert rows[("light", "bicubic")]["psnr"] == mean["bicubic_psnr"]


@pytest.mark.parametrize("args, fragment", [
    (("--outscale", 8), "above the model's x4"),
    (("--outscale", 2, "--factor", 3), "disagree"),
])
def test_bad_outscale_is_one_line_exit_2(teacher, tiny_data, args, fragment):
    for ladder in (("--ladder",), ()):
        out = run("evaluate", *ladder, "-m", teacher, "-d", tiny_data, *FAST, *args)
        assert out.exit_code == 2, out.output
        err = out.stderr.strip()
        assert "Traceback" not in out.output and len(err.splitlines()) == 1 and fragment in err, err
