"""``keras-sr export --web``: the tile plan, the export's errors, and the page itself in headless
Chromium (Playwright, offline: every non-local request is blocked and must not be attempted).

Browser tests need ``/usr/bin/chromium`` (or $KERAS_SR_CHROMIUM; `apt-get install chromium`), the
``playwright`` Python package (no browser download) and ``web/node_modules`` (`npm ci` in web/);
they skip naming what is missing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from browser import need_browser
from keras_sr.cli.main import main
from keras_sr.export.web import find_runtime, mirror_index, tile_plan, upscale_tiled
from keras_sr.export.web_page import CHROMIUM, WebPage  # also used by tools/bench_web.py

RUNTIME = Path(__file__).resolve().parents[1] / "web" / "node_modules"  # `npm ci` in web/ (also for
# a non-editable install of keras_sr, whose own default would not look here)
MODEL = "abpn-x2"  # small, int8-friendly shipped model


# ---- the tile plan (no browser) -----------------------------------------------------------------
@pytest.mark.parametrize("length", [1, 5, 40, 63, 64, 80, 81, 121, 200])
@pytest.mark.parametrize("step", [None, 7])
def test_tile_plan_covers_once_with_context(length, step):
    window, context = 80, 8
    plan = tile_plan(length, window, context, step)
    covered = np.zeros(length, int)
    padded = max(length, window)
    for c0, c1, w0 in plan:
        covered[c0:c1] += 1
        assert 0 <= w0 and w0 + window <= padded  # the window lies in the (mirrored) image
        assert c0 - w0 >= context or w0 == 0  # context before the core, or the image's start
        assert w0 + window - c1 >= context or w0 + window == padded  # after it, or the end
    assert (covered == 1).all()


def test_mirror_index_is_repeated_symmetric_padding():
    x = np.arange(3)
    assert np.array_equal(x[mirror_index(np.arange(14), 3)], np.pad(np.pad(x, (0, 3), "symmetric"), (0, 8), "symmetric"))


def test_python_tiler_equals_an_untiled_local_operator():
    """A 5x5 zero-padded box filter + nearest x2 (receptive radius 2 < context 3): tiled == untiled
    for images larger than the window; smaller ones are mirrored, so only their inside matches."""
    from scipy.ndimage import uniform_filter

    def op(batch):
        out = np.stack([uniform_filter(b.astype(np.float64), size=(5, 5, 1), mode="constant") for b in batch])
        return np.round(out).astype(np.uint8).repeat(2, axis=1).repeat(2, axis=2)

    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (45, 61, 3), dtype=np.uint8)
    want = op(img[None])[0]
    for step in (None, 1, 5):
        assert np.array_equal(upscale_tiled(op, img, 2, window=16, context=3, step=step), want)
    wrong = upscale_tiled(op, img, 2, window=16, context=1)  # too little context: seams
    assert not np.array_equal(wrong, want)
    small = img[:9, :11]
    got = upscale_tiled(op, small, 2, window=16, context=3)
    assert got.shape == (18, 22, 3) and np.array_equal(got[:14, :18], op(small[None])[0][:14, :18])


# ---- export errors (no browser) -----------------------------------------------------------------
def test_missing_runtime_is_one_line_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["export", MODEL, "-f", "2", "--web", str(tmp_path / "w"),
                                       "--web-runtime", str(tmp_path / "nothing")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "npm ci" in lines[0] and "--web-runtime" in lines[0]
    assert not (tmp_path / "w").exists()


def test_model_without_photo_graph_is_one_line_exit_2(tmp_path):
    import keras

    from keras_sr.models import ModelInfo, save_with_info

    inp = keras.Input((None, None, 2))
    model = keras.Model(inp, keras.layers.UpSampling2D(2)(keras.layers.Conv2D(2, 3, padding="same")(inp)))
    path = save_with_info(model, tmp_path / "two.keras", ModelInfo("toy", 2, input_mode="lr", color_space="rgb"))
    result = CliRunner().invoke(main, ["export", str(path), "--web", str(tmp_path / "w")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "web page cannot run" in lines[0] and "this one has 2" in lines[0]
    assert not (tmp_path / "w").exists()


# ---- the page -----------------------------------------------------------------------------------
def _need_browser():
    need_browser()
    try:
        find_runtime(RUNTIME)
    except Exception:  # noqa: BLE001
        pytest.skip(f"LiteRT.js not installed: run `npm ci` in {RUNTIME.parent}")


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """(web folder, model.json) of ``keras-sr export abpn-x2 --web``."""
    _need_browser()
    folder = tmp_path_factory.mktemp("web") / "page"
    result = CliRunner().invoke(main, ["export", MODEL, "-f", "2", "--web", str(folder), "--web-runtime", str(RUNTIME)])
    assert result.exit_code == 0, result.output
    return folder, json.loads((folder / "model.json").read_text())


@pytest.fixture(scope="module")
def page(web):
    p = WebPage(web[0])
    yield p
    p.close()


@pytest.fixture()
def clean(page):
    """Each browser test ends with no non-local request attempted, no page error, no console error."""
    yield page
    assert page.problems() == []


@pytest.fixture(scope="module")
def tile_runner(web):
    from keras_sr.export import interpreter, run_tflite

    it = interpreter(path=web[0] / web[1]["tile_model"])
    return lambda x: run_tflite(it, x)


def _odd_photo():
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut()[60:141, 170:291])  # 81 x 121


def test_page_loads_offline_and_upscales_like_python_litert_and_keras(web, clean, tile_runner):
    from keras_sr.data.color import y_of_uint8
    from keras_sr.evaluation.metrics import psnr
    from keras_sr.inference import Upscaler

    folder, config = web
    assert config["window"] == 64 + 2 * config["context"] and config["runtime_version"] == "2.5.3"
    assert {p.name for p in folder.iterdir()} == {"index.html", "app.js", "tiler.js", "model.json", "litert",
                                                  "tile_int8.tflite"}
    rgb = _odd_photo()
    out = clean.upscale(rgb)
    assert out.shape == (162, 242, 4) and (out[..., 3] == 255).all()
    python = upscale_tiled(tile_runner, rgb, 2, config["window"], config["context"])
    assert np.abs(out[..., :3].astype(int) - python).max() <= 1  # the same tile file in Python LiteRT
    keras_out = Upscaler(MODEL)(rgb)  # what `keras-sr upscale` writes (float model)
    assert psnr(y_of_uint8(keras_out), y_of_uint8(out[..., :3])) >= 38.0


def test_no_seams_tiled_equals_untiled(web, clean, tile_runner):
    """Untiled reference: Python LiteRT runs the same tile file resized to the whole image (same
    int8 parameters). Python's tiling equals it exactly; the page, with its default tiles and
    with 16-px cores (every window placed differently), is within 1 level of it."""
    from keras_sr.export import interpreter, run_tflite

    folder, config = web
    n, c = config["window"], config["context"]
    rgb = _odd_photo()
    untiled = run_tflite(interpreter(path=folder / config["tile_model"]), rgb[None])[0]
    for step in (None, 16):
        assert np.array_equal(upscale_tiled(tile_runner, rgb, 2, n, c, step=step), untiled)
        assert np.abs(clean.upscale(rgb, step=step)[..., :3].astype(int) - untiled).max() <= 1
    seams = upscale_tiled(tile_runner, rgb, 2, n, 1, step=16)  # too little context: the test can fail
    assert np.abs(seams.astype(int) - untiled).max() > 1


def test_small_image_exif_orientation_and_alpha(web, clean, tile_runner):
    from keras_sr.inference import Upscaler

    rgb = _odd_photo()[:29, :37]  # smaller than a tile: mirrored out, then cropped
    out = clean.upscale(rgb)
    python = upscale_tiled(tile_runner, rgb, 2, web[1]["window"], web[1]["context"])
    assert out.shape == (58, 74, 4) and np.abs(out[..., :3].astype(int) - python).max() <= 1
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    rotated = clean.upscale(_odd_photo(), fmt="JPEG", exif=exif.tobytes(), quality=95)
    assert rotated.shape == (242, 162, 4)
    yy, xx = np.mgrid[:81, :121]
    rgba = np.dstack([_odd_photo(), (255 * (xx / 120) * (yy > 20)).astype(np.uint8)])
    alpha = clean.upscale(rgba)[..., 3]
    cli = Upscaler(MODEL)(rgba)[..., 3]  # the CLI's alpha: bicubic, clipped
    assert np.abs(alpha.astype(int) - cli).max() <= 1


def test_bad_file_and_canvas_limit_messages(web, clean, tmp_path):
    clean.page.evaluate("""() => {  // drop a text file on the drop zone
        const data = new DataTransfer();
        data.items.add(new File(['not an image'], 'notes.txt', {type: 'text/plain'}));
        document.getElementById('drop').dispatchEvent(new DragEvent('drop', {dataTransfer: data}));
    }""")
    clean.page.wait_for_selector("#message.error")
    assert "not an image" in clean.page.inner_text("#message")
    assert clean.page.is_hidden("#result")
    wide = np.zeros((2, 16400, 3), np.uint8)  # x2 -> 32800 px wide: over Chromium's 32767
    with pytest.raises(Exception, match="canvas limit"):
        clean.upscale(wide)
    photo = tmp_path / "photo.png"
    Image.fromarray(_odd_photo()).save(photo)
    clean.page.set_input_files("#pick", str(photo))
    clean.page.wait_for_selector("#result:not([hidden])")
    assert "done" in clean.page.inner_text("#message")
    assert clean.page.get_attribute("#download", "download") == "photo_x2.png"
